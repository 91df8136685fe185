"""Every config composes, and every model config instantiates for its data."""

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

from aegan.config import validate_config
from aegan.engine import ConfigError
from conftest import CONF_DIR, compose_config

MODELS = sorted(p.stem for p in (CONF_DIR / "model").glob("*.yaml"))
DATASETS = sorted(p.stem for p in (CONF_DIR / "data").glob("*.yaml"))
EXPERIMENTS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("data", DATASETS)
@pytest.mark.parametrize("model", MODELS)
def test_model_and_data_configs_compose(model, data, tmp_path: Path):
    cfg = compose_config([f"model={model}", f"data={data}"], tmp_path)
    assert cfg.model.task in ("autoencoder", "gan")
    assert cfg.data.name == data


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiments_compose(experiment, tmp_path: Path):
    cfg = compose_config([f"experiment={experiment}"], tmp_path)
    assert cfg.trainer.epochs > 0


def test_autoencoder_config_instantiates_the_article_network(tmp_path: Path):
    cfg = compose_config([], tmp_path)
    net = instantiate(cfg.model.net, image_shape=[1, 28, 28])
    optimizer = instantiate(cfg.model.optimizer)(net.parameters())
    assert isinstance(optimizer, torch.optim.Adam)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-3)
    assert net.latent_dim == 32
    assert net(torch.rand(2, 1, 28, 28)).shape == (2, 1, 28, 28)


def test_unknown_key_is_rejected(tmp_path: Path):
    with pytest.raises(Exception, match="epochz"):
        compose_config(["trainer.epochz=3"], tmp_path)


@pytest.mark.parametrize("group", ["model", "data", "logger"])
def test_a_deleted_config_group_is_named_with_its_options(group, tmp_path: Path):
    cfg = compose_config([f"~{group}"], tmp_path)  # Hydra composes without it
    options = sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))
    with pytest.raises(ConfigError, match=f"{group} is not set .* one of: {', '.join(options)}$"):
        validate_config(cfg)


def test_an_unset_value_is_named_before_anything_runs(tmp_path: Path):
    cfg = compose_config(["data=image_folder"], tmp_path)  # data.root: ???
    with pytest.raises(ConfigError, match=r"^data.root is not set: add data.root=\.\.\. to"):
        validate_config(cfg)
