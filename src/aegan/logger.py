"""TensorBoard writer for a run: scalars, image grids, hparams in a sub-run, projector."""

from __future__ import annotations

import io
import logging
import math
import shutil
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from PIL import Image
from tensorboard.compat.proto.summary_pb2 import Summary
from torch.utils.tensorboard.summary import hparams as hparams_summary

from aegan.errors import ContractError, a_kind
from aegan.projector import add_sprite, projected_codes
from aegan.tensorboard_writer import SummaryWriter
from aegan.tiles import tile_images

log = logging.getLogger(__name__)
HISTOGRAM_LIMIT = 1e20  # torch's histogram bins span +-1e-12 to 1e20: it drops the rest


def flatten_config(
    cfg: DictConfig | Mapping, prefix: str = "", *, as_text: bool = True
) -> dict[str, Any]:
    """``{"model": {"latent_dim": 32}}`` -> ``{"model.latent_dim": 32}``; None and lists
    become strings (as TensorBoard's hparams take them), unless ``as_text=False``.

    Hydra's own ``_target_``/``_partial_`` keys are dropped: they are not hyperparameters.
    """
    if isinstance(cfg, DictConfig):
        cfg = OmegaConf.to_container(cfg, resolve=True)
    flat: dict[str, Any] = {}
    for key, value in cfg.items():
        if str(key).startswith("_"):
            continue
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_config(value, prefix=f"{name}.", as_text=as_text))
        elif isinstance(value, (bool, int, float, str)) or not as_text:
            flat[name] = value
        else:  # None, lists
            flat[name] = str(value)
    return flat


# What the HPARAMS tab shows: what a researcher sweeps, not every path and switch.
HPARAM_KEYS = (
    "data.name",
    "data.batch_size",
    "data.subset",
    "data.val_size",
    "data.binarize",
    "data.image_size",
    "data.channels",
    "evaluate.samples",
    "evaluate.iwae_samples",
    "evaluate.iwae_images",
    "evaluate.seed",
    "trainer.epochs",
    "trainer.precision",
    "seed",
)
HPARAM_PREFIXES = ("model.",)
HPARAM_SKIP_PREFIXES = ("model.net.",)  # the autoencoder's net repeats model.latent_dim etc.


def hparams_of(cfg: DictConfig | Mapping) -> dict[str, Any]:
    """The hyperparameters of a run, flattened: the model section and the few data,
    trainer and evaluation settings that change results or the figures."""
    return {
        key: value
        for key, value in flatten_config(cfg).items()
        if (key in HPARAM_KEYS or key.startswith(HPARAM_PREFIXES))
        and not key.startswith(HPARAM_SKIP_PREFIXES)
    }


def encode_png(grid: torch.Tensor) -> bytes:
    """(C, H, W) floats in [0, 1], C = 1 (gray) or 3, as PNG bytes, rounded to 8 bits.

    zlib level 1, and gray kept gray: ``SummaryWriter.add_image`` makes it RGB at level 6,
    6 ms for the autoencoder's 32-image grid each epoch against 1 ms here (a third of all
    its logging), and the file is smaller (15 KB against 28 KB), with the same pixels."""
    pixels = grid.mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    buffer = io.BytesIO()
    Image.fromarray(pixels[..., 0] if len(grid) == 1 else pixels).save(
        buffer, format="PNG", compress_level=1
    )
    return buffer.getvalue()


HPARAMS_RUNS = "hparams"  # the sub-folder of tb/ that holds the run's hparams record


def finite_figures(values: Mapping[str, Any]) -> dict[str, float]:
    """The finite numbers of ``values`` (not bools, text or NaN): what TensorBoard can plot."""
    return {
        key: float(value)
        for key, value in values.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    }


def grid_problem(images: Any) -> str | None:
    """What makes ``images`` no batch of pictures for a grid, or None."""
    if not isinstance(images, torch.Tensor):
        return f"{a_kind(type(images).__name__)}, not a tensor"
    if images.dim() != 4 or images.shape[1] not in (1, 3) or not len(images):
        return f"a tensor of shape {tuple(images.shape)}"
    if not images.is_floating_point():
        return f"a {images.dtype} tensor"
    return None


class TensorBoardLogger:
    """Writes to ``run_dir/tb``; every method is a no-op when disabled (e.g. non-zero ranks)."""

    def __init__(
        self, log_dir: Path | str, *, enabled: bool = True, purge_step: int | None = None
    ) -> None:
        """``purge_step``: TensorBoard drops what earlier event files in ``log_dir`` hold
        from that step on (a resumed run: what was logged after its checkpoint)."""
        self.log_dir = Path(log_dir)
        self.enabled, self.purge_step = enabled, purge_step
        self._writer: SummaryWriter | None = None

    @property
    def writer(self) -> SummaryWriter | None:
        """Opened at the first write: a run refused before it logs anything (a resume whose
        checkpoint does not fit) leaves no event file, whose purge_step would hide the
        logged history after the checkpoint's step from TensorBoard."""
        if self._writer is None and self.enabled:
            self._writer = SummaryWriter(str(self.log_dir), purge_step=self.purge_step)
        return self._writer

    def scalars(self, values: Mapping[str, float], step: int) -> None:
        if self.writer:
            for tag, value in values.items():
                self.writer.add_scalar(tag, value, step)

    def image_grid(self, tag: str, images: torch.Tensor, step: int, *, nrow: int = 8) -> bytes:
        """Log float images in [0, 1], (N, C, H, W), as one grid; return the grid as PNG."""
        problem = grid_problem(images)
        if problem:  # a task's log_epoch: a shape error in the tiling, or a PNG of other channels
            raise ContractError(
                f"image_grid({tag!r:.60}) was given {problem}; it takes float images "
                "(N, C, H, W) in [0, 1], C 1 or 3"
            )
        grid = tile_images(images.detach().float().cpu(), nrow)  # (C, H', W')
        png = encode_png(grid)
        if self.writer:
            height, width = grid.shape[1:]
            image = Summary.Image(
                height=height, width=width, colorspace=len(grid), encoded_image_string=png
            )
            summary = Summary(value=[Summary.Value(tag=tag, image=image)])
            self.writer._get_file_writer().add_summary(summary, step)
        return png

    def scatter(
        self, tag: str, points: torch.Tensor, colors: torch.Tensor, step: int, *, size: int = 256
    ) -> None:
        """2-D points (N, 2) drawn as 3x3 dots of RGB ``colors`` (N, 3) in [0, 1] on a white
        square image, the axes spanning the points' 1st to 99th percentiles (no plotting
        library needed)."""
        if not self.writer:
            return
        points = points.detach().float().cpu()
        low, high = points.quantile(0.01, dim=0), points.quantile(0.99, dim=0)
        scale = (high - low).clamp(min=1e-6) * 1.1
        pixels = ((points - low) / scale * (size - 5) + 2).round().long().clamp(1, size - 2)
        canvas = torch.ones(3, size, size)
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                canvas[:, size - 1 - (pixels[:, 1] + dy), pixels[:, 0] + dx] = colors.T.float()
        self.writer.add_image(tag, canvas, step)

    def text(self, tag: str, text: str, step: int) -> None:
        """A line of markdown in TensorBoard's Text tab, one per ``step``."""
        if self.writer:
            self.writer.add_text(tag, text, step)

    def histogram(self, tag: str, values: torch.Tensor, step: int) -> None:
        """A distribution of numbers (the KL of each latent dimension, say): those its bins
        hold, the others (NaN, inf, beyond +-1e20) said in one line. TensorBoard dropped
        them without a word, and where none was left torch raised "The histogram is empty,
        please file a bug report" (a diverging VAE's KL per dimension ended its run)."""
        if not self.writer:
            return
        values = values.detach().double().cpu().flatten()
        binned = values[values.abs() < HISTOGRAM_LIMIT]  # NaN compares False: left out
        if len(binned) < len(values):
            log.warning(
                "%s at step %d: %d of its %d values are NaN, inf or beyond 1e20, which "
                "TensorBoard cannot bin; the histogram shows the other %d", tag, step,
                len(values) - len(binned), len(values), len(binned),
            )  # fmt: skip
        if len(binned):
            self.writer.add_histogram(tag, binned, step)

    def hparams(self, config: Mapping[str, Any], metrics: Mapping[str, float], step: int) -> None:
        """The run's hparams and ``metrics`` (as scalars at ``step``, where the HPARAMS tab
        reads their values) in a fresh sub-run, ``hparams/<time>``, the earlier one removed.

        TensorBoard keeps the first hparams a run holds: a metric a later evaluation adds would
        not show in the same run. No experiment record: TensorBoard took one run's for a whole
        sweep (its metrics only, no setting marked as varying); without, it reads every run's."""
        if not self.enabled:
            return
        root = self.log_dir / HPARAMS_RUNS
        if root.is_symlink():  # a link planted in the run folder is not written through
            root.unlink()
        name = datetime.now().strftime("%Y-%m-%d_%H-%M-%S_%f")
        _, session_start, session_end = hparams_summary(dict(config), dict(metrics))
        with SummaryWriter(str(root / name)) as writer:
            for summary in (session_start, session_end):
                writer._get_file_writer().add_summary(summary)
            for tag, value in metrics.items():
                writer.add_scalar(tag, value, step)
        for earlier in root.iterdir():
            if earlier.name == name:
                continue
            if earlier.is_dir() and not earlier.is_symlink():
                shutil.rmtree(earlier)
            else:
                earlier.unlink()

    def embedding(
        self,
        codes: torch.Tensor,
        *,
        labels: Sequence[str],
        images: torch.Tensor | None,
        step: int,
        tag: str,
    ) -> None:
        """Latent codes ``(N, D)`` with class labels and a sprite of ``images`` (uint8, or
        floats in [0, 1]), for the projector tab; codes of 1 or 2 numbers with zeros to 3."""
        if self.writer:
            root = Path(self.writer.log_dir)
            folder = root / f"{step:05}" / tag  # what a step's embedding replaces, if there
            for path in (root / "projector_config.pbtxt", folder.parent, folder):
                if path.is_symlink():  # a link planted in the run folder is not written through
                    path.unlink()
            if folder.is_dir():
                shutil.rmtree(folder)
            try:
                self.writer.add_embedding(
                    projected_codes(codes), metadata=list(labels), global_step=step, tag=tag
                )
                if images is not None:
                    add_sprite(self.writer, images.detach(), f"{step:05}/{tag}")
            except OSError as err:  # TensorBoard's writer names no file: a full disk's line would
                if err.filename is None:  # name only the run's folder
                    raise OSError(err.errno, err.strerror, str(folder)) from err
                raise

    def flush(self) -> None:
        if self._writer:
            self._writer.flush()

    def close(self) -> None:
        if self._writer:
            self._writer.close()
