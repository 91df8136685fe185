"""A list of layer sizes longer than ``aegan.settings.schema_kinds.MAX_LAYERS`` is refused in one line before
any network is built: in a command's config, in a checkpoint's own record and in the record of
the run folder a checkpoint lies in. Each entry built a layer on the meta device first: 50,000
took about 40 s of CPU before the refusal, 5,000 here about 10 s."""

from __future__ import annotations

import logging

import pytest
from omegaconf import OmegaConf
from torch import nn

from aegan.config import validate_config
from aegan.errors import CheckpointError, ConfigError
from aegan.runs.record import record_config
from aegan.runs.record_networks import check_networks_in_its_run
from conftest import TINY_AE, compose_config

LAYERS = [1] * 5_000
MAX_LAYERS = 1000  # aegan.settings.schema_kinds.MAX_LAYERS
REFUSED = f"model.hidden_dims=[1, 1, 1, ...] is not allowed: it must be a list of at most " \
    f"{MAX_LAYERS} layer sizes, not 5,000"  # fmt: skip


@pytest.fixture
def no_layer_built(monkeypatch):
    """Building a layer fails the test: the refusal must come before any network is built
    (not timed: a loaded machine made a wall-clock bound fail)."""

    def built(*args, **kwargs):
        raise AssertionError("a layer was built before the refusal")

    monkeypatch.setattr(nn.Linear, "__init__", built)


def autoencoder_record(tmp_path, hidden_dims: list[int]) -> dict:
    """The record a tiny autoencoder run keeps, its ``model.hidden_dims`` set to ``hidden_dims``."""
    config = OmegaConf.to_container(compose_config(TINY_AE, tmp_path / "run"), resolve=True)
    config["model"]["hidden_dims"] = config["model"]["net"]["hidden_dims"] = hidden_dims
    return {"config": config, "choices": {"model": "autoencoder", "data": "fashion_mnist"}}


@pytest.mark.usefixtures("no_layer_built")
def test_a_config_of_too_many_layers_is_one_line_before_the_model_is_built(tmp_path):
    cfg = compose_config(TINY_AE, tmp_path / "run")
    cfg.model.hidden_dims = LAYERS  # as a config file of the user's sets it
    with pytest.raises(ConfigError) as caught:
        validate_config(cfg, in_job=False)
    assert str(caught.value) == REFUSED


@pytest.mark.usefixtures("no_layer_built")
def test_a_checkpoints_record_of_too_many_layers_is_refused_before_the_model_is_built(tmp_path):
    record = autoencoder_record(tmp_path, LAYERS)
    with pytest.raises(CheckpointError) as caught:
        record_config(record, path="last.pt")
    assert str(caught.value) == f"last.pt: {REFUSED}"


@pytest.mark.usefixtures("no_layer_built")
def test_a_run_folders_record_of_too_many_layers_is_said_without_building_it(tmp_path, caplog):
    """The folder's record is damaged, not another run's: said, and the checkpoint's own
    record rebuilds the run."""
    state = {**autoencoder_record(tmp_path, [8]), "networks": {}}
    folder = tmp_path / "run"
    (folder / ".hydra").mkdir(parents=True)
    hostile = autoencoder_record(tmp_path, LAYERS)["config"]
    (folder / ".hydra" / "config.yaml").write_text(OmegaConf.to_yaml(hostile))
    with caplog.at_level(logging.WARNING):
        check_networks_in_its_run(folder / "checkpoints" / "last.pt", state)
    assert f"its networks cannot be built here ({folder / '.hydra' / 'config.yaml'}: " \
        f"{REFUSED})" in caplog.text  # fmt: skip


def test_as_many_layers_as_allowed_are_taken(tmp_path):
    cfg = record_config(autoencoder_record(tmp_path, [8] * MAX_LAYERS), path="last.pt")
    assert len(cfg.model.hidden_dims) == MAX_LAYERS
