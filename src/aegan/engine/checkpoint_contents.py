"""What a checkpoint file read back must hold before anything uses it: tensors and plain
containers of bounded size, and a run position (counts, best objective, history) that a run
could have written. Each problem is one line naming the file and the value."""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path
from typing import Any

import torch

from aegan.data.fingerprint import DIGEST, DIGEST_SIZE, SPLITS
from aegan.errors import CheckpointError, a_kind
from aegan.io.readback import shown_read_value

MAX_COUNT = 2**62  # steps, epochs, batches: far beyond a run, and within TensorBoard's int64
MAX_DEPTH = 32  # containers in containers: a run's record and optimizer state nest under 10
MAX_VALUES = 200_000  # plain values and tensors: a run's record holds a few thousand
MAX_TEXT = 10_000  # characters in one string
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # line breaks, tabs, escapes: never in a name


def check_plain(state: dict, path: Path) -> None:
    """Tensors and plain containers as a run writes them, walked once without recursion: a
    file nested thousands deep, holding millions of values, keys that are not names or
    indices (a line break in one included), or tensors that are not dense and real (sparse,
    meta, complex) is refused here, not by a RecursionError, minutes of work, a message split
    in two or a silent cast later."""
    stack, seen = [(state, "the file", 0)], 0
    while stack:
        value, where, depth = stack.pop()
        seen += 1
        if depth > MAX_DEPTH or seen > MAX_VALUES:
            what = f"nested deeper than {MAX_DEPTH}" if depth > MAX_DEPTH else "too many values"
            raise CheckpointError(f"{path}: not a usable checkpoint ({what}, at {where:.120})")
        if torch.is_tensor(value):
            if value.layout != torch.strided or value.is_meta or value.is_complex():
                raise CheckpointError(
                    f"{path}: not a usable checkpoint: {where:.120} is a {value.layout} "
                    f"{value.dtype} tensor on {value.device.type}; weights are dense and real"
                )
        elif isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, (str, int)) or isinstance(key, bool):
                    raise CheckpointError(
                        f"{path}: not a usable checkpoint: a key of {where:.120} is a "
                        f"{type(key).__name__}, not a name or an index"
                    )
                if isinstance(key, str) and CONTROL.search(key):  # it would split a message
                    raise CheckpointError(
                        f"{path}: not a usable checkpoint: a key of {where:.120} is "
                        f"{key!r:.80}, not a name (it holds a control character)"
                    )
                stack.append((item, f"{where}.{key}" if depth else str(key), depth + 1))
        elif isinstance(value, (list, tuple)):
            stack.extend((item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value))
        elif isinstance(value, str) and len(value) > MAX_TEXT:
            raise CheckpointError(
                f"{path}: not a usable checkpoint: {where:.120} is {len(value)} characters long"
            )


PLAIN = (str, int, float, bool, type(None))  # what a config file holds, besides lists and maps


def record_problem(state: dict) -> str | None:
    """What makes ``config`` or ``choices`` (the run's record: the settings it composed, as
    ``OmegaConf.to_container`` gives them) no record, or None: a value that is not text, a
    number, true or false, null, a list or a mapping (a tensor, say). Compared with a run's
    settings, a tensor was read as true or false and stopped the check with a traceback."""
    stack = [(state[key], key) for key in ("config", "choices")]
    while stack:  # check_plain has bounded the depth and the count
        value, where = stack.pop()
        if isinstance(value, dict):
            stack.extend((item, f"{where}.{key}") for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((item, f"{where}[{i}]") for i, item in enumerate(value))
        elif not isinstance(value, PLAIN):
            kind = (
                shown_read_value(value) if torch.is_tensor(value) else f"a {type(value).__name__}"
            )
            return (
                f"{where:.120} is {kind}; a run's record holds text, numbers, true or false, "
                "null, lists and mappings"
            )
    return None


def order_problem(state: dict) -> str | None:
    """What makes the images a step drew unusable, or None: ``processes`` and
    ``batch_size`` positive integers (or both absent: an older file). Only a mid-epoch
    resume reads them, but a file that holds others is damaged wherever it stopped."""
    processes, batch = state.get("processes"), state.get("batch_size")
    if (processes, batch) == (None, None):
        return None
    if all(type(n) is int and 0 < n < 2**31 for n in (processes, batch)):
        return None
    return (
        f"processes={shown_read_value(processes)} and data.batch_size={shown_read_value(batch)}; both "
        "are positive integers"
    )


def check_epoch_order(state: dict, path: Path, processes: int, batch_size: int) -> None:
    """A checkpoint saved mid-epoch continues that epoch's permutation where it stopped:
    after ``batch`` steps of ``processes x data.batch_size`` images each. Under another
    product (``processes`` x ``batch_size`` now) the rest of the epoch would repeat some
    images and skip others, silently."""
    saved_processes, saved_batch = state.get("processes"), state.get("batch_size")
    # at an epoch's end the next epoch is drawn afresh, for any number a step; the values
    # themselves were checked as the file was read (order_problem)
    if state["batch"] == 0 or (saved_processes, saved_batch) == (None, None):  # an older file
        return
    saved, now = saved_processes * saved_batch, processes * batch_size
    if saved == now:
        return
    fits = (
        f"data.batch_size={saved // processes} in {_processes(processes)}, or from "
        if saved % processes == 0 else "from "
    )  # fmt: skip
    raise CheckpointError(
        f"trainer.resume={path}: it stopped at batch {state['batch']} of an epoch drawn "
        f"{saved} images a step ({_processes(saved_processes)} x data.batch_size={saved_batch}); "
        f"this run draws {now} ({_processes(processes)} x {batch_size}), which would "
        f"repeat some of that epoch's images and skip others; resume with {fits}a checkpoint "
        "saved at an epoch's end"
    )


def _processes(count: int) -> str:
    return f"{count} process" if count == 1 else f"{count} processes"


def progress_problem(state: dict) -> str | None:
    """What makes the run's position unusable, or None: counts below ``MAX_COUNT``, each
    epoch at least one step; ``best_objective`` a float, inf before the first validation;
    ``history`` one dict of metrics by name per epoch done (NaN and inf are what a diverged
    validation measures). A number beyond a float would stop the run where it is used."""
    for key in ("step", "epoch", "batch"):
        if state[key] >= MAX_COUNT:
            return f"{key} is {shown_read_value(state[key])}; counts are integers in [0, 2**62)"
    if state["epoch"] > state["step"]:
        return (
            f"epoch {state['epoch']} is more than step {state['step']}; every epoch takes "
            "at least one step"
        )
    best = state["best_objective"]
    if not _is_float(best) or math.isnan(best):
        return (
            f"best_objective is {shown_read_value(best)}; it is a number within a float's range "
            "(inf before the first validation)"
        )
    history = state["history"]
    if len(history) > state["epoch"]:
        return (
            f"history has {len(history)} entries at epoch {state['epoch']}; it holds one per "
            "epoch done"
        )
    for index, entry in enumerate(history):
        if not isinstance(entry, dict):
            return f"history[{index}] is {a_kind(type(entry).__name__)}; it holds dicts of metrics"
        for name, value in entry.items():
            if not isinstance(name, str) or not _is_float(value):
                return (
                    f"history[{index}] holds {shown_read_value(name)}: {shown_read_value(value)}; "
                    "metrics are names with numbers within a float's range"
                )
    # the best is one of the validations' (the objective's); inf while none was better
    # (none yet, or all NaN): another value is never improved on, or ranks the run first
    measured = {value for entry in history for value in entry.values()}
    if best != math.inf and best not in measured:
        return (
            f"best_objective is {shown_read_value(best)}, which no validation in history measured; "
            "it is the best of them (inf before the first)"
        )
    return None


def _is_float(value: Any) -> bool:
    """A float, or an integer within a float's range (not a bool)."""
    if type(value) is float:
        return True
    return type(value) is int and abs(value) <= sys.float_info.max


def window_problem(state: dict) -> str | None:
    """What makes ``scalar_window`` unusable, or None: the log window a stop left open (its
    steps' sums, counts and time), absent from files saved before it was kept. Its counts
    lie within the run's steps, its sums (of finite steps only) and seconds are finite."""
    window = state.get("scalar_window")
    if window is None:
        return None
    if not isinstance(window, dict):
        return f"scalar_window is {a_kind(type(window).__name__)}, not a dict"
    for key in ("steps", "nonfinite", "first_nonfinite", "skipped"):
        value, least = window.get(key), -1 if key == "first_nonfinite" else 0
        if type(value) is not int or not least <= value < MAX_COUNT:
            return f"scalar_window.{key} is {shown_read_value(value)}; it is an integer >= {least}"
    steps, done = window["steps"], state["step"]
    for key, most, of in (("steps", done, "the run's"), ("skipped", done, "the run's"),
                          ("nonfinite", steps, "the window's")):  # fmt: skip
        if window[key] > most:
            return f"scalar_window.{key} is {window[key]}, more than {of} {most} steps"
    seconds = window.get("seconds")
    if not _is_float(seconds) or not 0 <= seconds < math.inf:
        return f"scalar_window.seconds is {shown_read_value(seconds)}; it is a time (>= 0, finite)"
    sums = window.get("sums")
    if not isinstance(sums, dict):
        return f"scalar_window.sums is {a_kind(type(sums).__name__)}, not a dict"
    for name, value in sums.items():
        if not isinstance(name, str) or not _is_float(value) or not math.isfinite(value):
            return (
                f"scalar_window.sums holds {shown_read_value(name)}: {shown_read_value(value)}; the sums "
                "of finite steps are names with finite numbers"
            )
    return None


def fingerprint_problem(state: dict) -> str | None:
    """What makes ``data`` (the data's fingerprint, ``aegan.data.fingerprint``) unusable, or
    None: absent from files saved before it was kept. A damaged one was read as changed
    data ("put the run's files back") or, not a dict or without a split, skipped: the data
    went unchecked."""
    saved = state.get("data")
    if saved is None:
        return None
    if not isinstance(saved, dict):
        return f"data (the data's fingerprint) is {a_kind(type(saved).__name__)}, not a dict"
    for split in SPLITS:
        value = saved.get(split)
        if not (isinstance(value, str) and DIGEST.fullmatch(value)):
            return f"data.{split} is {shown_read_value(value)}; it is {2 * DIGEST_SIZE} hex digits"
    sizes = saved.get("sizes")
    if not (
        isinstance(sizes, list) and len(sizes) == len(SPLITS)
        and all(type(n) is int and 0 <= n < MAX_COUNT for n in sizes)
    ):  # fmt: skip
        return f"data.sizes is {shown_read_value(sizes)}; it is the three splits' image counts"
    return None
