"""Every job's settings checked before the first job trains, and a run's before Hydra makes
its folder (``CheckSweepSettings``, a Hydra callback).

Each job checks its own config (``validate_config``), but in a sweep that came after the
jobs before it had trained: ``-m trainer.epochs=1,0`` trained job 0 to its end before job
1 was refused. A grid's jobs are all known before the first, so each is composed as Hydra
will compose it and checked; a search (Optuna) picks its values as it goes, so each value
it can pick (every choice, a range's ends) is checked, in every combination while they
are few. A single run refused here leaves no folder behind.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf, open_dict

from aegan.bench_ignored import check_not_ignored, check_not_replaced
from aegan.bench_plan import checked_configurations
from aegan.cli.hydra_dirs import check_output_dir
from aegan.cli.hydra_errors import hydra_error_line
from aegan.cli.value_origins import drawn_as_written, named_by_its_file, naming_setting
from aegan.config import compose_config, validate_config
from aegan.data.fingerprint import check_resumed_data
from aegan.engine.checkpoint import load_checkpoint, resolve_checkpoint
from aegan.engine.checkpoint_contents import check_epoch_order
from aegan.engine.distributed import world_size
from aegan.engine.resume import check_epochs_left, check_resumed_model, check_same_run
from aegan.errors import USER_ERRORS, ConfigError
from aegan.runs.record import leave_added_settings, run_choices
from aegan.runs.record_networks import check_resumed_checkpoint
from aegan.settings.overrides import given_overrides, override_key, unescaped
from aegan.settings.refused_values import as_given
from aegan.sweep_checks.compose import composing_jobs
from aegan.sweep_checks.folders import check_names_in_one_folder, sweep_overrides
from aegan.sweep_checks.values import (
    check_grid_sweeps,
    check_swept_once,
    search_values,
    shown_count,
    sweep_size,
)
from aegan.sweeps.reader import is_grid
from aegan.sweeps.walk import check_job_subdir

log = logging.getLogger("aegan.sweep")
SAY_CHECKING = 20  # jobs: more than this, and the pause before the first is said
MAX_GRID_JOBS = 10_000  # checked one by one before the first starts: a minute per thousand


def check_run(
    config: DictConfig, run_dir: Path | None = None, folder_key: str = "hydra.run.dir"
) -> None:
    """``config`` (Hydra's composed run, or a sweep's job, before its folder ``run_dir``, set
    by ``folder_key``) as its job will check it."""
    settings = without_hydra(config)
    with as_job(config):
        validate_config(settings, in_job=False)
        if run_dir is not None:
            check_apart_from_data(settings, run_dir, folder_key)
            check_output_dir(settings, run_dir)  # else refused once Hydra made run_dir
        check_resume(settings, run_dir, folder_key)


def check_bench_run(config: DictConfig) -> None:
    """``aegan.bench``'s composed run, before Hydra makes its folder: no setting it ignores
    on the command line, and every configuration it would time checked as a run's."""
    with as_job(config):
        check_not_ignored(given_overrides(config.hydra), "")
        threads = (
            OmegaConf.to_container(config.threads) if OmegaConf.is_list(config.threads) else None
        )
        check_not_replaced(given_overrides(config.hydra), threads)
        checked_configurations(without_hydra(config), in_job=False)


def check_apart_from_data(cfg: DictConfig, run_dir: Path, folder_key: str) -> None:
    """``run_dir`` is not ``data.root`` nor inside it: an image folder read the run's
    checkpoints and pictures as a class of images on its resume or evaluation, and IDX
    files lay among a run's."""
    root = OmegaConf.select(cfg, "data.root")
    if not isinstance(root, str) or not root.strip():
        return
    data, folder = Path(root).expanduser().resolve(), run_dir.expanduser().resolve()
    if folder == data or data in folder.parents:
        where = "is" if folder == data else "is inside"
        raise ConfigError(
            f"{folder_key}={run_dir} is not allowed: it {where} the data folder data.root={root}, "
            "where the run's files would be read as data or mixed with it; choose a folder "
            "outside it"
        )


def check_overrides(overrides: list[str], *, read_data: bool = True) -> DictConfig:
    """A run of ``conf/train.yaml`` with ``overrides``, composed and checked as its job
    will check it, for a script whose sweeps run in processes of their own: a mistake is
    refused once, before the first sweep, not by each sweep in turn. ``read_data=False``:
    the data files are left to the first sweep, whose own check reads them before its first
    job and keeps them for it; read here too, they were read for nothing. Returns the
    config, for the script's own checks of it."""
    config = compose_config(overrides)  # a mistake: one ConfigError line
    validate_config(config, in_job=False, read_data=read_data)
    return config


def check_resume(
    cfg: DictConfig, run_dir: Path | None = None, folder_key: str = "hydra.run.dir"
) -> None:
    """A checkpoint named by ``trainer.resume`` read and held to the command's model, as its
    job holds it (``resume_state``, ``check_resumed_checkpoint``), before the run's folder is
    made: not a checkpoint, another model's, weights of other sizes or settings a resume may
    not change, or another run's file in a run's folder. With ``auto``, the run in
    ``run_dir`` held to the command's settings before its train.log takes a line."""
    with naming_setting("trainer.resume", cfg.trainer.resume):
        _check_resume(cfg, run_dir, folder_key)


def _check_resume(cfg: DictConfig, run_dir: Path | None, folder_key: str) -> None:
    """``check_resume``'s checks, whose lines name the checkpoint's path."""
    resume = cfg.trainer.resume
    if resume == "auto" and run_dir is not None:
        last = run_dir / "checkpoints" / "last.pt"
        if last.is_file():
            state, cfg = load_checkpoint(last), copy.deepcopy(cfg)
            leave_added_settings(cfg, state)  # as the job will
            trains = {key: cfg[key] for key in ("model", "data", "seed")}
            record = {"config": OmegaConf.to_container(OmegaConf.create(trains), resolve=True),
                      "choices": run_choices(cfg)}  # fmt: skip
            check_same_run(state, record, last, folder_key)
            check_resumed_checkpoint(cfg, state, last)  # another run's file in the folder
            check_epochs_left(cfg.trainer.epochs, state, last)
            check_epoch_order(state, last, world_size(), cfg.data.batch_size)
            check_resumed_data(state, cfg.data, cfg.paths.data_dir, what="trainer.resume=auto")
            return
    if not resume or resume == "auto":
        return
    path = resolve_checkpoint(resume)
    state = load_checkpoint(path)
    check_resumed_model(state, cfg.model.name, path)
    check_resumed_checkpoint(cfg, state, path)  # the command's model, and its folder's run
    check_epochs_left(cfg.trainer.epochs, state, path)
    check_epoch_order(state, path, world_size(), cfg.data.batch_size)
    check_resumed_data(state, cfg.data, cfg.paths.data_dir, what=f"trainer.resume={resume}")


@contextmanager
def as_job(config: DictConfig) -> Iterator[None]:
    """Hydra's record of ``config``'s run (``HydraConfig``) while it is checked before
    Hydra runs it, as its job will have it: ``model.name`` is held to the option it was
    composed from (``model=vae``), not passed for want of one, and ``${hydra:...}`` in a
    setting resolves (``task_name=${hydra:runtime.cwd}``, in the run's folder)."""
    instance = HydraConfig.instance()
    before, readonly = instance.cfg, config.hydra._get_node_flag("readonly")
    instance.set_config(config)  # not a copy (one per job); it marks config.hydra read-only
    try:
        yield
    finally:
        instance.cfg = before
        OmegaConf.set_readonly(config.hydra, readonly)  # as it was


def check_every_job(
    config: DictConfig,
    check_job: Callable[[DictConfig, Path | None], None],
    planned: list[dict] | None = None,
    *,
    in_sweep_folder: bool = True,
) -> None:
    """Each job of the sweep ``config`` describes, composed as Hydra will compose it and
    given to ``check_job`` with its folder (None where Hydra names it as the job starts, or
    where it is not inside the sweep's: ``in_sweep_folder=False``, aegan.evaluate's jobs
    each in its run's folder); ``ConfigError`` naming the first job that cannot work and its
    swept values. A grid's jobs are added to ``planned``: ``{"job": its folder in the
    sweep's, "overrides": ...}``."""
    loader = GlobalHydra.instance().config_loader()
    parser = OverridesParser.create(config_loader=loader)  # which a glob's options need
    overrides = sweep_overrides(parser, config)
    sizes = [sweep_size(o) for o in overrides if o.is_sweep_override()]  # none listed yet
    typed_overrides = parser.parse_overrides(given_overrides(config.hydra))
    check_swept_once(typed_overrides, overrides)
    if is_grid(config.hydra.sweeper):
        check_grid_sweeps(overrides, loader.get_group_options("hparams_search"))
        if math.prod(sizes) > MAX_GRID_JOBS:  # Hydra lists them all first: 10**9 filled 21 GB
            raise ConfigError(
                f"a sweep of {shown_count(math.prod(sizes))} jobs is not allowed: a grid has at most "
                f"{MAX_GRID_JOBS:,} ({' x '.join(map(shown_count, sizes))} values); sweep fewer values, "
                "or search them (hparams_search=...)"
            )
        jobs = [list(job) for job in BasicSweeper.split_arguments(overrides, None)[0]]
        what, counted = "job {num} of {count}", "the settings of %d jobs"
    else:  # the command line's values for a key the search's own params sweep replace them
        overrides = list({o.key_or_group: o for o in overrides}.values())
        jobs = list(search_values(overrides))
        what, counted = "the values", "%d combinations of its values"  # not its trials
    if len(jobs) > SAY_CHECKING:
        log.info(f"checking {counted} before the first starts", len(jobs))
    swept = {o.key_or_group for o in overrides if o.is_sweep_override()}
    drawn = {o.key_or_group for o in overrides} - {o.key_or_group for o in typed_overrides}
    sweeps = [(o.key_or_group, o.input_line.partition("=")[2]) for o in overrides]
    written = [number for key, sweep in sweeps for number in drawn_as_written(key, sweep)]
    with composing_jobs(loader):  # what the jobs share, composed once
        for num, job in enumerate(jobs):
            composed = None
            try:
                composed = loader.load_sweep_config(config, job)
                # a search's too: its subdir is checked
                folder = _job_folder(composed, num) if in_sweep_folder else None
                if not what.startswith("job"):
                    folder = None  # a search numbers its trials itself
                check_job(composed, folder)
                if folder is not None and planned is not None:
                    sweep_dir = Path(str(composed.hydra.sweep.dir))
                    planned.append({"job": str(folder.relative_to(sweep_dir)), "overrides": job})
            except Exception as err:
                # a mistake (its file named: the job's is the last composition), or Hydra's own
                mistake = isinstance(err, USER_ERRORS)  # (a value that cannot be resolved)
                line = named_by_its_file(str(err), drawn) if mistake else hydra_error_line(err)
                if line is None and composed is None and isinstance(err, ValueError):
                    line = str(err).splitlines()[0]  # Hydra refusing a job's value: model=null
                if line is None:
                    raise  # not the user's: the job meets it and says what it is
                values = " ".join(unescaped(o) for o in job if override_key(o) in swept)
                named = what.format(num=num, count=len(jobs)) + (f" ({values})" if values else "")
                line = as_given(f"{named}: {line}", written)  # 1e3 of choice(16,1e3): not 1000.0
                raise ConfigError(f"{line}; no job was started") from None


def _job_folder(composed: DictConfig, num: int) -> Path | None:
    """Where job ``num`` of a grid will run (Hydra numbers a grid's jobs in order), for
    ``trainer.resume=auto``; None where its folder's setting cannot be resolved here."""
    try:
        with open_dict(composed):
            composed.hydra.job.num = num
        sweep_dir, subdir = str(composed.hydra.sweep.dir), str(composed.hydra.sweep.subdir)
    except Exception:  # Hydra's runtime values: the job checks its folder itself
        return None
    written = str(composed.hydra.sweep._get_node("subdir")._value())
    check_names_in_one_folder(composed, written)  # names the override whose / nests them
    check_job_subdir(subdir, written)
    return Path(sweep_dir) / subdir


def without_hydra(config: DictConfig) -> DictConfig:
    """The job's own settings, a copy: the ``hydra`` node is Hydra's, checked apart."""
    hydra = config._get_node("hydra", validate_access=False)
    # not copied (most of the config, copied for each job of a sweep): an empty node in its place
    memo = {} if hydra is None else {id(hydra): DictConfig({})}
    config = copy.deepcopy(config, memo)
    with open_dict(config):
        config.pop("hydra", None)
    return config
