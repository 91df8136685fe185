"""Throughput of the project's training step against a plain PyTorch loop, in one process.

    python -m aegan.bench model=autoencoder|dcgan [batch_size=N] [steps=N] [precisions=[bf16,fp32]]
        [compile_modes=[none,default]] [compile_scopes=[network,step]] [capture_step=[false,true]]
        [channels_last=[false,true]] [threads=[1,2]]
        ["variants={foreach:['model.optimizer.fused=false','model.optimizer.foreach=true']}"]

The project side runs exactly the engine's iteration (``aegan.speed.build_step``) over
device-resident batches, with its scalars accumulated as ``aegan.train`` does. The plain
side is what a tutorial writes (the task's ``tutorial_step``): torchvision ``FashionMNIST``
+ ``ToTensor`` + ``DataLoader(shuffle=True)``, the same networks, fp32, eager, default Adam. Every
configuration (variant x precision x compile mode and scope x capture x channels_last x
threads) is built and warmed up first (compile and capture time are excluded and reported
as ``warmup_s``), then all are timed in turn ``repeats`` times, so that a change of machine
load falls on all alike; the median is reported, as wall time (images/s, ratio) and as
process CPU time per step. One JSON line per configuration; its ``ratio`` is to the plain
loop at the same thread count. A configuration that fails to build or warm up (a compiler
missing on this machine, say) gets a line with its ``error`` instead, and the others are
timed as usual.

``variants`` maps a name to a list of ``key=value`` overrides, checked as on the command line
before anything is timed: each ``key`` must be a setting of the config (``+key=value`` adds
one that is not), and the variant's configurations are validated as a run's. Each list setting
(precisions, compile_modes, ...) holds values that its trainer setting takes, or null: the
run's own (``experiment=X``: the recipe's), the default (``bench_lists``). A setting bench
ignores (``trainer.resume``, the epochs, evaluation and logger: ``bench_ignored.IGNORED``) is
refused, given on the command line or in a variant. Its folder (``hydra.run.dir``; by default
``paths.log_dir/bench/TASK_NAME/runs/DATE``, a recipe's task_name too) may not hold a
trained run or be inside one, and ``bench.jsonl`` there must be a file or nothing.
Ctrl-C or SIGTERM ends it in one line saying which rows are in ``bench.jsonl``.
"""

from __future__ import annotations

# first, before the seconds torch and Hydra take: a stop signal while they import is one line
from aegan.signals.starting_signals import work_began

# isort: split
import datetime as dt
import json
import logging
import os
import statistics
from collections.abc import Callable, Iterator
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig, OmegaConf

from aegan.amp import Amp
from aegan.bench_plan import checked_configurations
from aegan.cli.hydra_job import back_to_launch_folder
from aegan.cli.one_line import one_line_errors, one_line_hydra_errors
from aegan.config import CONF_DIR
from aegan.data import DeviceBatches, ImageData, load_data
from aegan.data.idx import read_idx, write_idx
from aegan.data.sources import idx_file
from aegan.engine.device import resolve_device, seed_everything
from aegan.engine.reporting import check_step_scalars
from aegan.engine.scalars import StepAccumulator
from aegan.errors import USER_ERRORS, CheckpointError, written
from aegan.io.path_kinds import path_kind
from aegan.speed import (
    build_step,
    denormal_mode,
    denormals_flushed,
    flushes_denormals,
)
from aegan.tasks import build_task
from aegan.timing import Timed, describe, device_name, time_round_robin

log = logging.getLogger("aegan.bench")


def _cycle(make_iterator: Callable[[int], Iterator]) -> Callable[[], object]:
    """A ``next()`` that starts a new epoch when one runs out."""
    state = {"epoch": 0, "it": make_iterator(0)}

    def next_batch():
        try:
            return next(state["it"])
        except StopIteration:
            state["epoch"] += 1
            state["it"] = make_iterator(state["epoch"])
            return next(state["it"])

    return next_batch


def project_step(cfg: DictConfig, data: ImageData, device: torch.device) -> Callable[[], None]:
    """The engine's own iteration for ``cfg``: device batches, the step of ``build_step``
    (channels_last, fast dropout, compile, capture), AMP (with ``trainer.on_nonfinite``'s
    skipping), the step accumulator."""
    task = build_task(cfg.model, data.image_shape, device)
    task.check_data(data)  # what only the data tells (its classes), before a step
    # as aegan.train makes it: trainer.on_nonfinite=skip checks every step's gradients
    amp = Amp(cfg.trainer.precision, device, skip_nonfinite=cfg.trainer.on_nonfinite == "skip")
    train_step = build_step(task, amp, cfg.trainer, device)
    task.train()
    images, binarize = data.training_pixels
    batches = DeviceBatches(
        images, batch_size=cfg.data.batch_size, seed=0, binarize=binarize,
        labels=data.train_labels if task.uses_labels else None,
    )  # fmt: skip
    next_batch = _cycle(batches.epoch)
    stats = StepAccumulator()
    counter = {"step": 0}

    def step() -> None:
        scalars = train_step(next_batch())
        if counter["step"] == 0:  # what the engine checks of a task's step, bench does too
            check_step_scalars(task, scalars)
        stats.add(scalars, counter["step"])
        counter["step"] += 1
        if counter["step"] % 100 == 0:  # the engine reads its scalars this often
            stats.read()

    return step


def torchvision_root(data: ImageData, data_dir: Path) -> Path:
    """A folder in torchvision's layout (FashionMNIST/raw/ with unpacked IDX files) for the plain loop."""
    raw = data_dir / "FashionMNIST" / "raw"
    names = [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ]
    if not all((raw / n).is_file() for n in names):
        raw.mkdir(parents=True, exist_ok=True)
        for name in names:  # unpacked as aegan reads them: gzipped or not, as their bytes say
            write_idx(raw / name, read_idx(idx_file(Path(data.source), name)).numpy())
    return data_dir


def plain_step(
    cfg: DictConfig, data: ImageData, data_dir: Path, device: torch.device
) -> Callable[[], None] | None:
    """What pytorch/examples and the tutorials do: DataLoader + ToTensor, fp32, eager, Adam();
    None for a model without such a tutorial loop (``Task.tutorial_step``)."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    dataset = datasets.FashionMNIST(
        str(torchvision_root(data, data_dir)), train=True, transform=transforms.ToTensor()
    )
    loader = DataLoader(dataset, batch_size=cfg.data.batch_size, shuffle=True, drop_last=True)
    task = build_task(cfg.model, data.image_shape, device)
    if not writes_its_tutorial(type(task)):
        return None
    return task.tutorial_step(_cycle(lambda _epoch: iter(loader)))


def writes_its_tutorial(task_class: type) -> bool:
    """Whether the class that writes ``task_class``'s ``train_step`` also writes its
    ``tutorial_step``: a subclass with a step of its own (InfoGAN's Q head, a denoising
    autoencoder's noise) would otherwise be timed against its parent's plain loop."""

    def writer(name: str) -> type | None:
        return next((k for k in task_class.__mro__ if name in vars(k)), None)

    tutorial = writer("tutorial_step")
    return tutorial is not None and tutorial is writer("train_step")


def warn_inert_scopes(cfg: DictConfig, configs: list[tuple[dict, DictConfig]]) -> None:
    """compile_scopes=[step] where no configuration compiles: timed as without it, in silence."""
    if all(labels["compile"] == "none" for labels, _ in configs) and any(cfg.compile_scopes):
        scopes, modes = (
            OmegaConf.to_container(cfg[k]) for k in ("compile_scopes", "compile_modes")
        )
        log.warning("compile_scopes=%s has no effect: compile_modes=%s compiles nothing",
                    written(repr(scopes)), written(repr(modes)))  # fmt: skip


def benchmark(cfg: DictConfig) -> list[dict]:
    """Time the plain loop (once per thread count) and the project's step for each
    configuration, round robin in this process; return one row per configuration."""
    configs = checked_configurations(cfg)
    warn_inert_scopes(cfg, configs)
    device = resolve_device(cfg.trainer.device)
    seed_everything(cfg.seed)
    data_dir = Path(cfg.paths.data_dir).expanduser().resolve()
    data = load_data(cfg.data, data_dir=data_dir)
    load_before = os.getloadavg()[0]
    plain = {
        n: Timed(f"plain/{n}", step, n, plain=True, steps=cfg.plain_steps)
        for n in sorted({labels["threads"] for labels, _ in configs})
        if (step := plain_step(cfg, data, data_dir, device)) is not None
    }  # the project's step alone where the model has no tutorial loop
    device_data = data.to(device)
    project = []
    for labels, run_cfg in configs:
        labels["cuda_graphs"] = device.type == "cuda" and (
            labels["compile"] in ("reduce-overhead", "max-autotune") or labels["capture_step"]
        )
        torch.set_num_threads(labels["threads"])
        entry = Timed(
            str(labels), None, labels["threads"],
            cudnn_benchmark=bool(run_cfg.trainer.cudnn_benchmark),
            flush_denormal=flushes_denormals(run_cfg.trainer, device),
        )  # fmt: skip
        try:
            entry.step = project_step(run_cfg, device_data, device)
        except Exception as error:  # noqa: BLE001 - reported in the row, the rest still run
            entry.error = describe(error)
            log.warning("%s could not be built, not timed: %s", entry.name, entry.error)
        project.append(entry)
    timing = dict(steps=cfg.steps, warmup=cfg.warmup, repeats=cfg.repeats, device=device)
    with denormal_mode(denormals_flushed()):  # each configuration sets its own in turn
        time_round_robin([*plain.values(), *project], **timing)
    load = round((load_before + os.getloadavg()[0]) / 2, 2)
    batch = cfg.data.batch_size
    rows = []
    for (labels, _), entry in zip(configs, project, strict=True):
        row = {
            "model": cfg.model.name,
            "device": device.type, "device_name": device_name(device), **labels,
            "batch_size": batch,
        }  # fmt: skip
        if entry.error is not None:
            row["error"] = entry.error
        else:
            seconds = statistics.median(entry.wall)
            row.update({
                "project_images_per_sec": round(batch / seconds, 1),
                "project_ms_per_step": round(seconds * 1e3, 3),
                "project_cpu_ms_per_step": round(statistics.median(entry.cpu) * 1e3, 3),
                "warmup_s": round(entry.warmup_s, 1), "steps": cfg.steps, "repeats": cfg.repeats,
                "load": load,
            })  # fmt: skip
            reference = plain.get(labels["threads"])
            if reference is not None:
                plain_seconds = statistics.median(reference.wall)
                row.update({
                    "plain_images_per_sec": round(batch / plain_seconds, 1),
                    "ratio": round(plain_seconds / seconds, 2),
                    "plain_ms_per_step": round(plain_seconds * 1e3, 3),
                    "plain_cpu_ms_per_step": round(statistics.median(reference.cpu) * 1e3, 3),
                    "plain_steps": cfg.plain_steps or cfg.steps,
                })  # fmt: skip
        row.update(torch=torch.__version__, date=dt.date.today().isoformat())
        rows.append(row)
    return rows


def append_line(path: Path, line: str | None = None) -> None:
    """``line`` appended to ``path``, a regular file or nothing yet (None: only checked): a
    link there is not followed (into a run's checkpoints, say), a FIFO not waited on."""
    kind = path_kind(path, follow_links=False)  # nothing there yet: os.open makes it
    if kind is None and line is not None:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
        try:
            fd = os.open(path, flags, 0o666)
        except OSError as err:
            kind = err.strerror or str(err)
        else:
            with open(fd, "a") as file:
                file.write(line + "\n")
    if kind is not None:
        raise CheckpointError(
            f"{path} cannot be appended to: it is {kind}; move it away, or choose another "
            "folder (hydra.run.dir=...)"
        )


@one_line_hydra_errors
@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="bench")
def main(cfg: DictConfig) -> None:
    back_to_launch_folder(log)  # relative paths are the user's, not the run folder's
    out = Path(cfg.paths.output_dir) / "bench.jsonl"
    with one_line_errors(USER_ERRORS, debug=cfg.debug is True, logger=log):
        append_line(out)  # before the minutes of timing, not after them
        rows = benchmark(cfg)
        work_began()  # a stop from here on names the rows written
        for row in rows:
            line = json.dumps(row)
            append_line(out, line)  # first: a row printed is in the file, as a stop says
            print(line, flush=True)


if __name__ == "__main__":
    main()
