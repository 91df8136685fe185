"""The config file of the user's that set a value a check refuses after composition.

A check of the composed config sees a value as YAML read it (``evaluate.iwae_images: 1e3``
as 1000.0) and knows no file: the line named neither. Hydra's last composition is
remembered (its config, overrides and loader); a refusal's key, the first word of its line,
is looked up in that composition's defaults list in Hydra's merge order. Where the last
file to set it is the user's (``--config-dir``, ``hydra.searchpath``) and no override set
it (the command line's value wins, and its line stays as it was), the line names the option
and the file, with the value as the file writes it, as a value refused as the file loads
is (``aegan.cli.file_values``): ``experiment=mine: evaluate.iwae_images=1e3 is not allowed:
... (set in /x/experiment/mine.yaml)``; a value an interpolation gives, with the
interpolation: ``(set in /x/experiment/mine.yaml as ${size})``. A sweep's value
(``data.batch_size=range(5,1,1)``) is looked up among the sweeper's ``params``, and so is a
value a job drew from them. A composition a check makes of another config (a run's record)
is not the command's (``kept_composition``).
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any

from hydra._internal import config_loader_impl
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra.types import RunMode
from omegaconf import OmegaConf

from aegan.cli.file_values import written_in
from aegan.cli.hydra_files import file_of, option_of, source_of, users_setting
from aegan.errors import USER_ERRORS, refused_value, typed
from aegan.settings.refused_values import as_given, read_as_typed

# the key a refusal's line begins with (model.hidden_dims[0]=..., evaluate.metrics: ...)
FIRST_KEY = re.compile(r"([A-Za-z_][\w-]*(?:\.[\w-]+|\[\d+\])*)(=|: | is )")
SWEEP_PARAMS = "hydra.sweeper.params"
_LAST: dict[str, Any] = {}  # the last composition: its loader, config name, overrides, mode


def named_by_its_file(message: str, drawn: Collection[str] = ()) -> str:
    """``message`` as ``OPTION: message (set in FILE)``, its value as the file writes it,
    where the value its first key names came from a file of the user's in the last
    composition; else as it is (a value of the command line, of conf/, or none).
    ``drawn``: the keys whose values a sweep's job drew from the sweeper's ``params``,
    named by the file that set those: ``(drawn from choice(0, 8), set in FILE)``."""
    found = FIRST_KEY.match(message)
    if found is None or " (set in " in message or not _LAST:
        return message
    key = found[1]
    swept = _without_items(key) in drawn
    try:  # Hydra's warnings (a deprecated default) were said as it composed
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            shown = message[found.end() :] if found[2] == "=" and not swept else None
            origin = _setter(f"{SWEEP_PARAMS}.{_without_items(key)}" if swept else key, shown)
    except Exception:  # the composition cannot be walked again (a file changed since)
        return message
    if origin is None or f"{origin[0]}.yaml" in message:  # a line that names it already
        return message
    config_path, path, package, where, value = origin
    if _interpolated(value):  # the line shows what it gives: -4 of ${mysize}
        written = "" if value in message else f" as {value}"
        return f"{option_of(config_path)}: {message} (set in {path}{written})"
    writing = written_in(path, _without_items(where), package)  # a list's whole: [1e3, 0]
    if swept:  # a value of the sweep, as the file writes it: 1e3 of choice(16, 1e3)
        line = as_given(message, drawn_as_written(key, writing or ""))
        return f"{option_of(config_path)}: {line} (drawn from {writing}, set in {path})"
    line = as_given(message, [f"{_without_items(key)}={writing}"] if writing else [])
    line = UNQUOTED.sub(_as_yaml_writes_it, line)  # the command line's hint, as YAML reads
    return f"{option_of(config_path)}: {line} (set in {path})"


def drawn_as_written(key: str, sweep: str) -> list[str]:
    """``KEY=NUMBER`` for each number the sweep ``sweep`` (``choice(16, 1e3)``) writes, for
    ``as_given``: a job's value is shown as the sweep writes it (1e3, not 1000.0)."""
    words = re.findall(r"(?<![\w.'\"])[+-]?\.?\d[\w.+-]*", sweep)
    return [f"{_without_items(key)}={word}" for word in words]


def with_held_overrides(argv: list[str]) -> list[str]:
    """``argv`` and the overrides its values hold as text (``aegan.evaluate``'s
    ``overrides=["data.batch_size=1e3"]``, ``aegan.bench``'s ``variants={a: [...]}``): the
    check of the config they change shows their values as read (1000.0), to be shown as
    typed as the command line's are (``aegan.settings.refused_values.as_given``)."""
    held: list[str] = []
    for arg in argv:
        key, is_set, value = arg.partition("=")
        if is_set and not key.startswith(("hydra", "+hydra", "-")):
            held += _texts(read_as_typed(value))
    return [*argv, *(text for text in held if "=" in text)]


def _texts(value: Any) -> list[str]:
    """The text values within ``value`` (a list's, a mapping's, at any depth)."""
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [text for item in items for text in _texts(item)]


@contextmanager
def naming_setting(key: str, value: object) -> Iterator[None]:
    """A user's mistake raised inside about the setting ``key`` whose line does not name it
    (a checkpoint's ``no checkpoint at /x: ...``) begins with ``KEY=VALUE: ``, so that the
    setting is named, and the file of the user's that set it (``named_by_its_file``). A
    composition made inside (a run's record read back to hold a checkpoint to) is the
    check's own: the command's stays the one its file is looked up in."""
    try:
        with kept_composition():
            yield
    except USER_ERRORS as err:
        if str(err).startswith(key) or f"{key}=" in str(err):
            raise
        named = type(err)(f"{key}={value}: {err}")
        named.keys = getattr(err, "keys", ())
        raise named from None


@contextmanager
def kept_composition() -> Iterator[None]:
    """The command's composition stays the last while a check composes another config
    (a run's record, conf/'s own config of the command): a value refused later is looked
    up in the files that composed it, not in that one's."""
    before = dict(_LAST)
    try:
        yield
    finally:
        _LAST.clear()
        _LAST.update(before)


# the command line's hint for a quoted value (``aegan.settings.value_kinds.unquoted_hint``)
UNQUOTED = re.compile(r" \(unquoted(?: in ([^:]+))?: (?:([^=()]+)=)?([^()]*)\)")


def _as_yaml_writes_it(hint: re.Match) -> str:
    """The hint of ``UNQUOTED`` for a file (an item of a list: ``64 in hidden_dims``): YAML
    reads ``nan`` and ``inf`` unquoted as text, and ``.nan`` and ``.inf`` as the numbers."""
    key, value = (hint[1] or hint[2]).rpartition(".")[2], hint[3]
    special = re.fullmatch(r"([+-]?)(nan|inf)", value, re.IGNORECASE)
    if special:
        value = f"{special[1] if special[1] == '-' else ''}.{special[2].lower()}"
    return (
        f" (unquoted in the file: {value} in {key})"
        if hint[1]
        else (f" (unquoted in the file: {key}: {value})")
    )


def _setter(key: str, shown: str | None) -> tuple[str, str, list[str], str, Any] | None:
    """(config path, file, its package's keys, the key it sets, its value there) of the
    user's file that set ``key`` last in the last composition, where no override set it;
    ``shown``: the line after ``KEY=``, which must show that file's value (a sweep of the
    sweeper's ``params`` first) or be what its interpolation gives; None where the line
    shows no value."""
    loader, name, overrides = _LAST["loader"], _LAST["config_name"], _LAST["overrides"]
    parsed, repo = loader._parse_overrides_and_create_caching_repo(name, overrides)
    listed = config_loader_impl.create_defaults_list(
        repo=repo, config_name=name, overrides_list=parsed, prepend_hydra=True,
        skip_missing=_LAST["run_mode"] == RunMode.MULTIRUN,
    )  # fmt: skip
    given = [_parts(override.key_or_group) for override in listed.config_overrides]
    files = [(d, OmegaConf.to_container(loader._load_single_config(d, repo).config))
             for d in listed.defaults]  # fmt: skip
    swept = f"{SWEEP_PARAMS}.{key}"  # the line's value as a sweep of the sweeper's params
    keys = [key] if shown is None else [swept, key]
    for parts in map(_parts, keys):
        if any(p[: len(parts)] == parts or parts[: len(p)] == p for p in given):
            return None  # the command line's value wins, and its line is as it was
    for held in keys:  # the sweep the line shows, where a file wrote it; else the value's
        found = [(d, _value_at(content, _parts(held))) for d, content in files]
        found = [(d, value) for d, value in found if value is not _ABSENT]
        if found and (_shows(shown, found[-1][1]) or _interpolated(found[-1][1])):
            # not a value set since (a run's record); an interpolation shows what it gives
            key, (last, value) = held, found[-1]
            break
    else:
        return None
    source = source_of(repo, last.config_path)
    if source is None or users_setting(source.provider) is None:
        return None  # conf/'s or a plugin's
    package = [part for part in (last.package or "").split(".") if part]
    return last.config_path, file_of(repo, last.config_path), package, key, value


_ABSENT = object()


def _parts(key: str) -> list[str]:
    """A dotted key's parts, an item's index one of them: ``a.b[0]`` -> a, b, 0."""
    return re.findall(r"[^.\[\]]+", key.lstrip("+~"))


def _shows(shown: str | None, value: Any) -> bool:
    """Whether a line that goes on with ``shown`` after ``KEY=`` shows ``value`` (as a check
    writes it: 1000.0, 'text', null, [1,2]); any value where it shows none (None)."""
    forms = {str(value), typed(value), refused_value(value)}
    return shown is None or any(re.match(rf"{re.escape(f)}(?![\w.])", shown) for f in forms)


def _interpolated(value: Any) -> bool:
    """Whether a file's value is an interpolation (``${mysize}``), which a line shows resolved."""
    return isinstance(value, str) and "${" in value


def _without_items(key: str) -> str:
    """``key`` without its items' indexes: the list's whole (``model.hidden_dims``)."""
    return re.sub(r"\[\d+\]", "", key)


def _value_at(content: Any, parts: list[str]) -> Any:
    """The value of ``content`` (a file's, placed) at ``parts``, a key of a mapping made of
    several of them (a sweeper's ``params``: ``data.batch_size``); ``_ABSENT`` if none."""
    if not parts:
        return content
    if isinstance(content, list):
        index = int(parts[0]) if parts[0].isdigit() else len(content)
        return _value_at(content[index], parts[1:]) if index < len(content) else _ABSENT
    for end in range(len(parts), 0, -1) if isinstance(content, dict) else ():
        name = ".".join(parts[:end])
        if name in content:
            held = _value_at(content[name], parts[end:])
            if held is not _ABSENT:
                return held
    return _ABSENT


def _remembered(load: Any) -> Any:
    @functools.wraps(load)
    def load_configuration(
        self: ConfigLoaderImpl, config_name: str | None, overrides: list[str],
        run_mode: RunMode, *args: Any, **kwargs: Any,
    ) -> Any:  # fmt: skip
        cfg = load(self, config_name, overrides, run_mode, *args, **kwargs)
        _LAST.update(loader=self, config_name=config_name, overrides=list(overrides),
                     run_mode=run_mode)  # fmt: skip
        return cfg

    load_configuration.remembers = True
    return load_configuration


if not getattr(ConfigLoaderImpl.load_configuration, "remembers", False):
    ConfigLoaderImpl.load_configuration = _remembered(ConfigLoaderImpl.load_configuration)
