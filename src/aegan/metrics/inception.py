"""torchmetrics' Inception FID and IS (``evaluate.metrics`` with ``inception``): the
literature's numbers, beside the domain classifier's. They need torchmetrics with
torch-fidelity, and Inception's weights: downloaded on first use, or a local file."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

from aegan.errors import ConfigError

PACKAGES = ("torchmetrics", "torch_fidelity")
INSTALL = "pip install 'torchmetrics[image]' torch-fidelity"


def check_inception(weights_key: str, weights: object) -> None:
    """Refuse, before any work, the inception metric where its packages are missing or
    ``weights`` (the setting ``weights_key``) names no file."""
    missing = [name for name in PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(
            f"the inception metric needs {', '.join(missing)}, which is not installed: "
            f"{INSTALL}, or leave inception out of the metrics"
        )
    check_weights(weights_key, weights)


def check_weights(key: str, weights: object) -> None:
    """Refuse a weights setting that names no file."""
    try:
        exists = isinstance(weights, str) and Path(weights).expanduser().is_file()
    except (OSError, RuntimeError):  # a name too long, ~nosuchuser
        exists = False
    if weights is not None and not exists:
        raise ConfigError(
            f"{key}={weights!r} is not allowed: it must be a weights file that exists, or "
            "null to download them"
        )


def inception_metrics(
    real_u8: torch.Tensor, fake01: torch.Tensor, weights_path: str | None
) -> dict[str, float]:
    """FID and IS of ``fake01`` (floats in [0, 1]) against ``real_u8``. Raises where the
    weights cannot be had (offline without a weights file): asked for, it is not skipped."""
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.inception import InceptionScore

    kwargs = {"feature_extractor_weights_path": weights_path} if weights_path else {}
    fid = FrechetInceptionDistance(feature=2048, normalize=True, **kwargs)
    score = InceptionScore(normalize=True, **kwargs)
    to_rgb = lambda x: x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x  # noqa: E731
    fid.update(to_rgb(real_u8.float() / 255), real=True)
    fid.update(to_rgb(fake01), real=False)
    score.update(to_rgb(fake01))
    is_mean, is_std = score.compute()
    return {
        "inception/fid": fid.compute().item(),
        "inception/is": is_mean.item(),
        "inception/is_std": is_std.item(),
    }
