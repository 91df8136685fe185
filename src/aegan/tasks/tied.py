"""What ties a network to its task: the sizes the task passes it, the task settings only
its section reads, and the methods the task calls on it (used by ``build_network``)."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, ListConfig
from torch import nn

from aegan.errors import ConfigError, refused_value
from aegan.tasks.sub_configs import NETWORK, check_sub_config

SET_BY = {  # the setting to change for a size a task passes to its networks
    "image_shape": "the data (data=..., data.image_size, data.channels)",
    "latent_dim": "model.latent_dim",
    "out_features": "model.latent_dim",
    "categories": "model.categories",
    "continuous": "model.continuous",
}


def check_sizes_set(
    key: str, cfg: DictConfig, sizes: dict[str, Any], set_by: dict[str, str]
) -> None:
    """Raise ``ConfigError`` for a key of ``cfg`` that the task passes itself (``sizes``)
    with another value: the task's would silently win. An equal one (``${..latent_dim}``)
    is a tie and stays."""
    for name, value in sizes.items():
        if name in cfg and plain_value(cfg[name]) != plain_value(value):
            raise ConfigError(
                f"{key}.{name}={refused_value(plain_value(cfg[name]))} is not allowed: the task "
                f"sets it to {refused_value(plain_value(value))}, from {set_by.get(name, 'its own settings')}; change that "
                f"instead, or remove {key}.{name}"
            )


def check_read_by(
    key: str, value: Any, network_key: str, network_cfg: DictConfig, name: str
) -> None:
    """Raise ``ConfigError`` unless the task setting ``key``, which only its network's
    section reads (``name: ${..name}``), is read there with the same value: else it has no
    effect (a convolutional net has no ``hidden_dims``)."""
    check_sub_config(network_key, network_cfg, NETWORK)
    if name not in network_cfg:
        raise ConfigError(
            f"{key}={refused_value(plain_value(value))} is not allowed: {network_key}._target_="
            f"{network_cfg.get('_target_')} does not read it (no {network_key}.{name}), so it "
            f"would have no effect; remove {key}"
        )
    if plain_value(network_cfg[name]) != plain_value(value):
        raise ConfigError(
            f"{network_key}.{name}={refused_value(plain_value(network_cfg[name]))} is not allowed: "
            f"it differs from {key}={refused_value(plain_value(value))}, which it is tied to; set "
            f"{key} instead"
        )


def has_member(network: nn.Module, name: str) -> bool:
    """Whether ``network`` has ``name``; ``forward``: its own, not Module's placeholder."""
    if name == "forward":
        return type(network).forward is not nn.Module.forward
    return hasattr(network, name)


def plain_value(value: Any) -> Any:
    """A list for a ListConfig or tuple (as a line shows it); else the value."""
    return list(value) if isinstance(value, (ListConfig, tuple)) else value
