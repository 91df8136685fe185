"""A stop signal in an epoch's validation, or in its last step (before its validation),
stops at once and saves the epoch's training, unvalidated: it waited for the validation to
end, which a long one (a VAE-GAN's 30 s on two CPU processes) outlasted a cluster's grace
period, and the epoch was lost. A resume validates it again and ends where a run never
stopped does."""

import signal
import sys
import time
from pathlib import Path

import pytest
from resume_checks import assert_same_training_state, last_state
from torch.nn.modules.module import register_module_forward_hook

from aegan.engine.interrupt import TrainingInterrupted
from aegan.models import DenseAutoencoder
from aegan.train import train
from conftest import TINY_AE

TWO_EPOCHS = [*TINY_AE, "trainer.epochs=2"]  # 31 steps an epoch


@pytest.mark.parametrize(
    ("training", "count"),
    [(False, 1), (True, 31)],  # the validation's first forward pass, the epoch's last step
    ids=["in-validation", "in-the-last-step"],
)
def test_a_signal_in_validation_saves_the_epoch_unvalidated(make_cfg, training, count):
    number = signal.SIGTERM  # a cluster's preemption
    cfg = make_cfg(*TWO_EPOCHS)
    run_dir = Path(cfg.paths.output_dir)
    passes = {True: 0, False: 0}  # forward passes in training, in validation

    def hook(module, args, output):
        if isinstance(module, DenseAutoencoder):
            passes[module.training] += 1
            if module.training == training and passes[training] == count:
                signal.raise_signal(number)

    handle = register_module_forward_hook(hook)
    try:
        with pytest.raises(TrainingInterrupted) as caught:
            train(cfg)
    finally:
        handle.remove()
    assert passes == {True: 31, False: 1 - training}  # not a forward pass more of validation
    assert str(caught.value) == (
        f"stopped by {number.name} at step 31 (epoch 1/2, batch 31/31); saved "
        f"{run_dir / 'checkpoints' / 'last.pt'}. Continue in its folder with the same command "
        f"and trainer.resume={run_dir} hydra.run.dir={run_dir}"
    )
    assert caught.value.exit_code == 143
    at_stop = last_state(run_dir)
    assert (at_stop["step"], at_stop["epoch"], at_stop["batch"]) == (31, 0, 31)

    straight = make_cfg(*TWO_EPOCHS, run="straight")
    straight_metrics = train(straight)
    resumed = train(make_cfg(*TWO_EPOCHS, f"trainer.resume={run_dir}"))
    assert_same_training_state(last_state(straight.paths.output_dir), last_state(run_dir))
    assert resumed == straight_metrics


def test_a_stop_inside_a_tensorboard_write_in_validation_ends_the_run_at_once(make_cfg):
    """A stop's exception inside TensorBoard's writer queue (an epoch's validation logging
    its figures) counted an event whose writer thread was never woken: the stop's flush of
    the curves waited for that thread's two-minute timer before the run said where it
    stopped, and a stopped sweep's job was taken to train on."""
    cfg = make_cfg(*TWO_EPOCHS)

    def in_validation(frame, event, arg) -> None:  # the queue waking its writer thread
        if event == "call" and frame.f_code.co_name == "notify" and "_validate" in callers(frame):
            sys.setprofile(None)
            signal.raise_signal(signal.SIGTERM)

    sys.setprofile(in_validation)
    started = time.monotonic()
    try:
        with pytest.raises(TrainingInterrupted) as caught:
            train(cfg)
    finally:
        sys.setprofile(None)
    assert time.monotonic() - started < 60, "the stop waited on TensorBoard's writer thread"
    assert str(caught.value).startswith("stopped by SIGTERM at step 31 (epoch 1/2, batch 31/31)")


def callers(frame) -> set[str]:
    """The names of the functions ``frame`` runs in, itself included."""
    names = set()
    while frame is not None:
        names.add(frame.f_code.co_name)
        frame = frame.f_back
    return names
