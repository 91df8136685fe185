"""Train a model from the composed Hydra config: ``python -m aegan.train [overrides]``.

``train(cfg)`` does the work and returns the final metrics; ``main`` is the thin
``@hydra.main`` wrapper that turns expected errors into one line and returns the
objective (the best validation figure) for sweepers.
"""

from __future__ import annotations

# first, before the seconds torch and Hydra take: a stop signal while they import is one line
from aegan.signals.starting_signals import stopped_by

# isort: split
import contextlib
import copy
import functools
import logging
from collections.abc import Callable
from pathlib import Path

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

from aegan.amp import Amp, emulated_bf16, resolve_precision
from aegan.cli.hydra_dirs import check_hydra_dirs
from aegan.cli.hydra_job import (
    back_to_launch_folder,
    in_sweep,
    is_rank_zero,
    note_failed_job,
    report_end,
    say_stopped,
    sweep_objective,
    write_failure,
    write_hydra_record,
    write_stopped,
)
from aegan.cli.one_line import one_line_errors, one_line_hydra_errors
from aegan.config import CONF_DIR, validate_config
from aegan.data import load_data
from aegan.data.fingerprint import check_same_data, data_fingerprint
from aegan.data.read_once import forget_reads
from aegan.engine import RunContext, fit, resume_state
from aegan.engine.branch import keep_later_checkpoints
from aegan.engine.checkpoint import take_as_last
from aegan.engine.device import resolve_device, seed_everything, threads_chosen
from aegan.engine.distributed import (
    Distributed,
    GradientAverager,
    check_shards,
    failures_said_once,
    init_distributed,
    one_voice,
    shutdown_distributed,
)
from aegan.engine.failed_write import one_line_write_errors
from aegan.engine.folder_lock import TRAIN_ELSEWHERE, hold_run_folder
from aegan.engine.interrupt import TrainingInterrupted, stop_before_training, stop_on_signals
from aegan.engine.process_state import process_state_kept
from aegan.engine.run_dir import check_layout
from aegan.engine.run_metrics import (
    evaluation_ended,
    evaluation_started,
    new_points,
    training_continued,
    training_ended,
    training_metrics,
    write_training_metrics,
)
from aegan.engine.run_record import earlier_run
from aegan.errors import USER_ERRORS, TrialFailed
from aegan.evaluate import evaluate_at_end, log_codes
from aegan.io.logfile import hold_run_log
from aegan.logger import TensorBoardLogger, finite_figures, hparams_of
from aegan.run_folder import folder_setting, run_folder
from aegan.runs.record import leave_added_settings, run_choices
from aegan.runs.record_networks import check_resumed_checkpoint
from aegan.settings.overrides import literal
from aegan.signals.sweep_stops import stopped_before_start, stopped_in_worker
from aegan.speed import build_step, cpu_threads, denormal_mode, flushes_denormals
from aegan.sweeps.reader import is_grid
from aegan.tasks import build_task

log = logging.getLogger("aegan.train")


def train(cfg: DictConfig, on_resume: Callable[[], None] | None = None) -> dict[str, float]:
    """Build data, task and logger from ``cfg``, fit, evaluate; return the final metrics.

    Under ``torchrun`` every rank trains on its shard; rank 0 alone logs, writes
    checkpoints and ``metrics.json``, and calls ``on_resume`` once a run dir that holds a
    trained run is found to be this run's to continue. ``cfg`` and the process's threads,
    matmul precision and random generators are as they were after it, however it ends.
    """
    with process_state_kept(), one_voice():  # not decorators: a launcher pickles train
        return _train_in_its_folder(copy.deepcopy(cfg), on_resume)  # made absolute, resolved


def _train_in_its_folder(cfg: DictConfig, on_resume: Callable[[], None] | None) -> dict:
    """What ``train`` does: check the settings, hold the run's folder, train there."""
    validate_config(cfg)
    with open_dict(cfg):  # absolute paths, so the config saved in checkpoints works from anywhere
        cfg.paths.output_dir = literal(str(Path(cfg.paths.output_dir).resolve()))
        cfg.paths.data_dir = literal(str(Path(cfg.paths.data_dir).expanduser().resolve()))
        if isinstance(cfg.data.get("root"), str):  # a run read back from another folder
            cfg.data.root = literal(str(Path(cfg.data.root).expanduser().resolve()))
        # what ran, in the record and the hparams: bf16 or fp32 for auto, by this machine
        asked, device = cfg.trainer.precision, resolve_device(cfg.trainer.device)
        cfg.trainer.precision = resolve_precision(asked, device)
    if asked != cfg.trainer.precision:
        log.info("trainer.precision=%s: %s on this device", asked, cfg.trainer.precision)
    if slow := emulated_bf16(cfg.trainer.precision, device):
        log.warning("%s", slow)
    run_dir = Path(cfg.paths.output_dir)
    with run_folder(cfg, run_dir):  # one process at a time, and checked before it is made
        dist = init_distributed(cfg.trainer.device, OmegaConf.to_container(cfg, resolve=True))
        try:  # a failed write into the run's record: one line that says what is kept
            with one_line_write_errors(run_dir), stop_before_training(), failures_said_once():
                return _train(cfg, run_dir, dist, on_resume)
        except TrainingInterrupted as err:
            # for aegan.summarize: the sweep's jobs to resume; not in a trained run's folder
            # when its resume had not begun
            if dist.is_main and not (err.phase == "setup" and on_resume is not None):
                write_stopped(run_dir, err)
            raise
        finally:
            shutdown_distributed()


def _train(
    cfg: DictConfig, run_dir: Path, dist: Distributed, on_resume: Callable[[], None] | None
) -> dict[str, float]:
    device = dist.device
    record = {"config": OmegaConf.to_container(cfg, resolve=True), "choices": run_choices(cfg)}

    def as_trained(state: dict) -> None:  # the run auto continues: settings added since
        for key in leave_added_settings(cfg, state):
            log.info("trainer.resume=auto: %s is not in the run's record (added since it "
                     "trained): left to the task's default, as it trained", key)  # fmt: skip
        record["config"] = OmegaConf.to_container(cfg, resolve=True)

    resume = resume_state(cfg, run_dir, record, folder_setting(), found=as_trained)
    if resume is not None:
        check_resumed_checkpoint(cfg, *resume, say_changes=True)
    torch.set_float32_matmul_precision("high")  # TF32 matmuls on CUDA for fp32 runs
    seed_everything(cfg.seed)  # the same on every rank: identical initial weights

    with dist.main_first():  # a missing data set is fetched once, not by every rank at once
        data = load_data(cfg.data, data_dir=cfg.paths.data_dir)
    if not in_sweep():  # the files read before the folder was made: taken, none to hold
        forget_reads()
    check_shards(cfg.data.batch_size, dist.world_size, len(data.train_images), "")
    log.info(
        "data %s: train %s, val %s, test %s (from %s)", data.name, tuple(data.train_images.shape),
        tuple(data.val_images.shape), tuple(data.test_images.shape), data.source,
    )  # fmt: skip
    record["data"] = data_fingerprint(data)  # saved with every checkpoint
    if resume is not None:  # the files under the same settings may have changed since
        what = f"trainer.resume={cfg.trainer.resume}"
        check_same_data(resume[0], record["data"], cfg.data, what=what)
    data = data.to(device)
    task = build_task(cfg.model, data.image_shape, device)
    task.check_data(data)  # what only the data tells (its classes), before a step
    if threads := cpu_threads(cfg.trainer, task):
        torch.set_num_threads(threads)
    if dist.world_size > 1 and cfg.trainer.sync_batchnorm:
        for network in task.networks.values():
            torch.nn.SyncBatchNorm.convert_sync_batchnorm(network)
    params = [p for o in task.optimizers.values() for g in o.param_groups for p in g["params"]]
    averager = GradientAverager(params, dist.world_size) if dist.world_size > 1 else None
    amp = Amp(
        cfg.trainer.precision, device, skip_nonfinite=cfg.trainer.on_nonfinite == "skip",
        after_backward=averager,
    )  # fmt: skip
    step = build_step(task, amp, cfg.trainer, device)
    # what was logged past the checkpoint's step goes; all, where none (a killed attempt's)
    purge_step = resume[0]["step"] + 1 if resume else 0
    logger = TensorBoardLogger(
        run_dir / "tb", enabled=cfg.logger.enabled and dist.is_main, purge_step=purge_step
    )
    log.info(
        "training %s on %s x%d (%s, torch threads: %d, compile=%s, capture_step=%s, "
        "channels_last=%s) for %d epoch%s",
        task.name, device, dist.world_size, amp.precision, torch.get_num_threads(),
        cfg.trainer.compile, cfg.trainer.capture_step, cfg.trainer.channels_last,
        cfg.trainer.epochs, "s" * (cfg.trainer.epochs != 1),
    )  # fmt: skip

    # Ctrl-C / SIGTERM: the step in flight ends, a checkpoint is saved (engine/interrupt.py)
    flush = flushes_denormals(cfg.trainer, device)
    # the log closed (flushed) however the run ends: a failed final evaluation, a stop
    with (
        stop_on_signals(dist.world_size, device, run_dir, resuming=on_resume is not None) as stop,
        denormal_mode(flush),
        threads_chosen(bool(cfg.trainer.cpu_threads)),
        contextlib.closing(logger),
    ):
        context = RunContext(
            amp=amp, logger=logger, checkpoint_dir=run_dir / "checkpoints", record=record,
            seed=cfg.seed, batch_size=cfg.data.batch_size,
            log_every_steps=cfg.logger.log_every_steps, rank=dist.rank,
            world_size=dist.world_size, stop=stop, resume=resume,
            on_restored=functools.partial(_restored, run_dir, resume, on_resume, stop)
            if dist.is_main else None,
        )  # fmt: skip
        progress = fit(task, step, data, cfg.trainer, context)
        metrics = training_metrics(progress)
        if dist.is_main:
            recorded = write_training_metrics(run_dir, metrics)
            training_ended(run_dir)
            for earlier in ("stopped.json", "failed.json"):  # an earlier attempt's: it trained
                (run_dir / earlier).unlink(missing_ok=True)
            stop.alone()  # all is written and the other ranks have left: a signal stops now
            task.train(False)
            if cfg.evaluate.at_end:  # the same evaluation as `python -m aegan.evaluate`
                evaluation_started(run_dir, progress.step)
                evaluated = evaluate_at_end(cfg, task, data, run_dir, stop, progress.step)
                # training's points are there; a finished run resumed has this evaluation's
                points = new_points(
                    recorded, finite_figures(evaluated), progress.step, purged_from=purge_step
                )
                metrics.update(evaluated)
                recorded = write_training_metrics(run_dir, metrics)
                evaluation_ended(run_dir)
                logger.scalars(points, progress.step)
            log_codes(task, data, logger, cfg.logger.projector_samples, progress.step)
            logger.hparams(hparams_of(cfg), finite_figures(recorded), progress.step)
    return metrics


def _restored(run_dir: Path, resume: tuple, on_resume: Callable[[], None] | None, stop) -> None:
    """The resume has begun: the run folder becomes this run's (its record, a branch's
    checkpoints beside those trained past its start), and a stop is no longer in setup."""
    keep_later_checkpoints(run_dir, resume[1], int(resume[0]["step"]), int(resume[0]["epoch"]))
    take_as_last(resume[1], run_dir / "checkpoints")  # a step file a cut-short save left
    training_continued(run_dir, int(resume[0]["step"]))  # past the figures it may hold
    stop.phase = "training"
    if on_resume is not None:
        on_resume()


@one_line_hydra_errors
@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Hydra entry point; returns the objective so a sweeper can minimise it (None where it
    is not finite, which fails a search's trial).

    In a sweep (``-m``) a job that raises does not end the sweep: its error and overrides go
    to ``RUN_DIR/failed.json`` and the log; a grid's job returns None, a search's raises
    ``TrialFailed`` (Optuna raises it again once more failed than ``max_failure_rate``
    allows). A single run's error is one line; it too leaves ``failed.json``, unless it was
    refused in a trained run's folder. A job stopped in a joblib worker returns None.
    """
    if stopped_before_start():  # a joblib worker's job after the sweep's stop: not run
        return None
    back_to_launch_folder(log)  # relative paths are the user's, not the run folder's
    composed = copy.deepcopy(cfg)  # as Hydra composed it: train() resolves its paths
    owned = False  # the folder is this run's: a new one, or a run it continues
    write_held_log: Callable[[], None] | None = None  # a trained run's log, kept back

    def own_folder() -> None:
        nonlocal owned
        if is_rank_zero():  # the first write into a new folder: a full disk says so here
            with one_line_write_errors(Path(HydraConfig.get().runtime.output_dir)):
                write_hydra_record(composed)
        owned = True  # after the record: a folder that refuses it was never this run's
        if write_held_log is not None:
            write_held_log()

    try:
        check_hydra_dirs()  # before the record is written there
        run_dir = Path(HydraConfig.get().runtime.output_dir)
        check_layout(run_dir)
        with hold_run_folder(run_dir, TRAIN_ELSEWHERE):
            held = earlier_run(run_dir) is not None
            if not held:
                own_folder()  # first: a run that fails is still listed by aegan.summarize
            else:  # a trained run's: its log takes this run's lines once it continues it
                write_held_log = hold_run_log()
            metrics = train(cfg, on_resume=own_folder if held else None)
            if write_held_log is not None:  # it trained without resuming: nothing to keep back
                write_held_log()
        report_end(cfg, metrics)
        objective = sweep_objective(metrics)
    except TrainingInterrupted as err:  # ends a sweep too: the user asked to stop
        say_stopped(err)
        if stopped_in_worker(err.signal_number):  # a joblib job: the sweep's process ends it
            return None
        raise stopped_by(err.signal_number) from None
    except Exception as err:
        if not in_sweep():  # a user error: one line, to the console and train.log
            if owned and is_rank_zero():  # not a run refused in a trained run's folder
                write_failure(err)
            with one_line_errors(USER_ERRORS, debug=cfg.get("debug") is True, logger=log):
                raise
        note_failed_job(err, debug=cfg.get("debug") is True, owned=owned)
        if not is_grid(HydraConfig.get().sweeper):
            raise TrialFailed(f"job {HydraConfig.get().job.num} failed: {err}") from None
        return None  # a grid's sweeper ends the sweep on a job's error
    return objective


if __name__ == "__main__":
    main()
