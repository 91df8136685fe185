"""The key a command-line override sets, read one way everywhere, and a value written so
that Hydra and OmegaConf take it as it is."""

from __future__ import annotations

import re
from typing import Any

from omegaconf import OmegaConf


def override_key(override: object) -> str:
    """The dotted key of a Hydra override: ``"+trainer.epochs=3"``, ``"++trainer.epochs=3"``
    and ``"~trainer.epochs"`` all give ``"trainer.epochs"``."""
    return str(override).partition("=")[0].lstrip("+~")


def given_overrides(hydra_cfg: Any) -> list[str]:
    """The command line's overrides (``hydra.overrides.task``) as typed. Read through
    OmegaConf, a ``${...}`` in one ran in Hydra's list: ``${..latent_dim}`` was looked up
    there and failed, a resolver ran again, and one that fails stopped the check before the
    run's folder."""
    return [str(o) for o in OmegaConf.to_container(hydra_cfg.overrides.task, resolve=False)]


# the characters Hydra escapes with a \ in a value it hands a sweep's job (its grammar's)
HYDRA_ESCAPED = re.compile(r"\\([\\()\[\]{}:=, \t])")


def unescaped(override: str) -> str:
    """A sweep job's override as the user typed it: Hydra hands each job its value escaped
    (``seed=${hydra\\:job.num}``, ``x=a\\,b``)."""
    return HYDRA_ESCAPED.sub(r"\1", override)


def literal(text: str) -> str:
    """``text`` escaped for OmegaConf: a folder's name, set as a config value, stays that
    name (``${...}`` in it is no interpolation or resolver to run)."""
    return re.sub(r"(\\*)\$\{", lambda m: m[1] * 2 + "\\${", text)


def hydra_quoted(text: str) -> str:
    """``text`` as one quoted value of a Hydra override: a comma in a folder's name would
    make a sweep of it, a space or quote end it, ``${...}`` be resolved."""
    text = literal(text)  # ${ -> \${
    text = re.sub(r"(\\*)'", lambda m: m[1] * 2 + "\\'", text)  # a quote and the \ before it
    text = re.sub(r"(\\+)$", lambda m: m[1] * 2, text)  # \ before the closing quote
    return f"'{text}'"
