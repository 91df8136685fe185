"""A stop signal in an epoch's validation stops it at once and saves the epoch's training,
unvalidated: it waited for the validation to end, which a long one (a VAE-GAN's 30 s on two
CPU processes) outlasted a cluster's grace period, and the epoch was lost. A resume
validates it again and ends where a run never stopped does."""

import signal
from pathlib import Path

import pytest
from resume_checks import assert_same_training_state, last_state
from torch.nn.modules.module import register_module_forward_hook

from aegan.engine.interrupt import TrainingInterrupted
from aegan.models import DenseAutoencoder
from aegan.train import train
from conftest import TINY_AE

TWO_EPOCHS = [*TINY_AE, "trainer.epochs=2"]  # 31 steps an epoch


def test_a_signal_in_validation_saves_the_epoch_unvalidated(make_cfg):
    number = signal.SIGTERM  # a cluster's preemption
    cfg = make_cfg(*TWO_EPOCHS)
    run_dir = Path(cfg.paths.output_dir)
    validating = []

    def hook(module, args, output):
        if isinstance(module, DenseAutoencoder) and not module.training:
            validating.append(True)
            if len(validating) == 1:
                signal.raise_signal(number)

    handle = register_module_forward_hook(hook)
    try:
        with pytest.raises(TrainingInterrupted) as caught:
            train(cfg)
    finally:
        handle.remove()
    assert validating == [True]  # not a forward pass more of the validation
    assert str(caught.value) == (
        f"stopped by {number.name} at step 31 (epoch 1/2, batch 31/31); saved "
        f"{run_dir / 'checkpoints' / 'last.pt'}. Continue in its folder with the same command "
        f"and trainer.resume={run_dir} hydra.run.dir={run_dir}"
    )
    at_stop = last_state(run_dir)
    assert (at_stop["step"], at_stop["epoch"], at_stop["batch"]) == (31, 0, 31)

    straight = make_cfg(*TWO_EPOCHS, run="straight")
    straight_metrics = train(straight)
    resumed = train(make_cfg(*TWO_EPOCHS, f"trainer.resume={run_dir}"))
    assert_same_training_state(last_state(straight.paths.output_dir), last_state(run_dir))
    assert resumed == straight_metrics
