"""The inception metric, asked for, runs or is refused before training: a missing package
was a warning after training and a run that exited 0 without its figures."""

from __future__ import annotations

import importlib.util

import pytest

from aegan.config import compose_config, validate_config
from aegan.errors import ConfigError

find_spec = importlib.util.find_spec


def without(monkeypatch, package: str) -> None:
    """As if ``package`` were not installed."""
    monkeypatch.setattr(
        importlib.util, "find_spec",
        lambda name, *a: None if name == package else find_spec(name, *a),
    )  # fmt: skip


def refusal(*overrides: str) -> str:
    cfg = compose_config(["trainer.device=cpu", "model=dcgan", *overrides])
    with pytest.raises(ConfigError) as refused:
        validate_config(cfg)
    assert "\n" not in str(refused.value)
    return str(refused.value)


def test_inception_without_torch_fidelity_is_refused_saying_what_to_install(monkeypatch):
    without(monkeypatch, "torch_fidelity")
    assert refusal("evaluate.metrics=[fd,inception]") == (
        "the inception metric needs torch_fidelity, which is not installed: pip install "
        "'torchmetrics[image]' torch-fidelity, or leave inception out of the metrics"
    )
    validate_config(compose_config(["trainer.device=cpu", "model=dcgan"]))  # not asked for


def test_the_weights_setting_exists_in_training_and_names_a_file(monkeypatch, tmp_path):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: True)
    assert refusal("evaluate.metrics=[inception]", "evaluate.inception_weights=/no/w.pth") == (
        "evaluate.inception_weights='/no/w.pth' is not allowed: it must be a weights file "
        "that exists, or null to download them"
    )
    weights = tmp_path / "w.pth"
    weights.write_bytes(b"")
    overrides = ["evaluate.metrics=[inception]", f"evaluate.inception_weights={weights}"]
    validate_config(compose_config(["trainer.device=cpu", "model=dcgan", *overrides]))
