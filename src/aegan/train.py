"""Train a model from the composed Hydra config: ``python -m aegan.train [overrides]``.

``train(cfg)`` does the work and returns the final metrics; ``main`` is the thin
``@hydra.main`` wrapper that turns expected errors into one line and returns the
objective (validation loss) for sweepers.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import sys
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig, OmegaConf, open_dict

from aegan.data import DataFileError, DataNotFoundError, load_data
from aegan.engine import (
    Amp,
    CheckpointError,
    ConfigError,
    fit,
    load_checkpoint,
    resolve_checkpoint,
    resolve_device,
    seed_everything,
)
from aegan.logger import TensorBoardLogger, flatten_config
from aegan.tasks import build_task

log = logging.getLogger("aegan.train")

# Errors a user can fix from the message alone: shown as one line, no traceback.
USER_ERRORS = (ConfigError, DataNotFoundError, DataFileError, CheckpointError)

MIN_FREE_BYTES = 200 * 2**20


def prepare_run_dir(run_dir: Path) -> None:
    """Fail at the start, not after an hour, when the output folder cannot take checkpoints."""
    try:
        (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        probe = run_dir / "checkpoints" / ".write-probe"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as err:
        raise ConfigError(
            f"paths.output_dir={run_dir} is not writable ({err.strerror}); choose another folder"
        ) from err
    free = shutil.disk_usage(run_dir).free
    if free < MIN_FREE_BYTES:
        raise ConfigError(
            f"paths.output_dir={run_dir} has only {free / 2**20:.0f} MiB free; "
            f"at least {MIN_FREE_BYTES / 2**20:.0f} MiB are needed for checkpoints"
        )


def train(cfg: DictConfig) -> dict[str, float]:
    """Build data, task and logger from ``cfg``, fit, evaluate; return the final metrics."""
    with open_dict(cfg):  # absolute paths, so the config saved in checkpoints works from anywhere
        cfg.paths.output_dir = str(Path(cfg.paths.output_dir).resolve())
        cfg.paths.data_dir = str(Path(cfg.paths.data_dir).expanduser().resolve())
    run_dir = Path(cfg.paths.output_dir)
    prepare_run_dir(run_dir)
    device = resolve_device(cfg.trainer.device)
    amp = Amp(cfg.trainer.precision, device)
    resume_state, resume_path = None, ""
    if cfg.trainer.resume:
        resume_path = resolve_checkpoint(cfg.trainer.resume)
        resume_state = load_checkpoint(resume_path)

    if cfg.trainer.cpu_threads:
        torch.set_num_threads(cfg.trainer.cpu_threads)
    torch.set_float32_matmul_precision("high")  # TF32 matmuls on CUDA for fp32 runs
    seed_everything(cfg.seed)
    data = load_data(cfg.data, data_dir=cfg.paths.data_dir)
    if cfg.data.batch_size > len(data.train_images):
        raise ConfigError(
            f"data.batch_size={cfg.data.batch_size} is larger than the training set "
            f"({len(data.train_images)} images); use a batch size <= {len(data.train_images)}"
        )
    log.info(
        "data %s: train %s, val %s, test %s (from %s)", data.name, tuple(data.train_images.shape),
        tuple(data.val_images.shape), tuple(data.test_images.shape), data.source,
    )  # fmt: skip
    data = data.to(device)
    task = build_task(cfg.model, data, device, projector_samples=cfg.logger.projector_samples)
    logger = TensorBoardLogger(run_dir / "tb", enabled=cfg.logger.enabled)
    config = OmegaConf.to_container(cfg, resolve=True)
    log.info(
        "training %s on %s (%s) for %d epochs",
        cfg.model.task,
        device,
        amp.precision,
        cfg.trainer.epochs,
    )

    progress = fit(
        task, data, amp,
        trainer_cfg=cfg.trainer, logger=logger, log_every_steps=cfg.logger.log_every_steps,
        checkpoint_dir=run_dir / "checkpoints", config=config, seed=cfg.seed,
        batch_size=cfg.data.batch_size, resume_state=resume_state, resume_path=resume_path,
    )  # fmt: skip

    task.eval()
    metrics = dict(task.evaluate(data, amp))
    last_val = progress.history[-1] if progress.history else {}
    metrics.update({k: v for k, v in last_val.items() if k != "epoch"})
    metrics["val/best_objective"] = progress.best_objective
    metrics["train/epochs"] = progress.epoch
    metrics["train/steps"] = progress.step
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    logger.hparams(
        flatten_config(cfg), {k: v for k, v in metrics.items() if math.isfinite(v)}, progress.step
    )
    task.log_final(logger, data, progress.step)
    logger.close()
    return metrics


def _report(cfg: DictConfig, metrics: dict[str, float]) -> None:
    run_dir = Path(cfg.paths.output_dir)
    shown = " ".join(
        f"{k}={v:.5g}" for k, v in sorted(metrics.items()) if k.startswith(("test/", "val/"))
    )
    log.info("run dir: %s", run_dir)
    log.info("tensorboard: tensorboard --logdir %s", run_dir / "tb")
    log.info("final metrics: %s", shown)


@hydra.main(version_base="1.3", config_path="../../conf", config_name="train")
def main(cfg: DictConfig) -> float:
    """Hydra entry point; returns the objective so a sweeper can minimise it."""
    try:
        metrics = train(cfg)
    except USER_ERRORS as err:
        if cfg.get("debug"):
            raise
        log.error("%s", err)
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    _report(cfg, metrics)
    return metrics["val/best_objective"]


if __name__ == "__main__":
    main()
