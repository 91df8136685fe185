"""What ``scripts/compare.py table`` reads back: each model's finished runs (``OUT/MODEL/SEED``,
by ``aegan.sweeps.reader.read_sweep``), their epoch clock (``train.log``) and the ``--speed`` lines
of ``aegan.bench``. These files may be damaged or hostile, so every value the table uses
passes ``checked``, as a finite number of its kind: a bad one in a run is left out with one
warning line naming its file; a bad ``--speed`` line, in a file the user named, is a
``ValueError`` (one line) for the script to refuse."""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from aegan.engine.run_metrics import figure_changing
from aegan.io.readback import MAX_RESULT_BYTES, read_limited
from aegan.settings.overrides import override_key
from aegan.sweeps.reader import read_sweep
from aegan.tables import printable

MAX_LOG_BYTES = 256 * 2**20  # a train.log: kilobytes an epoch, a long run megabytes
DEFAULT_BATCH = 64  # the recipes' batch, where a run's overrides name none
KINDS = {  # kind -> (integers only, the test of a finite value, what is allowed)
    "index": (True, lambda v: v >= 0, "an integer >= 0"),
    "size": (True, lambda v: v >= 1, "an integer >= 1"),
    "real": (False, lambda v: True, "a finite number"),
    "amount": (False, lambda v: v >= 0, "a finite number >= 0"),
    "time": (False, lambda v: v > 0, "a finite number > 0"),
}
# the values of a run the table uses besides its metrics (kind "real")
RUN_KINDS = {
    "seed": "index",
    "trainer.epochs": "size",
    "data.batch_size": "size",
    "train/steps": "amount",
    "eval/samples": "amount",
    "test/iwae_k": "amount",
    "test/iwae_images": "amount",
    "classifier/test_accuracy": "amount",
    "train/epochs": "amount",
}
# what a run's figures were measured with: the sample metrics' image count, one for the
# whole table (FD's bias depends on it), and the IWAE bound's k and test images, one for
# each model's seeds
SAMPLES = "eval/samples"
CLASSIFIER = "classifier/test_accuracy"  # the domain classifier whose features they are in
IWAE = ("test/iwae_k", "test/iwae_images")
# a job without final metrics, by read_sweep's status -> what it is
NOT_FINISHED = {
    "broken": "",  # its error says which file and how
    "failed": "it failed",
    "stopped": "it was stopped before its final metrics",
    "unfinished": "no final metrics: still training, or killed",
    "not started": "it never started",
    "not run": "the last sweep of it did not run it",
}
# an epoch's training time as the loop logs it (%.4g), checked, not assumed; the steps it
# timed, in logs written since they were said (a resumed epoch's clock times only the steps
# after the resume)
EPOCH_TIME = re.compile(r"epoch (\d{1,12}) time: training (\S+) s(?: for (\d{1,12}) steps)?")
NUMBER = re.compile(r"\d+(\.\d*)?([eE][-+]?\d+)?")  # what %.4g writes; float() takes "nan" too


def checked(value: object, kind: str, name: str) -> int | float:
    """``value`` if it is a finite number of ``kind`` (``KINDS``; ints as ints, the rest as
    floats); ``ValueError`` (``name='abc' is not allowed, it must be ...``) otherwise."""
    integers, test, allowed = KINDS[kind]
    ok = isinstance(value, int if integers else (int, float)) and not isinstance(value, bool)
    try:
        ok = ok and math.isfinite(value) and test(value)  # type: ignore[arg-type]
    except OverflowError:  # an int beyond a float
        ok = False
    if not ok:
        raise ValueError(f"{name}={_shown(value)} is not allowed, it must be {allowed}")
    return value if integers else float(value)  # type: ignore[arg-type]


def mean(values: list[float]) -> float:
    """The mean of finite ``values``, finite too: summed scaled by a power of two (exact, so
    the same as ``statistics.fmean``), where two values of 1e308 overflow fmean's sum."""
    scale = math.frexp(max(map(abs, values)))[1]
    total = math.fsum(math.ldexp(v, -scale) for v in values)
    return math.ldexp(total / len(values), scale)


def read_runs(out: Path, models: Iterable[str], metrics: Iterable[str]) -> dict[str, list[dict]]:
    """Each model's finished runs, for the models with a folder in ``out``: ``run_dir``,
    ``overrides``, the values of ``RUN_KINDS`` and ``metrics`` (None where absent or not of
    their kind) and ``training_images_per_s``. One warning line for each value left out,
    each run without final metrics (damaged, failed, stopped or unfinished), each outside
    the folder of its seed (a copy), each whose figures are not of the model it trained
    (``eval/overrides``) or not of the weights training ended with (``eval/step``), and
    each model whose place is not a folder."""
    kinds = {**RUN_KINDS, **dict.fromkeys(metrics, "real")}
    runs = {}
    for model in models:
        if not (out / model).is_dir():
            # a file where compare.py run keeps a model's runs, or a link to nothing
            if os.path.lexists(out / model):
                warn(f"{out / model}: not a folder; {model} is left out of the table")
            continue
        runs[model] = []
        for row in read_sweep(out / model):
            evaluated = row.get("eval/step")  # absent in runs from before it was written
            seed = row.get("seed")
            if not finished(row):  # said by it
                continue
            if isinstance(seed, int) and row["job"] != str(seed):  # a copy: a seed twice
                warn(
                    f"{row['run_dir']}: a run of seed {seed} outside {out / model / str(seed)}, "
                    "where compare.py run puts it (a copy?); this run is left out of the table"
                )
            elif figure_changing(row.get("eval/overrides")):  # aegan.evaluate overrides=[...]
                warn(
                    f"{row['run_dir']}/metrics.json: its figures are of the model with "
                    f"overrides {str(row['eval/overrides'])[:200]} (eval/overrides), not as it "
                    "trained; this run is left out of the table"
                )
            elif _short_of_its_epochs(row):
                warn(
                    f"{row['run_dir']}/metrics.json: its figures are of epoch "
                    f"{_step(row['train/epochs'])}, not of the {_step(row['trainer.epochs'])} "
                    "its trainer.epochs names (continued, and not to its end?); this run is "
                    "left out of the table"
                )
            elif evaluated is not None and evaluated != row.get("train/steps"):
                warn(
                    f"{row['run_dir']}/metrics.json: its figures are of step {_step(evaluated)}, "
                    f"not of step {_step(row.get('train/steps'))} where training ended "
                    "(evaluated again with checkpoint=best?); this run is left out of the table"
                )
            else:
                runs[model].append(_run(row, kinds))
    return runs


def _short_of_its_epochs(row: dict) -> bool:
    """Whether the figures of ``row`` are of another epoch than its ``trainer.epochs``."""
    epochs, asked = row.get("train/epochs"), row.get("trainer.epochs")
    return None not in (epochs, asked) and epochs != asked


def measured_alike(
    runs: dict[str, list[dict]], departures: Callable[[str, list[str]], list[str]]
) -> dict[str, list[dict]]:
    """``runs`` less those trained or measured otherwise than the rest: another epoch
    budget or other settings beyond the recipes' (``departures(model, overrides)``: a
    subset, another domain classifier too) than the table's most common, another sample
    count than the table's (``aegan.evaluate`` run again with other ``samples``) or another
    domain classifier (its test accuracy: trained on another machine or data), or another
    IWAE k or image count than the most common of the model's seeds; each said in one
    warning line. A run that records none of them is kept."""

    def trained(model: str, r: dict) -> tuple:
        return r["trainer.epochs"], tuple(sorted(departures(model, r["overrides"])))

    everyone = [(model, r) for model, finished in runs.items() for r in finished]
    training = _most_common(trained(model, r) for model, r in everyone)
    samples = _most_common(r[SAMPLES] for _, r in everyone)
    classifier = _most_common(r[CLASSIFIER] for _, r in everyone if r[SAMPLES] == samples)
    kept = {}
    for model, finished in runs.items():
        iwae = _most_common(tuple(r[key] for key in IWAE) for r in finished)
        kept[model] = []
        for r in finished:
            if training is not None and (ours := trained(model, r)) != training:
                why = (f"it trained {_step(ours[0])} epochs with {_settings(ours[1])}, the "
                       f"table's runs {_step(training[0])} with {_settings(training[1])}")  # fmt: skip
            elif r[SAMPLES] not in (None, samples):
                why = (f"its sample metrics are of {_step(r[SAMPLES])} samples ({SAMPLES}), "
                       f"the table's of {_step(samples)}")  # fmt: skip
            elif r[SAMPLES] is not None and r[CLASSIFIER] not in (None, classifier):
                why = (f"its sample metrics are in the features of a domain classifier of test "
                       f"accuracy {r[CLASSIFIER]:.4f} ({CLASSIFIER}), the table's of "
                       f"{classifier:.4f}: another machine's or data's classifier")  # fmt: skip
            elif None not in (ours := tuple(r[key] for key in IWAE)) and ours != iwae:
                why = (f"its IWAE bound is of k={_step(ours[0])} on {_step(ours[1])} test "
                       f"images, its model's other seeds' of k={_step(iwae[0])} on "
                       f"{_step(iwae[1])}")  # fmt: skip
            else:
                kept[model].append(r)
                continue
            warn(f"{r['run_dir']}/metrics.json: {why}; this run is left out of the table")
    return kept


def _settings(departures: tuple) -> str:
    return " ".join(map(printable, departures)) if departures else "the recipe's settings"


def _most_common(values: Iterable) -> object:
    """The value most of ``values`` have, None and tuples holding None aside; the first
    seen of a tie; None when there is none."""
    known = [v for v in values if v is not None and not (isinstance(v, tuple) and None in v)]
    return Counter(known).most_common(1)[0][0] if known else None


def _run(row: dict, kinds: dict[str, str]) -> dict:
    """The values of ``kinds`` in a finished job's ``read_sweep`` row, checked."""
    run_dir = Path(row["run_dir"])
    overridden = set(map(override_key, row["overrides"]))
    run = {"run_dir": run_dir, "overrides": row["overrides"]}
    for key, kind in kinds.items():
        run[key] = None
        if row.get(key) is None:  # absent: an older run, a metric this model has not
            continue
        try:
            run[key] = checked(row[key], kind, key)
        except ValueError as err:  # the row merges two files: name the one it came from
            file = run_dir / (".hydra/overrides.yaml" if key in overridden else "metrics.json")
            warn(f"{file}: {err}; left out of the table")
    batch = run["data.batch_size"] if "data.batch_size" in row else DEFAULT_BATCH
    steps = run["train/steps"]  # None or 0: no speed, nor where the batch was left out
    run["training_images_per_s"] = (
        _images_per_sec(run_dir, steps, batch) if steps and batch else None
    )
    return run


def _images_per_sec(run_dir: Path, steps: float, batch: int) -> float | None:
    """Training images / s by the run's own epoch clock (``train.log``): the steps each
    epoch timed (else all ``steps``, in an older log) over its time; None where it has none,
    and where the log is damaged (said on stderr)."""
    log = run_dir / "train.log"
    try:
        text = read_limited(log, MAX_LOG_BYTES).decode(errors="replace")
    except OSError as err:  # a FIFO would wait forever, a huge file fill memory
        warn(f"{log}: {err}; its images/s are left out")
        return None
    total, timed, epochs = 0.0, [], 0
    try:
        for match in EPOCH_TIME.finditer(text):
            seconds = float(match[2]) if NUMBER.fullmatch(match[2]) else match[2]
            total += checked(seconds, "amount", f"epoch {match[1]} training seconds")
            timed.append(None if match[3] is None else int(match[3]))
            epochs += 1
        if not epochs:
            return None  # no epoch clock in the log
        total = checked(total, "time", "training time in all")
        if None not in timed:
            steps = sum(timed)
        return checked(steps * batch / total, "amount", "steps x batch / time")
    except ValueError as err:  # "1.2.3 s", 0 s in all, or images/s beyond a float
        warn(f"{log}: {err}; its images/s are left out")
        return None


def finished(row: dict, left_out_of: str = "the table") -> bool:
    """Whether the run of ``row`` (``read_sweep``'s) has its final metrics; where not, one
    warning line says why (a damaged run's error names its file and the damage)."""
    if row["status"] == "ok":
        return True
    what, error = NOT_FINISHED[row["status"]], row["error"][:200]
    what = f"{what} ({error})" if what and error else what or error
    warn(f"{row['run_dir']}: {what}; this run is left out of {left_out_of}")
    return False


def read_speeds(path: Path) -> dict[str, float | None]:
    """Model -> images/s (``project_images_per_sec``, None where a line has none) from the
    ``aegan.bench`` lines in ``path``, a model's last line counting. ``ValueError`` (one line
    naming the file and the line) for anything else."""
    try:
        text = read_limited(path, MAX_RESULT_BYTES).decode()
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"--speed {path} cannot be read: {err}") from None
    speeds: dict[str, float | None] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"--speed {path}: line {number}"
        try:
            row = json.loads(line)
        except RecursionError:  # [[[[...: deeper than the parser goes
            raise ValueError(f"{where} is nested too deep for a line of aegan.bench") from None
        except ValueError as err:
            raise ValueError(f"{where} is not JSON ({err.args[0].split(':')[0]})") from None
        if not isinstance(row, dict) or not isinstance(row.get("model"), str):
            raise ValueError(f"{where} is not a line of aegan.bench (no model)")
        value = row.get("project_images_per_sec")
        try:
            speeds[row["model"]] = (
                None if value is None else checked(value, "amount", "project_images_per_sec")
            )
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
    if not speeds:  # the column asked for would be left out without a word
        raise ValueError(f"--speed {path}: it holds no line of aegan.bench")
    return speeds


def warn(message: str) -> None:
    """``warning: message`` as one line on stderr, whatever a file name or value holds."""
    print(f"warning: {printable(message)}", file=sys.stderr)


def _step(value: object) -> str:
    """A step as metrics.json holds it (a float) written as a count: 100.0 as 100."""
    whole = isinstance(value, float) and value.is_integer() and abs(value) < 2**63
    return str(int(value)) if whole else _shown(value)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
