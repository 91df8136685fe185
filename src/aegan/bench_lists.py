"""``aegan.bench``'s lists of values to time (precisions, compile_modes, ..., threads), each
checked: values their trainer setting takes, each once; null in one is the run's own value
(``trainer.precision``..., a recipe's where it sets it), so that ``experiment=X`` times the
recipe's settings unless a list names others."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from aegan.amp import PRECISIONS
from aegan.engine.device import available_cores
from aegan.errors import ConfigError, refused_value
from aegan.speed import COMPILE_MODES, COMPILE_SCOPES
from aegan.tasks.checks import check_bool, check_choice, check_number

# a trainer setting that a list of bench's sets in each configuration -> that list: given on
# the command line, it was replaced (trainer.precision=bf16 timed fp32); a variant's applies
TIMED_BY_LIST = {
    "trainer.precision": "precisions", "trainer.compile": "compile_modes",
    "trainer.compile_scope": "compile_scopes", "trainer.capture_step": "capture_step",
    "trainer.channels_last": "channels_last",
}  # fmt: skip
SETTING_OF = {listed: key for key, listed in TIMED_BY_LIST.items()}

LISTS = {  # list setting -> the check of each of its values (null: the run's own)
    "precisions": lambda key, value: check_choice(key, value, PRECISIONS),
    "compile_modes": lambda key, value: check_choice(key, value, COMPILE_MODES),
    "compile_scopes": lambda key, value: check_choice(key, value, COMPILE_SCOPES),
    "capture_step": check_bool,
    "channels_last": check_bool,
    "threads": lambda key, value: check_number(
        key, value, low=1, high=4 * available_cores(), integer=True
    ),
}


def plain(value: Any) -> Any:
    """A config node as plain Python values, interpolations as written."""
    if OmegaConf.is_config(value):
        return OmegaConf.to_container(value, resolve=False)
    return value


def timed_values(cfg: DictConfig, listed: str) -> list:
    """The values of the list ``listed`` to time, a null as its trainer setting's value."""
    own = OmegaConf.select(cfg, SETTING_OF[listed])
    return [own if value is None else value for value in plain(cfg[listed])]


def check_lists(cfg: DictConfig) -> None:
    """The lists of values to time are non-empty lists of values their trainer setting
    takes, or null; thread counts are null or what the machine has."""
    for key, check in LISTS.items():
        if not OmegaConf.is_list(cfg[key]) or not len(cfg[key]):
            raise ConfigError(
                f"{key}={refused_value(plain(cfg[key]))} is not allowed: it must be a non-empty "
                f"list of values to time ({key}=[...])"
            )
        for i, value in enumerate(plain(cfg[key])):
            if value is not None:
                check(f"{key}[{i}]", value)
        values = plain(cfg[key])
        timed = timed_values(cfg, key) if key in SETTING_OF else values
        if len({str(v) for v in timed}) < len(timed):  # each configuration timed twice
            own = ""
            if None in values and key in SETTING_OF:
                own = f" (null is {SETTING_OF[key]}, {refused_value(timed[values.index(None)])})"
            raise ConfigError(
                f"{key}={refused_value(values)} is not allowed: it must list each value to time "
                f"once{own}"
            )
