"""The training loop shared by every task: batches, cadence, validation, checkpoints, resume.

Read ``fit`` top to bottom: it restores a checkpoint if asked, then for each epoch runs the
step over device-resident batches, flushes the summed scalars every ``log_every_steps``
(the only host sync in the hot path), validates, logs the task's pictures and writes
``last.pt`` / ``best.pt``. A stop signal ends it after the step in flight, saved (in an
epoch's last step or validation: at once, the epoch saved unvalidated). What it shows as it
goes (the scalars, the bar, the time): ``aegan.engine.reporting``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch

from aegan.contract import Task
from aegan.data import DeviceBatches, ImageData
from aegan.engine.checkpoint import checkpoints_to_keep, save_checkpoint
from aegan.engine.checkpoint_contents import check_epoch_order
from aegan.engine.context import RunContext
from aegan.engine.device import eval_batch_size, evaluation_threads, seed_rank_stream
from aegan.engine.distributed import broadcast_buffers
from aegan.engine.failed_write import continue_in, continued_in_its_folder, names_a_write
from aegan.engine.interrupt import StopNow, TrainingInterrupted
from aegan.engine.networks_kept import Layout, check_networks_kept, network_layout
from aegan.engine.reporting import Clock, ScalarWindow, check_validation
from aegan.engine.state import Progress, checkpoint_state, restore
from aegan.errors import CheckpointError, NonFiniteError

log = logging.getLogger(__name__)


def fit(
    task: Task,
    step: Callable[[torch.Tensor], dict[str, torch.Tensor]],
    data: ImageData,
    trainer_cfg: Any,
    run: RunContext,
) -> Progress:
    """Train ``task`` with ``step`` (``aegan.speed.build_step``) for ``trainer_cfg.epochs``
    epochs; return where the run ended. Under torchrun every rank calls it."""
    images, binarize = data.training_pixels
    batches = DeviceBatches(  # shuffled each epoch, whole batches only (its defaults)
        images, batch_size=run.batch_size, seed=run.seed, rank=run.rank,
        world_size=run.world_size, binarize=binarize,
        labels=data.train_labels if task.uses_labels else None,
    )  # fmt: skip
    progress = Progress()
    keep = trainer_cfg.keep_checkpoints
    if run.resume is not None and run.is_main:  # counted before a branch moves later ones
        trained = run.resume[0]["config"].get("trainer")  # the earlier process's settings
        kept_before = trained.get("keep_checkpoints") if isinstance(trained, dict) else None
        keep = checkpoints_to_keep(run.checkpoint_dir, keep, kept_before)  # the earlier's stay
    if run.resume is not None:
        progress = restore(task, run.amp, run.resume[0], path=run.resume[1])
        run.stop.saved_step = progress.step
        check_epoch_order(run.resume[0], run.resume[1], run.world_size, run.batch_size)
        if progress.batch > len(batches):  # an epoch of another length: its order is not ours
            raise CheckpointError(
                f"{run.resume[1]}: it stopped at batch {progress.batch} of an epoch; this run "
                f"has {len(batches)} batches an epoch (other data, batch size or processes?)"
            )
        log.info(
            "resumed from %s at %s", run.resume[1], _position(progress, trainer_cfg, len(batches))
        )
        if run.on_restored is not None:
            run.on_restored()
    _own_streams(run, progress.step)
    total_steps = len(batches) * trainer_cfg.epochs
    every = trainer_cfg.checkpoint_every_steps
    if every and every >= total_steps and run.is_main:  # said as a setting without effect is
        log.warning("trainer.checkpoint_every_steps=%d has no effect: this run trains %d steps "
                    "(%d an epoch), and saves at each epoch's end", every, total_steps,
                    len(batches))  # fmt: skip
    window = ScalarWindow(task, run, trainer_cfg, total_steps, progress.step)
    if run.resume is not None:
        window.restore(run.resume[0].get("scalar_window"))  # the one a stop left open
    clock = Clock()
    first_step = progress.step
    built = network_layout(task)  # what the checkpoints save, and a resume builds again
    while progress.epoch < trainer_cfg.epochs:
        epoch_step = progress.step
        task.train()
        clock.start_epoch()
        window.restart_timer()
        for images_u8 in batches.epoch(progress.epoch, start_batch=progress.batch):
            window.add(step(images_u8), progress.step)
            progress.step += 1
            if progress.step == first_step + 1:  # a step that changes them: said at once
                check_networks_kept(task, built)
            progress.batch += 1
            if progress.step % run.log_every_steps == 0:
                _flush(clock, task, run, progress, keep, window, built)
            if every and progress.step % every == 0:
                # the divergence guard runs before a save
                _flush(clock, task, run, progress, keep, window, built)
                _save(task, run, progress, keep, window, built, is_best=False)
            run.stop.check(progress.step)  # under torchrun: every few seconds
            if run.stop.signal_number:
                break
        if run.stop.signal_number and progress.batch < len(batches):
            # no point logged here: the window is saved, and a resume continues it
            window.hold()
            _save(task, run, progress, keep, window, built, is_best=False)  # the next batch on
            _stop(run, window, progress, trainer_cfg, len(batches))
        _flush(clock, task, run, progress, keep, window, built)
        progress.epoch, progress.batch = progress.epoch + 1, 0
        clock.end_training()
        if run.world_size > 1:
            broadcast_buffers(task.networks.values())
        try:
            with run.stop.at_once():  # a signal here or in the last step: saved unvalidated
                is_best = _validate(task, data, run, progress, trainer_cfg)
        except StopNow:
            is_best = None
        except Exception as err:  # the task's validate, its pictures or what they returned
            _keep_unvalidated(task, run, progress, keep, window, built, len(batches), err)
            raise
        run.stop.agree()  # under torchrun: a rank's stop in its validation stops every rank
        if is_best is None:  # as at the epoch's last batch: a resume validates it again
            progress.epoch, progress.batch = progress.epoch - 1, len(batches)
            _save(task, run, progress, keep, window, built, is_best=False)
            _stop(run, window, progress, trainer_cfg, len(batches))
        clock.end_validation()
        _save(task, run, progress, keep, window, built, is_best=is_best)
        clock.report_epoch(progress.epoch, progress.step - epoch_step)
        window.report_skipped(f"epoch {progress.epoch}", progress.step - epoch_step)
        if run.stop.signal_number:  # it came in the saving, or another rank's validation
            _stop(run, window, progress, trainer_cfg, len(batches))
    window.close()
    clock.report_run()
    _check_trained(task, progress, window, progress.step - first_step)
    return progress


def _check_trained(task: Task, progress: Progress, window: ScalarWindow, steps: int) -> None:
    """Raise ``NonFiniteError`` for a run that trained nothing (every step skipped) or whose
    objective was never finite: checkpoints are kept, but it is no success."""
    window.report_skipped("training", steps, since_start=True)
    if steps and window.skipped_total - window.skipped_before >= steps:
        raise NonFiniteError(
            f"every one of the {steps} steps had a non-finite loss and was skipped "
            "(trainer.on_nonfinite=skip): nothing was trained; lower the learning rate or use "
            "bf16/fp32"
        )
    if progress.history and progress.best_objective == float("inf"):
        last = progress.history[-1].get(task.objective)
        said = f"the validation objective {task.objective} was never finite (last: {last}), so "
        said += "no best.pt was kept"
        if window.skipped_total:  # training diverged too (this run, or before its resume)
            raise NonFiniteError(
                f"{said}; {window.skipped_total} training steps had a non-finite loss and were "
                "skipped (trainer.on_nonfinite=skip): lower the learning rate or use bf16/fp32"
            )
        diverged = _nonfinite_network(task)
        if diverged is not None:  # an epoch's last update, after its last finite loss
            raise NonFiniteError(
                f"{said}; the weights of networks[{diverged!r}] are not finite, though every "
                "training step's scalars were: lower the learning rate or use bf16/fp32"
            )
        # every step's scalars were finite (a non-finite one stops or is skipped): not the
        # learning rate, but what validate computes from finite weights
        raise NonFiniteError(
            f"{said}, though every training step's scalars were finite: "
            f"{type(task).__name__}.validate computes it not finite from the trained weights "
            "(last.pt); check what it computes"
        )


def _nonfinite_network(task: Task) -> str | None:
    """The name of the first of ``task``'s networks holding a weight that is NaN or inf."""
    for name, network in task.networks.items():
        weights = [p for p in network.parameters() if p.is_floating_point()]
        if weights and not bool(torch.stack([p.isfinite().all() for p in weights]).all()):
            return name
    return None


def _validate(
    task: Task, data: ImageData, run: RunContext, progress: Progress, trainer_cfg
) -> bool:
    """Validate, log the figures and the task's pictures; return whether this is the best
    epoch by the task's objective. Evaluation runs eager, on every core."""
    device = data.val_images.device
    batch_size = eval_batch_size(trainer_cfg.eval_batch_size, device)
    task.train(False)
    with evaluation_threads(device):
        # copies: a task that changes its batch in place would change the images every
        # later epoch and the final metrics read
        batches = (
            data.val_images[i : i + batch_size].clone()
            for i in range(0, len(data.val_images), batch_size)
        )
        metrics = task.validate(batches, run.amp)
        check_validation(task, metrics)
        if run.is_main:
            run.logger.scalars(metrics, progress.step)
            task.log_epoch(run.logger, data, progress.step)
            run.logger.flush()
    progress.history.append({**metrics, "epoch": progress.epoch})
    objective = metrics[task.objective]
    is_best = objective < progress.best_objective
    if is_best:
        progress.best_objective = objective
    shown = " ".join(f"{k}={v:.5g}" for k, v in metrics.items())
    log.info("epoch %d/%d step %d: %s", progress.epoch, trainer_cfg.epochs, progress.step, shown)
    return is_best


def _flush(
    clock: Clock, task: Task, run: RunContext, progress: Progress, keep: int,
    window: ScalarWindow, built: Layout,
) -> None:  # fmt: skip
    """Log the window's scalars. Where the log cannot be written (its folder removed, a full
    disk), the steps since the last checkpoint are saved before the error: their weights are
    whole, only their points are lost (the epoch's last: saved unvalidated, as below)."""
    try:
        clock.flush(window, progress.step)
    except OSError:
        _save(task, run, progress, keep, window, built, is_best=False)
        raise


def _keep_unvalidated(
    task: Task, run: RunContext, progress: Progress, keep: int, window: ScalarWindow,
    built: Layout, steps_per_epoch: int, failed: Exception,
) -> None:  # fmt: skip
    """After validation ``failed``: the epoch's training saved as at its last batch, not yet
    validated, so that a resume validates it again (a failed write's own line says it). It was
    lost: the epoch's checkpoint is written after its validation."""
    progress.epoch, progress.batch = progress.epoch - 1, steps_per_epoch
    _save(task, run, progress, keep, window, built, is_best=False)
    if run.is_main and not names_a_write(failed):  # the task's failure: the line names it
        log.error(
            "%s.validate or log_epoch failed after epoch %d; its training is saved in %s: "
            "continue in its folder with %s, which validates it again",
            type(task).__name__, progress.epoch + 1, run.checkpoint_dir / "last.pt",
            continue_in(run.checkpoint_dir.parent),
        )  # fmt: skip


def _save(
    task: Task, run: RunContext, progress: Progress, keep: int, window: ScalarWindow,
    built: Layout, *, is_best: bool,
) -> None:  # fmt: skip
    check_networks_kept(task, built)  # else saved where no resume could load them
    if run.is_main:
        save_checkpoint(
            # how many images each step drew: a mid-epoch resume needs them
            checkpoint_state(task, run.amp, progress, {
                **run.record, "processes": run.world_size, "batch_size": run.batch_size,
                "scalar_window": window.state(),
            }),
            run.checkpoint_dir,
            step=progress.step, keep=keep, is_best=is_best,
        )  # fmt: skip
        run.stop.saved_step = progress.step
    _own_streams(run, progress.step)  # as a resume from this checkpoint will


def _own_streams(run: RunContext, step: int) -> None:
    """Each rank its own random stream from ``step`` (``seed_rank_stream``); one process
    keeps the one it has."""
    if run.world_size > 1:
        seed_rank_stream(run.seed, step, run.rank)


def _position(progress: Progress, trainer_cfg, steps_per_epoch: int) -> str:
    """Where ``progress`` stands, for the log: "step 41 (epoch 2/2, batch 10/31)"."""
    if progress.batch == 0 and progress.epoch > 0:
        return f"step {progress.step} (end of epoch {progress.epoch}/{trainer_cfg.epochs})"
    return (
        f"step {progress.step} (epoch {progress.epoch + 1}/{trainer_cfg.epochs}, "
        f"batch {progress.batch}/{steps_per_epoch})"
    )


def _stop(run: RunContext, window: ScalarWindow, progress, trainer_cfg, steps_per_epoch) -> None:
    """After a stop signal, with the checkpoint written: say where, and how to go on."""
    window.close()
    run.logger.flush()
    if run.world_size > 1:
        torch.distributed.barrier()  # no rank exits before rank 0 has saved
    raise TrainingInterrupted(
        f"stopped by {run.stop.name} at {_position(progress, trainer_cfg, steps_per_epoch)}; "
        f"saved {run.checkpoint_dir / 'last.pt'}{continued_in_its_folder(run.checkpoint_dir.parent)}",
        run.stop.signal_number,
        progress.step,
    )
