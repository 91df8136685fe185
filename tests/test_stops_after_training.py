"""A stop signal once training has ended (the final evaluation, the codes, the hparams)
stops the run at once: all it trained is written, and its line says how to evaluate it.
The first signal waited for the metric in progress to end, and one that came after the last
metric, or in a run without a final evaluation, was never acted on: the run ended as if
it had not come (exit code 0)."""

import signal
from pathlib import Path

import pytest
from resume_checks import last_state
from torch.nn.modules.module import register_module_forward_hook

import aegan.train
from aegan.engine.interrupt import TrainingInterrupted
from aegan.io.readback import read_json
from aegan.models import DenseAutoencoder
from aegan.train import train
from conftest import TINY_AE


def stopped_after_training(cfg, number: int) -> TrainingInterrupted:
    run_dir = Path(cfg.paths.output_dir)
    with pytest.raises(TrainingInterrupted) as caught:
        train(cfg)
    err = caught.value
    assert str(err) == (
        f"stopped by {number.name} after training ended; the trained run is intact: evaluate "
        f"it with python -m aegan.evaluate run={run_dir}"
    )
    assert (err.exit_code, err.phase, err.step) == (128 + number, "evaluation", 31)
    assert last_state(run_dir)["step"] == 31  # the trained run, as training left it
    assert read_json(run_dir / "metrics.json")["train/steps"] == 31
    stopped = read_json(run_dir / "stopped.json")  # aegan.summarize's note
    assert (stopped["signal"], stopped["phase"], stopped["step"]) == (number.name, "evaluation", 31)
    return err


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_as_the_codes_are_logged_stops_the_run(make_cfg, monkeypatch, number):
    logged = []

    def log_codes(*args, **kwargs):
        signal.raise_signal(number)
        logged.append(True)  # not reached: the signal stops the run here

    monkeypatch.setattr(aegan.train, "log_codes", log_codes)
    stopped_after_training(make_cfg(*TINY_AE), number)
    assert not logged


def test_one_ctrl_c_in_the_final_evaluation_stops_it_at_once(make_cfg):
    cfg = make_cfg(*TINY_AE, "evaluate.at_end=true", "evaluate.metrics=[reconstruction]")
    evaluating, forwards = Path(cfg.paths.output_dir) / "evaluating.json", []

    def hook(module, args, output):
        if isinstance(module, DenseAutoencoder) and evaluating.exists():
            forwards.append(True)
            if len(forwards) == 1:
                signal.raise_signal(signal.SIGINT)  # once, as a user presses Ctrl-C

    handle = register_module_forward_hook(hook)
    try:
        stopped_after_training(cfg, signal.SIGINT)
    finally:
        handle.remove()
    assert len(forwards) == 1  # not a forward pass more of the evaluation
