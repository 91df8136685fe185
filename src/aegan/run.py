"""Load a finished (or running) run back: ``aegan.load_run(path)`` for notebooks and scripts.

One way to rebuild a model: the run's record (its checkpoint's config choices and plain
values) is composed again through ``conf/`` (``aegan.runs.record.record_config``), the task is
built as in training, then the saved weights are loaded. Nothing in the run folder names
the code that runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from aegan.contract import Task, can
from aegan.data import ImageData
from aegan.engine.process_state import process_state_kept
from aegan.engine.state import load_task_state, load_weights
from aegan.errors import CheckpointError
from aegan.runs.figures import figures_of
from aegan.runs.inputs import (
    as_codes,
    as_images,
    check_fits,
    integer,
)
from aegan.runs.inputs import seed as check_seed
from aegan.runs.opened import open_run, read_opened_data
from aegan.settings.refused_values import overrides_as_given
from aegan.tasks import build_task

CHUNK = 500  # images per forward pass, as the tasks' own generate takes them


@dataclass
class Run:
    """A run dir read back: config, trained task in eval mode, data, metrics, helpers.

    Images go in as uint8 or floats in [0, 1] (N, C, H, W), tensors on any device or numpy
    arrays; images come out as floats in [0, 1] on the run's device. What the model cannot
    do raises ``AttributeError`` naming the model.
    """

    path: Path  # the run directory
    checkpoint: Path
    config: DictConfig
    task: Task
    data: ImageData
    device: torch.device
    step: int
    epoch: int
    # RUN_DIR/metrics.json's figures, of the weights of step metrics["eval/step"], and the
    # text of the model settings an evaluation changed for them: metrics["eval/overrides"]
    metrics: dict[str, float | str] = field(default_factory=dict)
    # validation metrics per epoch, from the checkpoint the weights were read from: read
    # again later, the file would cost a second whole read and may be a newer save's
    history: list[dict[str, float]] = field(default_factory=list)

    @property
    def networks(self) -> dict[str, torch.nn.Module]:
        return self.task.networks

    def _ask(self, capability: str):
        if not can(self.task, capability):
            raise AttributeError(f"{self.path}: its model, {self.task.name}, cannot {capability}")
        return getattr(self.task, capability)

    @property
    def _shape(self) -> tuple[int, ...]:
        return tuple(self.data.image_shape)

    def _images(self, name: str, value: Any, *, one: bool = False, copies: int = 1):
        return as_images(name, value, self._shape, self.device, one=one, copies=copies)

    def _codes(self, name: str, value: Any, *, one: bool = False) -> torch.Tensor:
        width = getattr(self.task, "latent_dim", None)
        return as_codes(name, value, width, self._shape, self.device, one=one)

    def _over(self, capability: str, inputs: torch.Tensor) -> torch.Tensor:
        """The task's ``capability`` over ``inputs`` CHUNK at a time, into one output: what is
        held is the output and one chunk's activations (a conv net's are 30x its images)."""
        method, out = self._ask(capability), None
        for start in range(0, len(inputs), CHUNK):
            part = method(inputs[start : start + CHUNK])
            if out is None:
                out = part.new_empty((len(inputs), *part.shape[1:]))
            out[start : start + len(part)] = part
        return method(inputs) if out is None else out  # no inputs: the task's empty answer

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images (N, C, H, W) -> codes (N, latent_dim)."""
        self._ask("encode")
        return self._over("encode", self._images("images", images))

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (N, latent_dim) -> images (N, C, H, W)."""
        self._ask("decode")
        return self._over("decode", self._codes("codes", codes))

    @torch.no_grad()
    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """Images -> their reconstructions."""
        self._ask("reconstruct")  # the images' float copy and the reconstructions: 2 copies
        return self._over("reconstruct", self._images("images", images, copies=2))

    @torch.no_grad()
    def sample(self, n: int, *, seed: int = 0) -> torch.Tensor:
        """``n`` generated images from seeded draws of the model's prior."""
        n = integer("n", n, low=1, meaning="the number of images must be a positive integer")
        sample = self._ask("sample")
        generator = torch.Generator().manual_seed(check_seed(seed))
        # one draw of n, as the task makes it; its generate joins its chunks: 2 copies at the end
        check_fits(f"n={n}", n, self._shape, self.device, copies=2)
        return sample(n, generator)

    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """Latent vectors (n, latent_dim) -> images."""
        self._ask("generate")
        return self._over("generate", self._codes("z", z))

    @torch.no_grad()
    def interpolate(self, a: torch.Tensor, b: torch.Tensor, steps: int = 8) -> torch.Tensor:
        """Images along the straight line between two images (in code space, for a model
        that encodes) or two latent vectors (a model that only generates) -> (steps, ...)."""
        steps = integer("steps", steps, low=2, meaning="an interpolation takes at least 2 steps")
        check_fits(f"steps={steps}", steps, self._shape, self.device)
        weights = torch.linspace(0, 1, steps, device=self.device).view(-1, 1)
        if can(self.task, "encode"):
            ends = torch.cat([self._images("a", a, one=True), self._images("b", b, one=True)])
            codes = self._ask("encode")(ends)  # (2, latent_dim)
            return self._over("decode", codes[:1] * (1 - weights) + codes[1:] * weights)
        ends = torch.cat([self._codes("a", a, one=True), self._codes("b", b, one=True)])
        line = ends[:1] * (1 - weights) + ends[1:] * weights  # (steps, latent_dim)
        self._on_the_line(line)
        return self._over("generate", line)

    def _on_the_line(self, line: torch.Tensor) -> None:
        """``ValueError`` where the points between two latent vectors are none the model
        generates from (an InfoGAN's one-hot code halfway between two categories), each end
        being one: the line's row, not the user's, was named."""
        taken = getattr(self.task, "taken_latents", None)
        try:
            if taken is not None:
                taken(line)
        except ValueError as err:
            raise ValueError(
                f"a and b: the points between them are no latent vectors {self.task.name} "
                f"generates from ({str(err).partition(': ')[2][:160]}...); interpolate between "
                "vectors that agree where it takes a one-hot code"
            ) from None


@overrides_as_given
@process_state_kept()  # its networks' initial weights are drawn, then replaced by the run's
def load_run(
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
) -> Run:
    """Read a run dir (or a checkpoint file) into a ``Run`` with its networks in eval mode.

    ``checkpoint``: "last" (the weights training ended with: the ones the run's
    ``metrics.json`` describes) or "best" (refused when ``path`` is a file). The data is read
    again as the run's data section says, from its ``data.root`` where its files are there
    (an image folder listed up to ``aegan.runs.data.RECORD_ENTRIES`` files and folders, unless
    ``overrides`` name it), or else from yours:
    ``data_dir`` (refused where it does not exist, unless a download makes it), else your
    ``paths.data_dir`` (``AEGAN_DATA_DIR``), then the folder the run read it from, which is
    never written. Nothing is downloaded unless ``overrides`` set ``data.download=true``; a
    download goes into your folder.
    ``overrides`` change the run's settings as on the training command line (its model,
    data and paths settings, or a recipe: nothing reads the others), and may name your own
    classes; ``searchpath`` adds your own config folders (``file://DIR``,
    ``pkg://package``), as ``hydra.searchpath`` did for training. ``changed_data``: when
    the run's data settings read other images than it trained on (files added to its image
    folder, say), "warn" (one line) or "refuse". ``metrics``: the names you will measure
    (``aegan.evaluate``'s), each refused before the data is read if the model cannot feed it.
    ``figures=False``: ``Run.metrics`` left empty, ``metrics.json`` not read (``aegan.evaluate``
    measures the weights anew, and keeps the file's figures aside itself).
    """
    opened = open_run(
        path, checkpoint=checkpoint, device=device, data_dir=data_dir, overrides=overrides,
        searchpath=searchpath, changed_data=changed_data, metrics=metrics, figures=figures,
    )  # fmt: skip
    config, state, checkpoint_path = opened.config, opened.state, opened.checkpoint
    run_dir, torch_device = opened.run_dir, opened.device
    data = read_opened_data(opened, overrides, changed_data)
    data = data.to(torch_device)
    task = build_task(config.model, data.image_shape, torch_device)
    task.check_data(data)  # what only the data tells (its classes), before a step
    load_weights(task, state, path=checkpoint_path)
    load_task_state(task, state["task"], path=checkpoint_path)
    task.train(False)
    return Run(
        path=run_dir, checkpoint=checkpoint_path, config=config, task=task, data=data,
        device=torch_device, step=state["step"], epoch=state["epoch"],
        metrics=figures_of(run_dir, checkpoint_path, state["step"]) if figures else {},
        history=state["history"],
    )  # fmt: skip


__all__ = ["CheckpointError", "Run", "load_run"]
