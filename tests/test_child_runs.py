"""A stop signal to a script that runs a training (scripts/compare.py, parity.py) waits for
the training to save its step in flight: ``subprocess.run`` killed it 0.25 s after Ctrl-C."""

import os
import signal
import sys
import threading
import time

import pytest

from aegan.signals.child_runs import run_to_its_end
from aegan.signals.starting_signals import StoppedBySignal

# A stand-in for a training: on its first stop signal it takes a second to write its
# checkpoint (the file ``saved``), says which signal, and ends as a stopped run does
SAVES_SLOWLY = """\
import os, pathlib, signal, sys, time
ready, saved = map(pathlib.Path, sys.argv[1:])
def save(number, frame):
    time.sleep(1.0)
    saved.write_text(signal.Signals(number).name)
    sys.exit(128 + number)
for number in (signal.SIGINT, signal.SIGTERM):
    signal.signal(number, save)
ready.write_text(str(os.getpid()))
time.sleep(60)
"""


def _signal_once_ready(ready, number: int, to_the_child: bool) -> None:
    """Once the child trains, ``number`` to this process, and to the child too as a
    terminal's Ctrl-C reaches both (their process group)."""
    while not ready.exists() or not ready.read_text():
        time.sleep(0.02)
    if to_the_child:
        os.kill(int(ready.read_text()), number)
    os.kill(os.getpid(), number)


@pytest.mark.parametrize(
    ("number", "to_the_child"),
    [(signal.SIGINT, True), (signal.SIGTERM, False)],
    ids=["ctrl-c-to-the-group", "sigterm-to-the-script-alone"],
)
def test_a_stop_waits_for_the_training_to_save(tmp_path, capfd, number, to_the_child):
    ready, saved, child = tmp_path / "ready", tmp_path / "saved", tmp_path / "child.py"
    child.write_text(SAVES_SLOWLY)
    sender = threading.Thread(target=_signal_once_ready, args=(ready, number, to_the_child))
    sender.start()
    before = signal.getsignal(number)
    with pytest.raises(StoppedBySignal) as stopped:
        run_to_its_end([sys.executable, str(child), str(ready), str(saved)])
    sender.join()
    assert stopped.value.signal_number == number
    # saved once, for the signal the script got: the terminal's own, or passed on once
    assert saved.read_text() == signal.Signals(number).name
    assert signal.getsignal(number) is before  # the script's own handler is back
    assert capfd.readouterr().err.strip() == (
        f"error: stopped by {signal.Signals(number).name} while the training it started ran, "
        "which stopped by its own handler: its line above says what it kept"
    )


def test_it_returns_the_exit_code():
    assert run_to_its_end([sys.executable, "-c", "raise SystemExit(3)"]) == 3
