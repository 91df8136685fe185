"""Hydra's and OmegaConf's exceptions while composing a config, as one line each: the key,
the value as typed and what is allowed (``hydra_error_line``), for ``aegan.cli.one_line`` to print
and for a run's record read back (``aegan.runs.record``)."""

from __future__ import annotations

import difflib
import os
import re

import yaml
from hydra.errors import (
    ConfigCompositionException,
    MissingConfigException,
    OverrideParseException,
    SearchPathException,
)
from omegaconf import OmegaConf
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    GrammarParseError,
    InterpolationResolutionError,
    InterpolationToMissingValueError,
    MissingMandatoryValue,
    UnsupportedInterpolationType,
    ValidationError,
)

from aegan.cli.file_values import kind_clash_line, merge_refusal
from aegan.cli.hydra_defaults import no_such_option
from aegan.cli.hydra_files import option_of
from aegan.errors import ConfigError, unresolved_reason, written
from aegan.settings.overrides import (
    list_entry_line,
    override_in_flight,
    sweep_without_multirun,
    unreadable_override_line,
)
from aegan.settings.refused_values import node_wants, shown_value

# A ``???`` left unset (evaluate's ``run``), read directly or through an interpolation.
UNSET_VALUE = (MissingMandatoryValue, InterpolationToMissingValueError)
# An interpolation that cannot be resolved (``${oc.env:NOPE}``, ``${nokey}``, ``${a b}``),
# which Hydra raises bare when it resolves ``hydra.run.dir`` and the like.
BROKEN_INTERPOLATION = (
    InterpolationResolutionError, UnsupportedInterpolationType, GrammarParseError,
)  # fmt: skip

SEARCHPATH = "it must be a list of config folders, each file://PATH or pkg://PACKAGE"


def unset_message(key: str) -> str:
    """The one line for a ``???`` value left unset, from Hydra or from ``validate_config``."""
    return f"{key} is not set: add {key}=... to the command"


def hydra_error_line(err: Exception) -> str | None:
    """One line for a config-composition error of Hydra's; None for any other error."""
    if isinstance(err, yaml.YAMLError):  # a config file of the user's: it names the file
        return f"a config file is not YAML that can be read: {' '.join(str(err).split())}"
    if isinstance(err, UNSET_VALUE):
        missing = re.search(r"Missing mandatory value: (\S+)", str(err))
        return unset_message(missing.group(1) if missing else err.full_key)
    if isinstance(err, BROKEN_INTERPOLATION):
        return interpolation_line(err)
    if isinstance(err, SearchPathException):  # --config-dir (-cd): a folder not there
        return f"--config-dir: {err}; give a config folder that exists"
    if isinstance(err, MissingConfigException):
        if str(err).startswith("Cannot find primary config"):  # --config-name (-cn)
            name = err.missing_cfg_file or "''"
            return (
                f"--config-name {name}: there is no such config: its file {name}.yaml must be "
                "in conf/ or in the folder given with --config-dir"
            )
        if not err.missing_cfg_file or "/" not in err.missing_cfg_file:
            return None  # the primary config itself: not a command-line mistake
        group, name = err.missing_cfg_file.rsplit("/", 1)
        # named in an option's own defaults list (Hydra's "In 'experiment/mine': Could not
        # load 'experiment/nope'"), which the line names: the command line never said nope
        named_in = re.match(r"In '([^']+/[^']+)': ", str(err))
        where = f"{option_of(named_in[1])}: its defaults list names " if named_in else ""
        return no_such_option(where, group, name, err.options)
    if isinstance(err, OverrideParseException):
        return unreadable_override_line(err)
    if not isinstance(err, ConfigCompositionException):
        return None
    searchpath = re.fullmatch(r"hydra\.searchpath must be a list of strings\. Got: (.*)", str(err))
    if searchpath:  # [null], [1], a text: Hydra showed Python's words for the value
        return f"hydra.searchpath={written(searchpath.group(1))} is not allowed: {SEARCHPATH}"
    in_file = re.match(r"In '([^']+)': \w+ raised while composing config", str(err))
    inner = err.__context__
    if in_file and err.__cause__ is None and (clash := merge_refusal(in_file.group(1), inner)):
        return clash  # a file's mapping where a list goes, or the reverse: OmegaConf names no key
    if in_file and err.__cause__ is None and getattr(inner, "full_key", None):
        # a config file's value, which Hydra named with OmegaConf's lines about its nodes:
        # the line an override's value would get, after the option that set it
        bare = ConfigCompositionException("")
        bare.__cause__ = inner
        return f"{option_of(in_file.group(1))}: {hydra_error_line(bare)}"
    cause = err.__cause__
    deleted = re.fullmatch(r"Could not delete from config\. '([^']+)' does not exist\.", str(err))
    if deleted or "does not support deletion" in str(cause):  # ~KEY: Hydra's own words misled
        key = deleted.group(1) if deleted else getattr(cause, "full_key", "KEY")
        none = f"{key} holds no value to delete (null, or no such setting); " if deleted else ""
        return (
            f"~{key} is not allowed: {none}every setting in conf/ is read, so give it a value "
            f"({key}=...) instead"
        )
    entry = list_entry_line(cause, re.sub(r"^Error merging override ", "", str(err)))
    if cause is not None and entry is not None:
        return entry
    swept = sweep_without_multirun(str(err))
    if swept is not None:
        return swept
    if cause is None:  # e.g. "model appears more than once in the final defaults list"
        return " ".join(line.strip() for line in str(err).splitlines() if line.strip())
    if isinstance(cause, BROKEN_INTERPOLATION):  # an override's value: what was typed
        typed = re.match(r"Error merging override [^=]+=(.*)", str(err), re.DOTALL)
        return interpolation_line(cause, typed.group(1) if typed else None)
    full_key = getattr(cause, "full_key", None)
    reason = str(getattr(cause, "msg", None) or cause).splitlines()[0]
    if isinstance(cause, (ConfigKeyError, ConfigAttributeError)) and full_key:
        parent = full_key.rpartition(".")[0]
        known = sorted(map(str, cause.parent_node.keys())) if cause.parent_node else []
        close = difflib.get_close_matches(str(cause.key), known, n=1)
        prefix = f"{parent}." if parent else ""
        dotted = [k for k in known if k.startswith(f"{cause.key}.")]
        if parent == "hydra.sweeper.params" and dotted:  # a search's params: keys with dots
            typed = re.search(r"override '?hydra\.sweeper\.params\.([^'=\s]+)", str(err))
            instead = f": {typed.group(1)}=..." if typed else " (KEY=VALUE)"
            return (
                f"{full_key}... is not a setting: a search's params are named with dots "
                f"({', '.join(dotted)}), which an override cannot reach; give it on the "
                f"command line instead{instead}"
            )
        if close:
            return f"{full_key} is not a setting; did you mean {prefix}{close[0]}?"
        if not parent and cause.parent_node is not None:  # a section's key at the top: epochs
            # unresolved: a ??? among them (evaluate's run) raised while naming them
            for section, node in cause.parent_node.items_ex(resolve=False):
                if OmegaConf.is_dict(node) and cause.key in node:
                    return f"{full_key} is not a setting; did you mean {section}.{full_key}?"
        if parent.startswith("hydra.") and not known:  # env_set: a mapping of the user's keys
            return f"{full_key} is not set yet: {parent} holds none; add it with +{full_key}=..."
        if parent and not known:  # an option file that is empty: nothing to suggest
            return f"{full_key} is not a setting: {parent} has none (is its config file empty?)"
        nested = _nested_at_top(str(err), known) if not parent else None
        if nested:
            return nested
        where = f"the settings of {parent}" if parent else "the sections"
        line = f"{full_key} is not a setting; {where} are: {', '.join(known)}"
        if parent.partition(".")[0] == "model":  # a class's argument that conf/ does not list
            line += f"; to pass one that {parent}._target_ takes, add it: +{full_key}=..."
        return line
    if isinstance(cause, ValidationError) and full_key:
        if "is not Optional" in reason or "Incompatible value 'None'" in reason:
            wants = node_wants(cause, "")  # the node's kind: "it must be an integer"
            return f"{full_key}=null is not allowed: {wants or 'it must be set'}"
        return f"{full_key}={shown_value(cause.value)} is not allowed: {node_wants(cause, reason)}"
    typed = re.match(r"Error merging override [^=]+=(.*)", str(err), re.DOTALL)
    if reason.startswith("Cannot merge ") and full_key and typed:  # a list where a section goes
        return kind_clash_line(full_key, typed.group(1), "object_type=list" in str(cause))
    return f"{full_key}: {reason}" if full_key else f"{str(err).splitlines()[0]} {reason}"


def _nested_at_top(message: str, known: list[str]) -> str | None:
    """A dotted override whose section the command has not (``aegan.evaluate``'s settings are
    all at the top): its own key where the last part is one (``evaluate.samples=100`` ->
    ``samples=100``), else, for a model setting where the command takes ``overrides``, the
    way to change the run's; None otherwise."""
    typed = re.search(r"Could not override '([^']+)'", message)
    if typed is None or "." not in typed.group(1):
        return None
    key = typed.group(1)
    given = re.search(r"use \+" + re.escape(key) + r"=(.*)", message)
    value = given.group(1).strip() if given else "..."
    last = key.rpartition(".")[2]
    if last in known:
        return f"{key} is not a setting of this command; did you mean {last}={value}?"
    if "overrides" in known and key.startswith("model."):  # the run's model, changed
        return (
            f"{key} is not a setting of this command; to evaluate the run with it changed: "
            f"overrides='[\"{key}={value}\"]'"
        )
    return None


# lines of OmegaConf's messages that describe its nodes, not the mistake
NODE_DETAIL = ("full_key:", "object_type=", "reference_type=")


def composition_line(err: BaseException) -> str:
    """One line for any other error that Hydra or OmegaConf raised around the task (composing
    the config, making the sweeper or the launcher): the override being applied when it
    broke, where one was, else the key the error names, and the error's own words."""
    words = [w.strip() for w in str(err).splitlines() if w.strip()]
    reason = " ".join(w for w in words if not w.startswith(NODE_DETAIL)) or type(err).__name__
    override = override_in_flight(err)
    entry = list_entry_line(err, override)
    if entry is not None:
        return entry
    swept = re.match(r"\+*hydra\.sweeper\.params(?:\.([^=]+))?=", override or "")
    if swept and "None" in reason:  # null for the basic sweeper: Hydra's words name nothing
        key = swept.group(1) or "KEY"
        return (
            f"the override {override} cannot be applied: hydra.sweeper.params is null here; "
            f"sweep a setting on the command line ({key}=A,B), or set the params of a search "
            "(hparams_search=...) in a config file"
        )
    if override is not None:
        return f"the override {override} cannot be applied: {reason}"
    named = re.search(r"full_key: (\S+)", str(err))  # Hydra's instantiate names it so
    key = getattr(err, "full_key", None) or (named.group(1) if named else None)
    unknown = re.search(r"(\w+)\.__init__\(\) got an unexpected keyword argument '(\w+)'", reason)
    if key and unknown:  # a plugin's setting misspelt or made up: +hydra.launcher.n_job=2
        return f"{key}.{unknown.group(2)} is not a setting of {unknown.group(1)}"
    return f"{key}: {reason}" if key else reason


def logging_config_line(err: BaseException, argv: list[str]) -> str | None:
    """For an error of ``logging.config`` while Hydra sets up the run's logging (a level or a
    handler it cannot use): the logging overrides given, the error and its cause; else None."""
    tb, within = err.__traceback__, False
    while tb is not None:
        within |= tb.tb_frame.f_code.co_filename.endswith(os.path.join("logging", "config.py"))
        tb = tb.tb_next
    if not within:
        return None
    given = [a for a in argv if re.match(r"[+~]*hydra[./](job|hydra)_logging\b", a)]
    cause = err.__cause__ or err.__context__
    reason = f"{err} ({cause})" if cause is not None else str(err)
    where = " ".join(given) or "hydra.job_logging (or hydra.hydra_logging)"
    return f"{where}: the run's logging cannot be set up with it: {reason}"


def interpolation_line(err: Exception, typed: str | None = None) -> str:
    """One line for an interpolation that cannot be resolved, naming the key where it breaks:
    ``hydra.run.dir`` of aegan.evaluate is ``${...:${run}}``, but ``run`` is what was typed
    (``typed``: the value of the override that could not be merged). A ``ConfigError`` of
    one of aegan's resolvers (``aegan.log_dir``) already names its setting: its line alone."""
    cause: BaseException | None = err
    while cause is not None and not isinstance(cause, ConfigError):
        cause = cause.__cause__ or cause.__context__  # OmegaConf wraps, without ``from``
    if cause is not None:
        return str(cause)
    reason = unresolved_reason(err)
    verb = "read" if isinstance(err, GrammarParseError) else "resolved"
    key = getattr(err, "full_key", None)
    root = getattr(err, "parent_node", None)
    if not key:
        return f"an interpolation cannot be {verb}: {reason}"
    raw: object = typed
    if typed is None and root is not None:
        root = root._get_root()
        key = _broken_key(root, str(key), {str(key)})
        raw = _raw_value(root, key)
    value = "" if raw is None else f"={raw!r}"
    return f"{key}{value} cannot be {verb}: {reason}"


def _broken_key(root: object, key: str, seen: set[str]) -> str:
    """``key``, or the key it refers to (``${other}``) that fails to resolve itself."""
    for ref in re.findall(r"\$\{([A-Za-z_][\w.-]*)\}", str(_raw_value(root, key))):
        if ref in seen or _raw_value(root, ref) is None:
            continue
        try:
            OmegaConf.select(root, ref, throw_on_resolution_failure=True)
        except Exception:  # any failure there is the one to name
            return _broken_key(root, ref, seen | {ref})
    return key


def _raw_value(root: object, key: str) -> object:
    """The value of ``key`` as written (interpolations unresolved); None when there is none."""
    node = root
    try:
        for part in key.split("."):
            node = node._get_node(int(part) if part.isdigit() else part)
        return None if node is None else node._value()
    except Exception:  # no such key, or not a container on the way
        return None
