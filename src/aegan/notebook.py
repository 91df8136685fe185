"""What the notebooks in notebooks/ share: the checkout they run in, their parameters checked
and converted, a run composed as ``python -m aegan.train`` composes it, and an image grid.

A notebook's ``parameters`` cell holds the raw values (environment variables, or papermill's);
the cell after it passes each through a ``checked_*`` function here, which raises a one-line
``ConfigError`` naming the variable, its value and what is allowed: a mistyped value stops the
notebook there, not minutes later in a frame of the trainer naming another setting.

At the top of the import graph, beside the entry points: nothing in aegan imports it.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf, open_dict

from aegan.config import compose_config
from aegan.engine.device import resolve_device
from aegan.errors import ConfigError, FolderNotFoundError
from aegan.evaluate_settings import with_run_iwae
from aegan.io.files import check_folder, given_path
from aegan.metrics.scope import Settings
from aegan.runs.inputs import as_images, integer
from aegan.tasks.checks import check_number
from aegan.tiles import tile_images

# what a switch (AEGAN_NOTEBOOK_QUICK) may be set to, in any case
SWITCH_WORDS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
CPU = torch.device("cpu")  # where a grid is drawn
# a figure's name in metrics.json and a sweep's table: val/best_objective, test/mse, gen/fd
METRIC_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,100}(/[A-Za-z0-9_.@-]{1,100})+")
RUN_NAME = re.compile(r"(?!\.\.?$)[A-Za-z0-9_.-]{1,100}")  # a notebook's run: NAME_DATE_TIME


def find_repo_root(start: Path | None = None) -> Path:
    """The first folder at or above ``start`` (the current one) holding pyproject.toml and
    conf/: the kernel usually starts in notebooks/. ``FolderNotFoundError`` (one line saying
    where to start the kernel) where there is none, or the current folder is gone."""
    try:  # a text path too; what is not a path is one line
        start = (Path.cwd() if start is None else given_path("start", start, "a folder")).resolve()
    except OSError as err:  # the folder the kernel started in was deleted or moved since
        raise FolderNotFoundError(
            f"the current folder cannot be read ({err.strerror}); start the notebook server "
            "in the aegan checkout (jupyter-lab notebooks/)"
        ) from None
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "conf").is_dir():
            return folder
    raise FolderNotFoundError(
        f"no aegan checkout (pyproject.toml and conf/) at or above {start}; start the notebook "
        "server in the checkout (jupyter-lab notebooks/), whose conf/ the notebooks compose"
    )


def checked_switch(key: str, value: Any) -> bool:
    """``value`` as on or off: 1/0, true/false, yes/no in any case, or a bool (papermill's
    ``-p QUICK True``). Anything else is refused, where it would silently have meant off."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):  # papermill -p QUICK 1
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in SWITCH_WORDS:
        return SWITCH_WORDS[value.strip().lower()]
    raise ConfigError(
        f"{key}={value!r:.80} is not allowed: it must be 1 or 0, true or false, yes or no"
    )


def checked_metric(key: str, value: Any) -> str:
    """``value`` if it has the shape of a figure's name (``val/best_objective``, ``test/mse``),
    checked before a sweep trains; whether its jobs have that figure is seen once read."""
    if isinstance(value, str) and len(value) <= 200 and METRIC_NAME.fullmatch(value):
        return value
    raise ConfigError(
        f"{key}={value!r:.80} is not allowed: it must be a figure's name in metrics.json, "
        "such as val/best_objective or test/mse"
    )


def checked_device(key: str, value: Any) -> str:
    """``value`` if ``trainer.device`` allows it (auto, cpu, cuda, cuda:N, with CUDA here for
    the last two), checked by the trainer's own check but naming ``key``."""
    resolve_device(value, key=key)
    return value


def checked_path(key: str, value: Any, repo: Path, allowed: str = "a path") -> Path | None:
    """A run, a sweep or a checkpoint to read, resolved; None where not given. A relative one
    is taken from ``repo``, as the README's commands give it, not from the kernel's folder.
    What is there is for the reader (``aegan.load_run``, ``read_sweep``) to say."""
    if value is None:
        return None
    path = given_path(key, value, allowed)  # blank, control characters, ~ expanded
    try:
        return (path if path.is_absolute() else repo / path).resolve()
    except (OSError, RuntimeError) as err:  # a symlink loop
        raise ConfigError(
            f"{key}={value!r} is not allowed: it cannot be resolved ({err})"
        ) from None


def checked_folder(key: str, value: Any, repo: Path) -> Path:
    """``checked_path`` for a folder to write to or read from (new runs, data sets, a cache):
    also refused where a file is at it or above it."""
    path = checked_path(key, value, repo, "a folder path")
    if path is None:
        raise ConfigError(f"{key}=None is not allowed: it must be a folder path")
    check_folder(key, str(path))
    return path


def compose_run(
    overrides: list[str], name: str, *, repo: Path, log_dir: Path, data_dir: Path
) -> DictConfig:
    """repo's conf/train.yaml with ``overrides``, as ``python -m aegan.train`` would compose
    it (a mistake in them: one ``ConfigError`` line), writing to
    LOG_DIR/notebooks/NAME_DATE_TIME."""
    folders = {"repo": repo, "log_dir": log_dir, "data_dir": data_dir}
    repo, log_dir, data_dir = (given_path(key, path, "a folder") for key, path in folders.items())
    if not (repo / "conf").is_dir():  # Hydra's "Primary config directory not found."
        raise ConfigError(f"repo={str(repo)!r} is not allowed: it holds no conf/ folder; "
                          "give the checkout's folder (find_repo_root())")  # fmt: skip
    if not (isinstance(name, str) and RUN_NAME.fullmatch(name)):  # "../x": outside log_dir
        raise ConfigError(
            f"name={name!r:.80} is not allowed: it must be letters, digits, '_', '-' or '.', "
            "as it begins the run folder's name"
        )
    cfg = compose_config(overrides, config_dir=str(repo / "conf"))
    with open_dict(cfg):  # what Hydra sets on the command line
        stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
        cfg.paths.log_dir = str(log_dir)
        cfg.paths.output_dir = str(log_dir / "notebooks" / f"{name}_{stamp}")
        cfg.paths.data_dir = str(data_dir)
    return cfg


def own_bound(run: Any, most_images: int) -> Settings:
    """The IWAE bound's settings of ``run`` (``aegan.load_run``'s) as ``aegan.evaluate``
    bounds it, its own k, on at most ``most_images`` of its test images: k=1000 on a conv
    VAE's first 1,000 images took an hour on a CPU, where its recipe's k=100 takes minutes."""
    check_number("most_images", most_images, low=1, high=10**7, integer=True)
    if not all(hasattr(run, member) for member in ("config", "checkpoint")):
        raise ConfigError(f"run of type {type(run).__name__} is not allowed: it must be a run "
                          "aegan.load_run read")  # fmt: skip
    cfg = OmegaConf.create({"iwae_samples": None, "iwae_images": None})
    with_run_iwae(cfg, run.config, run.checkpoint)
    images = most_images if cfg.iwae_images is None else min(most_images, cfg.iwae_images)
    return Settings(iwae_samples=cfg.iwae_samples, iwae_images=images)


def show_images(images: Any, *, nrow: int, ax=None, title: str = "", scale: float = 0.9):
    """uint8 or [0, 1] float images (N, 1 or 3, H, W), a tensor or numpy array, as one grid
    of ``nrow`` columns. What is none is refused in one line, as ``Run``'s methods refuse
    it: floats in [0, 255] or [-1, 1] were clamped to a grid of white or black."""
    nrow = integer("nrow", nrow, low=1, meaning="the number of columns must be a positive integer")
    check_number("scale", scale, low=0, high=100, low_open=True)  # inches an image; -1 failed late
    if ax is not None and not callable(getattr(ax, "imshow", None)):
        raise ConfigError(
            f"ax of type {type(ax).__name__} is not allowed: it must be a matplotlib Axes "
            "(plt.gca(), plt.subplots()'s), or None for a figure of its own"
        )
    shape = getattr(images, "shape", ()) if _is_array(images) else None
    if shape is None or len(shape) != 4 or shape[1] not in (1, 3) or not shape[0]:
        given = f"of type {type(images).__name__}" if shape is None else f"of shape {tuple(shape)}"
        raise ValueError(
            f"images {given}: show_images takes images (N, 1 or 3, H, W), N >= 1, as a tensor "
            "or numpy array"
        )
    images = as_images("images", images, tuple(shape[1:]), CPU, taker="show_images").detach()
    images = images.clamp(0, 1)  # a hair outside, from arithmetic: imshow would warn of it
    # here, not above: matplotlib is the notebooks' extra, and the sweep notebook draws no grid
    import matplotlib.pyplot as plt

    grid = tile_images(images, nrow).expand(3, -1, -1)  # (3, H', W'): grey as RGB
    if ax is None:  # as wide as the grid's columns: fewer images than nrow fill fewer
        columns = min(nrow, len(images))
        rows = -(-len(images) // columns)
        ax = plt.figure(figsize=(columns * scale, rows * scale + 0.4)).gca()
    ax.imshow(grid.permute(1, 2, 0).numpy())
    ax.set_axis_off()
    ax.set_title(title)
    return ax


def _is_array(value: Any) -> bool:
    return torch.is_tensor(value) or isinstance(value, np.ndarray)
