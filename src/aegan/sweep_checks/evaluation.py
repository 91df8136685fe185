"""``aegan.evaluate``'s Hydra callback (conf/evaluate.yaml): an evaluation's settings, and
with ``-m`` every job's and its run's, checked before Hydra writes anything or the first
job starts."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from aegan.cli.hydra_dirs import (
    check_hydra_dirs,
    check_logging_entries,
    check_one_name,
    check_output_subdir,
)
from aegan.cli.hydra_errors import BROKEN_INTERPOLATION, interpolation_line
from aegan.cli.hydra_job import EVALUATIONS_GO_ON, EVALUATIONS_IN_FLIGHT
from aegan.cli.setting_walk import check_hydra_keys_in
from aegan.data import test_size_of
from aegan.engine.checkpoint import run_dir_of
from aegan.engine.folder_lock import check_not_in_use
from aegan.errors import ConfigError
from aegan.evaluate_settings import (
    check_evaluate_settings,
    evaluated_checkpoint,
    run_arguments,
    with_run_iwae,
)
from aegan.metrics.choice import check_metrics_before_data
from aegan.metrics.scope import Settings
from aegan.runs.opened import open_run, read_opened_data
from aegan.signals.starting_signals import sweep_began
from aegan.signals.sweep_stops import job_starts_in_worker, launch_in_workers
from aegan.sweep_checks.jobs import as_job, check_every_job, without_hydra
from aegan.sweep_checks.plugins import check_search_allowed, check_sweep_settings
from aegan.sweep_checks.refusals import mistakes_only, refuse_in_one_line


def _check_evaluation(config: DictConfig) -> None:
    """An evaluation's settings and its Hydra settings, as composed for its run."""
    check_output_subdir(config.hydra)
    check_hydra_keys_in(config.hydra, "hydra.")
    check_one_name("hydra.job.name", config.hydra.job.name, "file")  # NAME.log
    check_logging_entries(config.hydra)  # logging.config's error: an evaluate.log made
    mistakes_only(lambda: check_evaluate_settings(without_hydra(config)))


def _check_evaluation_job(
    composed: DictConfig, folder: Path | None, evaluated: dict[Path, str] | None
) -> None:
    """A job of ``aegan.evaluate -m``, its run read up to the data too: its mistake,
    found as it started, came after the jobs before it had run, or killed those beside it.
    ``evaluated``: the run folders of the jobs before, by the ``run`` that named each, where
    the launcher runs jobs at once (None: one after another)."""
    with as_job(composed):
        _check_evaluation(composed)
        settings = without_hydra(composed)
        checkpoint = evaluated_checkpoint(settings)
        # its run read up to the data, as the job reads it: overrides, metrics it cannot feed
        arguments = run_arguments(settings, composed.hydra.searchpath)
        opened = open_run(**arguments)
        # the record's own, where null; then each metric's limits on the run's data
        with_run_iwae(settings, opened.config, checkpoint, test_size_of(opened.config.data))
        check_metrics_before_data(
            opened.meta, settings.metrics, Settings.of(settings), opened.config.data, "metrics"
        )
        # last, its images: files changed since it trained (read again as the job starts)
        read_opened_data(opened, arguments["overrides"], arguments["changed_data"])
    run_dir = run_dir_of(checkpoint).resolve()
    check_not_in_use(run_dir)  # a run training or evaluated now: the job would be refused
    if evaluated is None:
        return
    if run_dir in evaluated:  # the second job's evaluation refused as the first ran, and both ended
        launcher = composed.hydra.runtime.choices.get("hydra/launcher")
        raise ConfigError(
            f"run={composed.run} is the run of an earlier job too (run={evaluated[run_dir]}), and "
            f"hydra/launcher={launcher} runs the jobs at once, where each holds its run's folder; "
            "evaluate one run in several jobs with the basic launcher, one job after another"
        )
    evaluated[run_dir] = composed.run


def _resolved_sweep_dir(config: DictConfig) -> None:
    """``hydra.sweep.dir`` resolved as Hydra will, before any job: the refusal of its resolver
    (TMPDIR's scratch folder of this user's, where a job whose run names no run logs too) is
    the sweep's, not each job's."""
    try:
        str(config.hydra.sweep.dir)
    except BROKEN_INTERPOLATION as err:
        raise ConfigError(interpolation_line(err)) from None


def _figures_written(run_dir: Path) -> tuple[int, int] | None:
    """RUN_DIR/metrics.json as it is (its file's inode and time; None: none): an evaluation
    writes it anew, whole, once its figures are all measured, and a stopped one leaves it."""
    try:
        info = (run_dir / "metrics.json").stat()
    except OSError:
        return None
    return info.st_ino, info.st_mtime_ns


def _runs_left(before: dict[Path, tuple[str, tuple[int, int] | None]]) -> str:
    """How to go on with a stopped sweep whose jobs ran at once: the runs whose figures it
    did not write, each named (``before``: by each run's folder, the run that named it and
    ``_figures_written`` as the sweep began)."""
    left = [run for run_dir, (run, was) in before.items() if _figures_written(run_dir) == was]
    if not left:
        return "Every run's figures were written: none is left to evaluate"
    return f"Not evaluated: {', '.join(left)}; {EVALUATIONS_GO_ON} with run={','.join(left)}"


class CheckEvaluation(Callback):
    """``aegan.evaluate``'s settings and ``hydra.output_subdir``, refused before Hydra opens
    evaluate.log and writes its record in the run's folder, its own: a refused evaluation
    leaves that folder as it was (``CheckSweepSettings`` checks the others). A sweep's
    jobs are checked so, and their runs, before the first starts."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        with as_job(config):  # a ${hydra:...} resolves as in the job
            refuse_in_one_line(lambda: _check_evaluation(config), config)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """``-m run=A,B``: every job checked first; a stop between two jobs says that the
        later ones did not run; one to jobs in processes of their own (joblib's) stops each,
        whole, as a stop alone does, and names the runs left to evaluate."""
        launcher = str(OmegaConf.select(config, "hydra.launcher._target_"))
        # each job's run folder, by the run that named it, where the jobs run at once
        evaluated: dict[Path, str] | None = None if launcher.endswith(".BasicLauncher") else {}

        def check() -> None:
            check_search_allowed(config.hydra, "evaluate")
            check_hydra_dirs(config.hydra, multirun=True)
            check_sweep_settings(config.hydra)  # n_jobs=0: joblib's own error, as it launched
            _resolved_sweep_dir(config)
            check_job = functools.partial(_check_evaluation_job, evaluated=evaluated)
            mistakes_only(lambda: check_every_job(config, check_job, in_sweep_folder=False))

        with as_job(config):
            refuse_in_one_line(check, config)
        sweep_began(f"Later jobs did not run: {EVALUATIONS_GO_ON}")
        before = {
            folder: (run, _figures_written(folder)) for folder, run in (evaluated or {}).items()
        }
        launch_in_workers(functools.partial(_runs_left, before), launcher, EVALUATIONS_IN_FLIGHT)

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        job_starts_in_worker()  # in a joblib worker, a stop from now on is recorded
