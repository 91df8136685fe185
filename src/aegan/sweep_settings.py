"""The sweep's own settings (``hydra.sweeper.*``, ``hydra.launcher.*``), checked before the
first job by a Hydra callback (conf/hydra/default.yaml). Hydra's plugins check their types
only: ``n_jobs=0`` was a ZeroDivisionError, ``max_failure_rate=2`` or ``max_batch_size=0``
an AssertionError, a storage that is not a database URL a driver's traceback, each after
the sweep began; ``direction=maximize`` searched for the worst model. The same callback
checks a run's folder (``hydra.run.dir``) before Hydra makes it and opens the log there,
and ends a sweep whose jobs did not all finish with a line and exit code 1."""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from aegan.cli import report_error
from aegan.config import check_hydra_dirs, check_output_subdir
from aegan.errors import ConfigError
from aegan.sweep_reader import read_overrides, read_sweep
from aegan.tasks.checks import check_number

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


# interpolations that differ between the jobs of a sweep, whatever it sweeps
JOB_UNIQUE = re.compile(r"hydra[.:]job\.(num|id|override_dirname)\b")


class CheckSweepSettings(Callback):
    """Refuse, in one line, a sweeper or launcher setting that cannot work, before any job;
    and the folder of a run or a sweep, before Hydra makes it and opens its log there."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        _refuse_in_one_line(lambda: check_hydra_dirs(config.hydra, multirun=False))

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        def check() -> None:
            check_hydra_dirs(config.hydra, multirun=True)
            check_sweep_settings(config.hydra)
            check_sweep_folder(config)

        _refuse_in_one_line(check)

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
                f"{len(without)} of {len(rows)} jobs of the sweep ended without results "
                f"({shown}); the others' are kept: python -m aegan.summarize {folder}"
            )
            raise SystemExit(1)


class KeepRunRecord(Callback):
    """``hydra.output_subdir`` refused before Hydra writes its record (``aegan.evaluate``,
    whose folder is the run's own: ``CheckSweepSettings`` checks it for the others)."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        _refuse_in_one_line(lambda: check_output_subdir(config.hydra))


def _refuse_in_one_line(check: Callable[[], None]) -> None:
    try:
        check()
    except ConfigError as err:  # Hydra turns a callback's exception into a warning
        report_error(str(err))
        raise SystemExit(2) from None


def check_sweep_folder(config: DictConfig) -> None:
    """Each job its own folder (``subdir`` '' would be the sweep's); a folder that holds a
    sweep is swept again only to continue it: Hydra would replace its multirun.yaml, and a
    new job would fail into a trained job's folder."""
    subdir = config.hydra.sweep._get_node("subdir")._value()  # ${hydra.job.num}: no job yet
    if not str(subdir).strip():
        raise ConfigError(f"hydra.sweep.subdir={subdir!r} is not allowed: it must be a folder")
    if Path(str(subdir)).is_absolute() or ".." in Path(str(subdir)).parts:
        raise ConfigError(  # the jobs trained outside the sweep, where summarize finds none
            f"hydra.sweep.subdir={subdir} is not allowed: each job's folder must be inside "
            "hydra.sweep.dir (no leading / and no ..), e.g. ${hydra.job.num}"
        )
    _check_subdir_tells_jobs_apart(config, str(subdir))
    output_dir = config.paths._get_node("output_dir")._value() if "paths" in config else None
    if output_dir is not None and str(output_dir) != "${hydra:runtime.output_dir}":
        raise ConfigError(  # every job would write its checkpoints there, the second refused
            f"paths.output_dir={output_dir} is not allowed: it is each job's folder, which Hydra "
            "makes; choose where the sweep goes with hydra.sweep.dir=..."
        )
    folder = Path(str(config.hydra.sweep.dir))
    if (folder / "multirun.yaml").exists() and OmegaConf.select(config, "trainer.resume") != "auto":
        raise ConfigError(
            f"hydra.sweep.dir={folder} already holds a sweep (multirun.yaml): choose another "
            "folder, or continue that sweep with trainer.resume=auto"
        )
    if (folder / "multirun.yaml").exists():
        _check_same_grid(config, folder, str(subdir))


def _check_same_grid(config: DictConfig, folder: Path, subdir: str) -> None:
    """A sweep continued (``trainer.resume=auto``) with jobs numbered as before: each job's
    swept values those its folder trained with. Another grid would replace the sweep's
    multirun.yaml, and each job whose values moved would be refused in a trained folder."""
    sweeper = str(config.hydra.sweeper.get("_target_", ""))
    if subdir.strip() != "${hydra.job.num}" or not sweeper.endswith(".BasicSweeper"):
        return  # folders named by their values: a new value trains in a new folder
    parser = OverridesParser.create()
    overrides = _sweep_overrides(parser, config)
    swept = {o.key_or_group for o in overrides if o.is_sweep_override()}
    for num, job in enumerate(BasicSweeper.split_arguments(overrides, None)[0]):
        recorded_file = folder / str(num) / ".hydra" / "overrides.yaml"
        if not recorded_file.is_file():
            continue
        try:
            recorded = _values(parser, read_overrides(recorded_file))
        except Exception:  # unreadable: the job names its own folder's damage
            continue
        for key, value in _values(parser, job).items():
            if key in swept and recorded.get(key) != value:
                before = f"{key}={recorded[key]}" if key in recorded else f"no {key}"
                raise ConfigError(
                    f"hydra.sweep.dir={folder} holds a sweep whose job {num} trained with "
                    f"{before}; this sweep's job {num} has {key}={value}: continue a sweep with "
                    "its own grid, or sweep into another folder"
                )


def _sweep_overrides(parser: OverridesParser, config: DictConfig) -> list:
    """The sweep's overrides as Hydra parses them: the sweeper's own grid first."""
    params = config.hydra.sweeper.get("params") or {}
    return parser.parse_overrides(
        [f"{key}={value}" for key, value in params.items()] + list(config.hydra.overrides.task)
    )


def _values(parser: OverridesParser, overrides: list[str]) -> dict[str, str]:
    """``{key: value as written}`` of ``key=value`` overrides."""
    return {o.key_or_group: o.get_value_element_as_str() for o in parser.parse_overrides(overrides)}


def _check_subdir_tells_jobs_apart(config: DictConfig, subdir: str) -> None:
    """Two jobs with one folder: the second is refused there (it holds a trained run), writes
    its failed.json into the first's, and the sweep ends as if every job had finished."""
    if JOB_UNIQUE.search(subdir):
        return
    if not str(config.hydra.sweeper.get("_target_", "")).endswith(".BasicSweeper"):
        raise ConfigError(
            f"hydra.sweep.subdir={subdir!r} is not allowed: the sweeper picks each job's values, "
            "which may repeat; give each job its own folder with ${hydra.job.num}"
        )
    parser = OverridesParser.create()
    overrides = _sweep_overrides(parser, config)
    named = set(re.findall(r"\$\{([^}:]+)\}", subdir))
    for override in overrides:
        key = override.key_or_group
        if override.is_sweep_override() and not any(
            n == key or n.startswith(f"{key}.") for n in named
        ):
            raise ConfigError(
                f"hydra.sweep.subdir={subdir!r} is not allowed: jobs that differ only in {key} "
                f"would train into one folder; name it there (${{{key}}}) or use ${{hydra.job.num}}"
            )
    # every swept key is named; a value swept twice, or spelled twice (1e-3, 0.001), still
    # names one folder
    swept = {o.key_or_group for o in overrides if o.is_sweep_override()}
    folders: set[tuple[str, ...]] = set()
    for job in BasicSweeper.split_arguments(overrides, None)[0]:
        values = [o for o in parser.parse_overrides(job) if o.key_or_group in swept]
        folder = tuple(str(o.value()) if o.key_or_group in named else o.get_value_element_as_str()
                       for o in values)  # fmt: skip
        if folder in folders:
            shown = " ".join(f"{o.key_or_group}={o.get_value_element_as_str()}" for o in values)
            raise ConfigError(
                f"hydra.sweep.subdir={subdir!r} is not allowed: two jobs ({shown}) would train "
                "into one folder; sweep each value once or use ${hydra.job.num}"
            )
        folders.add(folder)


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
    storage = sweeper.get("storage")
    if isinstance(storage, str):
        _check_storage(storage)


def _check_storage(storage: str) -> None:
    """A database URL that Optuna can open: ``sqlite:///FILE`` in a folder that exists."""
    from sqlalchemy.engine import make_url  # with optuna: the sweeper is there

    allowed = "it must be null (in memory) or a database URL such as sqlite:///FILE"
    try:
        url = make_url(storage)
    except Exception:  # sqlalchemy's ArgumentError, or a ValueError from its parser
        raise ConfigError(f"hydra.sweeper.storage={storage!r} is not allowed: {allowed}") from None
    if url.drivername.startswith("sqlite") and url.database not in (None, "", ":memory:"):
        folder = Path(url.database).expanduser().parent
        if not folder.is_dir():
            raise ConfigError(
                f"hydra.sweeper.storage={storage} is not allowed: its folder {folder} is not "
                "there; make it, or choose another file"
            )
