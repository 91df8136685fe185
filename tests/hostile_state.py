"""A checkpoint's state changed part by part and saved, for the tests that hand aegan
damaged or forged files (with conftest's ``ae``, a tiny trained run and its state)."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

from aegan.io.files import atomic_save


def saved(state: dict, folder: Path) -> Path:
    path = folder / "checkpoints" / "last.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(10_000)  # pickle recurses: a file nested 3,000 deep is made so
    try:
        atomic_save(state, path)
    finally:
        sys.setrecursionlimit(limit)
    return path


def changed(state: dict, where: str, value) -> dict:
    """A deep copy of ``state`` with the entry at the dotted path ``where`` set to ``value``
    (a callable: applied to the entry)."""
    state = copy.deepcopy(state)
    *parents, last = where.split(".")
    node = state
    for key in parents:
        node = node[_key(node, key)]
    last = _key(node, last)
    node[last] = value(node[last]) if callable(value) else value
    return state


def _key(node, key: str):
    """``key`` as ``node`` holds it: list indices and an optimizer's parameter ids are ints."""
    numeric = key.isdigit() and (isinstance(node, list) or key not in node)
    return int(key) if numeric else key
