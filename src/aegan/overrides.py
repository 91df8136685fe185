"""The key a command-line override sets, read one way everywhere."""

from __future__ import annotations


def override_key(override: object) -> str:
    """The dotted key of a Hydra override: ``"+trainer.epochs=3"``, ``"++trainer.epochs=3"``
    and ``"~trainer.epochs"`` all give ``"trainer.epochs"``."""
    return str(override).partition("=")[0].lstrip("+~")
