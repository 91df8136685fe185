"""What a task whose model has a prior on its latent code derives from the methods it has:
``sample`` from ``generate`` (``PriorSamples``), and with an encoder and a decoder also
``generate`` and ``reconstruct`` from ``encode`` and ``decode`` (``PriorEncoderDecoder``).

A task mixes in the class whose methods its model has, and no other (``aegan.contract``):
a GAN cannot reconstruct, and an autoencoder without a prior cannot sample, so neither
mixes in ``PriorEncoderDecoder``.
"""

from __future__ import annotations

import torch

from aegan.tasks.inputs import random_source, taken_codes, taken_count, taken_images

SAMPLE_BATCH = 500  # codes decoded per forward pass: ``generate`` holds one chunk's activations


class PriorSamples:
    """``sample(n)``: ``generate`` at ``n`` draws of the prior, N(0, I) unless the task
    overrides ``draw_latents``. For a task with ``generate`` and ``latent_dim``."""

    latent_dim: int

    def draw_latents(
        self, n: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu"
    ) -> torch.Tensor:
        """``n`` draws z ~ N(0, I) (n, latent_dim); with ``generator`` drawn on the CPU, so a
        seed gives the same draws on any device."""
        return torch.randn(n, self.latent_dim, generator=generator, device=device)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` images in [0, 1] generated from prior draws made with ``generator``."""
        n = taken_count(self, "sample", n)  # before n codes are drawn and n images made
        generator = random_source(f"{type(self).__name__}.sample", generator)
        return self.generate(self.draw_latents(n, generator))  # type: ignore[attr-defined]


class PriorEncoderDecoder(PriorSamples):
    """``generate``, ``reconstruct`` and ``sample`` for a task that has ``encode(x) -> codes``
    and ``decode(codes) -> images in [0, 1]`` on its ``device``."""

    device: torch.device
    image_shape: tuple[int, ...]  # (C, H, W) reconstruct takes; any, where a task keeps none

    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """z (N, latent_dim) on any device -> ``decode``'s images, SAMPLE_BATCH at a time."""
        decode = self.decode  # type: ignore[attr-defined]
        z = taken_codes(self, "generate", z)
        return torch.cat([decode(chunk) for chunk in z.split(SAMPLE_BATCH)])

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> the decoded codes of x, in [0, 1]."""
        x = taken_images(self, "reconstruct", x)
        return self.decode(self.encode(x))  # type: ignore[attr-defined]
