"""A job's command-line overrides as read back from its record (``.hydra/overrides.yaml``,
or a grid's ``jobs.json``): a flat list of items, each shaped like an override Hydra wrote,
none resolved, run or expanded."""

from __future__ import annotations

import re
from pathlib import Path

from aegan.io.readback import read_plain_yaml

MAX_OVERRIDES = 1000  # per job; Hydra writes the few given on the command line
# an override as Hydra writes one: KEY=VALUE (+, ++ or ~ before the key), or ~KEY alone
OVERRIDE_SHAPE = re.compile(r"(\+\+|\+|~)?[\w$./@-]+=.*|~[\w$./@-]+", re.DOTALL)


def is_override(text: str) -> bool:
    """Whether ``text`` is shaped like a Hydra override (``OVERRIDE_SHAPE``): ``noequals`` or
    ``=x`` in a job's record would be a column named so, or one with no name."""
    return OVERRIDE_SHAPE.fullmatch(text) is not None


def read_overrides(override_file: Path) -> list[str]:
    """The job's command-line overrides, as Hydra saved them: ``["model.latent_dim=8", ...]``.
    Read strictly as a flat YAML list of overrides (``ValueError`` otherwise, naming the file
    and the first item that is none)."""
    overrides = read_plain_yaml(override_file, max_depth=1)
    if overrides is None:
        return []
    if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
        raise ValueError(f"{override_file}: not a list of key=value overrides")
    if len(overrides) > MAX_OVERRIDES:
        raise ValueError(f"{override_file}: {len(overrides)} overrides, over {MAX_OVERRIDES}")
    if (odd := next((o for o in overrides if not is_override(o)), None)) is not None:
        raise ValueError(f"{override_file}: {odd!r:.80} is no key=value override")
    return overrides
