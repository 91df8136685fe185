"""torchmetrics' Inception FID and IS, where its weights can be had (``evaluate.metrics``
with ``inception``): the literature's numbers, beside the domain classifier's."""

from __future__ import annotations

import logging

import torch

log = logging.getLogger(__name__)


def inception_metrics(
    real_u8: torch.Tensor, fake01: torch.Tensor, weights_path: str | None
) -> dict[str, float]:
    """FID and IS of ``fake01`` (floats in [0, 1]) against ``real_u8``; {} with a warning
    when torchmetrics[image] or the Inception weights are missing."""
    try:
        from torchmetrics.image.fid import FrechetInceptionDistance
        from torchmetrics.image.inception import InceptionScore

        kwargs = {"feature_extractor_weights_path": weights_path} if weights_path else {}
        fid = FrechetInceptionDistance(feature=2048, normalize=True, **kwargs)
        score = InceptionScore(normalize=True, **kwargs)
    except Exception as err:
        log.warning(
            "inception metrics skipped: %s: %s. They need torchmetrics[image] and the Inception "
            "weights (downloaded on first use where the network allows); offline, pass "
            "evaluate.inception_weights=PATH to a local copy of the weights file",
            type(err).__name__, str(err).splitlines()[0][:200],
        )  # fmt: skip
        return {}
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
