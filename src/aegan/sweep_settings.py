"""The sweep's own settings (``hydra.sweeper.*``, ``hydra.launcher.*``), checked before the
first job by a Hydra callback (conf/hydra/default.yaml). Hydra's plugins check their types
only: ``n_jobs=0`` was a ZeroDivisionError, ``max_failure_rate=2`` or ``max_batch_size=0``
an AssertionError, a storage that is not a database URL a driver's traceback, each after
the sweep began; ``direction=maximize`` searched for the worst model. The same callback
checks a run's folder (``hydra.run.dir``) before Hydra makes it and opens the log there,
every job's settings before the first (``aegan.sweep_jobs``), and ends a sweep whose jobs
did not all finish with a line and exit code 1."""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import os
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from aegan.cli import report_error
from aegan.engine.folder_lock import TRAIN_ELSEWHERE, check_not_in_use
from aegan.engine.run_dir import (
    check_not_inside_a_run,
    check_own_run_folder,
    check_run_folder,
)
from aegan.engine.run_record import trained_run_holding
from aegan.errors import USER_ERRORS, ConfigError
from aegan.evaluate_settings import check_evaluate_settings
from aegan.hydra_dirs import check_hydra_dirs, check_output_subdir
from aegan.sweep_folders import check_sweep_folder
from aegan.sweep_jobs import check_every_job, check_run, without_hydra
from aegan.sweep_reader import read_sweep, write_planned_jobs
from aegan.tasks.checks import check_number

ELSEWHERE = ", or choose another folder (hydra.run.dir=...)"  # what aegan.bench could do

# submitit's launcher settings that count something: the least each may be
LAUNCHER_COUNTS = {
    "timeout_min": 1, "nodes": 1, "tasks_per_node": 1, "cpus_per_task": 1, "gpus_per_node": 0,
    "mem_gb": 0, "array_parallelism": 1, "max_num_timeout": 0,
}  # fmt: skip


# launchers whose constructor takes any keyword, each with its config's dataclass: a setting
# they do not have would be passed on and ignored (joblib hands it to its backend)
LAUNCHER_CONFIGS = {
    "JoblibLauncher": ("hydra_plugins.hydra_joblib_launcher.config", "JobLibLauncherConf"),
    "LocalLauncher": ("hydra_plugins.hydra_submitit_launcher.config", "LocalQueueConf"),
    "SlurmLauncher": ("hydra_plugins.hydra_submitit_launcher.config", "SlurmQueueConf"),
}


class CheckSweepSettings(Callback):
    """Refuse, in one line, a sweeper or launcher setting that cannot work, before any job;
    and the folder of a run or a sweep, before Hydra makes it and opens its log there."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        def check() -> None:
            check_hydra_dirs(config.hydra, multirun=False)
            run_dir = Path(str(config.hydra.run.dir))
            if kwargs.get("config_name") == "train":
                # before Hydra opens train.log there: a refused run leaves a trained one as it was
                resume = OmegaConf.select(config, "trainer.resume")
                _mistakes_only(lambda: check_run_folder(run_dir, resume, "hydra.run.dir"))
                _mistakes_only(lambda: check_run(config, run_dir))
                _mistakes_only(lambda: check_not_in_use(run_dir, TRAIN_ELSEWHERE))
                _mistakes_only(lambda: check_own_run_folder(run_dir, "hydra.run.dir"))
            else:  # aegan.bench: its bench.log and bench.jsonl are no part of a run
                check_not_inside_a_run(run_dir, "hydra.run.dir", itself=True)
                _mistakes_only(lambda: check_not_in_use(run_dir, ELSEWHERE))
            _check_log_file(config, run_dir)

        _refuse_in_one_line(check, config)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        planned: list[dict] = []  # a grid's jobs, for the summary of a sweep cut short

        def check() -> None:
            check_hydra_dirs(config.hydra, multirun=True)
            check_sweep_settings(config.hydra)
            sweep_dir = Path(str(config.hydra.sweep.dir))
            check_not_inside_a_run(sweep_dir, "hydra.sweep.dir", itself=True)
            check_sweep_folder(config)
            if kwargs.get("config_name") == "train":
                _mistakes_only(lambda: check_every_job(config, planned))

        _refuse_in_one_line(check, config)
        self._planned = planned  # written as the first job starts: Hydra has made the folder

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        """A grid's jobs into its folder (``jobs.json``), once, as its first job starts: a
        sweep Hydra refuses after these checks leaves no folder. A launcher that runs its
        jobs in other processes (joblib, SLURM) has none to write."""
        planned, self._planned = getattr(self, "_planned", None), None
        if planned:
            write_planned_jobs(Path(str(config.hydra.sweep.dir)), planned)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """A job that fails is logged and the sweep goes on; at its end, a script or a
        scheduler that ran it learns that not every job finished: one line, exit code 1."""
        folder = Path(str(config.hydra.sweep.dir))
        try:
            rows = read_sweep(folder)
        except OSError:  # a launcher that kept no folder: nothing to count
            return
        without = [f"job {row['job']} {row['status']}" for row in rows if row["status"] != "ok"]
        if without:
            shown = ", ".join(without[:5]) + (", ..." if len(without) > 5 else "")
            report_error(
                f"{len(without)} of {len(rows)} {'job' if len(rows) == 1 else 'jobs'} of the sweep "
                f"ended without results "
                f"({shown}); the others' are kept: python -m aegan.summarize {folder}"
            )
            raise SystemExit(1)


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


class CheckEvaluation(Callback):
    """``aegan.evaluate``'s settings and ``hydra.output_subdir``, refused before Hydra opens
    evaluate.log and writes its record in the run's folder, its own: a refused evaluation
    leaves that folder as it was (``CheckSweepSettings`` checks the others)."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        def check() -> None:
            check_output_subdir(config.hydra)
            _mistakes_only(lambda: check_evaluate_settings(without_hydra(config)))

        _refuse_in_one_line(check, config)


def _mistakes_only(check: Callable[[], None]) -> None:
    """``check``, raising the user's mistakes only: what else it meets (a broken
    interpolation, an override Hydra cannot apply) Hydra or the job says in its own line,
    where a callback's exception would be a warning line before it."""
    try:
        check()
    except USER_ERRORS:
        raise
    except Exception:
        return


def _refuse_in_one_line(check: Callable[[], None], config: DictConfig) -> None:
    """A user's mistake as one line and exit code 2 (``debug=true``: its traceback too).
    Anything else (a broken interpolation in ``hydra.run.dir``) Hydra or the job says in
    its own line, a moment later: Hydra turns a callback's exception into a warning of
    five lines before it."""
    try:
        check()
    except USER_ERRORS as err:
        if _debug(config):
            traceback.print_exc()
        report_error(str(err))
        raise SystemExit(2) from None
    except Exception:
        if _debug(config):
            traceback.print_exc()


def _debug(config: DictConfig) -> bool:
    """``debug=true``, where it resolves at all."""
    return (
        OmegaConf.select(config, "debug", default=False, throw_on_resolution_failure=False) is True
    )


def check_sweep_settings(hydra_cfg: DictConfig) -> None:
    """``ConfigError`` naming the first ``hydra.sweeper.*`` / ``hydra.launcher.*`` value
    that its plugin could not use."""
    sweeper, launcher = hydra_cfg.sweeper, hydra_cfg.launcher
    sweeper_target = str(sweeper.get("_target_", ""))
    if sweeper_target.endswith(".OptunaSweeper"):
        _check_optuna(sweeper)
    elif sweeper_target.endswith(".BasicSweeper") and sweeper.get("max_batch_size") is not None:
        check_number("hydra.sweeper.max_batch_size", sweeper.max_batch_size, low=1, integer=True)
    launcher_target = str(launcher.get("_target_", ""))
    _check_launcher_keys(launcher, launcher_target.rpartition(".")[2])
    if launcher_target.endswith(".JoblibLauncher"):
        n_jobs = launcher.get("n_jobs")
        check_number("hydra.launcher.n_jobs", n_jobs, low=-(2**15), high=2**15, integer=True)
        if n_jobs == 0:
            raise ConfigError(
                "hydra.launcher.n_jobs=0 is not allowed: it must be the number of jobs at once, "
                "or -1 for one per core"
            )
    for key, low in LAUNCHER_COUNTS.items() if "submitit" in launcher_target else ():
        if launcher.get(key) is not None:
            check_number(f"hydra.launcher.{key}", launcher[key], low=low, integer=True)


def _check_launcher_keys(launcher: DictConfig, name: str) -> None:
    """Each ``hydra.launcher`` key one that ``name``'s config has: ``+hydra.launcher.n_job=2``
    ran every job at once, the misspelt key ignored."""
    if name not in LAUNCHER_CONFIGS:  # the others' constructors refuse an unknown keyword
        return
    module, conf = LAUNCHER_CONFIGS[name]
    fields = dataclasses.fields(getattr(importlib.import_module(module), conf))
    known = sorted(f.name for f in fields if not f.name.startswith("_"))
    for key in map(str, launcher):
        if key.startswith("_") or key in known:
            continue
        close = difflib.get_close_matches(key, known, n=1)
        hint = (
            f"did you mean hydra.launcher.{close[0]}?"
            if close
            else f"its settings are: {', '.join(known)}"
        )
        raise ConfigError(f"hydra.launcher.{key} is not a setting of {name}; {hint}")


def _check_optuna(sweeper: DictConfig) -> None:
    direction = sweeper.get("direction")
    direction = getattr(direction, "name", direction)  # the plugin's default is its enum
    if direction != "minimize":
        raise ConfigError(
            f"hydra.sweeper.direction={direction} is not allowed: aegan.train returns one "
            "objective, val/best_objective, where lower is better: minimize"
        )
    check_number("hydra.sweeper.n_trials", sweeper.get("n_trials"), low=1, integer=True)
    check_number("hydra.sweeper.n_jobs", sweeper.get("n_jobs"), low=1, integer=True)
    check_number("hydra.sweeper.max_failure_rate", sweeper.get("max_failure_rate"), low=0, high=1)
    sampler = sweeper.get("sampler")
    if isinstance(sampler, DictConfig) and sampler.get("seed") is not None:
        # the recipes seed it from ${seed}, which aegan takes up to 2**63 - 1: name that
        written = str(sampler._get_node("seed")._value())
        key = "seed" if written == "${seed}" else "hydra.sweeper.sampler.seed"
        try:
            check_number(key, sampler.seed, low=0, high=2**32 - 1, integer=True)
        except ConfigError as err:
            raise ConfigError(f"{err} (Optuna's sampler takes it)") from None
    storage = sweeper.get("storage")
    if isinstance(storage, str):
        _check_storage(storage)


def _check_storage(storage: str) -> None:
    """A database URL that Optuna can open: a dialect SQLAlchemy has, its driver installed
    (optuna said only "Failed to import DB access module"), and for ``sqlite:///FILE`` a
    folder that exists and a file that is nothing yet or an SQLite database (a file of
    anything else was sqlite3's "file is not a database" and the SQL it ran)."""
    from sqlalchemy.engine import make_url  # with optuna: the sweeper is there

    allowed = "it must be null (in memory) or a database URL such as sqlite:///FILE"
    try:
        url = make_url(storage)
    except Exception:  # sqlalchemy's ArgumentError, or a ValueError from its parser
        raise ConfigError(f"hydra.sweeper.storage={storage!r} is not allowed: {allowed}") from None
    given = f"hydra.sweeper.storage={url.render_as_string(hide_password=True)} is not allowed"
    try:  # the driver module, imported as create_engine would: SQLAlchemy 2's name, then 1.4's
        dialect = url.get_dialect()
        (getattr(dialect, "import_dbapi", None) or dialect.dbapi)()
    except ImportError as err:
        raise ConfigError(
            f"{given}: its driver, the Python module {err.name or err}, is not installed; "
            "install it, or use sqlite:///FILE"
        ) from None
    except Exception:  # sqlalchemy's NoSuchModuleError: no such dialect
        raise ConfigError(
            f"{given}: SQLAlchemy has no database {url.drivername}; {allowed}"
        ) from None
    if url.drivername.startswith("sqlite") and url.database not in (None, "", ":memory:"):
        path = Path(url.database).expanduser()
        if not path.parent.is_dir():
            raise ConfigError(
                f"{given}: its folder {path.parent} is not there; make it, or choose another file"
            )
        _check_sqlite_file(path, given)


SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database


def _check_sqlite_file(path: Path, given: str) -> None:
    """``path`` is nothing yet (the study makes it: its folder takes a new file), empty, or
    an SQLite database: read by its header, never opened as a database (that would write to
    it)."""
    if not path.exists():
        try:  # sqlite3 said "unable to open database file", naming neither
            fd, probe = tempfile.mkstemp(prefix=".write-probe-", dir=path.parent)
            os.close(fd)
            os.unlink(probe)
        except OSError as err:
            raise ConfigError(
                f"{given}: its folder {path.parent} takes no new file ({err.strerror or err}); "
                "choose another folder"
            ) from None
        return
    if not path.is_file():  # a folder, or a FIFO that reading would wait on
        raise ConfigError(f"{given}: {path} is not a file; give a database file or a new name")
    try:
        with path.open("rb") as file:
            head = file.read(len(SQLITE_HEADER))
    except OSError as err:
        raise ConfigError(f"{given}: {path} cannot be read ({err.strerror or err})") from None
    if head and head != SQLITE_HEADER:
        raise ConfigError(
            f"{given}: {path} is not an SQLite database; give the file of an earlier study or "
            "a new name"
        )
