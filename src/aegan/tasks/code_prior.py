"""The prior an adversarial autoencoder matches its codes to: a standard Gaussian, or a
mixture of 10 Gaussians laid on a circle or a grid in the first two code dimensions (the 2-D
mixtures of Makhzani et al. 2015, other dimensions standard normal), whose components a label
can pick (the supervised variant); and the checks of the settings that choose it.
"""

from __future__ import annotations

import math

import torch

from aegan.errors import ConfigError
from aegan.tasks.checks import check_bool, check_choice

PRIORS = ("gaussian", "mixture")
LAYOUTS = ("circle", "grid")
COMPONENTS = 10


def check_prior_settings(prior: str, prior_layout: str | None, label_prior: bool) -> None:
    """Raise ``ConfigError`` for ``model.prior``, ``model.prior_layout`` or
    ``model.label_prior`` that is not a choice, or that the chosen prior has no use for."""
    check_choice("model.prior", prior, PRIORS)
    if prior_layout is not None:  # the Gaussian prior has no layout: it would do nothing
        check_choice("model.prior_layout", prior_layout, LAYOUTS)
        # circle: what every run recorded before null was the default; it changes nothing
        if prior != "mixture" and prior_layout != "circle":
            raise ConfigError(
                f"model.prior_layout={prior_layout} is not allowed with model.prior={prior}, "
                "which has no components to lay out: set model.prior=mixture, or leave "
                "model.prior_layout=null"
            )
    check_bool("model.label_prior", label_prior)
    if label_prior and prior != "mixture":
        raise ConfigError(
            "model.label_prior=true needs model.prior=mixture (the label picks its component)"
        )


class CodePrior:
    """Draws from the prior: N(0, I), or 10 Gaussians (std 0.5) on a circle of radius 4 or a
    5x2 grid in the first two dimensions, standard normal in the others."""

    def __init__(self, kind: str, layout: str, latent_dim: int, device: torch.device) -> None:
        self.kind, self.latent_dim, self.device = kind, latent_dim, device
        if layout == "circle":
            angles = torch.arange(COMPONENTS) * 2 * math.pi / COMPONENTS
            means = 4.0 * torch.stack([angles.cos(), angles.sin()], 1)
        else:
            means = torch.stack(
                torch.meshgrid(torch.arange(5.0), torch.arange(2.0), indexing="ij"), -1
            )
            means = (means.reshape(-1, 2) - torch.tensor([2.0, 0.5])) * 2.5
        self.means = means.to(device)  # (10, 2)

    def sample(self, n: int, labels: torch.Tensor | None = None, generator=None) -> torch.Tensor:
        """(n, latent_dim) codes; ``labels`` (n,) pick the mixture components."""
        device = "cpu" if generator is not None else self.device
        z = torch.randn(n, self.latent_dim, generator=generator, device=device).to(self.device)
        if self.kind == "gaussian":
            return z
        if labels is None:
            labels = torch.randint(COMPONENTS, (n,), generator=generator, device=device)
        z[:, :2] = self.means[labels.to(self.device)] + 0.5 * z[:, :2]
        return z
