"""``python -m aegan.train`` as a Hydra job: its record in the run folder, what it says at its
end, what it gives a sweeper, and what a sweep keeps of a job that fails or is stopped.

Hydra writes ``.hydra/`` itself before the task runs; ``conf/hydra`` turns that off so that a
command refused for a folder holding a trained run does not replace that run's record.
"""

from __future__ import annotations

import logging
import math
import os
import traceback
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from aegan.engine.distributed import launch
from aegan.engine.failed_write import CONTINUE_SAME
from aegan.engine.folder_lock import FolderInUseError
from aegan.engine.interrupt import TrainingInterrupted
from aegan.errors import USER_ERRORS, NonFiniteError
from aegan.io.files import atomic_write_bytes, write_json
from aegan.settings.overrides import given_overrides
from aegan.signals.starting_signals import stopped_by
from aegan.signals.sweep_stops import stopped_in_worker
from aegan.sweeps.end import note_not_run
from aegan.sweeps.not_run import METRICS_THEN, forget_not_run, result_hash
from aegan.sweeps.reader import is_grid

log = logging.getLogger("aegan.train")


def write_hydra_record(composed: DictConfig) -> None:
    """RUN_DIR/.hydra/{config,hydra,overrides}.yaml, as Hydra writes them, as the run takes
    its folder: a sweep's record that passed the folder over is no longer true."""
    hydra_cfg = HydraConfig.get()
    folder = Path(hydra_cfg.runtime.output_dir) / ".hydra"
    folder.mkdir(parents=True, exist_ok=True)
    nodes = {"config.yaml": composed, "hydra.yaml": OmegaConf.create({"hydra": hydra_cfg}),
             "overrides.yaml": hydra_cfg.overrides.task}  # fmt: skip
    for name, node in nodes.items():
        atomic_write_bytes(folder / name, OmegaConf.to_yaml(node).encode())
    forget_not_run(folder.parent)


def back_to_launch_folder(logger: logging.Logger) -> None:
    """Undo ``hydra.job.chdir=true``, saying so in one warning line: every relative path a
    command takes (``paths.data_dir``, ``data.root``, ``trainer.resume``, the classifier
    cache) is the user's, relative to where the command was typed, and each entry point
    writes into its run folder by absolute path, needing no working folder of its own."""
    if not HydraConfig.initialized() or not HydraConfig.get().job.chdir:
        return
    os.chdir(HydraConfig.get().runtime.cwd)
    logger.warning(
        "hydra.job.chdir=true has no effect: relative paths are taken from the folder the "
        "command runs in (%s), and the run's files go to its folder by absolute path",
        HydraConfig.get().runtime.cwd,
    )


def in_sweep() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def is_rank_zero() -> bool:
    """Rank 0 under torchrun, or the only process: the one that speaks (works before and
    after the process group)."""
    return launch()[0] == 0


def say_stopped(stop: TrainingInterrupted) -> None:
    """A run's stop, in its line; in a sweep, with the job's values and how to go on."""
    if is_rank_zero():
        log.error("%s", _stopped_sweep_message(str(stop)) if in_sweep() else str(stop))


def _stopped_sweep_message(message: str) -> str:
    """A stop's message in a sweep: "the same command" is this job's, not the sweep's. A
    grid goes on in its folder; a search (Optuna) does not (``check_sweep_folder``)."""
    hydra_cfg = HydraConfig.get()
    later = "jobs" if is_grid(hydra_cfg.sweeper) else "trials"
    if later == "trials" and CONTINUE_SAME in message:  # a trial is no command of its own
        message = message.partition(CONTINUE_SAME)[0] + (
            f"; python -m aegan.evaluate run={hydra_cfg.runtime.output_dir} measures the "
            "trial's weights"
        )
    return f"{message}{which_sweep_job()}; later {later} did not run. {going_on(hydra_cfg)}"


def which_sweep_job() -> str:
    """What a line of a sweep's job adds to say which it was: its number and overrides."""
    hydra_cfg = HydraConfig.get()
    return f" (sweep job {hydra_cfg.job.num}: {' '.join(given_overrides(hydra_cfg))})"


def going_on(hydra_cfg: DictConfig) -> str:
    """How to go on with a stopped sweep: a grid in its folder, a search in another."""
    if is_grid(hydra_cfg.sweeper):
        return (
            f"To go on with the whole sweep: rerun it with hydra.sweep.dir={hydra_cfg.sweep.dir} "
            "trainer.resume=auto"
        )
    line = "A search is not continued in its folder: search on in another one (hydra.sweep.dir=...)"
    if hydra_cfg.sweeper.get("storage"):  # not shown: it may hold a password
        line += ", with the same hydra.sweeper.storage, which goes on from its trials"
    return line


# a stopped evaluation sweep (-m run=A,B): how to go on, and what a stop did to the jobs
# in flight where they run in processes of their own (joblib, submitit_local)
EVALUATIONS_GO_ON = "run the same command again"
EVALUATIONS_IN_FLIGHT = (
    "each evaluation in flight stopped and named its run, whose metrics.json is whole"
)


def evaluation_stopped(line: str) -> str:
    """A stop's line of ``aegan.evaluate``; in a sweep (``-m run=A,B``), with the job it
    stopped and how to go on: the later jobs did not run, and the line named no other run."""
    if not in_sweep():
        return line
    return f"{line}{which_sweep_job()}; later jobs did not run: {EVALUATIONS_GO_ON}"


def end_stopped_evaluation(logger: logging.Logger, line: str, signal_number: int) -> None:
    """A stopped evaluation's ``line`` (as ``evaluation_stopped`` says it), then its end by
    the signal; in a sweep's worker the job returns, and the sweep's process ends the sweep
    by the signal: joblib terminated the other jobs' processes on a job's ``SystemExit``."""
    logger.error("%s", evaluation_stopped(line))
    if not stopped_in_worker(signal_number):
        raise stopped_by(signal_number)  # not 0: a script's next command (&&) is not run


def note_failed_job(err: Exception, *, debug: bool, owned: bool) -> None:
    """A sweep's job that raised: its error and overrides in RUN_DIR/failed.json and the log
    (a traceback only for what is not a user's mistake), and the sweep goes on. A job that
    never ``owned`` its folder (a trained run's, refused) writes nothing there."""
    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    if isinstance(err, FolderInUseError) or not owned:  # another's folder: as it was
        log.error("job %s did not run, the sweep goes on: %s", hydra_cfg.job.num, err)
        sweep_dir = Path(str(hydra_cfg.sweep.dir)).absolute()
        note_not_run(sweep_dir, run_dir.absolute(), hydra_cfg.job.num, str(err))
        return
    written = write_failure(err)
    unexpected = debug or not isinstance(err, USER_ERRORS)
    log.error(
        "job %s failed, the sweep goes on: %s: %s%s", hydra_cfg.job.num, type(err).__name__,
        err, f" (see {run_dir / 'failed.json'})" if written else "", exc_info=bool(unexpected),
    )  # fmt: skip


def write_failure(err: Exception) -> bool:
    """RUN_DIR/failed.json: the error, its type, the run's overrides and the traceback, which
    ``aegan.summarize`` and ``scripts/compare.py`` show as a failed run. False, with a
    warning, where it cannot be written: the error it records is what the user must see."""
    hydra_cfg = HydraConfig.get()
    failure = {
        "error": str(err),
        "type": type(err).__name__,
        "overrides": given_overrides(hydra_cfg),
        "traceback": traceback.format_exc(),
        # the figures this failure follows: a metrics.json changed since is of a later run
        METRICS_THEN: result_hash(Path(hydra_cfg.runtime.output_dir) / "metrics.json"),
    }
    path = Path(hydra_cfg.runtime.output_dir) / "failed.json"
    try:
        write_json(path, failure)
    except (OSError, ValueError) as write_err:  # the folder that failed the run, often
        reason = getattr(write_err, "strerror", None) or write_err
        log.warning("%s cannot be written (%s): the run is not listed as failed", path, reason)
        return False
    return True


def sweep_objective(metrics: dict[str, float]) -> float | None:
    """The figure a sweeper ranks the job by; None where it is not finite, and in a search
    ``NonFiniteError``: Optuna counted the None as a failed trial but never stopped on it, and
    ``aegan.summarize`` listed the job ok, with no figure to rank."""
    objective = metrics["val/best_objective"]
    if math.isfinite(objective):
        return objective
    if in_sweep() and not is_grid(HydraConfig.get().sweeper):
        raise NonFiniteError(
            f"val/best_objective is {objective}: the search has no figure to rank the trial "
            "by, so it counts as failed (hydra.sweeper.max_failure_rate); its figures are kept "
            "in metrics.json"
        )
    return None


def write_stopped(run_dir: Path, err: TrainingInterrupted) -> None:
    """RUN_DIR/stopped.json: the stop (signal, step, phase, how to go on), which
    ``aegan.summarize`` shows as a stopped job to resume; a warning where it cannot be
    written: the stop, and how to resume, are still said."""
    stopped = {"signal": err.signal_name, "step": err.step, "phase": err.phase,
               "message": str(err)}  # fmt: skip
    try:
        write_json(run_dir / "stopped.json", stopped)
    except OSError as write_err:
        log.warning("%s not written: %s", run_dir / "stopped.json", write_err)


# what the console line leaves to metrics.json: the floors (shown beside their figures), how
# the evaluation ran (IWAE's k and images too), how far training went, the domain
# classifier's own accuracy
NOT_HEADLINE = ("floor/", "eval/", "train/", "classifier/", "gen/samples", "test/iwae_k",
                "test/iwae_images")  # fmt: skip


def headline(metrics: dict[str, float]) -> str:
    """The final figures of every kind the model has (reconstruction, likelihood, codes,
    samples), each generated figure beside its real floor: ``gen/fd=13.2 (floor 0.15)``."""
    shown = []
    for key, value in sorted(metrics.items()):
        if key.startswith(NOT_HEADLINE) or key.endswith("_std"):
            continue
        floor = metrics.get("floor/" + key.removeprefix("gen/")) if key.startswith("gen/") else None
        value += 0.0  # -0.0 (an entropy of one class) shown as 0
        shown.append(f"{key}={value:.5g}" + ("" if floor is None else f" (floor {floor:.4g})"))
    return " ".join(shown)


def report_end(cfg: DictConfig, metrics: dict[str, float]) -> None:
    """The run's end on the console: where it is, how to look at it, its final figures."""
    if not is_rank_zero():
        return
    run_dir = Path(cfg.paths.output_dir)
    log.info("run dir: %s", run_dir)
    if cfg.logger.enabled:  # logger=none writes no tb/ folder to point at
        log.info("tensorboard: tensorboard --logdir %s", run_dir / "tb")
    log.info("final metrics: %s", headline(metrics))
