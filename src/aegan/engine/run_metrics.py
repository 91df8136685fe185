"""A run's ``metrics.json``: training's figures and the final evaluation's, merged so that
nothing measured is written over (``merge_metrics``), and no figure stands under the name
of another measurement than its own."""

from __future__ import annotations

import json
import logging
import math
import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aegan.contract import BEST_OBJECTIVE
from aegan.engine.checkpoint_contents import CONTROL
from aegan.io.files import copy_aside, keep_aside, write_json
from aegan.io.path_kinds import not_regular, path_kind, shown
from aegan.io.readback import read_json
from aegan.settings.overrides import override_key

if TYPE_CHECKING:
    from aegan.engine.state import Progress

log = logging.getLogger("aegan.train")  # these lines belong to the training run's log

# metrics.json: the model settings an evaluation changed ("" or absent: none), and the keys
# of training's own figures, which stay whatever an evaluation changed
EVALUATED_WITH = "eval/overrides"
TRAINING_PREFIXES = ("train/", "val/")
# overrides that say only where the images are: checked against the checkpoint's digests,
# the images are the run's own, and so are the figures measured on them
WHERE_THE_IMAGES_ARE = ("data.root", "data.download", "paths.data_dir")
# training's figures are written before the final evaluation; this file, beside them until
# the evaluation's figures are, tells a reader that the run was killed in it (out of memory)
EVALUATING = "evaluating.json"
# a run continued in its folder trains past the figures metrics.json holds: this file, there
# until its own are written, tells a reader that they are no longer the folder's last word
TRAINING = "training.json"


def read_metrics(path: Path) -> tuple[dict[str, float | str], dict[str, Any]]:
    """RUN_DIR/metrics.json's figures (``ValueError`` for a file that is not JSON): each a
    float (NaN and infinity as flagged), ``eval/overrides`` text. Any other value (text, a
    list, an unflagged null), or one under a key holding a line break or another control
    character (no name aegan writes), is no figure: it is returned apart, for the caller to
    say. A link is refused (``ValueError``): a file elsewhere would pass for this run's
    figures."""
    check_own_metrics(path)
    figures: dict[str, float | str] = {}
    left_out: dict[str, Any] = {}
    for key, value in read_json(path).items():
        figure = _figure(key, value)
        if figure is None:
            left_out[key] = value
        else:
            figures[key] = figure
    return figures, left_out


def check_own_metrics(path: Path) -> None:
    """``ValueError`` where ``path`` (a run's metrics.json) is a link: training keeps such a
    file aside as not the run's own (``earlier_metrics``), and so does every reader."""
    if path.is_symlink():
        raise ValueError(f"{path} is a link to {shown(os.readlink(path))}, not the run's own file")


def shown_json(value: Any) -> str:
    """``value`` as its JSON reads (``true``, not ``True``), for a one-line message: a
    mapping or a list by kind, long text cut."""
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def is_figure(key: str, value: Any) -> bool:
    """Whether ``value`` is what aegan writes under ``key`` in metrics.json: a number (NaN
    and infinity as flagged nulls, which ``read_json`` reads as floats), or text for
    ``eval/overrides``. True, false, an unflagged null or other text is no figure."""
    if key == EVALUATED_WITH:
        return isinstance(value, str)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def figure_changing(overrides: object) -> str:
    """``eval/overrides`` less those that only say where the images are (``aegan.evaluate
    'overrides=["data.root=DIR"]'``): the settings that make the figures another model's
    than the run trained; "" where none do."""
    text = str(overrides or "")
    try:
        given = shlex.split(text)
    except ValueError:  # not as aegan.evaluate writes it: taken whole
        return text
    return shlex.join(o for o in given if override_key(o) not in WHERE_THE_IMAGES_ARE)


def _figure(key: str, value: Any) -> float | str | None:
    if CONTROL.search(key) or not is_figure(key, value):  # such a key splits a message
        return None
    return value if key == EVALUATED_WITH else float(value)  # read_json bounds an int


def earlier_metrics(path: Path, logger: logging.Logger) -> dict:
    """RUN_DIR/metrics.json as written before, or {} where there is none. One that cannot be
    read, or holds values that are no figures, is kept aside (``metrics.json.damaged``: a
    reader may still recover it), with a warning through ``logger``; so is a link, whose
    figures are another file's."""
    if path.is_symlink():  # merged, a file elsewhere would pass for this run's figures
        target = shown(os.readlink(path))
        kept = keep_aside(path, "link")
        logger.warning("%s is a link to %s, not the run's own file; the link is kept as %s, "
                       "and a new metrics.json holds these metrics", path, target, kept)  # fmt: skip
        return {}
    if not path.is_file():  # a FIFO or a socket: set aside, as os.replace would remove it
        kind = path_kind(path) or "gone"
        if os.path.lexists(path):
            kept = keep_aside(path, "damaged")
            logger.warning("%s is %s; kept as %s, and a new metrics.json holds these "
                           "metrics", path, not_regular(kind), kept)  # fmt: skip
        return {}
    try:
        figures, left_out = read_metrics(path)
    except ValueError as err:
        kept = keep_aside(path, "damaged")
        logger.warning("%s; kept as %s, and a new metrics.json holds these metrics", err, kept)
        return {}
    if left_out:  # the new file will not hold them: the file as it was is kept
        kept = keep_aside(path, "damaged")
        keys = [shown(f"{key:.80}") for key in left_out]
        logger.warning("%s: %s %s: left out; the file is kept as %s", path,
                       ", ".join(keys[:8]) + (", ..." if keys[8:] else ""),
                       "is no figure" if len(keys) == 1 else "are no figures", kept)  # fmt: skip
    return figures


def training_metrics(progress: Progress) -> dict[str, float]:
    """The last validation, the best objective and how far training went."""
    last_val = progress.history[-1] if progress.history else {}
    metrics = {k: float(v) for k, v in last_val.items() if k != "epoch"}
    metrics[BEST_OBJECTIVE] = float(progress.best_objective)
    metrics["train/epochs"] = float(progress.epoch)
    metrics["train/steps"] = float(progress.step)
    return metrics


def write_training_metrics(run_dir: Path, metrics: dict[str, float]) -> dict:
    """RUN_DIR/metrics.json with ``metrics`` (``merge_metrics``); return what it now holds."""
    merged = merge_metrics(run_dir, metrics, log)
    write_json(run_dir / "metrics.json", merged)
    return merged


def merge_metrics(
    run_dir: Path, new: dict[str, float], logger: logging.Logger, earlier: dict | None = None
) -> dict:
    """RUN_DIR/metrics.json's figures with ``new`` over them. Nothing measured is written
    over: where a figure would change (an evaluation made again, with other settings or
    weights), the earlier file is kept aside as ``metrics.json.earlier`` first; where
    training has moved on (another ``train/steps``), only ``new`` stays, and the earlier
    file is kept aside when it holds results not made again (a final evaluation's); where
    an evaluation changed other model settings than the earlier one (``eval/overrides``),
    only training's own figures stay beside ``new``, the earlier file kept aside.
    ``earlier``: the file's figures where the caller has read them (``earlier_metrics``)."""
    path = run_dir / "metrics.json"
    earlier = earlier_metrics(path, logger) if earlier is None else earlier
    moved_on = "train/steps" in new and earlier.get("train/steps") != new["train/steps"]
    # an evaluation of other weights, model settings or sample count than the earlier
    # one's: its figures not made again would stand under this one's eval/step and
    # eval/samples, so only training's own stay beside the new ones
    other = _other_measurement(earlier, new) if "eval/step" in new else None
    if other and not moved_on:
        kept = {k: v for k, v in earlier.items() if k.startswith(TRAINING_PREFIXES)}
        if earlier.keys() - kept.keys() and path.exists():  # not kept aside already
            logger.info("the metrics.json before, with figures of %s, is kept as %s",
                        other, copy_aside(path, "earlier"))  # fmt: skip
        return {**kept, **new}
    if moved_on:
        why = "results of weights training has moved on from" if earlier.keys() - new else ""
    else:
        changed = sorted(k for k, v in new.items() if k in earlier and not _same(earlier[k], v))
        why = f"other figures for {', '.join(changed[:4])}" + (", ..." if changed[4:] else "")
        why = why if changed else ""
    if why and path.exists():  # a file kept aside as damaged holds the earlier figures
        kept = copy_aside(path, "earlier")
        logger.info("the metrics.json before, with %s, is kept as %s", why, kept)
    return dict(new) if moved_on else {**earlier, **new}


def new_points(
    earlier: dict, figures: dict[str, float], step: int, purged_from: float = math.inf
) -> dict[str, float]:
    """An evaluation's ``figures`` (of the weights of ``step``) less those the run's metrics
    before it (``earlier``) hold for that step: an evaluation made again, or a finished run
    resumed, put a second point with the same value at the same step in TensorBoard. Not
    where this run's TensorBoard writer removed the points from ``purged_from`` on (a
    resume from an earlier step): those figures are gone from its curves."""
    if earlier.get("eval/step") != float(step) or step >= purged_from:
        return dict(figures)
    return {key: value for key, value in figures.items() if not _same(earlier.get(key), value)}


def _other_measurement(earlier: dict, new: dict) -> str | None:
    """What the earlier figures were measured with where ``new``'s differs: the model
    settings (``eval/overrides``), the evaluation's seed, the weights (``eval/step``) or the
    sample count."""
    if earlier.get(EVALUATED_WITH, "") != new.get(EVALUATED_WITH, ""):
        overrides = shown(earlier.get(EVALUATED_WITH, ""))  # as read: it may hold a line break
        return f"overrides={overrides}" if overrides else "the run's own model settings"
    if earlier.get("eval/seed", 0.0) != new.get("eval/seed", 0.0):  # absent: seed 0
        return f"seed={int(earlier.get('eval/seed', 0.0))}"
    for key, what in (("eval/step", "the weights of step"), ("eval/samples", "samples=")):
        if key in earlier and key in new and not _same(earlier[key], new[key]):
            value = earlier[key]
            number = int(value) if isinstance(value, float) and value.is_integer() else value
            return f"{what}{'' if what.endswith('=') else ' '}{number}"
    return None


def _same(a: object, b: object) -> bool:
    """Equal, both NaN, or floats within the last digits a summation order moves (the same
    weights measured on another number of threads): no figure to keep aside."""
    if isinstance(a, float) and isinstance(b, float):
        return (a != a and b != b) or math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)
    return a == b


def training_continued(run_dir: Path, step: int) -> None:
    """Mark RUN_DIR as training on from ``step``: the figures there are of an earlier one."""
    write_json(run_dir / TRAINING, {"step": float(step)})


def training_ended(run_dir: Path) -> None:
    """Training's figures are in metrics.json: no longer an earlier step's."""
    (run_dir / TRAINING).unlink(missing_ok=True)


def evaluation_started(run_dir: Path, step: int) -> None:
    """Mark RUN_DIR as in its final evaluation of the weights of ``step``."""
    write_json(run_dir / EVALUATING, {"step": float(step)})


def evaluation_ended(run_dir: Path) -> None:
    """The evaluation's figures are in metrics.json: the run is no longer in one."""
    (run_dir / EVALUATING).unlink(missing_ok=True)


def note_evaluation_stop(run_dir: Path, logger: logging.Logger, note: dict[str, Any]) -> None:
    """RUN_DIR/stopped.json for a stopped evaluation, unless training's own stop is there:
    that one says the run is to be continued, which a later evaluation must not hide."""
    stopped = run_dir / "stopped.json"
    try:
        if stopped.is_file() and read_json(stopped).get("phase") != "evaluation":
            return
    except ValueError:  # a damaged note: this one says what is known now
        pass
    try:
        write_json(stopped, note)
    except OSError as err:  # the note is a courtesy: the stop is what to report
        logger.warning("%s not written: %s", stopped, err)


def clear_evaluation_stop(run_dir: Path) -> None:
    """A stopped.json left by an evaluation that this one has now completed."""
    stopped = run_dir / "stopped.json"
    try:
        if stopped.is_file() and read_json(stopped).get("phase") == "evaluation":
            stopped.unlink()
    except (ValueError, OSError):  # the metrics are written: a stale note is no reason to fail
        pass
