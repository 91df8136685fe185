"""The commands that print results to a reader that goes before the end (``| head``): the
output ends, the command does not; it was a ``BrokenPipeError`` traceback after the files
were written, exit code 1."""

from __future__ import annotations

import subprocess
import sys

import pytest
from table_runs import job
from test_summarize_hostile import make_sweep

from conftest import REPO


def printed_to_no_reader(*command: str) -> subprocess.CompletedProcess:
    """``command`` run with its output read by no one: the reading end closed at once, as
    ``| head -1`` closes it after the first line (before this command has imported torch)."""
    process = subprocess.Popen([sys.executable, *command], cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    process.stdout.close()
    error = process.stderr.read()
    return subprocess.CompletedProcess(command, process.wait(timeout=120), "", error)


@pytest.mark.parametrize("command", ["summarize", "table"])
def test_a_reader_that_has_gone_ends_the_output_quietly(tmp_path, command):
    if command == "summarize":
        folder = make_sweep(tmp_path / "sweep")
        done = printed_to_no_reader("-m", "aegan.summarize", str(folder))
        written = folder / "summary.md"
    else:
        job(tmp_path / "compare")
        done = printed_to_no_reader("scripts/compare.py", "table", "--models", "autoencoder",
                                    "--out", str(tmp_path / "compare"))  # fmt: skip
        written = tmp_path / "compare" / "comparison.md"
    assert (done.returncode, done.stderr) == (0, ""), done.stderr[-2000:]
    assert written.is_file()
