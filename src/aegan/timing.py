"""Timing for ``aegan.bench``: configurations warmed up, then timed in turn (round robin),
wall and process CPU time per step."""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

log = logging.getLogger("aegan.bench")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class Timed:
    """One configuration to time: its step function, its torch threads and its measurements."""

    name: str
    step: Callable[[], None] | None  # None: it could not be built (see ``error``)
    threads: int
    plain: bool = False  # the tutorial loop: torch's defaults, no TF32
    cudnn_benchmark: bool = False
    flush_denormal: bool = False  # the CPU's flush-to-zero mode (``trainer.flush_denormal``)
    steps: int | None = None  # timed steps per repeat, when not the benchmark's ``steps``
    warmup_s: float = 0.0
    error: str | None = None  # why it could not be built or warmed up; then it is not timed
    wall: list[float] = field(default_factory=list)  # seconds per step, one per repeat
    cpu: list[float] = field(default_factory=list)  # process CPU seconds per step

    def _enter(self) -> None:
        """The process-wide settings this configuration runs under (as ``aegan.train`` sets them)."""
        torch.set_num_threads(self.threads)
        torch.set_float32_matmul_precision("highest" if self.plain else "high")
        torch.backends.cudnn.benchmark = self.cudnn_benchmark  # read by cuDNN alone
        torch.set_flush_denormal(self.flush_denormal)

    def warm_up(self, steps: int, device: torch.device) -> None:
        self._enter()
        start = time.perf_counter()
        for _ in range(steps):
            self.step()
        _sync(device)
        self.warmup_s = time.perf_counter() - start

    def time(self, steps: int, device: torch.device) -> None:
        self._enter()
        _sync(device)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(steps):
            self.step()
        _sync(device)
        self.wall.append((time.perf_counter() - wall) / steps)
        self.cpu.append((time.process_time() - cpu) / steps)


def time_round_robin(timed: list[Timed], *, steps: int, warmup: int, repeats: int, device) -> None:
    """Warm every configuration up (compiling there), then time them in turn ``repeats`` times,
    so that a change of machine load falls on all of them alike."""
    for entry in timed:
        if entry.error is None:
            try:
                entry.warm_up(warmup, device)
            except Exception as error:  # noqa: BLE001 - reported in the row, the rest still run
                entry.error = describe(error)
                log.warning("%s failed in warm-up, not timed: %s", entry.name, entry.error)
    working = [entry for entry in timed if entry.error is None]
    for _ in range(repeats):
        for entry in working:
            entry.time(entry.steps or steps, device)


def describe(error: BaseException) -> str:
    """``Type: first line of the message``, short enough for a JSON row."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:300] if lines else ''}"


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()
