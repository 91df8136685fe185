"""Multi-process training under ``torchrun``: process group, device per rank, and the
average of every gradient across ranks.

Each rank holds the whole (small) data set on its device and draws its own shard of
every epoch's permutation (``DeviceBatches(rank=, world_size=)``); after every backward
pass the gradients it produced are averaged across ranks (``GradientAverager``, run by
``Amp.backward``), so every rank takes the same optimizer steps. Only rank 0 logs and
writes checkpoints.

The average is taken after the backward pass, as Horovod's ``DistributedOptimizer`` does,
rather than by wrapping the networks in ``DistributedDataParallel``: tasks call their
networks directly, however many backward passes and optimizers a step has (the GAN's D
and G steps), and a fp16 loss scaler sees the same averaged gradients on every rank.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.constants import default_pg_timeout

from aegan.engine.device import launch_int, resolve_device
from aegan.engine.interrupt import TrainingInterrupted
from aegan.engine.job_store import failure_of_another, note_failure
from aegan.engine.rank_settings import check_same_settings
from aegan.errors import USER_ERRORS, ConfigError, ProcessFailed


@dataclass(frozen=True)
class Distributed:
    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @contextmanager
    def main_first(self) -> Iterator[None]:
        """Rank 0 runs the block alone, then the others: one download or ``apt-get``, not
        one per rank into the same folder. If rank 0 fails, torchrun stops the others."""
        if self.world_size > 1 and not self.is_main:
            dist.barrier()
        yield
        if self.world_size > 1 and self.is_main:
            dist.barrier()


class GradientAverager:
    """After a backward pass, replace each gradient it produced by its mean over the ranks.

    A hook on each parameter notes those whose gradient was accumulated; the call then
    all-reduces them as one flat buffer (one collective per backward pass) and divides.
    Every rank runs the same backward passes, so the ranks agree on which gradients.
    """

    def __init__(self, params: Iterable[nn.Parameter], world_size: int) -> None:
        self.world_size = world_size
        self.params = list(params)
        self.pending: set[int] = set()  # indices into self.params
        for index, param in enumerate(self.params):
            param.register_post_accumulate_grad_hook(lambda _, i=index: self.pending.add(i))

    @torch.no_grad()
    def __call__(self) -> None:
        if not self.pending:
            return
        grads = [self.params[i].grad for i in sorted(self.pending)]  # one order on every rank
        self.pending.clear()
        flat = torch.cat([grad.reshape(-1) for grad in grads])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat.div_(self.world_size)
        offset = 0
        for grad in grads:
            grad.copy_(flat[offset : offset + grad.numel()].view_as(grad))
            offset += grad.numel()


def broadcast_buffers(networks: Iterable[nn.Module]) -> None:
    """Rank 0's buffers (BatchNorm's running statistics) on every rank. Each rank's batches
    and random draws are its own, and so are the statistics they leave, while gradient
    averaging keeps the weights alike: called before validation, every rank validates (and
    rank 0 saves) the same networks."""
    for network in networks:
        for buffer in network.buffers():
            dist.broadcast(buffer, src=0)


def check_shards(batch_size: int, world_size: int, train_count: int, source: str) -> None:
    """Each process draws whole batches from its shard of ``train_count`` images (of
    ``source``, for the message): refuse a batch that fits no shard, naming both ways out."""
    per_rank = train_count // world_size
    if batch_size <= per_rank:
        return
    images = f"{train_count} image{'s' if train_count != 1 else ''}{source}"
    if world_size == 1:
        raise ConfigError(
            f"data.batch_size={batch_size} is larger than the training set ({images}); use a "
            f"batch size <= {train_count}"
        )
    smaller = f"data.batch_size <= {per_rank}, " if per_rank else ""
    raise ConfigError(
        f"data.batch_size={batch_size} x {world_size} processes is more than the training set "
        f"({images}): each process draws whole batches of its "
        f"{per_rank}-image shard; use {smaller}at least {batch_size * world_size} training "
        "images, or fewer processes"
    )


def init_distributed(device_name: str, settings: Mapping[str, Any] | None = None) -> Distributed:
    """Read torchrun's environment (``launch``) and join the group; ``settings`` (the run's
    resolved config) must then be the same in every process (``check_same_settings``).

    Without torchrun this is a single process on ``resolve_device(device_name)``.
    """
    rank, local_rank, world_size = launch()
    device = resolve_device(device_name)
    if world_size == 1:
        return Distributed(0, 1, device)
    if device.type == "cuda" and local_rank >= torch.cuda.device_count():
        raise ConfigError(
            f"LOCAL_RANK={local_rank} is not allowed: this machine has "
            f"{torch.cuda.device_count()} GPUs; start at most that many processes per node"
        )
    device = rank_device(device, local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        _join_group(backend_for(device), rank, world_size)
    if settings is not None:
        check_same_settings(settings, world_size)
    return Distributed(rank, world_size, device)


# How long a process waits for the others to reach MASTER_ADDR:MASTER_PORT, where torchrun
# does not: a launcher starts them within seconds, and a process started alone (RANK=1
# set by hand) would otherwise wait for a rank 0 that never comes, for torch's 30 minutes
JOIN_TIMEOUT_S = 120.0


def _join_group(backend: str, rank: int, world_size: int) -> None:
    """Join the process group. Under torchrun (its agent sets ``TORCHELASTIC_RUN_ID``) as
    torch does: the agent started every rank and stops them all if one fails. Otherwise
    this process's store waits at most ``JOIN_TIMEOUT_S`` for the others, then says so."""
    if "TORCHELASTIC_RUN_ID" in os.environ:
        dist.init_process_group(backend=backend)
        return
    host, port = os.environ["MASTER_ADDR"].strip(), launch_int("MASTER_PORT", 1, 65535)
    where = f"MASTER_ADDR={host} MASTER_PORT={port}"
    try:
        with _quiet_stderr():  # c10d's C++ log repeats every retry, with its stack
            store = dist.TCPStore(
                host, port, world_size, is_master=rank == 0, wait_for_workers=True,
                timeout=timedelta(seconds=JOIN_TIMEOUT_S),
            )  # fmt: skip
    except dist.DistError as err:
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:200].rstrip(".")
        if "EADDRINUSE" in reason:
            raise ConfigError(
                f"MASTER_PORT={port} is not allowed: another program listens there; choose a "
                "free port (torchrun --standalone picks one)"
            ) from None
        raise ConfigError(
            f"WORLD_SIZE={world_size}: RANK={rank} waited {JOIN_TIMEOUT_S:.0f} s at {where} for "
            f"the other processes ({reason}); start all {world_size} with torchrun "
            f"--nproc_per_node={world_size} -m aegan.train ..., or unset WORLD_SIZE to train "
            "in one process"
        ) from None
    store.set_timeout(default_pg_timeout)  # all here: collectives wait as long as torch's
    dist.init_process_group(backend=backend, store=store, rank=rank, world_size=world_size)


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """File descriptor 2 pointed at /dev/null within the block (C++ writes there)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def rank_device(device: torch.device, local_rank: int) -> torch.device:
    """This rank's device: on CUDA the GPU torchrun gave it (LOCAL_RANK), else ``device``."""
    return torch.device("cuda", local_rank) if device.type == "cuda" else device


def backend_for(device: torch.device) -> str:
    """The collectives' backend: NCCL between GPUs, gloo between CPU processes."""
    return "nccl" if device.type == "cuda" else "gloo"


def world_size() -> int:
    """Processes in this run: torchrun's WORLD_SIZE, else 1 (readable before the group)."""
    return launch()[2]


def launch() -> tuple[int, int, int]:
    """torchrun's (RANK, LOCAL_RANK, WORLD_SIZE), or (0, 0, 1) without it. A value torchrun
    would not set (set by hand, or left from another job) is one line naming the variable."""
    world = launch_int("WORLD_SIZE", 1, None)
    rank = launch_int("RANK", 0, world - 1)
    local_rank = launch_int("LOCAL_RANK", 0, None)
    launch_int("LOCAL_WORLD_SIZE", 1, None)  # read for the CPU's share: named here, at the start
    needed = ("RANK", "MASTER_ADDR", "MASTER_PORT") if world > 1 else ()
    for name in needed:
        if not os.environ.get(name, "").strip():
            raise ConfigError(
                f"{name} is not set: WORLD_SIZE={world} trains in processes that torchrun "
                "starts, setting RANK, LOCAL_RANK, MASTER_ADDR and MASTER_PORT (torchrun "
                f"--nproc_per_node={world} -m aegan.train ...); unset WORLD_SIZE to train in one "
                "process"
            )
    if world > 1:
        launch_int("MASTER_PORT", 1, 65535)
    return rank, local_rank, world


@contextmanager
def failures_said_once() -> Iterator[None]:
    """Under torchrun one process's failure ends the others: gloo's "Connection closed by
    peer" in their next collective (a traceback, and failed.json naming it), torchrun's
    SIGTERM in their setup (a stop line). Their error is then the failed process's line,
    said once for the job (``ProcessFailed``); a process's own failure is left for the
    others in the agent's store first, before its connections close. A user's mistake is
    a process's own: each says its own (a non-finite loss one rank saw, named by it)."""
    try:
        yield
    except (Exception, TrainingInterrupted) as err:
        if isinstance(err, USER_ERRORS):
            note_failure(str(err))
            raise
        line = failure_of_another()
        if line is not None:
            raise ProcessFailed(line) from err
        if not isinstance(err, TrainingInterrupted):  # a stop is no failure
            note_failure(f"{type(err).__name__}: {(str(err).splitlines() or [''])[0]}")
        raise


def shutdown_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


@contextmanager
def one_voice() -> Iterator[None]:
    """Under torchrun, the processes other than rank 0 log errors only: their settings
    agree with rank 0's (``check_same_settings``), which says their warnings once. The
    level is put back after, for a process that goes on (a notebook, a test)."""
    logger = logging.getLogger("aegan")
    level = logger.level
    if launch()[0] != 0:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
