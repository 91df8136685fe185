"""Evaluate a run: ``python -m aegan.evaluate run=RUN_DIR [checkpoint=best|last] [samples=N] [metrics=...]``.

Writes the metrics into ``RUN_DIR/metrics.json`` (flat keys, merged with what training
wrote) and into the run's TensorBoard hparams. Every generative figure comes with its
real-data floor: the same metric between the real test set and a real training subset
of the same size, so a reader sees how close to "as good as real data" a number is.

Protocol
- Autoencoder (``metrics=[reconstruction,probe,pca]``): test MSE, BCE, PSNR, SSIM
  (11x11 Gaussian window, sigma 1.5) of the reconstructions; a linear probe (logistic
  regression from the code to the label, fit on ``probe_train`` training codes, scored on
  the test codes); PCA at the same code size as the best linear code (its test MSE and the
  probe on its codes).
- GAN (``metrics=[classifier,fd,kid,prdc,classes]``): features are the penultimate layer of
  a small CNN trained on the data set's training split (cached under ``cache_dir``; see
  ``aegan.metrics.classifier``). ``samples`` EMA-generator images against the real test
  set: Frechet distance, KID (cubic kernel, 100 subsets of up to 1000), improved
  precision/recall (k=3), density/coverage (k=3), and the classifier's class histogram
  (entropy, classes covered, KL to the real class distribution).
- ``inception`` adds torchmetrics' Inception FID/IS when its weights can be had.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig, OmegaConf

from aegan.config import CONF_DIR, check_positive, one_line_errors, one_line_hydra_errors
from aegan.data import DataFileError, DataNotFoundError, normalize
from aegan.engine import Amp, CheckpointError, ConfigError
from aegan.engine.checkpoint import run_dir_of
from aegan.logger import TensorBoardLogger, hparams_of
from aegan.metrics import (
    class_histogram_stats,
    classifier_accuracy,
    extract_features,
    frechet_distance,
    kernel_inception_distance,
    linear_probe_accuracy,
    load_or_train_classifier,
    pca_baseline,
    prdc,
    predict_classes,
    psnr,
    ssim,
)
from aegan.run import Run, load_run

log = logging.getLogger("aegan.evaluate")

AE_METRICS = ("reconstruction", "probe", "pca")
GAN_METRICS = ("classifier", "fd", "kid", "prdc", "classes", "inception")
DEFAULT_CACHE = "~/.cache/aegan"


@torch.no_grad()
def evaluate_autoencoder(
    run: Run, *, metrics: tuple[str, ...], probe_train: int = 10000
) -> dict[str, float]:
    data, latent_dim = run.data, int(run.config.model.latent_dim)
    out: dict[str, float] = {}
    test = normalize(data.test_images, "unit")  # (N, C, H, W) in [0, 1]
    if "reconstruction" in metrics:
        out.update(
            run.task.evaluate(data, Amp("fp32", run.device))
        )  # test/mse, test/bce: the task's
        recon = torch.cat([run.reconstruct(chunk) for chunk in test.split(1000)])
        out["test/psnr"] = psnr(recon, test)  # per image, then averaged
        out["test/ssim"] = ssim(recon, test)
    train_images = data.train_images[:probe_train]
    if "probe" in metrics:
        train_codes = torch.cat([run.encode(c) for c in train_images.split(1000)])
        test_codes = torch.cat([run.encode(c) for c in data.test_images.split(1000)])
        out["probe/accuracy"] = linear_probe_accuracy(
            train_codes, data.train_labels[:probe_train], test_codes, data.test_labels
        )
    if "pca" in metrics:
        out["pca/mse"] = pca_baseline(data.train_images, data.test_images, dim=latent_dim)
        if "test/mse" in out:
            out["test/mse_over_pca"] = out["test/mse"] / out["pca/mse"]
        if "probe" in metrics:
            out["pca/probe_accuracy"] = _pca_probe(data, latent_dim, probe_train)
    return out


def _pca_probe(data, dim: int, probe_train: int) -> float:
    """The linear probe on PCA codes of the same size: the floor a learned code should beat."""
    train = data.train_images.flatten(1).double().cpu() / 255
    mean = train.mean(0)
    _, _, v = torch.linalg.svd(train[:probe_train] - mean, full_matrices=False)
    basis = v[:dim].T  # (D, dim)
    codes = lambda x: (x.flatten(1).double().cpu() / 255 - mean) @ basis  # noqa: E731
    return linear_probe_accuracy(
        codes(data.train_images[:probe_train]), data.train_labels[:probe_train],
        codes(data.test_images), data.test_labels,
    )  # fmt: skip


def _generative_metrics(
    prefix: str, real_feats, fake_feats, fake_classes, real_labels, num_classes, metrics
) -> dict[str, float]:
    out: dict[str, float] = {}
    if "fd" in metrics:
        out[f"{prefix}/fd"] = frechet_distance(real_feats, fake_feats)
    if "kid" in metrics:
        mean, std = kernel_inception_distance(real_feats, fake_feats)
        out[f"{prefix}/kid"], out[f"{prefix}/kid_std"] = mean, std
    if "prdc" in metrics:
        out.update({f"{prefix}/{k}": v for k, v in prdc(real_feats, fake_feats, k=3).items()})
    if "classes" in metrics:
        stats = class_histogram_stats(fake_classes, real_labels, num_classes)
        out[f"{prefix}/class_entropy"] = stats["entropy"]
        out[f"{prefix}/classes_covered"] = float(stats["classes_covered"])
        out[f"{prefix}/class_kl"] = stats["kl_to_real"]
    return out


def evaluate_gan(
    run: Run,
    *,
    metrics: tuple[str, ...],
    samples: int,
    cache_dir: str | Path,
    seed: int = 0,
    inception_weights: str | None = None,
    progress: bool = True,
) -> tuple[dict[str, float], dict]:
    """GAN metrics in the domain classifier's feature space, each with its real-data floor.

    Returns (flat metrics, extras such as the class histograms for the notebook).
    """
    data = run.data
    num_classes = len(data.classes)
    classifier = load_or_train_classifier(
        data.name, data.train_images, data.train_labels, num_classes=num_classes,
        cache_dir=Path(cache_dir).expanduser(), device=run.device, progress=progress,
    )  # fmt: skip
    out: dict[str, float] = {
        "classifier/test_accuracy": classifier_accuracy(
            classifier, data.test_images, data.test_labels
        )
    }
    n = min(samples, len(data.test_images), len(data.train_images))
    real = data.test_images[:n]
    fake = torch.cat(
        [run.sample(min(1000, n - i), seed=seed + i) for i in range(0, n, 1000)]
    )  # [0, 1]
    floor_images = data.train_images[
        torch.randperm(len(data.train_images), generator=torch.Generator().manual_seed(seed))[:n]
    ]
    real_feats = extract_features(classifier, real)
    fake_feats = extract_features(classifier, fake)
    floor_feats = extract_features(classifier, floor_images)
    fake_classes = predict_classes(classifier, fake)
    floor_classes = predict_classes(classifier, floor_images)
    real_labels = data.test_labels[:n]
    out.update(
        _generative_metrics(
            "gen", real_feats, fake_feats, fake_classes, real_labels, num_classes, metrics
        )
    )
    out.update(
        _generative_metrics(
            "floor", real_feats, floor_feats, floor_classes, real_labels, num_classes, metrics
        )
    )
    out["gen/samples"] = float(n)
    extras = {
        "gen/class_histogram": class_histogram_stats(fake_classes, real_labels, num_classes)[
            "histogram"
        ],
        "floor/class_histogram": class_histogram_stats(floor_classes, real_labels, num_classes)[
            "histogram"
        ],
    }
    if "inception" in metrics:
        out.update(_inception_metrics(real, fake, inception_weights))
    return out, extras


def _inception_metrics(
    real_u8: torch.Tensor, fake01: torch.Tensor, weights_path: str | None
) -> dict[str, float]:
    """torchmetrics' Inception FID/IS; a clear message when the weights cannot be had."""
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
            "inception_weights=PATH to a local copy of the weights file",
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


def evaluate_run(
    run: Run,
    *,
    metrics: tuple[str, ...] | None = None,
    samples: int = 10000,
    cache_dir: str | Path = DEFAULT_CACHE,
    inception_weights: str | None = None,
) -> dict[str, float]:
    """All metrics of one loaded run as flat keys (no files written)."""
    if run.config.model.task == "autoencoder":
        chosen = tuple(metrics or AE_METRICS)
        _check_names(chosen, AE_METRICS)
        return evaluate_autoencoder(run, metrics=chosen)
    chosen = tuple(metrics or ("classifier", "fd", "kid", "prdc", "classes"))
    _check_names(chosen, GAN_METRICS)
    flat, _extras = evaluate_gan(
        run,
        metrics=chosen,
        samples=samples,
        cache_dir=cache_dir,
        inception_weights=inception_weights,
    )
    return flat


def _check_names(chosen: tuple[str, ...], allowed: tuple[str, ...]) -> None:
    unknown = [m for m in chosen if m not in allowed]
    if unknown:
        raise ConfigError(
            f"metrics={list(unknown)} not available for this run; choose from: {', '.join(allowed)}"
        )


def write_metrics(
    run_dir: Path, config: DictConfig, new: dict[str, float], step: int
) -> dict[str, float]:
    """Merge ``new`` into RUN_DIR/metrics.json and log the whole set as the run's hparams."""
    path = run_dir / "metrics.json"
    merged = json.loads(path.read_text()) if path.is_file() else {}
    merged.update(new)
    path.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    logger = TensorBoardLogger(run_dir / "tb")
    finite = {
        k: float(v) for k, v in merged.items() if isinstance(v, (int, float)) and math.isfinite(v)
    }
    logger.hparams(hparams_of(config), finite, step)
    logger.close()
    return merged


def log_dir_of(run: str) -> str:
    """``hydra.run.dir`` of ``aegan.evaluate``: the run dir that ``run`` names (see
    ``run_dir_of``; ``run`` may be a checkpoint file). Any other path gets a scratch folder
    instead, so that a mistyped path is neither created nor written into before the error
    that names it."""
    run_dir = run_dir_of(run)
    is_run = Path(run).expanduser().is_file() or (run_dir / "checkpoints").is_dir()
    return str(run_dir if is_run else Path(tempfile.gettempdir()) / "aegan-evaluate")


OmegaConf.register_new_resolver("aegan.evaluate_log_dir", log_dir_of, replace=True)

# What a user can fix from the message alone: one line, exit code 2 (debug=true: traceback)
USER_ERRORS = (ConfigError, CheckpointError, DataNotFoundError, DataFileError)


@one_line_hydra_errors
@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="evaluate")
def main(cfg: DictConfig) -> None:
    with one_line_errors(USER_ERRORS, debug=cfg.debug, logger=log):
        check_positive(cfg, "samples")
        if cfg.checkpoint not in ("best", "last"):
            raise ConfigError(f"checkpoint={cfg.checkpoint!r}: choose best or last")
        run = load_run(cfg.run, checkpoint=cfg.checkpoint, device=cfg.device)
        metrics = evaluate_run(
            run,
            metrics=tuple(cfg.metrics) if cfg.metrics else None,
            samples=cfg.samples,
            cache_dir=cfg.cache_dir,
            inception_weights=cfg.inception_weights,
        )
    write_metrics(run.path, run.config, metrics, run.step)
    for key, value in sorted(metrics.items()):
        print(f"{key:28s} {value:.6g}")
    print(f"wrote {run.path / 'metrics.json'}")


if __name__ == "__main__":
    main()
