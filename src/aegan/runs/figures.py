"""``Run.metrics``: the figures of a run folder's ``metrics.json`` that are of the weights
``aegan.load_run`` read, each left out said in one warning line; the file stays as it is."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from aegan.engine.run_metrics import TRAINING_PREFIXES, read_metrics, shown_json
from aegan.engine.run_record import stray_checkpoint
from aegan.io.path_kinds import shown

log = logging.getLogger("aegan.run")


def figures_of(run_dir: Path, checkpoint: Path, step: int) -> dict[str, float | str]:
    """The figures in ``run_dir``'s metrics.json of the weights of ``step`` read from
    ``checkpoint``; none where the file is not the checkpoint's run's, or is unreadable."""
    stray = stray_checkpoint(checkpoint)
    # lexists: a FIFO, a folder or a dangling link there is named (by read_metrics), where
    # is_file() passed it over as a run that wrote no figures
    if not os.path.lexists(run_dir / "metrics.json"):
        return {}
    if stray is not None:
        log.warning("%s: Run.metrics is empty, as the folder's figures are not its own", stray)
        return {}
    try:  # what is no figure is left out, said: the file itself stays as it is
        metrics, left_out = read_metrics(run_dir / "metrics.json")
    except ValueError as err:  # the weights are what matters here; the file is kept
        log.warning("%s; Run.metrics is empty", err)
        return {}
    for key, value in left_out.items():
        log.warning("%s: %s=%s is no figure: left out of Run.metrics",
                    run_dir / "metrics.json", shown(key), shown_json(value))  # fmt: skip
    return _of_these_weights(metrics, step, run_dir, checkpoint)


def _of_these_weights(metrics: dict, step: int, run_dir: Path, checkpoint: Path) -> dict:
    """``metrics`` less an evaluation's figures where it measured other weights than those
    of ``step`` (the last's, read with the best's): training's own figures stay."""
    evaluated = metrics.get("eval/step")
    if not isinstance(evaluated, float) or evaluated == step:
        return metrics
    log.warning(
        "%s: its evaluation measured the weights of step %.15g, not these of step %d: "
        "Run.metrics holds training's figures only; measure these with python -m "
        "aegan.evaluate run=%s", run_dir / "metrics.json", evaluated, step, checkpoint,
    )  # fmt: skip
    return {key: value for key, value in metrics.items() if key.startswith(TRAINING_PREFIXES)}
