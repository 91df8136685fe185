"""A stop signal while a command (``python -m aegan.train``, ``aegan.evaluate``,
``aegan.bench``, ``aegan.summarize``) is still starting (importing torch and Hydra,
composing its config) ends it with one line, killed by the signal: a cluster's SIGTERM
ended it without a word (143), Ctrl-C with the traceback of an import."""

import ast
import os
import shlex
import signal
import subprocess
import sys
from importlib.metadata import distribution

import pytest

from aegan.signals.starting_signals import LINES, SCRIPT_STARTING, SCRIPTS, SETTING_UP
from conftest import REPO, torchrun_two

# ``python stop_at_import.py SIGNAL MODULE [COMMAND [arguments]]``: ``python -m COMMAND``
# (an aegan.X; aegan.train if not given), or ``python scripts/NAME.py`` where COMMAND is that
# path, that sends itself SIGNAL as it begins to import MODULE (to its process group, as a
# terminal's Ctrl-C, where $STOP_THE_GROUP is set)
STOP_AT_IMPORT = """\
import os, runpy, signal, sys

sig, module = signal.Signals[sys.argv.pop(1)], sys.argv.pop(1)
command = sys.argv.pop(1) if sys.argv[1].startswith(("aegan.", "scripts/")) else "aegan.train"


class SignalAtImport:
    def find_spec(self, name, path=None, target=None):
        if name == module:
            sys.meta_path.remove(self)
            os.killpg(0, sig) if os.environ.get("STOP_THE_GROUP") else os.kill(os.getpid(), sig)
        return None


sys.meta_path.insert(0, SignalAtImport())
if command.startswith("scripts/"):  # as python scripts/NAME.py runs it, its folder first
    sys.path[0] = os.path.dirname(os.path.abspath(command))
    runpy.run_path(command, run_name="__main__")
else:
    runpy.run_module(command, run_name="__main__", alter_sys=True)
"""


EVALUATING = "while starting; nothing was evaluated or written: run the same command again"
BENCHING = "before writing its rows; bench.jsonl has no row of this run: run the same command again"
SUMMARIZING = "before writing its summary; nothing was written: run the same command again"


@pytest.mark.parametrize(
    ("number", "command", "line"),
    [(signal.SIGTERM, [], SETTING_UP), (signal.SIGINT, [], SETTING_UP),
     (signal.SIGTERM, ["aegan.evaluate"], EVALUATING),
     (signal.SIGINT, ["aegan.evaluate"], EVALUATING),
     (signal.SIGTERM, ["aegan.bench"], BENCHING),
     (signal.SIGINT, ["aegan.summarize"], SUMMARIZING)],
    ids=["train-SIGTERM", "train-SIGINT", "evaluate-SIGTERM", "evaluate-SIGINT", "bench-SIGTERM",
         "summarize-SIGINT"],
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
    assert result.returncode == -number, result.stderr[-2000:]  # killed by it
    assert result.stderr == f"error: stopped by {number.name} {line}\n"
    assert not run_dir.exists()


@pytest.mark.parametrize("script", sorted(c for c in LINES if c.startswith("scripts/")))
def test_a_signal_while_a_script_imports_is_one_line(tmp_path, script):
    """``python scripts/compare.py`` and the others gave the traceback of whichever import
    Ctrl-C fell in (SIGTERM: no word), where every ``python -m aegan.X`` gives one line."""
    stop_at_import = tmp_path / "stop_at_import.py"
    stop_at_import.write_text(STOP_AT_IMPORT)
    result = subprocess.run(
        [sys.executable, str(stop_at_import), "SIGINT", "torch", script],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == -signal.SIGINT, result.stderr[-2000:]  # killed by it
    assert result.stderr == f"error: stopped by SIGINT {SCRIPT_STARTING}\n"


def test_ctrl_c_stops_a_shell_loop_of_commands(tmp_path):
    """A shell goes on after a command that exits 130, taken to have handled Ctrl-C itself:
    ``for s in 0 1 2; do python -m aegan.train seed=$s; done`` went on to the next seed at
    each Ctrl-C. It stops its loop after a command that Ctrl-C killed, as aegan's now end."""
    script = tmp_path / "stop_at_import.py"
    script.write_text(STOP_AT_IMPORT)
    command = shlex.join([sys.executable, str(script), "SIGINT", "torch", "trainer.device=cpu"])
    loop = (f"for s in 0 1 2; do {command} seed=$s hydra.run.dir={shlex.quote(str(tmp_path))}/$s; "
            'echo "went on after exit $?"; done')  # fmt: skip
    result = subprocess.run(
        ["bash", "-c", loop], cwd=REPO, capture_output=True, text=True, timeout=120,
        start_new_session=True, env={**os.environ, "STOP_THE_GROUP": "1"},
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (-signal.SIGINT, ""), result.stdout
    assert result.stderr == f"error: stopped by SIGINT {SETTING_UP}\n"


def test_under_torchrun_the_stop_is_said_once(tmp_path):
    """torchrun's agent passes its signal on to every process: each said the same line."""
    script = tmp_path / "stop_at_import.py"
    script.write_text(STOP_AT_IMPORT)
    result = subprocess.run(
        [*torchrun_two(tmp_path), str(script), "SIGTERM", "torch",
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
    code = ("import runpy, sys; before = set(sys.modules); import aegan.signals.starting_signals; "
            "print(*sorted(set(sys.modules) - before))")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    imported = set(result.stdout.split())
    allowed = {"aegan", "aegan.signals", "aegan.signals.starting_signals", "__future__", "signal",
               "enum", "atexit", "gc"}  # fmt: skip
    assert imported <= allowed, imported  # atexit and gc: built in, nothing read


def test_every_command_sets_the_handlers_before_its_other_imports():
    """aegan.bench and aegan.summarize did not import aegan.signals.starting_signals: a stop while
    they imported torch ended them without a word, or with a traceback of Ctrl-C, and
    bench's Ctrl-C said "a checkpoint already written is kept", of a command that writes
    none; nor did scripts/compare.py and the others. Every module and script with a
    ``__main__`` block and every console script runs a command of ``LINES``, whose first
    import (after ``__future__``) sets the handlers."""
    package = REPO / "src"
    commands = {
        ".".join(path.relative_to(package).with_suffix("").parts): path
        for path in (package / "aegan").rglob("*.py")
        if '__name__ == "__main__"' in path.read_text()
    }
    commands |= {f"scripts/{path.name}": path for path in (REPO / "scripts").glob("*.py")
                 if '__name__ == "__main__"' in path.read_text()}  # fmt: skip
    scripts = [e for e in distribution("aegan").entry_points if e.group == "console_scripts"]
    assert {script.name: script.module for script in scripts} == SCRIPTS  # pyproject.toml's
    assert set(commands) | set(SCRIPTS.values()) == set(LINES)
    for command, path in commands.items():
        imports = [node for node in ast.parse(path.read_text()).body
                   if isinstance(node, ast.ImportFrom) and node.module != "__future__"
                   or isinstance(node, ast.Import)]  # fmt: skip
        assert getattr(imports[0], "module", None) == "aegan.signals.starting_signals", command
