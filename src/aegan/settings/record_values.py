"""A run's record, value by value, against what ``conf/`` composes (``aegan.runs.record``'s
trust boundary): plain data of the kinds ``conf/`` has where it has the key, never code,
and its text taken as text."""

from __future__ import annotations

import re
from typing import Any

from aegan.errors import CheckpointError
from aegan.settings.overrides import literal
from aegan.settings.schema import CODE_KEYS, code_in
from aegan.settings.schema_kinds import too_many_layers
from aegan.settings.value_kinds import fits, kind_of

TIED = re.compile(r"\$\{[^:{}]+\}")  # a value conf/ takes from another key: ${..latent_dim}


def plain_values(
    saved: dict, composed: dict, *, prefix: str, path, user: set[str] = frozenset(),
    left_out: list[str],
) -> list[tuple[str, Any]]:  # fmt: skip
    """(dotted key, value) for each stored value whose key ``composed`` has, its text escaped
    for OmegaConf; refuses code and values of another kind than ``conf/`` has there. Keys
    ``composed`` lacks go to ``left_out``, but code in the model's: it built the model."""
    out = []
    for key, value in saved.items():
        full = f"{prefix}{key}"
        if full in user:  # the user's own override wins over the record, code included
            continue
        if not isinstance(key, str) or (key not in composed and key not in CODE_KEYS):
            code = code_in(value)
            if code and full.startswith("model."):  # the run's model was built with it
                raise CheckpointError(
                    f"{path}: {full}{code} names code, which a run's record may not choose "
                    f"(to use it, pass {full}=... yourself)"
                )
            left_out.append(full)
            continue
        current = composed.get(key)
        if too_many := too_many_layers(full, value):  # before a layer of them is built
            raise CheckpointError(f"{path}: {too_many}")
        elif key in CODE_KEYS:
            if value != current:
                raise CheckpointError(
                    f"{path}: {full}={value!r} is not conf/'s {current!r}; a run's record may "
                    f"not choose code (to use it, pass {full}=... yourself)"
                )
        elif isinstance(current, str) and TIED.fullmatch(current):
            continue  # conf/ ties it to another key: it follows that one, overridden or not
        elif isinstance(value, dict) and isinstance(current, dict):
            out += plain_values(
                value, current, prefix=f"{full}.", path=path, user=user, left_out=left_out
            )
        elif isinstance(current, dict):
            raise CheckpointError(f"{path}: {full}={value!r} is not a mapping like conf/'s")
        elif not _is_plain(value):
            raise CheckpointError(f"{path}: {full}={value!r} is not a plain value")
        elif full.startswith("model.") and "${" in repr(value):  # escaped, still resolved
            raise CheckpointError(
                f"{path}: {full}={value!r:.80} holds '${{', which Hydra's instantiate resolves "
                f"even escaped; a run's record may not (to use it, pass {full}=... yourself)"
            )
        elif None not in (value, current) and kind_of(current) and not fits(_text(value), current):
            raise CheckpointError(
                f"{path}: {full}={value!r} is {kind_of(_text(value))} where conf/ has "
                f"{kind_of(current)}"
            )
        else:
            out.append((full, _text(value)))
    return out


def _is_plain(value: Any) -> bool:
    """A value a config file may hold as data: text, a number, true or false, null, a list."""
    if isinstance(value, list):
        return all(_is_plain(item) for item in value)
    return value is None or isinstance(value, (str, bool, int, float))


def _text(value: Any) -> Any:
    """``value`` with its text escaped for OmegaConf: the record holds what the run resolved,
    so a ``${`` there is part of a name, not an interpolation to run again."""
    if isinstance(value, str):
        return literal(value)
    if isinstance(value, list):
        return [_text(item) for item in value]
    return value
