"""The sweep's own settings (``hydra.sweeper.*``, ``hydra.launcher.*``: ``aegan.sweep_checks.plugins``),
checked before the first job by a Hydra callback (conf/hydra/default.yaml). The same callback
checks a run's folder (``hydra.run.dir``) before Hydra makes it and opens the log there,
every job's settings before the first (``aegan.sweep_checks.jobs``), and ends a sweep whose jobs
did not all finish with a line and exit code 1."""

from __future__ import annotations

import contextlib
import functools
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.errors import HydraException
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from aegan.cli.hydra_dirs import (
    check_hydra_dirs,
    check_logging_entries,
    check_one_name,
    check_output_subdir,
)
from aegan.cli.hydra_errors import BROKEN_INTERPOLATION, interpolation_line
from aegan.cli.hydra_job import EVALUATIONS_GO_ON, EVALUATIONS_IN_FLIGHT, going_on
from aegan.cli.hydra_primary import running_command
from aegan.cli.one_line import report_error
from aegan.cli.setting_walk import check_hydra_keys_in
from aegan.engine.checkpoint import load_checkpoint, run_dir_of
from aegan.engine.folder_lock import TRAIN_ELSEWHERE, check_not_in_use
from aegan.engine.launch_time import use_launch_time
from aegan.engine.run_dir import (
    check_not_inside_a_run,
    check_own_run_folder,
    check_run_folder,
)
from aegan.engine.run_record import trained_run_holding
from aegan.errors import USER_ERRORS, ConfigError
from aegan.evaluate_settings import check_evaluate_settings, evaluated_checkpoint
from aegan.signals.starting_signals import sweep_began
from aegan.signals.sweep_stops import job_starts_in_worker, launch_in_workers, sweep_was_stopped
from aegan.sweep_checks.folders import check_continued_jobs, check_sweep_folder
from aegan.sweep_checks.jobs import (
    as_job,
    check_bench_run,
    check_every_job,
    check_run,
    without_hydra,
)
from aegan.sweep_checks.plugins import check_sweep_settings
from aegan.sweeps.end import end_line, forget_sweep, start_sweep
from aegan.sweeps.reader import write_planned_jobs

ELSEWHERE = ", or choose another folder (hydra.run.dir=...)"  # what aegan.bench could do


class CheckSweepSettings(Callback):
    """Refuse, in one line, a sweeper or launcher setting that cannot work, before any job;
    and the folder of a run or a sweep, before Hydra makes it and opens its log there."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        forget_sweep()
        use_launch_time()  # before the folder's ${now:} is read: one folder for all ranks

        def check() -> None:
            check_hydra_dirs(config.hydra, multirun=False)
            run_dir = Path(str(config.hydra.run.dir))
            if running_command(kwargs.get("config_name")) == "train":
                # before Hydra opens train.log there: a refused run leaves a trained one as it was
                resume = OmegaConf.select(config, "trainer.resume")
                _mistakes_only(lambda: check_run_folder(run_dir, resume, "hydra.run.dir"))
                _mistakes_only(lambda: check_run(config, run_dir))
                _mistakes_only(lambda: check_not_in_use(run_dir, TRAIN_ELSEWHERE))
                _mistakes_only(lambda: check_own_run_folder(run_dir, "hydra.run.dir"))
            else:  # aegan.bench: its bench.log and bench.jsonl are no part of a run
                check_not_inside_a_run(run_dir, "hydra.run.dir", itself=True)
                _mistakes_only(lambda: check_not_in_use(run_dir, ELSEWHERE))
                _mistakes_only(lambda: check_bench_run(config))
            _check_log_file(config, run_dir)

        with as_job(config):  # a ${hydra:...} in the folder's parts resolves, as in the job
            _refuse_in_one_line(check, config)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        planned: list[dict] = []  # a grid's jobs, for the summary of a sweep cut short
        use_launch_time()  # its ${now:} codes checked before the sweep's folder is named

        def check() -> None:
            check_hydra_dirs(config.hydra, multirun=True)
            check_sweep_settings(config.hydra)
            sweep_dir = Path(str(config.hydra.sweep.dir))
            check_not_inside_a_run(sweep_dir, "hydra.sweep.dir", itself=True)
            check_sweep_folder(config)
            command = running_command(kwargs.get("config_name"))
            if command == "train":
                _mistakes_only(lambda: check_every_job(config, _check_train_job, planned))
                check_continued_jobs(config, planned)
            elif command == "bench":
                _mistakes_only(lambda: check_every_job(config, _check_bench_job))

        with as_job(config):  # a ${hydra:...} resolves as in the jobs
            _refuse_in_one_line(check, config)
        self._planned = planned  # written as the first job starts: Hydra has made the folder
        jobs = [job["job"] for job in planned] if planned else None  # a search: every folder
        with contextlib.suppress(Exception):  # a folder Hydra cannot resolve: it says so
            start_sweep(Path(str(config.hydra.sweep.dir)), jobs)
            if running_command(kwargs.get("config_name")) == "train":
                sweep_began(going_on(config.hydra))
            launcher = str(OmegaConf.select(config, "hydra.launcher._target_"))
            launch_in_workers(going_on(config.hydra), launcher)  # joblib's, submitit_local's

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        """A grid's jobs into its folder (``jobs.json``), once, as its first job starts: a
        sweep Hydra refuses after these checks leaves no folder. A launcher that runs its
        jobs in other processes (joblib, SLURM) has none to write. In a joblib worker, a stop
        signal from now on is recorded (``aegan.signals.sweep_stops``)."""
        job_starts_in_worker()
        planned, self._planned = getattr(self, "_planned", None), None
        if planned:
            write_planned_jobs(Path(str(config.hydra.sweep.dir)), planned)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """A job that fails is logged and the sweep goes on; at its end, a script or a
        scheduler that ran it learns that not every job finished: one line, exit code 1."""
        line = end_line(Path(str(config.hydra.sweep.dir)))
        if line is not None and not sweep_was_stopped():  # its own line says more
            report_error(line)
            raise SystemExit(1)


def _check_train_job(composed: DictConfig, folder: Path | None) -> None:
    """A training job of a sweep, composed, before Hydra makes ``folder``: a run's checks."""
    check_run(composed, folder, "hydra.sweep.dir")


def _check_bench_job(composed: DictConfig, folder: Path | None) -> None:
    """A job of a sweep of ``aegan.bench``: its folder holds no run, and is not checked as one."""
    check_bench_run(composed)


def _check_log_file(config: DictConfig, run_dir: Path) -> None:
    """The log file, where set outside the run's own folder, is in no trained run: that
    run's log would take this command's lines."""
    try:
        name = OmegaConf.select(config, "hydra.job_logging.handlers.file.filename")
    except Exception:  # an interpolation Hydra resolves once the job starts: its own folder
        return
    if not isinstance(name, str):
        return
    folder = Path(name).expanduser().absolute().parent
    if folder == run_dir.expanduser().absolute():
        return
    trained = trained_run_holding(folder)
    if trained is not None:
        raise ConfigError(
            f"hydra.job_logging.handlers.file.filename={name} is not allowed: it is in the "
            f"trained run {trained}, whose log would take this run's lines; choose a file "
            "outside it"
        )


def _check_evaluation(config: DictConfig) -> None:
    """An evaluation's settings and its Hydra settings, as composed for its run."""
    check_output_subdir(config.hydra)
    check_hydra_keys_in(config.hydra, "hydra.")
    check_one_name("hydra.job.name", config.hydra.job.name, "file")  # NAME.log
    check_logging_entries(config.hydra)  # logging.config's error: an evaluate.log made
    _mistakes_only(lambda: check_evaluate_settings(without_hydra(config)))


def _check_evaluation_job(
    composed: DictConfig, folder: Path | None, evaluated: dict[Path, str] | None
) -> None:
    """A job of ``aegan.evaluate -m``, its run's folder and checkpoint read too: its mistake,
    found as it started, came after the jobs before it had run, or killed those beside it.
    ``evaluated``: the run folders of the jobs before, by the ``run`` that named each, where
    the launcher runs jobs at once (None: one after another)."""
    with as_job(composed):
        _check_evaluation(composed)
        checkpoint = evaluated_checkpoint(without_hydra(composed))
        load_checkpoint(checkpoint)
    if evaluated is None:
        return
    run_dir = run_dir_of(checkpoint).resolve()
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


class CheckEvaluation(Callback):
    """``aegan.evaluate``'s settings and ``hydra.output_subdir``, refused before Hydra opens
    evaluate.log and writes its record in the run's folder, its own: a refused evaluation
    leaves that folder as it was (``CheckSweepSettings`` checks the others). A sweep's
    jobs are checked so, and their runs, before the first starts."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        with as_job(config):  # a ${hydra:...} resolves as in the job
            _refuse_in_one_line(lambda: _check_evaluation(config), config)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """``-m run=A,B``: every job checked first; a stop between two jobs says that the
        later ones did not run; one to jobs in processes of their own (joblib's) stops each,
        whole, as a stop alone does."""

        def check() -> None:
            check_hydra_dirs(config.hydra, multirun=True)
            _resolved_sweep_dir(config)
            launcher = str(OmegaConf.select(config, "hydra.launcher._target_"))
            evaluated = None if launcher.endswith(".BasicLauncher") else {}
            check_job = functools.partial(_check_evaluation_job, evaluated=evaluated)
            _mistakes_only(lambda: check_every_job(config, check_job, in_sweep_folder=False))

        with as_job(config):
            _refuse_in_one_line(check, config)
        sweep_began(f"Later jobs did not run: {EVALUATIONS_GO_ON}")
        launcher = str(OmegaConf.select(config, "hydra.launcher._target_"))
        launch_in_workers(EVALUATIONS_GO_ON.capitalize(), launcher, EVALUATIONS_IN_FLIGHT)

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        job_starts_in_worker()  # in a joblib worker, a stop from now on is recorded


def _mistakes_only(check: Callable[[], None]) -> None:
    """``check``, raising the user's mistakes and aegan's own failures: what Hydra or
    OmegaConf raise (a broken interpolation, an override Hydra cannot apply) Hydra or the
    job says in its own line, where a callback's exception would be a warning line before it."""
    try:
        check()
    except USER_ERRORS:
        raise
    except Exception as err:
        if not _hydra_says_it(err):
            raise


def _hydra_says_it(err: Exception) -> bool:
    """``err`` is Hydra's or OmegaConf's, raised in their code: Hydra says it again as it
    composes the job. Anything else is a check that broke, which passed a setting unchecked."""
    if isinstance(err, (OmegaConfBaseException, HydraException)):
        return True
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    module = str(tb.tb_frame.f_globals.get("__name__", "")) if tb is not None else ""
    return module.partition(".")[0] in ("hydra", "omegaconf", "hydra_plugins")


def _refuse_in_one_line(check: Callable[[], None], config: DictConfig) -> None:
    """A user's mistake as one line and exit code 2 (``debug=true``: its traceback too).
    Hydra's own (a broken interpolation in ``hydra.run.dir``) Hydra or the job says in its
    own line, a moment later: Hydra turns a callback's exception into a warning of five
    lines before it. A check that broke stops the command, exit code 1, with its traceback:
    passed over, it let the run start unchecked."""
    try:
        check()
    except USER_ERRORS as err:
        if _debug(config):
            traceback.print_exc()
        report_error(str(err))
        raise SystemExit(2) from None
    except Exception as err:
        if _debug(config) or not _hydra_says_it(err):
            traceback.print_exc()
        if not _hydra_says_it(err):  # a check that broke: nothing is known checked
            report_error(
                f"the check of the settings failed ({type(err).__name__}: "
                f"{err}); nothing was started. This is aegan's fault: its traceback is above"
            )
            raise SystemExit(1) from None


def _debug(config: DictConfig) -> bool:
    """``debug=true``, where it resolves at all."""
    return (
        OmegaConf.select(config, "debug", default=False, throw_on_resolution_failure=False) is True
    )
