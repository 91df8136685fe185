"""The checks of one setting's value, which every constructor and config reader shares:
each raises one ``ConfigError`` line that names the key, the value and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from omegaconf import DictConfig, ListConfig

from aegan.errors import ConfigError, refused_value
from aegan.settings.schema_kinds import too_many_layers
from aegan.settings.value_kinds import unquoted_hint
from aegan.tasks.tied import check_read_by, plain_value

# the one limit of each kind of size setting, which every task's checks share
MAX_SIZE = 2**31 - 1  # a layer width torch can index
MAX_CODE = 2**16  # a code's width (latent_dim, noise_dim): a task draws up to 1,024 fixed codes
# on the CPU as it is built, before the memory check can refuse it (4.9 GB and 44 s at 2**20)
MAX_FD_SAMPLES = 10**6  # model.fd_samples: images generated for each validation's FD
MAX_NOISE_SEED = 2**63 - 2  # model.noise_seed: the validation's draws take noise_seed + 1


def check_choice(key: str, value: Any, allowed: Sequence[Any]) -> None:
    """Raise ``ConfigError`` unless ``value`` is one of ``allowed``."""
    if isinstance(value, bool) or value not in allowed:
        raise ConfigError(
            f"{key}={refused_value(value)} is not allowed; choose one of: {', '.join(map(str, allowed))}"
        )


def check_bool(key: str, value: Any, *, allow_none: bool = False) -> None:
    """Raise ``ConfigError`` unless ``value`` is true or false (or null, with ``allow_none``)."""
    if not isinstance(value, bool) and not (allow_none and value is None):
        allowed = "true, false or null" if allow_none else "true or false"
        raise ConfigError(
            f"{key}={refused_value(value)} is not allowed: it must be {allowed}{unquoted_hint(key, value, True)}"
        )


def check_number(
    key: str, value: Any, *, low: float = -math.inf, high: float = math.inf,
    integer: bool = False, low_open: bool = False, high_open: bool = False,
) -> None:  # fmt: skip
    """Raise ``ConfigError`` unless ``value`` is a (whole, with ``integer``) number in the range."""
    kind = int if integer else (int, float)
    ok = isinstance(value, kind) and not isinstance(value, bool) and not math.isnan(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (
            value < high if high_open else value <= high
        )
    if not ok:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        what = "an integer" if integer else "a number"
        raise ConfigError(
            f"{key}={refused_value(value)} is not allowed: it must be {what} in {left}{low}, {high}{right}"
            + unquoted_hint(key, value, 0 if integer else 0.0)
        )


def check_sizes(
    key: str, sizes: Any, *, min_length: int = 0, length: int | None = None, **bounds: Any
) -> None:
    """Raise ``ConfigError`` unless ``sizes`` is a list of at least ``min_length`` (exactly
    ``length``) entries, each passing ``check_number`` with ``bounds`` (by default a layer
    width: an integer in [1, MAX_SIZE])."""
    bounds = {"low": 1, "high": MAX_SIZE, "integer": True, **bounds}
    plain = list(sizes) if isinstance(sizes, (Sequence, ListConfig)) else None
    short = plain is not None and (
        len(plain) < min_length or (length is not None and len(plain) != length)
    )
    if isinstance(sizes, (str, bytes)) or plain is None or short:
        what = "layer sizes" if bounds["integer"] else "numbers"
        count = f"at least {min_length} " if min_length else ""
        count = f"{length} " if length is not None else count
        raise ConfigError(
            f"{key}={refused_value(plain_value(sizes))} is not allowed: it must be a list of {count}{what}"
        )
    if too_many := too_many_layers(key, plain):
        raise ConfigError(too_many)
    for i, size in enumerate(plain):
        check_number(f"{key}[{i}]", size, **bounds)


def check_hidden_dims(hidden_dims: Any, net: Any) -> None:
    """``model.hidden_dims``, which only a dense ``model.net`` reads (``${..hidden_dims}``):
    a list of layer sizes there, named as the task's setting (null read by the network
    too), or null where the network has none (a convolutional one)."""
    read_null = (
        isinstance(net, DictConfig) and "hidden_dims" in net and net.get("hidden_dims") is None
    )
    if hidden_dims is None and not read_null:
        return
    check_sizes("model.hidden_dims", hidden_dims)
    check_read_by("model.hidden_dims", hidden_dims, "model.net", net, "hidden_dims")
