"""SIGHUP (the terminal that started a run closed) stops it as SIGTERM does, saving the step
in flight (``tests/test_resume_signals.py``); it killed the run, losing the steps since its
last checkpoint. Where the process ignores it (``nohup``), it stays ignored."""

import signal

from resume_checks import last_state, signal_in_training_forward

from aegan.train import train
from conftest import TINY_AE


def test_a_hangup_the_process_ignores_leaves_the_run_training(make_cfg):
    cfg = make_cfg(*TINY_AE)
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as nohup starts a command
    try:
        with signal_in_training_forward(signal.SIGHUP, 10):
            metrics = train(cfg)
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, before)
    assert metrics["train/steps"] == 31 == last_state(cfg.paths.output_dir)["step"]
