"""The folders Hydra makes and writes, checked before it does: ``hydra.run.dir`` (or a
sweep's), ``hydra.output_subdir``, the ``paths.*`` it joins into them, and
``paths.output_dir`` against the folder made."""

from __future__ import annotations

import logging
import logging.config
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from aegan.cli.hydra_errors import BROKEN_INTERPOLATION, interpolation_line
from aegan.cli.hydra_searchpath import missing_searchpath
from aegan.cli.setting_walk import check_hydra_keys_in
from aegan.errors import ConfigError
from aegan.io.files import check_folder, set_by
from aegan.settings.refused_values import shown_value


def check_output_dir(cfg: DictConfig, made: Path | None = None) -> None:
    """In a Hydra app, ``paths.output_dir`` is the folder Hydra made (``made``: the one it
    will make, before it does): another one split the run (its log and record in Hydra's,
    checkpoints and metrics there), or a sweep's jobs."""
    if made is None:
        if not HydraConfig.initialized():  # composed by a test or a notebook: its own folder
            return
        made = HydraConfig.get().runtime.output_dir
    elif cfg.paths._get_node("output_dir")._value() == "${hydra:runtime.output_dir}":
        return  # conf/'s own: the folder made, which Hydra sets as the job starts
    value = cfg.paths.output_dir
    if Path(value).resolve() != Path(made).resolve():
        raise ConfigError(
            f"paths.output_dir={value} is not allowed: it is the folder Hydra makes for "
            f"the run ({made}); choose it with hydra.run.dir=... (hydra.sweep.dir=... for -m)"
        )


def check_hydra_dirs(hydra_cfg: DictConfig | None = None, *, multirun: bool = False) -> None:
    """``hydra.run.dir`` (``sweep.dir``, ``sweep.subdir``) names a folder: '' is the current
    one, where the run would be written among the user's own files; each entry of
    ``hydra.searchpath``, wherever it was set, is a config folder that exists. A search config
    (``hparams_search``), a sweeper or a launcher of the user's runs only as a sweep.
    ``hydra_cfg``: the ``hydra`` node of a config Hydra composed (its callbacks check it
    before the folder is made); default: this running job's."""
    if hydra_cfg is None:
        if not HydraConfig.initialized():
            return
        hydra_cfg = HydraConfig.get()
        multirun = hydra_cfg.mode == RunMode.MULTIRUN
    check_hydra_keys_in(hydra_cfg, "hydra.")  # hydra.run.dir=out/${hydra:job.nope}: out/None
    choices = hydra_cfg.runtime.choices
    search = choices.get("hparams_search")
    if search is not None and not multirun:  # one plain run, and no search, in silence
        raise ConfigError(
            f"hparams_search={search} is a sweep: run it with -m (python -m aegan.train -m "
            f"hparams_search={search})"
        )
    for group in ("hydra/sweeper", "hydra/launcher"):  # a plain run uses neither, in silence
        if not multirun and choices.get(group, "basic") != "basic":
            raise ConfigError(
                f"{group}={choices[group]} runs the jobs of a sweep, and a run without -m has "
                f"none: add -m, or leave {group} out"
            )
    check_output_subdir(hydra_cfg)
    check_log_file(hydra_cfg)
    # the run's log file, NAME.log: a/b.log was refused as a folder that cannot be written
    try:
        name = hydra_cfg.job.name
    except BROKEN_INTERPOLATION as err:  # ${oc.env:NOPE}: Hydra made the folder, then failed
        raise ConfigError(interpolation_line(err)) from None
    check_one_name("hydra.job.name", name, "file")
    entries = hydra_cfg.get("searchpath") or []  # set in a config file, not only typed
    listed = f"hydra.searchpath=[{','.join(map(str, entries))}]"
    if entries and (missing := missing_searchpath([listed])):  # Hydra only warned
        raise ConfigError(missing)
    for key in ("sweep.dir", "sweep.subdir") if multirun else ("run.dir",):
        try:
            value = OmegaConf.select(hydra_cfg, key)
        except ConfigError:
            raise
        except Exception:  # ${hydra.job.num} before a job, or a broken interpolation: the
            continue  # job's own check, or Hydra's line as it makes the folder
        if not str(value).strip():
            raise ConfigError(f"hydra.{key}={value!r} is not allowed: it must be a folder")
        if key == "sweep.subdir":  # a name inside the sweep's folder: its own checks
            continue
        if str(value).startswith("~"):  # checks expand it, Hydra not
            raise ConfigError(
                f"hydra.{key}={value} is not allowed: Hydra does not expand ~ (the run would "
                f"go to ./{value}); give the folder as {Path(str(value)).expanduser()}"
            )
        # a line break, a file at or above it: every job failed in its folder, or Hydra's
        # "cannot be created (File exists)"
        check_folder(f"hydra.{key}", str(value))


def check_output_subdir(hydra_cfg: DictConfig) -> None:
    """``hydra.output_subdir`` stays null: Hydra would write its record there as the job
    starts, before any check of the folder, over a trained run's own ``.hydra/``."""
    subdir = hydra_cfg.get("output_subdir")
    if subdir is not None:
        raise ConfigError(
            f"hydra.output_subdir={subdir} is not allowed: Hydra would write it before the "
            "folder is checked, over a trained run's record; leave it null (a run's .hydra/ "
            "is written by aegan.train)"
        )


def check_log_file(hydra_cfg: DictConfig) -> None:
    """The run's log file has a name: conf/hydra sets the class of ``job_logging``'s file
    handler, and Hydra's default option its file; another option (``hydra/job_logging=stdout``,
    ``disabled``) left it a handler without one, and Hydra made the run's folder before
    logging.config said "FileHandler.__init__() missing 1 required positional argument"."""
    file = OmegaConf.select(hydra_cfg, "job_logging.handlers.file")
    configured = OmegaConf.select(hydra_cfg, "job_logging.root") is not None  # none: unset
    if configured and OmegaConf.is_dict(file) and "filename" not in file:  # unresolved
        chosen = hydra_cfg.runtime.choices.get("hydra/job_logging")
        raise ConfigError(
            f"hydra/job_logging={chosen} is not allowed: the run's log file (train.log) needs "
            "the file handler of hydra/job_logging=default; choose it, or hydra/job_logging=none "
            "for no logging"
        )
    check_logging_entries(hydra_cfg)


def check_logging_entries(hydra_cfg: DictConfig) -> None:
    """Each level in ``hydra.job_logging`` is one logging takes, and each class, factory or
    ``ext://`` object it names can be imported: Hydra made the run's folder (and train.log)
    before logging.config said "Unknown level: 'NOPE'" or "Cannot resolve 'sys.nope'"."""
    logging_cfg = OmegaConf.select(hydra_cfg, "job_logging")
    if not OmegaConf.is_dict(logging_cfg):
        return
    raw = OmegaConf.to_container(logging_cfg, resolve=False)
    places = {"root": raw.get("root")}
    for section in ("loggers", "handlers", "formatters", "filters"):
        entries = raw.get(section)
        if isinstance(entries, dict):
            places.update({f"{section}.{name}": entry for name, entry in entries.items()})
    for where, entry in places.items():
        if not isinstance(entry, dict):
            continue
        _check_log_names(where, entry)
        level = entry.get("level")
        if level is None or isinstance(level, int) and not isinstance(level, bool):
            continue
        if isinstance(level, str) and (level in logging.getLevelNamesMapping() or "${" in level):
            continue
        raise ConfigError(
            f"hydra.job_logging.{where}.level={shown_value(level)} is not allowed: it must be a "
            "logging level: DEBUG, INFO, WARNING, ERROR or CRITICAL (or a number)"
        )


def _check_log_names(where: str, entry: dict) -> None:
    """The classes, factories (``()``) and ``ext://`` objects of one entry of
    ``hydra.job_logging`` resolve, as logging.config resolves them."""
    resolver = logging.config.BaseConfigurator({})
    for key, value in entry.items():
        named = key in ("class", "()") or isinstance(value, str) and value.startswith("ext://")
        if not named or not isinstance(value, str) or "${" in value:
            continue
        try:
            resolver.resolve(value.removeprefix("ext://"))
        except Exception as err:  # ValueError, or what importing the named module raised
            cause = err.__cause__ or err
            raise ConfigError(
                f"hydra.job_logging.{where}.{key}={value} is not allowed: it must name an "
                f"importable object ({cause})"
            ) from None


def _log_dir(value: Any) -> str:
    """``paths.log_dir`` as conf/hydra joins it into the run dir: checked before Hydra makes
    that folder, where ``''`` would be the root of the disk and null a folder "None"."""
    check_folder("paths.log_dir", value)
    if "${" in value:  # Hydra resolves the run dir again as it sets up the log file
        raise ConfigError(
            f"paths.log_dir={value!r}{set_by(value)} is not allowed: it must be a folder path "
            "without ${...}"
        )
    return value


OmegaConf.register_new_resolver("aegan.log_dir", _log_dir, replace=True)


def check_one_name(key: str, name: Any, what: str) -> None:
    """``name`` is one ``what`` (folder, file) name: text, not blank, no /, not . or .., no
    control characters (a line break: the folder made, then its path refused)."""
    if not isinstance(name, str) or not name.strip() or "/" in name or name in (".", ".."):
        raise ConfigError(f"{key}={name!r} is not allowed: it must be one {what} name (text, no /)")
    if not name.isprintable():
        raise ConfigError(
            f"{key}={name!r} is not allowed: it must be one {what} name without control characters"
        )


def check_run_paths(cfg: DictConfig, *, in_job: bool = True) -> None:
    """``paths.*``, ``task_name`` and the classifier cache: each a folder it can be. Hydra
    joins them into the run dir (``''`` would put it at the root of the disk, null into a
    folder "None") and the cache is written after training. ``in_job``: in the job Hydra
    made, whose folder is checked too."""
    check_one_name("task_name", cfg.task_name, "folder")  # ../x: runs outside paths.log_dir
    if in_job:
        check_hydra_dirs()
    keys = ["paths.data_dir", "paths.log_dir", "paths.output_dir", "evaluate.cache_dir"]
    raw = OmegaConf.select(cfg, "paths", default={})
    raw = OmegaConf.to_container(raw, resolve=False) if isinstance(raw, DictConfig) else {}
    if not in_job and "${hydra:" in str(raw.get("output_dir")):
        keys.remove("paths.output_dir")  # Hydra's run folder, not chosen before the job
    for key in keys:
        try:
            value = OmegaConf.select(cfg, key)
        except Exception:  # ${hydra:runtime.output_dir} outside a Hydra app: Hydra's own
            continue
        check_folder(key, value)
    if in_job:
        check_output_dir(cfg)
