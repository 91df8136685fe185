"""Tasks: one file per model family, each saying what a step, a validation, a picture, a
sample and an encoding mean for it (``aegan.contract.Task``). ``conf/model/*.yaml`` names
its task with ``_target_``; ``build_task`` builds it."""

from aegan.tasks.aae import AaeTask
from aegan.tasks.autoencoder import AutoencoderTask
from aegan.tasks.bigan import BiganTask
from aegan.tasks.build import build_task
from aegan.tasks.gan import GanTask
from aegan.tasks.infogan import InfoGanTask
from aegan.tasks.vae import VaeTask
from aegan.tasks.vae_gan import VaeGanTask

__all__ = [
    "AaeTask",
    "AutoencoderTask",
    "BiganTask",
    "GanTask",
    "InfoGanTask",
    "VaeGanTask",
    "VaeTask",
    "build_task",
]
