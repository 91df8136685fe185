"""The settings of Hydra's sweeper and launcher plugins (``hydra.sweeper.*``,
``hydra.launcher.*``), each against what its plugin can use. The plugins check their types
only: ``n_jobs=0`` was a ZeroDivisionError, ``max_failure_rate=2`` or ``max_batch_size=0``
an AssertionError, a storage that is not a database URL a driver's traceback, each after
the sweep began; ``direction=maximize`` searched for the worst model."""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from aegan.cli.hydra_kinds import node_refusal
from aegan.cli.hydra_sweep_base import swept_keys
from aegan.errors import ConfigError, refused_value, typed, written
from aegan.io.path_kinds import not_regular, path_kind
from aegan.settings.refused_values import read_as_typed
from aegan.sweeps.reader import is_grid
from aegan.tasks.checks import check_number

log = logging.getLogger("aegan.sweep")

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


# what a command without an objective sweeps instead of a search
NOT_SEARCHED = {
    "bench": "time a grid (python -m aegan.bench -m data.batch_size=32,64) or lists of "
    "settings (precisions=[fp32,bf16])",
    "evaluate": "evaluate a list of runs (python -m aegan.evaluate -m run=RUN_A,RUN_B)",
}


def _search_named(hydra_cfg: DictConfig) -> str:
    """The choice that made the sweep a search, as typed: ``hparams_search=NAME``, else
    ``hydra/sweeper=NAME``."""
    search = OmegaConf.select(hydra_cfg, "runtime.choices.hparams_search")
    sweeper = OmegaConf.select(hydra_cfg, "runtime.choices.hydra/sweeper", default="optuna")
    return f"hparams_search={search}" if search else f"hydra/sweeper={sweeper}"


def check_search_allowed(hydra_cfg: DictConfig, command: object) -> None:
    """A search (``hparams_search``, Optuna's sweeper) minimises what each job returns:
    aegan.train's objective. ``aegan.bench`` and ``aegan.evaluate`` return none, so each of
    their trials ran whole, then Optuna failed it ("Return value must be float-castable")."""
    if command == "train" or is_grid(hydra_cfg.sweeper):
        return
    given = _search_named(hydra_cfg)
    instead = NOT_SEARCHED.get(str(command), "sweep a grid with -m")
    raise ConfigError(
        f"{given} is not allowed with aegan.{command}: a search minimises its jobs' objective "
        f"and aegan.{command} returns none; {instead}, or search with aegan.train"
    )


def check_sweep_settings(hydra_cfg: DictConfig) -> None:
    """``ConfigError`` naming the first ``hydra.sweeper.*`` / ``hydra.launcher.*`` value
    that its plugin could not use."""
    check_converted(hydra_cfg)
    sweeper, launcher = hydra_cfg.sweeper, hydra_cfg.launcher
    sweeper_target = str(sweeper.get("_target_", ""))
    if sweeper_target.endswith(".OptunaSweeper"):
        _check_optuna(sweeper)
        _check_search_space(_search_named(hydra_cfg), sweeper, list(hydra_cfg.overrides.task))
    elif is_grid(sweeper) and sweeper.get("max_batch_size") is not None:
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
        _check_joblib_hints(launcher)
    if launcher_target.endswith(".SlurmLauncher"):
        _check_slurm_here(hydra_cfg)
    for key, low in LAUNCHER_COUNTS.items() if "submitit" in launcher_target else ():
        if launcher.get(key) is not None:
            check_number(f"hydra.launcher.{key}", launcher[key], low=low, integer=True)


def _check_slurm_here(hydra_cfg: DictConfig) -> None:
    """submitit submits through SLURM's ``srun``: without it, its "Could not detect srun"
    named no setting, and came after the sweep's folder was made."""
    if shutil.which("srun") is None:
        choices = OmegaConf.select(hydra_cfg, "runtime.choices", default=None) or {}
        choice = choices.get("hydra/launcher") or "slurm"
        raise ConfigError(
            f"hydra/launcher={choice} needs SLURM, and this machine has no srun on its PATH: "
            "launch the sweep on the cluster (its login node), or try the same path here "
            "with hydra/launcher=submitit_local"
        )


def check_converted(hydra_cfg: DictConfig) -> None:
    """``ConfigError`` for an override of a plugin's typed setting given a value that its
    node converted (``hydra.sweeper.n_trials='5'`` ran 5 trials, ``study_name=3`` named the
    study '3'), where every setting of aegan's refuses it (``seed='1'``)."""
    given = OmegaConf.select(hydra_cfg, "overrides.hydra")  # Hydra's record of them, as typed
    for override in OmegaConf.to_container(given, resolve=False) if given is not None else []:
        key, is_set, text = str(override).partition("=")
        section, _, name = key.lstrip("+").partition(".")[2].partition(".")
        value = read_as_typed(text) if is_set else None  # ~KEY deletes; a sweep: no one value
        if section not in ("sweeper", "launcher") or value is None:
            continue
        parent, _, leaf = f"{section}.{name}".rpartition(".")  # sampler.seed: in sampler
        holder = OmegaConf.select(hydra_cfg, parent, throw_on_resolution_failure=False)
        node = holder._get_node(leaf) if OmegaConf.is_dict(holder) and leaf in holder else None
        refusal = node_refusal(f"hydra.{section}.{name}", value, node)
        if refusal:
            raise ConfigError(refusal)


# joblib's hints, each refused in joblib's words without the key ("prefer=abc is not a
# valid backend hint"), sharedmem after the sweep began; its backend, which the launcher
# sets to loky whatever is given
JOBLIB_HINTS = {
    "prefer": (("processes", "threads"), ""),
    "require": ((None,), ": Hydra's joblib launcher runs loky, which shares no memory"),
}


def _check_joblib_hints(launcher: DictConfig) -> None:
    for key, (allowed, why) in JOBLIB_HINTS.items():
        if launcher.get(key) not in allowed:
            raise ConfigError(
                f"hydra.launcher.{key}={launcher.get(key)} is not allowed: it must be "
                f"{' or '.join(typed(v) for v in allowed)}{why}"
            )
    if launcher.get("backend") not in (None, "loky"):
        log.warning("hydra.launcher.backend=%s has no effect: Hydra's joblib launcher runs "
                    "its jobs with loky whatever it says", launcher.backend)  # fmt: skip


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
            f"hydra.sweeper.direction={written(repr(direction))} is not allowed: aegan.train "
            "returns one objective, val/best_objective, where lower is better: minimize"
        )
    check_number("hydra.sweeper.n_trials", sweeper.get("n_trials"), low=1, integer=True)
    check_number("hydra.sweeper.n_jobs", sweeper.get("n_jobs"), low=1, integer=True)
    check_number("hydra.sweeper.max_failure_rate", sweeper.get("max_failure_rate"), low=0, high=1)
    sampler = sweeper.get("sampler")
    if isinstance(sampler, DictConfig) and sampler.get("seed") is not None:
        # the recipes seed it from ${seed}, which aegan takes up to 2**63 - 1: name that
        seed_text = str(sampler._get_node("seed")._value())
        key = "seed" if seed_text == "${seed}" else "hydra.sweeper.sampler.seed"
        try:
            check_number(key, sampler.seed, low=0, high=2**32 - 1, integer=True)
        except ConfigError as err:
            raise ConfigError(f"{err} (Optuna's sampler takes it)") from None
    storage = sweeper.get("storage")
    if storage is not None and not isinstance(storage, str):  # its node takes any value
        raise ConfigError(
            f"hydra.sweeper.storage={refused_value(storage)} is not allowed: it must be "
            f"{STORAGE_ALLOWED}"
        )
    if isinstance(storage, str):
        _check_storage(storage)


def _check_search_space(given: str, sweeper: DictConfig, overrides: list[str]) -> None:
    """A search needs values to search (its ``params``, or a sweep on the command line):
    ``-m hydra/sweeper=optuna`` alone ran its 20 trials of the same settings, in silence."""
    if sweeper.get("params") or swept_keys(overrides):
        return
    raise ConfigError(
        f"{given} is not allowed without values to search: its "
        "hydra.sweeper.params is empty and no setting is swept, so every trial would train "
        "the same run; sweep some (model.latent_dim=choice(8,16,32)), or use "
        "hparams_search=NAME (conf/hparams_search/)"
    )


STORAGE_ALLOWED = "null (in memory) or a database URL such as sqlite:///FILE"


def _check_storage(storage: str) -> None:
    """A database URL that Optuna can open: a dialect SQLAlchemy has, its driver installed
    (optuna said only "Failed to import DB access module"), and for ``sqlite:///FILE`` a
    folder that exists and a file that is nothing yet or an SQLite database (a file of
    anything else was sqlite3's "file is not a database" and the SQL it ran)."""
    from sqlalchemy.engine import make_url  # with optuna: the sweeper is there

    allowed = f"it must be {STORAGE_ALLOWED}"
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
    kind = path_kind(path)  # a dangling link: sqlite3 would make the file it names
    if kind is not None:
        raise ConfigError(
            f"{given}: {path} is {not_regular(kind)}; give a database file or a new name"
        )
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
