"""The folders of a sweep, checked before its first job (``CheckSweepSettings``): each job
its own folder inside the sweep's, a folder that holds a sweep swept again only to continue
it with its own grid, and a sweep folder that every job shares."""

from __future__ import annotations

import os
import re
from itertools import islice
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from aegan.cli.hydra_files import parsed_sweep_params
from aegan.engine.run_dir import check_not_inside_a_run, check_own_folder
from aegan.engine.run_record import earlier_run
from aegan.errors import ConfigError, folder_word
from aegan.io.path_kinds import path_kind
from aegan.settings.overrides import given_overrides
from aegan.sweeps.reader import is_grid, natural_key, read_overrides
from aegan.sweeps.walk import SWEEP_FILES, check_job_subdir, sweep_above

# a ${key} a value reads (resolvers' own names, such as ${now:...}, are no key)
PLAIN_REFERENCE = re.compile(r"\$\{([A-Za-z_][\w.]*)\}")
# interpolations that differ between the jobs of a sweep, whatever it sweeps
JOB_UNIQUE = re.compile(r"hydra[.:]job\.(num|id|override_dirname)\b")


def check_sweep_folder(config: DictConfig) -> None:
    """Each job its own folder (``subdir`` '' would be the sweep's); a folder that holds a
    sweep is swept again only to continue it: Hydra would replace its multirun.yaml, and a
    new job would fail into a trained job's folder."""
    subdir = config.hydra.sweep._get_node("subdir")._value()  # ${hydra.job.num}: no job yet
    if not str(subdir).strip():
        raise ConfigError(f"hydra.sweep.subdir={subdir!r} is not allowed: it must be a folder")
    check_job_subdir(str(subdir), str(subdir))
    _check_subdir_tells_jobs_apart(config, str(subdir))
    _check_resume_not_in_names(config, str(subdir))
    output_dir = config.paths._get_node("output_dir")._value() if "paths" in config else None
    if output_dir is not None and str(output_dir) != "${hydra:runtime.output_dir}":
        raise ConfigError(  # every job would write its checkpoints there, the second refused
            f"paths.output_dir={output_dir} is not allowed: it is each job's folder, which Hydra "
            "makes; choose where the sweep goes with hydra.sweep.dir=..."
        )
    _check_folder_not_swept(config)
    folder = Path(str(config.hydra.sweep.dir))
    for (
        name
    ) in SWEEP_FILES:  # a folder there failed Hydra's write; a link, followed, wrote elsewhere
        if (kind := path_kind(folder / name, follow_links=False)) is not None:
            raise ConfigError(f"hydra.sweep.dir={folder} is not allowed: its {name} is {kind}, "
                              "where a sweep writes its record; move it, or choose another folder")  # fmt: skip
    held = _sweep_held(folder)
    if held and not is_grid(config.hydra.sweeper):
        raise ConfigError(  # trial N went to trial N's folder, trained with other values
            f"hydra.sweep.dir={folder} already holds a sweep ({held}): a search is not continued "
            "in its folder, where each trial it draws would train in an earlier trial's, with "
            "other values; choose another folder (hydra.sweeper.storage=sqlite:///FILE, the "
            "earlier search's, goes on from its trials there)"
        )
    if held and OmegaConf.select(config, "trainer.resume") != "auto":
        raise ConfigError(
            f"hydra.sweep.dir={folder} already holds a sweep ({held}): choose another "
            "folder, or continue that sweep with trainer.resume=auto"
        )
    if (outer := sweep_above(folder)) is not None:
        raise ConfigError(f"hydra.sweep.dir={folder} is inside the sweep {outer}, whose summary "
                          "would read its jobs as that sweep's; choose a folder outside it")  # fmt: skip
    if not held:  # a sweep into a folder of runs read them as its jobs, / the whole disk
        check_own_folder(folder, "hydra.sweep.dir", _a_sweeps, "a sweep")
    if (folder / "multirun.yaml").exists():
        _check_same_grid(config, folder, str(subdir))


def _check_resume_not_in_names(config: DictConfig, subdir: str) -> None:
    """Job folders named by their overrides leave ``trainer.resume`` out of the name
    (conf/hydra/default.yaml): with it, a sweep continued with ``trainer.resume=auto`` made
    a new folder for each job and trained it anew beside the one it was to continue."""
    if "override_dirname" not in subdir:
        return
    excluded = OmegaConf.select(config, "hydra.job.config.override_dirname.exclude_keys") or []
    if "trainer.resume" not in list(excluded):
        raise ConfigError(
            f"hydra.job.config.override_dirname.exclude_keys={list(excluded)} is not allowed "
            f"with hydra.sweep.subdir={subdir}: it must list trainer.resume, or a sweep "
            "continued with trainer.resume=auto names new folders for its jobs"
        )


def check_continued_jobs(config: DictConfig, planned: list[dict]) -> None:
    """A grid continued (``trainer.resume=auto`` in a folder that holds a sweep) finds some
    of its jobs' folders there: none found (a setting named in the folders' names changed,
    ``${hydra.job.override_dirname}``) trained every job anew beside the earlier ones, the
    sweep's table mixing two sweeps."""
    folder = Path(str(config.hydra.sweep.dir))
    if not planned or OmegaConf.select(config, "trainer.resume") != "auto":
        return
    if _sweep_held(folder) is None or any((folder / job["job"]).is_dir() for job in planned):
        return
    held = sorted((folder_word(p.name) for p in folder.iterdir() if p.is_dir() and not
                   p.name.startswith(".")), key=natural_key)  # fmt: skip
    raise ConfigError(
        f"hydra.sweep.dir={folder} holds a sweep (its jobs: {', '.join(held[:2])}"
        f"{', ...' if len(held) > 2 else ''}) whose folders this sweep's jobs do not find (job "
        f"0: {folder_word(planned[0]['job'])}): trainer.resume=auto continues a sweep with the settings "
        "that name its folders; give those, or sweep into another folder"
    )


def _a_sweeps(entry: os.DirEntry) -> bool:
    """A job's folder (empty as Hydra makes it, ``.hydra`` in it, or in a folder in it where
    ``hydra.sweep.subdir`` nests them): what a sweep that trained no job yet leaves; not
    another sweep's own folder (``SWEEP_FILES`` in it), whose jobs the summary would mix in."""
    folder = Path(entry.path)
    try:
        children = list(islice(folder.iterdir(), 1000))
        return not any(child.name in SWEEP_FILES for child in children) and (
            not children
            or (folder / ".hydra").is_dir()
            or any((child / ".hydra").is_dir() for child in children)
        )
    except OSError:
        return False


def check_names_in_one_folder(composed: DictConfig, written: str) -> None:
    """A job folder named by its overrides (``written``: ``hydra.sweep.subdir`` as typed,
    ``${hydra.job.override_dirname}``) is one folder: an override with a ``/`` in it
    (``data.root=/a/b``) named folders within folders, ``data.root=``, ``a``, then the rest."""
    if "override_dirname" not in written:
        return
    excluded = set(OmegaConf.select(composed, "hydra.job.config.override_dirname.exclude_keys")
                   or [])  # fmt: skip
    for override in given_overrides(composed.hydra):
        key = override.partition("=")[0]  # as Hydra leaves keys out: "+key" is not "key"
        if "/" in override and key not in excluded:
            raise ConfigError(
                f"{override} is not allowed with hydra.sweep.subdir={written}: the / in it "
                "would make each job's folder folders within folders; leave it out of the "
                f"names (add {key} to hydra.job.config.override_dirname.exclude_keys) or "
                "name the jobs ${hydra.job.num}"
            )


def check_out_folder(folder: Path, key: str) -> None:
    """A script's output folder (``key``), whose sweeps go into folders below it, before
    any of them starts: not a trained run's, nor inside one, nor a sweep's own folder. A
    sweep there would be refused by its first job, or mixed with that sweep's jobs."""
    check_not_inside_a_run(folder, key, itself=True)
    held = _sweep_held(folder.expanduser())
    outer = sweep_above(folder)
    if held is not None or outer is not None:
        where = f"holds a sweep ({held})" if held else f"is inside the sweep {outer}"
        raise ConfigError(
            f"{key}={folder} is not allowed: it {where}; choose a folder of its own, which "
            "this script fills with its sweeps"
        )


def _sweep_held(folder: Path) -> str | None:
    """What says ``folder`` holds a sweep: Hydra's multirun.yaml (a grid's), or a trained
    job in a folder of its own (a search such as Optuna's writes no multirun.yaml)."""
    if (folder / "multirun.yaml").exists():
        return "multirun.yaml"
    try:
        children = sorted((p for p in folder.iterdir() if p.is_dir()), key=natural_key)
    except OSError:  # not there yet, or not a folder: the folder checks say which
        return None
    trained = next((child for child in children if earlier_run(child) is not None), None)
    return None if trained is None else f"the trained job {trained.name}/"


def _check_folder_not_swept(config: DictConfig) -> None:
    """``hydra.sweep.dir`` made of no swept key (``paths.log_dir``, ``task_name``): each job
    resolved its own, and the sweep's multirun.yaml lay in a folder holding none of them."""
    swept = {o.key_or_group for o in sweep_overrides(OverridesParser.create(), config)
             if o.is_sweep_override()}  # fmt: skip
    read, todo = set(), ["hydra.sweep.dir"]
    while todo:  # the keys sweep.dir reads, and those they read in turn
        key = todo.pop()
        read.add(key)
        todo += [k for k in PLAIN_REFERENCE.findall(_raw_text(config, key)) if k not in read]
    for key in sorted(read - {"hydra.sweep.dir"}):
        clash = next((s for s in swept if s == key or key.startswith(f"{s}.")), None)
        if clash is not None:
            raise ConfigError(
                f"{clash} is swept, and hydra.sweep.dir is made from it: each job would go to "
                "its own sweep folder, apart from the sweep's multirun.yaml; sweep it in "
                "separate sweeps, or choose one folder with hydra.sweep.dir=..."
            )


def _raw_text(config: DictConfig, key: str) -> str:
    """``key``'s value as written (its ``${...}`` not resolved), or '' if not text."""
    node: Any = config
    for part in key.split("."):
        node = node._get_node(part) if isinstance(node, DictConfig) else None
        if node is None:
            return ""
    value = node._value()
    return value if isinstance(value, str) else ""


def _check_same_grid(config: DictConfig, folder: Path, subdir: str) -> None:
    """A sweep continued (``trainer.resume=auto``) with jobs numbered as before: each job's
    swept values those its folder trained with. Another grid would replace the sweep's
    multirun.yaml, and each job whose values moved would be refused in a trained folder."""
    if subdir.strip() != "${hydra.job.num}" or not is_grid(config.hydra.sweeper):
        return  # folders named by their values: a new value trains in a new folder
    parser = OverridesParser.create()
    overrides = sweep_overrides(parser, config)
    swept = {o.key_or_group for o in overrides if o.is_sweep_override()}
    jobs = BasicSweeper.split_arguments(overrides, None)[0]
    held = [p.parent.parent for p in folder.glob("*/.hydra/overrides.yaml")]
    beyond = sorted(int(p.name) for p in held if p.name.isdigit() and int(p.name) >= len(jobs))
    if beyond:  # its multirun.yaml and jobs.json would list the smaller grid alone
        raise ConfigError(
            f"hydra.sweep.dir={folder} holds a sweep with job {beyond[-1]}; this grid has "
            f"{len(jobs)} job{'s' * (len(jobs) != 1)}: continue a sweep with its own grid, or "
            "sweep into another folder"
        )
    for num, job in enumerate(jobs):
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


def sweep_overrides(parser: OverridesParser, config: DictConfig) -> list:
    """The sweep's overrides as Hydra parses them: the sweeper's own grid first, each as
    written (a ``${...}`` in one is the job's to resolve, as Hydra leaves it)."""
    params = config.hydra.sweeper.get("params")
    params = OmegaConf.to_container(params, resolve=False) if params else {}
    swept = parsed_sweep_params(parser, params, "")
    return swept + parser.parse_overrides(given_overrides(config.hydra))


def _values(parser: OverridesParser, overrides: list[str]) -> dict[str, str]:
    """``{key: value as written}`` of ``key=value`` overrides."""
    return {o.key_or_group: o.get_value_element_as_str() for o in parser.parse_overrides(overrides)}


def _check_subdir_tells_jobs_apart(config: DictConfig, subdir: str) -> None:
    """Two jobs with one folder: the second is refused there (it holds a trained run), writes
    its failed.json into the first's, and the sweep ends as if every job had finished."""
    if JOB_UNIQUE.search(subdir):
        return
    if not is_grid(config.hydra.sweeper):
        raise ConfigError(
            f"hydra.sweep.subdir={subdir!r} is not allowed: the sweeper picks each job's values, "
            "which may repeat; give each job its own folder with ${hydra.job.num}"
        )
    parser = OverridesParser.create()
    overrides = sweep_overrides(parser, config)
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
