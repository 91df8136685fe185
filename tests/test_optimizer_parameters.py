"""An optimizer given nothing to train, by a network without weights or with all of them
frozen: one line naming the optimizer's setting and class, before the run's folder is made."""

from __future__ import annotations

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from aegan.errors import ConfigError
from aegan.models import DenseAutoencoder
from aegan.tasks import build_task
from aegan.tasks.build import build_optimizer
from conftest import CONF_DIR


class FrozenAutoencoder(DenseAutoencoder):
    """The article's network with its weights frozen, as a pretrained one may come."""

    def __init__(self, **sizes) -> None:
        super().__init__(**sizes)
        self.requires_grad_(False)


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_a_frozen_network_is_refused_naming_its_optimizer(device):
    """All its weights frozen, the task was built and the run's folder made; the first
    backward stopped with a traceback: "element 0 of tensors does not require grad"."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", [f"model.net._target_={__name__}.FrozenAutoencoder"])
    with pytest.raises(ConfigError) as refused:
        build_task(cfg.model, (1, 28, 28), torch.device(device))
    assert str(refused.value).startswith(
        "model.optimizer._target_=torch.optim.Adam is given no parameters to train "
        "(10, none with requires_grad): "
    )


@pytest.mark.parametrize("params", [[], [{"params": []}]])
def test_no_parameters_at_all_are_refused_naming_the_optimizer(params):
    """torch's "optimizer got an empty parameter list" came as the settings' fault: "is not
    allowed as set (... lr=0.01)", with neither the optimizer's _target_ nor the cause."""
    cfg = OmegaConf.create({"_target_": "torch.optim.SGD", "lr": 0.01})
    with pytest.raises(ConfigError) as refused:
        build_optimizer("model.d_optimizer", cfg, params)
    assert str(refused.value) == (
        "model.d_optimizer._target_=torch.optim.SGD is given no parameters to train: the "
        "networks it steps have no weights that train; give them some"
    )
