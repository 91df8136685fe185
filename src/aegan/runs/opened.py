"""A run read back up to its data (``open_run``): its checkpoint, its record composed through
``conf/`` with the user's overrides, and its model built on the meta device, each checked
before any image is read, then its images held to those it trained on (``read_opened_data``).
``aegan.load_run`` goes on from here; an evaluation sweep reads every job's run so before its
first job starts."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, open_dict

from aegan.config import CONF_DIR
from aegan.data import ImageData, check_data_config, image_shape_of
from aegan.data.fingerprint import data_change, data_fingerprint
from aegan.engine.checkpoint import load_checkpoint, resolve_checkpoint, run_dir_of
from aegan.engine.device import resolve_device
from aegan.engine.process_state import process_state_kept
from aegan.errors import CheckpointError, ConfigError, DataFileError
from aegan.evaluate_settings import settle_run_evaluation
from aegan.io.files import check_folder, given_path
from aegan.memory import check_weights_fit
from aegan.metrics.choice import check_metrics
from aegan.runs.data import read_run_data, take_recorded_root
from aegan.runs.inputs import check_load_arguments, check_overrides_fit, overridden
from aegan.runs.record import record_config
from aegan.runs.record_networks import check_networks_in_its_run
from aegan.settings.overrides import literal
from aegan.settings.refused_values import overrides_as_given
from aegan.settings.schema import check_not_deleted, check_settings, option_choices, reference
from aegan.tasks import build_task

log = logging.getLogger("aegan.run")


@dataclass
class OpenedRun:
    """A run checked up to its data: what ``load_run`` reads the data and weights with."""

    run_dir: Path
    checkpoint: Path
    state: dict  # the checkpoint's contents, checked
    config: DictConfig  # its record through conf/, with the overrides
    meta: Any  # its task on the meta device: no weights, no memory
    device: torch.device
    data_dir: str | None  # the user's folder to read the data again from


@overrides_as_given
@process_state_kept()  # the meta networks' initial weights are drawn
def open_run(
    path: str | Path,
    *,
    checkpoint: str = "last",
    device: str = "cpu",
    data_dir: str | None = None,
    overrides: Sequence[str] = (),
    searchpath: Sequence[str] = (),
    changed_data: str = "warn",
    metrics: Sequence[str] | None = None,
    figures: bool = True,
) -> OpenedRun:
    """``load_run``'s arguments (its docstring says each) checked against the run they name,
    before any data is read: a mistake in them, or in the run, is one line here."""
    path = given_path("path", path, "a run dir or a .pt file")
    try:  # from the current folder now: Run.path stays the run's after an os.chdir
        path = path.absolute()
    except OSError as err:  # the current folder was deleted since
        raise ConfigError(
            f"path={str(path)!r} is not allowed: it is relative, and the current folder cannot "
            f"be read ({err.strerror}); give the run's absolute path"
        ) from None
    check_load_arguments(checkpoint, changed_data, overrides, searchpath, figures)
    if data_dir is not None:  # yours: where the data is read again
        data_dir = os.fspath(data_dir) if isinstance(data_dir, os.PathLike) else data_dir
        data_dir_exists = check_folder("data_dir", data_dir)
    torch_device = resolve_device(device, key="device")  # before any file is read
    checkpoint_path = resolve_checkpoint(path, checkpoint)
    state = load_checkpoint(checkpoint_path)
    config = record_config(
        state, path=checkpoint_path, overrides=list(overrides), searchpath=list(searchpath)
    )
    check_networks_in_its_run(checkpoint_path, state, searchpath=searchpath)  # not another's
    # a folder named but not there (a typo) would be passed over for the run's own: only a
    # download (data.download=true, the user's) makes it
    if data_dir is not None and not data_dir_exists and not config.data.get("download"):
        raise ConfigError(
            f"data_dir={data_dir} does not exist; name a folder that holds the data, or "
            "download it there with overrides=['data.download=true']"
        )
    run_dir = run_dir_of(checkpoint_path)
    with open_dict(config):  # the folder it was read from, whatever the record says
        config.paths.output_dir = literal(str(run_dir))
    conf = reference(CONF_DIR, option_choices(config, CONF_DIR))
    check_not_deleted(config, conf)  # only an override deletes: a record sets values alone
    try:  # the stored values against conf/, as a command line's
        check_settings(config, conf)
    except ConfigError as err:
        if overridden(err.keys, overrides):  # the user's own value, not the record's
            raise
        raise CheckpointError(f"{checkpoint_path}: {err}") from None
    settle_run_evaluation(config, conf, checkpoint_path)
    if data_dir is None:  # yours too, from conf/ and the environment: as training checks it
        check_folder("paths.data_dir", config.paths.data_dir)
        data_dir = config.paths.data_dir
    try:  # the record's values (or the overrides') as the task checks them, before any data
        take_recorded_root(config.data, overrides, checkpoint_path)
        check_data_config(config.data)
        meta = build_task(config.model, image_shape_of(config.data), torch.device("meta"))
    except ConfigError as err:
        if overrides:  # the line names the user's own setting
            raise
        raise CheckpointError(f"{checkpoint_path}: {err}") from None
    check_weights_fit(meta, torch_device, str(checkpoint_path))  # the run's sizes, not yours
    check_overrides_fit(meta, state, checkpoint_path, overrides, searchpath)  # before the data
    if metrics is not None:  # what the model cannot feed, before the data is read
        check_metrics(meta, metrics, key="metrics")
    return OpenedRun(run_dir, checkpoint_path, state, config, meta, torch_device, data_dir)


def read_opened_data(opened: OpenedRun, overrides: Sequence[str], changed_data: str) -> ImageData:
    """The images of the run ``opened`` (``overrides``, ``changed_data``: ``load_run``'s),
    held to those it trained on: other ones refused, or said in one line."""
    data = read_run_data(
        opened.config, opened.state, data_dir=opened.data_dir, overrides=overrides,
        path=opened.checkpoint,
    )  # fmt: skip
    change = data_change(opened.state, data_fingerprint(data), opened.config.data)
    if change and changed_data == "refuse":
        raise DataFileError(f"{opened.run_dir}: {change}; put the run's files back")
    if change:  # a notebook may look at other data; it is told, as its figures would differ
        log.warning("%s: Run.data: %s; Run.metrics were measured on those", opened.run_dir, change)
    return data
