"""torchmetrics' Inception FID and IS (``evaluate.metrics`` with ``inception``): the
literature's numbers, beside the domain classifier's. They need torchmetrics with
torch-fidelity, and Inception's weights: downloaded on first use, or a local file."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from aegan.errors import ConfigError, not_text
from aegan.io.readback import load_torch_file

PACKAGES = ("torchmetrics", "torch_fidelity")
INSTALL = "pip install 'torchmetrics[image]' torch-fidelity"
FC_SHAPE = (1008, 2048)  # torch-fidelity's Inception's last layer: its weights, not another's


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
    """Refuse a weights setting that names no file, or one that is not Inception's weights as
    ``torch.load(weights_only=True)`` reads them: torch-fidelity loads it later, after the
    samples are drawn, and with full pickle (code in the file runs) where torch defaults to it."""
    if weights is None:
        return
    try:
        exists = isinstance(weights, str) and Path(weights).expanduser().is_file()
    except (OSError, RuntimeError, ValueError):  # a name too long, ~nosuchuser, a NUL byte
        exists = False
    if not exists:
        raise ConfigError(
            not_text(key, weights, "a weights file that exists, or null to download them")
        )
    try:
        state = load_torch_file(Path(weights).expanduser())
    except Exception as err:  # a FIFO, a cut archive, a pickle naming code: all one refusal
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:160]
        raise ConfigError(
            f"{key}={weights!r:.200} is not allowed: it is not readable as weights ({reason})"
        ) from None
    fc = state.get("fc.weight") if isinstance(state, dict) else None
    if not (torch.is_tensor(fc) and tuple(fc.shape) == FC_SHAPE):
        raise ConfigError(
            f"{key}={weights!r:.200} is not allowed: it holds no Inception weights (those "
            f"torch-fidelity reads have an fc.weight of shape {FC_SHAPE})"
        )


@contextmanager
def weights_only_loads() -> Iterator[None]:
    """``torch.load`` weights-only within, whatever its caller asks: torch.hub loads the
    downloaded Inception weights (``~/.cache/torch``) with ``weights_only=False``, and
    torch-fidelity a weights file with torch's default, full pickle before torch 2.6."""
    names = ("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD")
    saved = {name: os.environ.pop(name, None) for name in names}
    os.environ[names[0]] = "1"
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def inception_metrics(
    real_u8: torch.Tensor, fake01: torch.Tensor, weights_path: str | None
) -> dict[str, float]:
    """FID and IS of ``fake01`` (floats in [0, 1]) against ``real_u8``. Raises where the
    weights cannot be had (offline without a weights file): asked for, it is not skipped."""
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.inception import InceptionScore

    kwargs = {"feature_extractor_weights_path": weights_path} if weights_path else {}
    with weights_only_loads():  # both build the network and load its weights
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
