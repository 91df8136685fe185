"""A config file's defaults list, checked as Hydra loads the file (``aegan.cli.hydra_files``):
each ``override`` names an option that is there, and overrides its group once. Hydra's own
words named neither the file nor its option: ``override /model: nope`` in a file of the
user's was said as "model=nope: no such option", as if the command line had typed it."""

from __future__ import annotations

from typing import Any

from aegan.errors import ConfigError


def no_such_option(where: str, group: str, name: str, options: list[str]) -> str:
    """The line for option ``name`` of ``group`` that is not there, after ``where`` (who
    named it: "" for the command line)."""
    if not options:
        return f"{where}{group}={name}: there is no such {group} config"
    return (
        f"{where}{group}={name}: no such option; choose one of: {', '.join(options)} (or "
        f"add {group}/{name}.yaml to a folder DIR given as hydra.searchpath=[file://DIR])"
    )


def check_defaults(repo: Any, option: str, config_path: str, path: str, defaults: list) -> None:
    """``ConfigError`` for the defaults list of ``option`` (its file ``path``; ``repo``:
    Hydra's config repository) where an ``override`` names an option that is not there, or
    overrides one group twice: Hydra keeps the first ``override /model: ...`` and drops the
    later without a word (two plain entries it refuses itself)."""
    chosen: dict[tuple, Any] = {}
    for default in defaults:
        group = getattr(default, "group", None)
        if group is None or not getattr(default, "override", False):
            continue
        key = (group, default.package)
        if key in chosen:
            name = group.lstrip("/") + (f"@{default.package}" if default.package else "")
            raise ConfigError(
                f"{option}: {path} overrides {name} twice in its defaults list "
                f"({chosen[key]}, then {default.value}): Hydra would keep {chosen[key]} and drop "
                f"{default.value} without a word; keep one"
            )
        chosen[key] = default.value
        _check_named(repo, option, config_path, path, default)


def _check_named(repo: Any, option: str, config_path: str, path: str, default: Any) -> None:
    value, group = default.value, default.group
    if default.optional or not isinstance(value, str) or "${" in value:
        return  # null (no option), a list, an interpolation: Hydra's own checks
    base = config_path.rpartition("/")[0]  # a relative group is under the file's own
    group = group[1:] if group.startswith("/") or not base else f"{base}/{group}"
    if repo.group_exists(group) and not repo.config_exists(f"{group}/{value}"):
        where = f"{option}: its defaults list ({path}) names "
        raise ConfigError(no_such_option(where, group, value, repo.get_group_options(group)))
