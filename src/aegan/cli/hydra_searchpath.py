"""``hydra.searchpath``'s entries checked before Hydra reads them: Hydra warns in two lines
for a folder that is not there and goes on without it, so a config the user keeps there is
not found and the run trains another. Checked on the command line (``aegan.cli.one_line``), in a
config file (``aegan.cli.hydra_dirs``) and for a run read back (``aegan.runs.inputs``)."""

from __future__ import annotations

import os
import re

from aegan.cli.hydra_errors import SEARCHPATH


def missing_searchpath(argv: list[str]) -> str | None:
    """The line for a ``hydra.searchpath=[...]`` entry that is not there (Hydra would warn in
    two lines and go on without it); None when every entry is there or it cannot be told."""
    from hydra._internal.sources_registry import SourcesRegistry
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.plugins import Plugins

    for arg in argv:
        if not re.match(r"(\+\+|\+)?hydra\.searchpath=", arg):
            continue
        try:
            (override,) = OverridesParser.create().parse_overrides([arg])
            entries = override.value()
        except Exception:  # not an override: Hydra's own line names it
            return None
        if override.is_sweep_override():
            return None
        if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
            return f"hydra.searchpath={arg.partition('=')[2]} is not allowed: {SEARCHPATH}"
        Plugins.instance()  # registers the file:// and pkg:// sources
        for entry in entries:
            scheme = entry.split("://", 1)[0] if "://" in entry else "file"
            source = SourcesRegistry.instance().types.get(scheme)  # unknown: Hydra's traceback
            named = entry.split("://", 1)[-1].strip()  # '' or file://: the current folder, unsaid
            if source is None or not named or not source("hydra.searchpath", entry).available():
                there = scheme == "file" and os.path.exists(entry.split("://", 1)[-1])
                problem = ("is not allowed" if source is None else "names no folder" if not named
                           else "is a file, not a config folder" if there else "does not exist")  # fmt: skip
                if "${" in entry:  # Hydra searched a folder of that name, then the run failed
                    problem = "is not allowed: Hydra searches it as typed, ${...} unresolved"
                shown = entry if entry.strip() else repr(entry)
                return (
                    f"hydra.searchpath: {shown} {problem}; each entry must be a config folder "
                    "that exists: file://PATH or pkg://PACKAGE"
                )
    return None
