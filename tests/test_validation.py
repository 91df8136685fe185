"""Validation and the cost of logging: every core for evaluation, the batch size per device
without changing the figures, the objective and training loss reported, the cost logged."""

from __future__ import annotations

import logging
import re

import pytest
import torch

from aegan.amp import Amp
from aegan.engine.device import eval_batch_size, evaluation_threads
from aegan.train import train
from conftest import CPU, TINY_AE, built, synthetic_data


def test_epoch_log_reports_the_cost_of_logging_and_validation(make_cfg):
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logger = logging.getLogger("aegan.engine.loop")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        train(make_cfg(*TINY_AE, "data.subset=640"))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    pattern = (
        r"training ([\d.]+) s(?: for \d+ steps)?; logging and validation ([\d.]+) s = ([\d.]+)%"
    )
    epochs = [r for r in records if r.startswith("epoch 1 time:")]
    totals = [r for r in records if r.startswith("training ")]  # the whole run, at its end
    assert len(epochs) == 1 and len(totals) == 1
    epoch, total = re.search(pattern, epochs[0]), re.search(pattern, totals[0])
    assert epoch and float(epoch[1]) > 0
    share = 100 * float(epoch[2]) / float(epoch[1])
    assert float(epoch[3]) == pytest.approx(share, rel=0.05)  # of the printed, rounded figures
    assert total and float(total[3]) == pytest.approx(float(epoch[3]), abs=0.01)  # one epoch


def test_evaluation_threads_use_every_core_then_restore_the_training_count(every_core, one_thread):
    with evaluation_threads(CPU):
        assert torch.get_num_threads() == every_core
    assert torch.get_num_threads() == 1
    with evaluation_threads(torch.device("meta")):  # not the CPU: untouched
        assert torch.get_num_threads() == 1


@pytest.mark.parametrize("loss, keys", [("mse", {"val/mse"}), ("bce", {"val/mse", "val/bce"})])
def test_autoencoder_validation_reports_the_objective_and_the_training_loss(
    loss, keys, tmp_path, one_thread
):
    data = synthetic_data()
    _, task, amp, _ = built(TINY_AE + [f"model.loss={loss}"], tmp_path, data=data)
    task.train(False)
    metrics = task.validate([data.val_images], amp)
    assert metrics.keys() == keys
    x = data.val_images.float() / 255
    logits = task.net(x)
    expected_mse = (torch.sigmoid(logits) - x).square().mean().item()
    assert metrics["val/mse"] == pytest.approx(expected_mse, rel=1e-5)
    if loss == "bce":
        bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, x).item()
        assert metrics["val/bce"] == pytest.approx(bce, rel=1e-5)


def test_validation_batch_is_chosen_per_device_and_leaves_the_metric_alone(tmp_path, one_thread):
    assert eval_batch_size(None, CPU) == 256  # cache-sized
    assert eval_batch_size(None, torch.device("cuda")) == 1000
    assert eval_batch_size(64, CPU) == 64  # trainer.eval_batch_size wins
    data = synthetic_data(n=1200)
    _, task, amp, _ = built(TINY_AE, tmp_path, data=data)
    task.train(False)
    images = data.train_images  # (1200, 1, 28, 28): several batches of each size
    by_batch = {
        size: task.validate(images.split(size), Amp("fp32", CPU))["val/mse"]
        for size in (7, 256, 1000)
    }
    assert by_batch[7] == pytest.approx(by_batch[1000], rel=1e-6)
    assert by_batch[256] == pytest.approx(by_batch[1000], rel=1e-6)
