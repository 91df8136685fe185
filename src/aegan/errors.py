"""The errors a user can fix from the message alone: each is one line naming what is wrong.

At the bottom of the import graph, so that any layer can raise them and the entry points
can turn them into one line and exit code 2 (``aegan.cli.one_line``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence

LONGEST_WORD = 200  # characters of one unbroken value (a pasted string) shown
LONGEST_PATH = 1024  # a path of a few names of up to 255 bytes: one cut short names no file
PATH_STARTS = ("/", "~/", "./", "../")


def shortened(message: str) -> str:
    """``message`` with each run of more than ``LONGEST_WORD`` non-space characters cut (of
    more than ``LONGEST_PATH`` where it is a path, ``is_path``): a value a million
    characters long is named, not printed."""
    return re.sub(rf"\S{{{LONGEST_WORD + 1},}}", _shortened_word, message)


def is_path(word: str) -> bool:
    """Whether a word of a message is a path (or a folder's name written as one, ``NAME/``)."""
    return word.startswith(PATH_STARTS) or "/" in word


def _shortened_word(word: re.Match) -> str:
    if is_path(word[0]) and len(word[0]) <= LONGEST_PATH:
        return word[0]
    return f"{word[0][: LONGEST_WORD // 2]}...({len(word[0])} characters)"


# key=None, key=True: Python's names of a value the user typed as null or true; not in a
# path (a word with a / in it)
PYTHON_CONSTANT = re.compile(r"(?<=[\w\]])=(None|True|False)\b(?!['\"])")
TYPED = {"None": "null", "True": "true", "False": "false"}


def as_typed(message: str) -> str:
    """``message`` with ``key=None``, ``key=True`` and ``key=False`` written as a config
    file and the command line write them: ``key=null``, ``key=true``, ``key=false``. Paths
    are kept as they are on the disk (a word from ``/``, ``~/`` or ``./``, or with a ``/``
    in it): a job folder named by its overrides (``evaluate.at_end=False,...``)
    was named as one that is not there; so was a relative one's last part
    (``multirun/.not_run/evaluate.at_end=False.json``). A folder's name alone is kept
    where it is written as one (``folder_word``)."""
    return re.sub(r"\S+", _typed_word, message)


def _typed_word(word: re.Match) -> str:
    if is_path(word[0]):
        return word[0]
    return PYTHON_CONSTANT.sub(lambda m: f"={TYPED[m[1]]}", word[0])


def folder_word(name: str) -> str:
    """A folder's name (a sweep's job folder, named by its overrides) as a message names
    it: with a / after it where ``as_typed`` would otherwise write a value in it as typed
    (``evaluate.at_end=False`` as ``=false``), naming a folder that is not there."""
    return name if as_typed(name) == name else f"{name}/"


# text an item of a list can be written as, unquoted, and still read as that text
BARE_TEXT = re.compile(r"(?!(?i:null|true|false|[+-]?nan|[+-]?inf)$)[A-Za-z_][\w./@-]*")


def typed(value: object) -> str:
    """A plain value as the command line writes it: null, true, 0.5, text."""
    return TYPED[str(value)] if value is None or isinstance(value, bool) else str(value)


def written(shown: str) -> str:
    """A value shown as Python writes it (``[None]``, ``{'a': True}``) as the command line
    writes it (``[null]``, ``{a:true}``); as shown where it cannot be read."""
    try:
        value = ast.literal_eval(shown)
    except (ValueError, SyntaxError):
        return shown

    def write(value: object) -> str:
        if isinstance(value, (list, tuple)):
            return f"[{','.join(map(write, value))}]"
        if isinstance(value, dict):
            return "{" + ",".join(f"{write(k)}:{write(v)}" for k, v in value.items()) + "}"
        if isinstance(value, str) and not BARE_TEXT.fullmatch(value):
            return repr(value)  # as an item must be written: '' or a space, comma or newline
        return typed(value)

    return write(value)


def refused_value(value: object) -> str:
    """A value a message refuses, as the command line writes it: a list or mapping (OmegaConf's
    too) as ``[a,null]`` and ``{a:1}``, not Python's ``['a', None]``; null, true; text quoted."""
    if value is None or isinstance(value, bool):
        return typed(value)
    container = isinstance(value, (Sequence, Mapping)) and not isinstance(value, (str, bytes))
    return written(repr(value)) if container else repr(value)


def not_text(key: str, value: object, allowed: str, source: str = "") -> str:
    """The line refusing ``value`` of ``key``, a setting that takes text (a path, a name:
    ``allowed``): a number or a switch (``nan``, ``inf``, ``1e3``, ``true``), which the
    command line and YAML read as such, with the quoting that makes it text. ``source``:
    where the value came from (`` (from AEGAN_LOG_DIR)``)."""
    line = f"{key}={refused_value(value)}{source} is not allowed: it must be {allowed}"
    if isinstance(value, (bool, int, float)):
        reads = "true or false" if isinstance(value, bool) else "a number"
        line += f" (quoted where it reads as {reads}: {key}='{typed(value)}')"
    return line


def unresolved_reason(err: BaseException) -> str:
    """The first line of why an interpolation failed, in words: a resolver called without
    its argument (``${now:}``, ``${oc.env:}``) or with too many is named so, not as Python's
    TypeError of a lambda's positional arguments."""
    reason = " ".join(str(getattr(err, "msg", None) or err).split("\n")[0].split())[:200]
    missing = re.search(
        r"TypeError raised .*\) missing \d+ required positional arguments?: (.*)", reason
    )
    if missing:
        return f"its resolver is given no argument; it takes {missing.group(1)}"
    extra = re.search(
        r"TypeError raised .*\) takes (from \d+ to \d+|\d+) positional arguments? but (\d+) w",
        reason,
    )
    if extra:  # ${now:%Y,%m}: a comma splits the argument
        return (f"its resolver is given {extra.group(2)} arguments and takes {extra.group(1)} "
                "(a comma separates arguments: quote one that holds it)")  # fmt: skip
    # a resolver's own refusal (${now:%Q}, ${oc.env:NOPE}) without OmegaConf's frame for it
    return re.sub(r"^\w+ raised while resolving interpolation: ", "", reason)


def a_kind(name: str) -> str:
    """``name`` (a type's, as ``type(value).__name__``) after its article: "an int", "an
    OrderedDict", "an ndarray", "a float", "a uint8"."""
    vowel = name[:1].lower() in "aeiou" and not name.lower().startswith(("uint", "uni", "use"))
    return f"{'an' if vowel or name.startswith('nd') else 'a'} {name}"


class _OneLine:
    """Shortens the message it is raised with (``shortened``) and writes its values as
    typed (``as_typed``)."""

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(shortened(as_typed(str(message))), *args)

    def _render_traceback_(self) -> list[str]:
        """What IPython (a notebook, the console) shows for it: the line alone, not the
        frames inside aegan that raised it; ``%tb`` still prints them."""
        return [f"{type(self).__name__}: {self}"]


class ConfigError(_OneLine, ValueError):
    """A setting that cannot work; the message names the key, the value and what is allowed."""

    # the settings whose values it refuses, where the check knows them (``check_settings``):
    # a reader of a run tells the user's overrides from the run's record by them
    keys: tuple[str, ...] = ()


class CheckpointError(_OneLine, ValueError):
    """A checkpoint or run folder that cannot be used or written; the message names the file."""


class DataNotFoundError(_OneLine, FileNotFoundError):
    """No way to get the data set worked; the message says what was tried."""


class DataFileError(_OneLine, ValueError):
    """A data file exists but cannot be read as what it should be."""


class NonFiniteError(_OneLine, RuntimeError):
    """The loss became NaN or infinite and ``trainer.on_nonfinite=stop``."""


class EvaluationError(_OneLine, RuntimeError):
    """The final evaluation failed after training; the message says how to run it again."""


class FolderNotFoundError(_OneLine, FileNotFoundError):
    """A folder to read runs from (a sweep's) is not there, or is not a folder."""


class DiskFullError(_OneLine, OSError):
    """The disk filled up while a run wrote its record; the message says what was kept."""


class ContractError(_OneLine, TypeError):
    """A task (a model's own code) breaks the task contract (``aegan.contract``); the message
    names the task and the rule."""


class ProcessFailed(_OneLine, RuntimeError):
    """Under torchrun, another process of the job failed, which ended this one; the message
    is that process's line."""


class TrialFailed(Exception):
    """A search's trial failed, its error recorded (``failed.json``, the log): raised out of
    the job so that the sweeper, which stops by raising a job's error once more of its trials
    failed than ``hydra.sweeper.max_failure_rate`` allows, can; a None it counted, never
    stopping on it."""


USER_ERRORS: tuple[type[Exception], ...] = (
    ConfigError, CheckpointError, DataNotFoundError, DataFileError, NonFiniteError, DiskFullError,
    EvaluationError, FolderNotFoundError, ContractError, ProcessFailed,
)  # fmt: skip
