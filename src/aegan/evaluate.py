"""Evaluate a run: ``python -m aegan.evaluate run=RUN_DIR [checkpoint=last|best] [samples=N] [metrics=[...]]``.

The same evaluation as the end of training (``evaluate_task``): the task's metrics from
``aegan.metrics.registry`` (its protocol is there), merged into ``RUN_DIR/metrics.json``
and the run's TensorBoard hparams. Every generative figure comes with its real floor.
"""

from __future__ import annotations

# first, before the seconds torch and Hydra take: a stop signal while they import is one line
from aegan.signals.starting_signals import stopped_by  # noqa: F401  (its handlers, set here)

# isort: split
import contextlib
import copy
import functools
import logging
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from aegan.cli.hydra_job import back_to_launch_folder, end_stopped_evaluation
from aegan.cli.one_line import one_line_errors, one_line_hydra_errors
from aegan.config import CONF_DIR
from aegan.contract import can, checked_codes
from aegan.data import normalize
from aegan.engine.checkpoint import run_dir_of
from aegan.engine.device import evaluation_threads
from aegan.engine.folder_lock import hold_run_folder
from aegan.engine.interrupt import StopNow, StopRequest, TrainingInterrupted, stop_on_signals
from aegan.engine.run_metrics import (
    clear_evaluation_stop,
    earlier_metrics,
    evaluation_ended,
    merge_metrics,
    new_points,
    note_evaluation_stop,
)
from aegan.errors import USER_ERRORS, CheckpointError, EvaluationError, NonFiniteError
from aegan.evaluate_settings import (
    check_evaluate_settings,
    evaluated_checkpoint,
    run_arguments,
    run_projector_samples,
    warn_without_effect,
    with_run_iwae,
)
from aegan.io.files import write_json
from aegan.io.logfile import drop_held_log, hold_run_log
from aegan.logger import TensorBoardLogger, finite_figures, hparams_of
from aegan.metrics.choice import check_metrics
from aegan.metrics.evaluation import Evaluation
from aegan.metrics.evaluation import evaluate as evaluate_metrics
from aegan.metrics.registry import CHUNK, METRICS, measurable
from aegan.metrics.scope import Scope, Settings
from aegan.run import load_run
from aegan.signals.sweep_stops import stopped_before_start

log = logging.getLogger("aegan.evaluate")


def evaluate_task(
    task: Any, data: Any, evaluate_cfg: Any, *, stop: StopRequest | None = None,
    run_dir: Path | str = "RUN_DIR", prefix: str = "evaluate.", step: int = -1,
) -> dict[str, float]:  # fmt: skip
    """The final metrics of a trained ``task`` (``evaluate.metrics``, else the task's own) on
    ``data``, on every core and eager, with the sizes they used (``sizes_used``; ``prefix``:
    where their settings are, for its warning). A stop signal ends it at once, within a
    metric too (``stop.at_once``: nothing is written before all are computed); its line
    names ``step``, the weights'."""
    names = measurable(check_metrics(task, evaluate_cfg.get("metrics")), data)  # checked before
    settings = Settings.of(evaluate_cfg)
    sizes = sizes_used(task, data, names, settings, prefix)
    out: dict[str, float] = {"eval/seed": float(settings.seed)} if settings.seed else {}
    with evaluation_threads(data.test_images.device):
        for name in names:
            try:  # the domain classifier's training or an IWAE bound: minutes not waited for
                with stop.at_once() if stop is not None else contextlib.nullcontext():
                    out.update(evaluate_metrics(task, data, [name], settings))
            except StopNow:
                raise TrainingInterrupted(
                    f"stopped by {stop.name} during the evaluation ({name}); the trained "
                    f"run is intact: evaluate it with python -m aegan.evaluate run={run_dir}",
                    stop.signal_number, step, phase="evaluation",
                ) from None  # fmt: skip
    return {**out, **sizes}


def sizes_used(
    task: Any, data: Any, names: tuple[str, ...], settings: Settings, prefix: str
) -> dict[str, float]:
    """How many images the metrics ``names`` use where a setting asks for a number the data
    may not hold: ``eval/samples`` (generated images, and as many test and held-out ones)
    and ``eval/iwae_images``. A setting above what ``data`` allows is capped: said in one
    warning line naming it, its value and the number used."""
    used = {}
    if any(METRICS[name].data.paired for name in names if name in METRICS):
        count = Evaluation(task, data, settings).count  # the one place that caps it
        used["eval/samples"] = float(count)
        if settings.samples > count:
            log.warning(
                "%ssamples=%d is more than the data allows: the sample metrics use %d, the "
                "fewest of the %d test images and a fifth of the %d training images (held "
                "out as their floor)", prefix, settings.samples, count, len(data.test_images),
                len(data.train_images),
            )  # fmt: skip
    if "iwae" in names:
        images, asked = len(data.test_images), settings.iwae_images
        used["eval/iwae_images"] = float(images if asked is None else min(asked, images))
        if asked is not None and asked > images:
            log.warning(
                "%siwae_images=%d is more than the %d test images: the IWAE bound uses %d",
                prefix, asked, images, images,
            )  # fmt: skip
    return used


def evaluate_at_end(
    cfg: DictConfig, task, data, run_dir: Path, stop, step: int
) -> dict[str, float]:
    """``evaluate_task`` on a task training has just ended (``evaluate.at_end``), and
    ``eval/step``: the weights its figures are of. A failure here loses nothing (the
    checkpoints and the training metrics are written) but ends the run as failed, its one
    line saying how to evaluate again: a run that measured nothing is no success."""
    try:
        metrics = evaluate_task(task, data, cfg.evaluate, stop=stop, run_dir=run_dir, step=step)
        return {**metrics, "eval/step": float(step)}
    except Exception as err:  # not a stop: TrainingInterrupted is no Exception
        if cfg.debug:
            raise
        raise EvaluationError(
            f"final evaluation failed ({type(err).__name__}: {str(err).splitlines()[0]}); the "
            f"trained run is intact. Evaluate it again with: python -m aegan.evaluate run={run_dir}"
        ) from err


@torch.no_grad()
def log_codes(task, data, logger: TensorBoardLogger, count: int, step: int) -> None:
    """The codes of the first ``count`` test images, labelled by class, for TensorBoard's
    projector: at the end of training, and of the weights an evaluation measured."""
    if not count or not logger.enabled or not can(task, "encode"):  # said before training
        return
    if count > len(data.test_images):  # said, as evaluate.samples beyond the data is
        log.warning(
            "logger.projector_samples=%d is more than the %d test images: the projector shows %d",
            count, len(data.test_images), len(data.test_images),
        )  # fmt: skip
        count = len(data.test_images)
    if not count:  # data.test_size=0: no codes to show, and no sprite to lay out
        return
    images, labels = data.test_images[:count], data.test_labels[:count].tolist()  # uint8
    names = [data.classes[i] if i < len(data.classes) else str(i) for i in labels]
    with evaluation_threads(images.device):  # CHUNK at a time: not all of them as floats
        codes = torch.cat([
            checked_codes(task, "encode", task.encode(normalize(x, "unit")), len(x)).cpu()
            for x in images.split(CHUNK)
        ])  # fmt: skip
    logger.embedding(codes, labels=names, images=images, step=step, tag="test_codes")


def write_metrics(
    run_dir: Path, config: DictConfig, new: dict[str, Any], step: int,
    pictures: Callable[[TensorBoardLogger], None] | None = None,
) -> dict:  # fmt: skip
    """Merge ``new`` into RUN_DIR/metrics.json (atomically), log ``new`` at ``step`` and the
    whole set as the run's hparams, then ``pictures`` into the same log (a failure there
    only warned of); figures it would change are kept in ``metrics.json.earlier``. A path
    that cannot be written raises ``CheckpointError`` naming it."""
    path = run_dir / "metrics.json"
    try:
        earlier = earlier_metrics(path, log)
        merged = merge_metrics(run_dir, new, log, earlier)
        write_json(path, merged)
        with contextlib.closing(TensorBoardLogger(run_dir / "tb")) as logger:
            # this evaluation's figures join the run's curves, those it measured again alike
            # once; training's stay as logged
            logger.scalars(new_points(earlier, finite_figures(new), step), step)
            logger.hparams(hparams_of(config), finite_figures(merged), step)
            try:
                if pictures is not None:
                    pictures(logger)
            except OSError as err:  # the figures are written: the picture is a courtesy
                log.warning("the projector's codes were not written: %s", err)
    except OSError as err:
        where = err.filename2 or err.filename or run_dir
        raise CheckpointError(
            f"cannot write this evaluation's results to {where} ({err.strerror or err}); "
            "its metrics are printed above: free that path (or the disk) and evaluate again"
        ) from None
    return merged


EVALUATION_SETTINGS = ("samples", "seed", "iwae_samples", "iwae_images")


def measured_with(run_config: DictConfig, cfg: DictConfig) -> DictConfig:
    """The run's config with this evaluation's own settings (``cfg``'s) as its
    ``evaluate.*``: the hparams the figures are shown with in TensorBoard."""
    config = copy.deepcopy(run_config)
    with open_dict(config):
        for key in EVALUATION_SETTINGS:
            config.evaluate[key] = cfg[key]
    return config


def evaluate_run(
    cfg: DictConfig, stop: StopRequest, searchpath: list[str] = (),
    begun: Callable[[], None] = lambda: None,
) -> None:  # fmt: skip
    """What ``main`` does; ``stop`` (a signal since the start) ends it before or within a
    metric with RUN_DIR/stopped.json and the signal's exit code; ``begun`` is called once the
    run, its data and the metrics are checked, before the first metric."""
    check_evaluate_settings(cfg)
    # where the results go, before the data is read and long before they are computed
    run_dir = run_dir_of(evaluated_checkpoint(cfg))
    with hold_run_folder(run_dir):  # not while a run trains or is evaluated there
        _evaluate_run(cfg, stop, searchpath, begun)


def _evaluate_run(
    cfg: DictConfig, stop: StopRequest, searchpath: list[str], begun: Callable[[], None]
) -> None:
    """``evaluate_run``'s work, in the run's folder held by this process."""
    arguments = run_arguments(cfg, searchpath)
    run = load_run(**arguments)
    filled = with_run_iwae(cfg, run.config, run.checkpoint, len(run.data.test_images))
    scope = Scope.of_data(Settings.of(cfg), run.data, key="metrics")
    names = check_metrics(run.task, cfg.metrics, key="metrics", scope=scope)
    warn_without_effect(names)
    begun()
    if "iwae" in names and filled:  # said: its cost is set by k times the images
        images = len(run.data.test_images) if cfg.iwae_images is None else cfg.iwae_images
        log.info(
            "iwae: k=%d on %d test images, as the run's own evaluation (%s); iwae_samples=K "
            "and iwae_images=N set others", cfg.iwae_samples,
            min(images, len(run.data.test_images)), ", ".join(f"{k}=null" for k in filled),
        )  # fmt: skip
    try:
        metrics = evaluate_task(
            run.task, run.data, cfg, stop=stop, run_dir=run.path, prefix="", step=run.step
        )
    except NonFiniteError as err:  # finite weights whose outputs overflow
        raise NonFiniteError(f"{run.checkpoint}: {err}") from None
    except TrainingInterrupted as err:
        note_evaluation_stop(run.path, log, {"signal": err.signal_name, "step": run.step,
                                         "phase": err.phase, "message": str(err)})  # fmt: skip
        return end_stopped_evaluation(log, str(err), err.signal_number)
    for key, value in sorted(metrics.items()):  # first: shown even if the writing fails
        print(f"{key:28s} {value:.6g}", flush=True)
    # which weights the figures are of (train/steps says where training ended), and the
    # model settings changed for them: figures of another model than the run's record
    overrides = shlex.join(arguments["overrides"])
    if overrides:
        print(f"{'eval/overrides':28s} {overrides}", flush=True)
    new = {**metrics, "eval/step": float(run.step), "eval/overrides": overrides}
    # the codes of these weights: a stop in training's final evaluation left none
    count = run_projector_samples(run.config, run.checkpoint)
    codes = functools.partial(log_codes, run.task, run.data, count=count, step=run.step)
    write_metrics(run.path, measured_with(run.config, cfg), new, run.step, pictures=codes)
    clear_evaluation_stop(run.path)
    evaluation_ended(run.path)  # one killed before its figures: these are written now
    print(f"wrote {run.path / 'metrics.json'}")
    if stop.signal_number:  # it came after the last metric: its figures are written, whole
        written = f"stopped by {stop.name} after this evaluation's figures were written"
        end_stopped_evaluation(log, written, stop.signal_number)


@one_line_hydra_errors
@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="evaluate")
def main(cfg: DictConfig) -> None:
    searchpath = list(HydraConfig.get().searchpath) if HydraConfig.initialized() else []
    # a refused evaluation writes no evaluate.log: its lines are held until it begins
    write_held_log = hold_run_log()
    try:
        if stopped_before_start():  # a sweep worker's job after the sweep's stop: not run
            return
        back_to_launch_folder(log)  # run=, cache_dir and the overrides' paths are the user's
        # signals from the start: one that comes while the run is read stops before any metric
        with (
            one_line_errors(USER_ERRORS, debug=cfg.debug is True, logger=log),
            stop_on_signals() as stop,
        ):
            evaluate_run(cfg, stop, searchpath, begun=write_held_log)
    finally:
        drop_held_log()  # where it never began: nothing of it in the run's folder


if __name__ == "__main__":
    main()
