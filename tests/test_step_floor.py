"""The VAE steps of ``scripts/step_floor.py``: the written-out one's hand-made gradients
are autograd's (the script checks them on its first batch and stops if they differ), and
both it and the plain autograd loop train."""

from __future__ import annotations

import importlib.util
from types import SimpleNamespace

import pytest
import torch

from conftest import REPO


def load_step_floor():
    spec = importlib.util.spec_from_file_location("step_floor", REPO / "scripts/step_floor.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_vae_steps_train_past_an_epoch():
    step_floor = load_step_floor()
    images = torch.randint(0, 256, (256, 1, 28, 28), generator=torch.Generator().manual_seed(0))
    data = SimpleNamespace(train_images=images.to(torch.uint8))
    for make in (step_floor.written_out_vae, step_floor.plain_autograd_vae):
        step = make(data)
        for _ in range(6):  # past the end of the first epoch of 4 batches
            step()


def test_a_wrong_gradient_is_caught(monkeypatch):
    step_floor = load_step_floor()
    images = torch.randint(0, 256, (128, 1, 28, 28), dtype=torch.uint8)
    real_addcmul = torch.addcmul
    monkeypatch.setattr(  # the log-variance's gradient without its path through z
        torch, "addcmul", lambda base, *args, value=1: base if value == 0.5 else real_addcmul(
            base, *args, value=value))  # fmt: skip
    with pytest.raises(AssertionError):
        step_floor.written_out_vae(SimpleNamespace(train_images=images))
