"""A stop signal while ``python -m aegan.train`` or ``aegan.evaluate`` is still starting
(importing torch and Hydra, composing its config) ends it with one line and the signal's
exit code: a cluster's SIGTERM ended it without a word (143), Ctrl-C with the traceback of
an import."""

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from aegan.starting_signals import SETTING_UP
from conftest import REPO

# ``python stop_at_import.py SIGNAL MODULE [COMMAND [arguments]]``: ``python -m COMMAND``
# (aegan.train if not given) that sends itself SIGNAL as it begins to import MODULE
STOP_AT_IMPORT = """\
import os, runpy, signal, sys

sig, module = signal.Signals[sys.argv.pop(1)], sys.argv.pop(1)
command = sys.argv.pop(1) if sys.argv[1:2] == ["aegan.evaluate"] else "aegan.train"


class SignalAtImport:
    def find_spec(self, name, path=None, target=None):
        if name == module:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), sig)
        return None


sys.meta_path.insert(0, SignalAtImport())
runpy.run_module(command, run_name="__main__", alter_sys=True)
"""


EVALUATING = "while starting; nothing was evaluated or written: run the same command again"


@pytest.mark.parametrize(
    ("number", "command", "line"),
    [(signal.SIGTERM, [], SETTING_UP), (signal.SIGINT, [], SETTING_UP),
     (signal.SIGTERM, ["aegan.evaluate"], EVALUATING),
     (signal.SIGINT, ["aegan.evaluate"], EVALUATING)],
    ids=["train-SIGTERM", "train-SIGINT", "evaluate-SIGTERM", "evaluate-SIGINT"],
)  # fmt: skip
def test_a_signal_while_torch_is_imported_is_one_line(tmp_path, number, command, line):
    script = tmp_path / "stop_at_import.py"
    script.write_text(STOP_AT_IMPORT)
    run_dir = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, str(script), number.name, "torch", *command, "trainer.device=cpu",
         f"hydra.run.dir={run_dir}"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 128 + number, result.stderr[-2000:]
    assert result.stderr == f"error: stopped by {number.name} {line}\n"
    assert not run_dir.exists()


def test_under_torchrun_the_stop_is_said_once(tmp_path):
    """torchrun's agent passes its signal on to every process: each said the same line."""
    script = tmp_path / "stop_at_import.py"
    script.write_text(STOP_AT_IMPORT)
    torchrun = Path(sys.executable).with_name("torchrun")
    result = subprocess.run(
        [str(torchrun), "--standalone", "--nproc_per_node=2", str(script), "SIGTERM", "torch",
         "trainer.device=cpu", f"hydra.run.dir={tmp_path / 'run'}"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: stopped by SIGTERM {SETTING_UP}"], result.stderr[-3000:]


def test_the_handlers_are_set_before_anything_more_is_imported():
    """Until they are set a signal ends the start without a word (SIGTERM) or with a
    traceback (Ctrl-C): their module imported pathlib first, and with it urllib, ipaddress
    and re, a fifth of the time from the interpreter's start to the handlers. What runpy
    (``python -m``) has loaded before is not counted."""
    code = ("import runpy, sys; before = set(sys.modules); import aegan.starting_signals; "
            "print(*sorted(set(sys.modules) - before))")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    imported = set(result.stdout.split())
    assert imported <= {"aegan", "aegan.starting_signals", "__future__", "signal", "enum"}, imported
