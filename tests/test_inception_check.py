"""The inception metric, asked for, runs or is refused before training: a missing package
was a warning after training and a run that exited 0 without its figures."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
import torch

import aegan.metrics.inception as inception
from aegan.config import compose_config, validate_config
from aegan.errors import ConfigError
from aegan.metrics.inception import FC_SHAPE, check_weights, weights_only_loads
from conftest import Touch

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
    installed = find_spec("torch")  # the packages as if installed, every other import as it is
    monkeypatch.setattr(
        importlib.util, "find_spec",
        lambda name, *a: installed if name in inception.PACKAGES else find_spec(name, *a),
    )  # fmt: skip
    assert refusal("evaluate.metrics=[inception]", "evaluate.inception_weights=/no/w.pth") == (
        "evaluate.inception_weights='/no/w.pth' is not allowed: it must be a weights file "
        "that exists, or null to download them"
    )
    weights = tmp_path / "w.pth"
    torch.save(inception_like(), weights)
    overrides = ["evaluate.metrics=[inception]", f"evaluate.inception_weights={weights}"]
    validate_config(compose_config(["trainer.device=cpu", "model=dcgan", *overrides]))


def inception_like() -> dict[str, torch.Tensor]:
    """A state dict with Inception's last layer (a few bytes: one value, expanded)."""
    return {"fc.weight": torch.zeros(1).expand(*FC_SHAPE), "fc.bias": torch.zeros(FC_SHAPE[0])}


def _hostile_weights(path: Path, marker: Path) -> dict:
    """Files that are not Inception's weights, each written at ``path``."""
    whole = path.with_name("whole.pth")
    torch.save(inception_like(), whole)
    return {
        "empty": lambda: path.write_bytes(b""),
        "cut": lambda: path.write_bytes(whole.read_bytes()[:300]),
        "zeros": lambda: path.write_bytes(bytes(4096)),
        "text": lambda: path.write_text("weights\n"),
        "a list": lambda: torch.save([1, 2], path),
        "another model": lambda: torch.save({"conv.weight": torch.zeros(3, 3)}, path),
        "a code pickle": lambda: torch.save({**inception_like(), "x": Touch(marker)}, path),
    }


REASONS = {"another model": "holds no Inception weights", "a list": "holds no Inception weights",
           "a code pickle": "beyond tensors and plain containers (possibly code)"}  # fmt: skip


@pytest.mark.parametrize(
    "damage", ["empty", "cut", "zeros", "text", "a list", "another model", "a code pickle"]
)
def test_a_weights_file_that_is_not_inceptions_is_one_line_before_any_work(tmp_path, damage):
    path, marker = tmp_path / "w.pth", tmp_path / "ran"
    _hostile_weights(path, marker)[damage]()
    with pytest.raises(ConfigError) as refused:
        check_weights("evaluate.inception_weights", str(path))
    message = str(refused.value)
    assert "\n" not in message and message.startswith(f"evaluate.inception_weights='{path}'")
    assert REASONS.get(damage, "is not readable as weights") in message, message
    assert not marker.exists()  # the file's pickle ran no code
    torch.save(inception_like(), path)
    check_weights("evaluate.inception_weights", str(path))


@pytest.mark.parametrize("kind", ["a folder", "a fifo", "a link to /dev/zero"])
def test_weights_that_are_no_regular_file_are_refused_without_waiting(tmp_path, kind):
    path = tmp_path / "w.pth"
    {"a folder": path.mkdir, "a fifo": lambda: os.mkfifo(path),
     "a link to /dev/zero": lambda: path.symlink_to("/dev/zero")}[kind]()  # fmt: skip
    with pytest.raises(ConfigError, match="it must be a weights file that exists"):
        check_weights("inception_weights", str(path))


def test_the_inception_networks_load_their_weights_weights_only(tmp_path, monkeypatch):
    """torch.hub loads the downloaded weights with weights_only=False, torch-fidelity a
    weights file with torch's default: within, either load refuses a pickle naming code."""
    path, marker = tmp_path / "w.pth", tmp_path / "ran"
    torch.save({"x": Touch(marker)}, path)
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    with weights_only_loads(), pytest.raises(Exception, match="[Ww]eights only load failed"):
        torch.load(path, weights_only=False)
    assert not marker.exists()
    assert os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] == "1"  # as it was, after
    assert "TORCH_FORCE_WEIGHTS_ONLY_LOAD" not in os.environ

    loaded = []

    class Network:  # as torchmetrics' FID and IS: the network and its weights at construction
        def __init__(self, *args, feature_extractor_weights_path=None, **kwargs) -> None:
            loaded.append(torch.load(feature_extractor_weights_path, weights_only=False))

    fid = pytest.importorskip("torchmetrics.image.fid")
    monkeypatch.setattr(fid, "FrechetInceptionDistance", Network)
    monkeypatch.setattr(pytest.importorskip("torchmetrics.image.inception"), "InceptionScore",
                        Network)  # fmt: skip
    with pytest.raises(Exception, match="[Ww]eights only load failed"):
        inception.inception_metrics(torch.zeros(2, 1, 8, 8, dtype=torch.uint8),
                                    torch.zeros(2, 1, 8, 8), str(path))  # fmt: skip
    assert not marker.exists() and not loaded
