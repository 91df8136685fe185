"""Real short autoencoder runs on Fashion-MNIST: learning, run-dir contents, checkpoints, resume."""

import json

import pytest

from aegan.amp import Amp
from aegan.data import load_data, normalize
from aegan.engine import load_checkpoint, restore
from aegan.runs.record import record_config
from aegan.tasks import build_task
from aegan.train import train
from conftest import CPU, TINY_AE


def test_short_run_beats_the_mean_image_baseline(make_cfg):
    cfg = make_cfg(*TINY_AE, "data.subset=10000", "data.batch_size=32", "trainer.epochs=2",
                   "evaluate.at_end=true", "evaluate.metrics=[reconstruction]")  # fmt: skip
    metrics = train(cfg)
    data = load_data(cfg.data, data_dir=cfg.paths.data_dir)
    mean_image = normalize(data.train_images, "unit").mean(0, keepdim=True)
    baseline = ((normalize(data.val_images, "unit") - mean_image) ** 2).mean().item()
    assert 0.08 < baseline < 0.095  # ~0.087 on Fashion-MNIST
    assert metrics["val/mse"] < 0.5 * baseline
    assert metrics["test/mse"] < 0.5 * baseline
    assert metrics["train/epochs"] == 2


def test_run_dir_holds_what_the_readme_promises(trained_ae_run):
    for name in ("metrics.json", "checkpoints/last.pt", "checkpoints/best.pt"):
        assert (trained_ae_run / name).is_file(), name
    assert list((trained_ae_run / "tb").glob("events.out.tfevents.*"))
    metrics = json.loads((trained_ae_run / "metrics.json").read_text())
    assert {"test/mse", "test/bce", "val/mse", "val/best_objective"} <= metrics.keys()
    assert metrics["val/best_objective"] == metrics["val/mse"]  # one epoch: the last is the best
    # the test split is drawn like the validation split: the same error, within a few percent
    assert metrics["test/mse"] == pytest.approx(metrics["val/mse"], rel=0.05)
    assert 0.2 < metrics["test/bce"] < 0.7


def test_checkpoint_round_trip_reproduces_the_validation_loss(trained_ae_run):
    state = load_checkpoint(trained_ae_run / "checkpoints" / "last.pt")
    assert state["config"]["model"]["latent_dim"] == 32
    cfg = record_config(state, path="last.pt")
    data = load_data(cfg.data, data_dir=cfg.paths.data_dir)
    steps_per_epoch = len(data.train_images) // cfg.data.batch_size  # drop_last
    assert (state["epoch"], state["batch"], state["step"]) == (1, 0, steps_per_epoch)
    task = build_task(cfg.model, data.image_shape, CPU)
    amp = Amp("fp32", CPU)
    untrained = task.validate([data.val_images], amp)["val/mse"]
    restore(task, amp, state, path="last.pt")
    task.train(False)
    val = task.validate([data.val_images], amp)
    assert abs(val["val/mse"] - state["history"][-1]["val/mse"]) < 1e-6
    assert val["val/mse"] < 0.7 * untrained


def test_resume_continues_at_the_saved_step(make_cfg, trained_ae_run):
    first = load_checkpoint(trained_ae_run / "checkpoints" / "last.pt")
    steps_per_epoch = first["step"]
    metrics = train(
        make_cfg(*TINY_AE, "trainer.epochs=2", f"trainer.resume={trained_ae_run}", run="resumed")
    )
    assert metrics["train/steps"] == 2 * steps_per_epoch
    assert metrics["train/epochs"] == 2
    assert metrics["val/mse"] < first["history"][-1]["val/mse"]  # it went on learning
