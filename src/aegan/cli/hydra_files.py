"""Each config file Hydra loads (``conf/`` or a folder on ``hydra.searchpath``) checked as
it loads: it is UTF-8 text of a size Hydra can take, holds a mapping, its defaults list
does not lead back to itself and overrides options that are there, once each
(``aegan.cli.hydra_defaults``), its sweep's params (if it sets ``hydra.sweeper.params``) can be
read, and no file of the user's of the same name
(``--config-dir``, ``hydra.searchpath``) lies behind it on the search path.

Hydra takes a file that holds a list as it is (the run fails later, on a key of it, with a
traceback), reports one that holds a number as an I/O error, and follows a file that
includes itself until Python's recursion limit. Checked where Hydra loads each file, the
mistake is one ``ConfigError`` naming the option and its file, before anything is made,
for every group and for ``compose_config`` as for the command line. A file that is not
UTF-8 gave the codec's error without the file, one nested a few thousand levels deep
Python's recursion error, and a few lines of aliases that nest (each naming the one before
ten times) never returned: OmegaConf copies every alias out. Hydra puts the user's folders
after conf/, so their ``train.yaml`` or ``model/vae.yaml`` (a copy of conf/ edited, say)
was never read, and the run trained on aegan's own without a word.
"""

from __future__ import annotations

import functools
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml
from hydra._internal import defaults_list
from hydra._internal.config_repository import ConfigRepository, IConfigRepository
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import OverrideParseException
from omegaconf import OmegaConf

from aegan.cli.file_values import check_file_values, not_yaml
from aegan.cli.hydra_defaults import check_defaults
from aegan.errors import ConfigError
from aegan.settings.overrides import GRAMMAR, parse_reason

# OmegaConf's refusal of a YAML file that holds one value: "Invalid loaded object type: int"
SINGLE_VALUE = re.compile(r"Invalid loaded object type: (\w+)")
KINDS = {"int": "a number", "float": "a number", "bool": "true or false",
         "ListConfig": "a list", "str": "text"}  # fmt: skip
MAX_VALUES = 100_000  # values a file may hold with its aliases copied out (ours: under 100)
MAX_DEPTH = 100  # levels of nesting (ours: 4); OmegaConf recurses through each
MAX_BYTES = 16 * 2**20  # ours: a few KB
# a plain YAML scalar that reads as an integer: decimal, octal, sexagesimal, hex or binary
INTEGER = re.compile(r"[-+]?(0b[01_]+|0x[0-9a-fA-F_]+|[0-9][0-9_:]*)")


def option_of(config_path: str) -> str:
    """``model=alist`` for ``model/alist``: the option as a command line chooses it."""
    group, _, name = config_path.rpartition("/")
    return f"{group}={name}" if group else f"the config {name}"


def file_of(repo: IConfigRepository, config_path: str) -> str:
    """The file that holds ``config_path`` (the first source on the search path that has it)."""
    source = source_of(repo, config_path)
    return f"{config_path}.yaml" if source is None else _location(source, config_path)


def source_of(repo: IConfigRepository, config_path: str) -> Any:
    """The first source on the search path that holds ``config_path``, or None."""
    return next((source for source in repo.get_sources() if _found(source, config_path)), None)


def _found(source: Any, config_path: str) -> bool:
    try:
        return bool(source.is_config(config_path))
    except Exception:  # a source that cannot be listed: another one holds it
        return False


def _location(source: Any, config_path: str) -> str:
    if source.scheme() == "file":
        return os.path.join(source.path, f"{config_path}.yaml")
    return f"{source.scheme()}://{source.path}/{config_path}.yaml"


def users_setting(provider: str) -> str | None:
    """The setting that put a source on the search path, if the user's: ``--config-dir``
    (Hydra's provider ``command-line``) or ``hydra.searchpath``."""
    if provider == "command-line":
        return "--config-dir"
    return "hydra.searchpath" if provider.startswith("hydra.searchpath") else None


def read_file_of(repo: IConfigRepository, config_path: str) -> str:
    """``file_of``, after a ``ConfigError`` for a file of the user's that Hydra never reads:
    one of the same name (``config_path``) comes before it on the search path."""
    holders = [source for source in repo.get_sources() if _found(source, config_path)]
    if not holders:
        return f"{config_path}.yaml"
    for source in holders[1:]:
        setting = users_setting(source.provider)
        hidden, read = _location(source, config_path), _location(holders[0], config_path)
        if setting is None or os.path.realpath(hidden) == os.path.realpath(read):
            continue
        group, _, name = config_path.rpartition("/")
        own = (f"{group}/my_{name}.yaml, chosen with {group}=my_{name}" if group
               else f"my_{name}.yaml, run with --config-name my_{name}")  # fmt: skip
        raise ConfigError(
            f"{setting}: {hidden} is never read: {read} has its name and comes first on "
            f"Hydra's search path; give yours a name of its own (e.g. {own})"
        )
    return _location(holders[0], config_path)


def not_a_mapping(repo: IConfigRepository, config_path: str, kind: str) -> ConfigError:
    what = "a config group option" if "/" in config_path else "a config"
    return ConfigError(
        f"{option_of(config_path)}: {file_of(repo, config_path)} holds {kind}, where {what} "
        "must hold a mapping (key: value lines)"
    )


def check_config_text(option: str, path: str) -> None:
    """``ConfigError`` for a file Hydra cannot take: over ``MAX_BYTES``, not UTF-8, nested
    past ``MAX_DEPTH``, or past ``MAX_VALUES`` with its aliases copied out. Read as a stream
    of events, lazily: an alias is counted, never expanded. Other YAML mistakes are Hydra's
    to name."""
    try:
        size = Path(path).stat().st_size
        if size > MAX_BYTES:  # read whole, by Hydra too
            raise ConfigError(
                f"{option}: {path} is {size / 2**20:.0f} MiB, over the {MAX_BYTES // 2**20} MiB "
                "a config file may hold"
            )
        text = Path(path).read_bytes().decode()
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{option}: {path} is not UTF-8 text (byte {err.object[err.start]:#04x} at "
            f"{err.start}); save it as UTF-8"
        ) from None
    except OSError:  # Hydra says what it cannot read
        return
    sizes: dict[str, int] = {}  # anchor -> the values its node holds
    open_nodes: list[list] = []  # per open collection: [anchor, values so far]
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                open_nodes.append([event.anchor, 1])
                if len(open_nodes) > MAX_DEPTH:
                    raise ConfigError(f"{option}: {path} is nested deeper than {MAX_DEPTH} levels")
                continue
            if isinstance(event, yaml.CollectionEndEvent):
                anchor, size = open_nodes.pop()
            elif isinstance(event, yaml.ScalarEvent):
                anchor, size = event.anchor, 1
                _check_number_size(option, path, event)
            elif isinstance(event, yaml.AliasEvent):
                anchor, size = None, sizes.get(event.anchor, 1)
            else:
                continue
            if anchor is not None:
                sizes[anchor] = size
            if open_nodes:
                open_nodes[-1][1] += size
            if size > MAX_VALUES or (open_nodes and open_nodes[-1][1] > MAX_VALUES):
                raise ConfigError(
                    f"{option}: {path} holds more than {MAX_VALUES:,} values with its aliases "
                    "copied out, as OmegaConf copies them; write the values it needs"
                )
    except yaml.YAMLError:
        return


def _check_number_size(option: str, path: str, scalar: yaml.ScalarEvent) -> None:
    """A plain scalar that reads as an integer of more decimal digits than Python converts
    (4,300 by default): yaml's ``int()``, or a later ``str()`` of a hex one, raised "Exceeds
    the limit", naming neither file nor line."""
    limit = sys.get_int_max_str_digits()
    if scalar.style is not None or not limit or not INTEGER.fullmatch(scalar.value):
        return
    body = scalar.value.lstrip("+-").replace("_", "")
    if body[:2] in ("0x", "0b"):  # a power of two's base: read in linear time
        bits = int(body[2:] or "0", 16 if body[1] == "x" else 2).bit_length()
        digits = int(bits * math.log10(2)) + 1
    elif ":" in body:  # base 60
        digits = len(body.split(":")[0]) + int(body.count(":") * math.log10(60)) + 1
    else:  # decimal, or octal (0...): no more digits than written
        digits = len(body)
    if digits > limit:
        raise ConfigError(
            f"{option}: {path} line {scalar.start_mark.line + 1} holds a number of more digits "
            f"than Python reads ({limit:,}); no setting takes one so large"
        )


SWEEP_PARAMS = "hydra.sweeper.params"


def parsed_sweep_params(parser: Any, params: dict, where: str) -> list:
    """``params`` (a sweeper's ``hydra.sweeper.params``) as its sweeper parses them, each
    ``KEY=VALUE``; ``ConfigError`` naming the first that cannot be read as from ``where``
    (a file, or the settings): Hydra parses them with the command line's overrides, and
    named it as an override the user typed."""
    parsed = []
    for key, value in params.items():
        try:
            parsed += parser.parse_overrides([f"{key}={value}"])
        except OverrideParseException as err:
            raise ConfigError(
                f"{SWEEP_PARAMS}.{key}={value} {where}cannot be read as a sweep: "
                f"{parse_reason(err)} (the syntax: {GRAMMAR})"
            ) from None
    return parsed


def check_sweep_params(config_path: str, path: str, result: Any) -> None:
    """``ConfigError`` for a file whose ``hydra.sweeper.params`` (where its package puts
    them) a sweeper could not read: named by the file, not as the command line's."""
    package = result.header.get("package")
    group = config_path.rpartition("/")[0]
    if package in (None, "_group_"):
        package = group.replace("/", ".")
    package = "" if package == "_global_" else package.replace("_group_", group)
    if package and not (SWEEP_PARAMS + ".").startswith(package + "."):
        return
    params = OmegaConf.select(result.config, SWEEP_PARAMS[len(package) :].lstrip("."))
    if not OmegaConf.is_dict(params):
        return
    written = OmegaConf.to_container(params, resolve=False)
    plain = {k: v for k, v in written.items() if "${" not in f"{k}{v}"}  # resolved later
    where = f"(set in {path}, by {option_of(config_path)}) "
    parsed_sweep_params(OverridesParser.create(), plain, where)


def _checked_load(load: Any) -> Any:
    @functools.wraps(load)
    def load_config(self: IConfigRepository, config_path: str) -> Any:
        path = read_file_of(self, config_path)  # the search path walked once per load
        if os.path.isfile(path):
            check_config_text(option_of(config_path), path)
        try:
            result = load(self, config_path)
        except yaml.YAMLError as err:  # the user's file: named with its option
            raise ConfigError(f"{option_of(config_path)}: {path} {not_yaml(err)}") from None
        except OSError as err:
            single = SINGLE_VALUE.search(str(err))
            if single is None:
                raise
            kind = KINDS.get(single.group(1), f"a single value ({single.group(1)})")
            raise not_a_mapping(self, config_path, kind) from None
        if result is not None and not OmegaConf.is_dict(result.config):
            kind = KINDS.get(type(result.config).__name__, type(result.config).__name__)
            raise not_a_mapping(self, config_path, kind)
        if result is not None:
            defaults = result.defaults_list or []
            check_defaults(self, option_of(config_path), config_path, path, defaults)
            check_sweep_params(config_path, path, result)
            check_file_values(option_of(config_path), path, config_path, result)
        return result

    load_config.checks_mappings = True
    return load_config


def _config_path(tree: Any) -> str | None:
    """The config a defaults tree node stands for, or None (the virtual root, no option)."""
    try:
        node = tree.node
        if node.is_virtual() or node.get_name() is None:
            return None
        return node.get_config_path()
    except Exception:  # a node Hydra resolves later (an interpolation): not compared
        return None


def _acyclic(build: Any) -> Any:
    @functools.wraps(build)
    def build_tree(repo: IConfigRepository, root: Any, *args: Any, **kwargs: Any) -> Any:
        path = _config_path(root)
        chain, above = [path], root.parent
        while path is not None and above is not None:
            chain.append(_config_path(above))
            if chain[-1] == path:
                through = " -> ".join(p for p in reversed(chain) if p is not None)
                raise ConfigError(
                    f"{option_of(path)}: {file_of(repo, path)} includes itself through the "
                    f"defaults lists ({through}); remove the entry that leads back"
                )
            above = above.parent
        return build(repo, root, *args, **kwargs)

    build_tree.checks_cycles = True
    return build_tree


def install() -> None:
    """Check every config file as Hydra loads it (once per process)."""
    if not getattr(ConfigRepository.load_config, "checks_mappings", False):
        ConfigRepository.load_config = _checked_load(ConfigRepository.load_config)
    build = defaults_list._create_defaults_tree_impl
    if not getattr(build, "checks_cycles", False):  # it calls itself through this name
        defaults_list._create_defaults_tree_impl = _acyclic(build)


install()
