"""Settings given on the command line that take no effect under the others
(``model.gp_weight`` without wgan_gp), or that a later one sets again (``model=vae ...
model=dcgan``): one warning line each, naming what would use it or what replaces it.

Not refused: a sweep over both (``model.loss=ns,wgan_gp model.gp_weight=1,10``) holds such
pairs in half its jobs, and the other half is what it is for.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from omegaconf import DictConfig

from aegan.contract import can
from aegan.engine.device import resolve_device
from aegan.metrics.registry import METRICS
from aegan.settings.overrides import override_key
from aegan.speed import inert_switches

log = logging.getLogger("aegan.config")
EVALUATE_KEYS = ("samples", "iwae_samples", "iwae_images", "metrics", "inception_weights")


def inert_settings(cfg: DictConfig, task: Any) -> dict[str, str]:
    """``{key: why it has no effect}`` for this config and its task (``Task.inert``)."""
    out = dict(getattr(task, "inert", {}))
    out.update(inert_switches(cfg.trainer, task, resolve_device(cfg.trainer.device)))
    if cfg.trainer.compile == "none":
        out["trainer.compile_scope"] = "trainer.compile=none compiles nothing"
    projector = "logger.projector_samples"  # 0 asks for none, which holds either way
    if cfg.logger.projector_samples and not cfg.logger.enabled:
        out[projector] = "logger.enabled=false writes no TensorBoard projector"
    elif cfg.logger.projector_samples and not can(task, "encode"):
        out[projector] = f"{task.name} has no codes to show in the projector"
    evaluate = cfg.evaluate
    if not evaluate.at_end:
        out.update(
            {f"evaluate.{k}": "evaluate.at_end=false evaluates nothing" for k in EVALUATE_KEYS}
        )
    else:
        names = evaluate.metrics or task.metrics
        out.update({f"evaluate.{k}": why for k, why in evaluation_inert(names).items()})
    return out


def evaluation_inert(names: Sequence[str]) -> dict[str, str]:
    """``{key: why it has no effect}`` among an evaluation's settings (``samples``...) for the
    metrics ``names``: ``samples`` sets how many images are generated, and how many training
    images the domain classifier leaves out as the floor, so only metrics of samples or of
    the classifier read it; ``iwae_*`` only ``iwae``."""
    out = {}
    known = [METRICS[name].data for name in names if name in METRICS]
    if not any(needs.paired or needs.classified for needs in known):
        out["samples"] = "the final metrics draw no samples and use no domain classifier"
    if "iwae" not in names:
        why = "the final metrics do not include iwae"
        out.update({"iwae_samples": why, "iwae_images": why})
    return out


def warn_inert(cfg: DictConfig, task: Any, overrides: list[str]) -> None:
    """A warning for each of ``overrides`` (the command line's) that sets an inert key, or
    that a later one sets again."""
    for override, later in overridden(overrides):
        log.warning("%s has no effect: %s comes after it on the command line", override, later)
    inert = inert_settings(cfg, task)
    for override in overrides:
        key = override_key(override)
        if key in inert:
            log.warning("%s has no effect: %s", override, inert[key])


def overridden(overrides: list[str]) -> list[tuple[str, str]]:
    """(override, the later one that sets its key to another value) for each of
    ``overrides`` that Hydra drops: the last value of a key given twice wins, silently."""
    last = {override_key(o): o for o in overrides if "=" in o}
    return [
        (o, last[override_key(o)])
        for o in overrides
        if "=" in o and o.partition("=")[2] != last[override_key(o)].partition("=")[2]
    ]
