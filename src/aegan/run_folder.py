"""The folder ``train`` writes a run into: checked, held (one process at a time) and made.

On the command line, Hydra's callback checks the folder and the checkpoint to resume before
Hydra makes the folder (``aegan.sweep_checks.settings``); ``train(cfg)`` called in a notebook
checks them here before anything is made, and names ``paths.output_dir``, the setting its
caller chose the folder with."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from aegan.cli.hydra_job import in_sweep
from aegan.engine.folder_lock import hold_run_folder, train_elsewhere
from aegan.engine.run_dir import check_run_folder, prepare_run_dir
from aegan.sweep_checks.jobs import check_apart_from_data, check_resume


def folder_setting() -> str:
    """The setting that chose this run's folder, as messages name it: ``hydra.sweep.dir``
    in a sweep, ``hydra.run.dir`` in a Hydra app, else (``train(cfg)`` in a notebook)
    ``paths.output_dir``."""
    if in_sweep():
        return "hydra.sweep.dir"
    return "hydra.run.dir" if HydraConfig.initialized() else "paths.output_dir"


@contextmanager
def run_folder(cfg: DictConfig, run_dir: Path) -> Iterator[None]:
    """``run_dir`` held and made for the run of ``cfg``, after the checks that could
    refuse it: a refused ``train(cfg)`` leaves no folder (an empty ``checkpoints/`` was
    left by a ``trainer.resume`` that named no checkpoint)."""
    key = folder_setting()
    if not HydraConfig.initialized():  # else checked before Hydra made the folder
        check_run_folder(run_dir, cfg.trainer.resume, key)
        check_apart_from_data(cfg, run_dir, key)
        check_resume(cfg, run_dir, key)
    with hold_run_folder(run_dir, train_elsewhere(key)):
        prepare_run_dir(run_dir, cfg.trainer.resume, key)
        yield
