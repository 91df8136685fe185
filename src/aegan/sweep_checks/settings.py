"""The sweep's own settings (``hydra.sweeper.*``, ``hydra.launcher.*``: ``aegan.sweep_checks.plugins``),
checked before the first job by a Hydra callback (conf/hydra/default.yaml). The same callback
checks a run's folder (``hydra.run.dir``) before Hydra makes it and opens the log there,
every job's settings before the first (``aegan.sweep_checks.jobs``), and ends a sweep whose jobs
did not all finish with a line and exit code 1."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from aegan.cli.hydra_dirs import check_hydra_dirs
from aegan.cli.hydra_job import going_on
from aegan.cli.hydra_primary import running_command
from aegan.cli.one_line import report_error
from aegan.engine.folder_lock import TRAIN_ELSEWHERE, check_not_in_use
from aegan.engine.launch_time import use_launch_time
from aegan.engine.run_dir import (
    check_not_inside_a_run,
    check_own_run_folder,
    check_run_folder,
)
from aegan.engine.run_record import trained_run_holding
from aegan.errors import ConfigError
from aegan.signals.starting_signals import sweep_began
from aegan.signals.sweep_stops import job_starts_in_worker, launch_in_workers, sweep_was_stopped
from aegan.sweep_checks.folders import check_continued_jobs, check_sweep_folder
from aegan.sweep_checks.jobs import (
    as_job,
    check_bench_run,
    check_every_job,
    check_run,
)
from aegan.sweep_checks.plugins import check_search_allowed, check_sweep_settings
from aegan.sweep_checks.refusals import mistakes_only, refuse_in_one_line
from aegan.sweeps.end import end_line, forget_sweep, start_sweep
from aegan.sweeps.planned import write_planned_jobs

ELSEWHERE = ", or choose another folder (hydra.run.dir=...)"  # what aegan.bench could do


class CheckSweepSettings(Callback):
    """Refuse, in one line, a sweeper or launcher setting that cannot work, before any job;
    and the folder of a run or a sweep, before Hydra makes it and opens its log there."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        forget_sweep()
        use_launch_time()  # before the folder's ${now:} is read: one folder for all ranks

        def check() -> None:
            check_search_allowed(config.hydra, running_command(kwargs.get("config_name")))
            check_hydra_dirs(config.hydra, multirun=False)
            run_dir = Path(str(config.hydra.run.dir))
            if running_command(kwargs.get("config_name")) == "train":
                # before Hydra opens train.log there: a refused run leaves a trained one as it was
                resume = OmegaConf.select(config, "trainer.resume")
                mistakes_only(lambda: check_run_folder(run_dir, resume, "hydra.run.dir"))
                mistakes_only(lambda: check_run(config, run_dir))
                mistakes_only(lambda: check_not_in_use(run_dir, TRAIN_ELSEWHERE))
                mistakes_only(lambda: check_own_run_folder(run_dir, "hydra.run.dir"))
            else:  # aegan.bench: its bench.log and bench.jsonl are no part of a run
                check_not_inside_a_run(run_dir, "hydra.run.dir", itself=True)
                mistakes_only(lambda: check_not_in_use(run_dir, ELSEWHERE))
                mistakes_only(lambda: check_bench_run(config))
            _check_log_file(config, run_dir)

        with as_job(config):  # a ${hydra:...} in the folder's parts resolves, as in the job
            refuse_in_one_line(check, config)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        planned: list[dict] = []  # a grid's jobs, for the summary of a sweep cut short
        use_launch_time()  # its ${now:} codes checked before the sweep's folder is named

        def check() -> None:
            check_search_allowed(config.hydra, running_command(kwargs.get("config_name")))
            check_hydra_dirs(config.hydra, multirun=True)
            check_sweep_settings(config.hydra)
            sweep_dir = Path(str(config.hydra.sweep.dir))
            check_not_inside_a_run(sweep_dir, "hydra.sweep.dir", itself=True)
            check_sweep_folder(config)
            command = running_command(kwargs.get("config_name"))
            if command == "train":
                mistakes_only(lambda: check_every_job(config, _check_train_job, planned))
                check_continued_jobs(config, planned)
            elif command == "bench":
                mistakes_only(lambda: check_every_job(config, _check_bench_job))

        with as_job(config):  # a ${hydra:...} resolves as in the jobs
            refuse_in_one_line(check, config)
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
