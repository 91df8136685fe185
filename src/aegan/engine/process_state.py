"""The process-wide settings a run changes, put back after it: ``process_state_kept``.

A run sets torch's thread count, TF32 matmuls, cuDNN's autotuner and seeds every random
generator. ``python -m aegan.train`` ends after one run, but a notebook or a script that
calls ``train(cfg)`` or ``load_run`` goes on, and so do the jobs of a sweep run one after
another in one process: each found the last one's settings (a DCGAN job after an
autoencoder's trained on its one thread, not on every core, with other figures than in a
process of its own), and a notebook's ``torch.rand`` after a run drew the run's numbers.
"""

from __future__ import annotations

import contextlib
import random
import sys
from collections.abc import Iterator

import numpy as np
import torch


def _set_cudnn_benchmark(on: bool) -> None:
    torch.backends.cudnn.benchmark = on


# (read, write) of each process-wide setting a run changes
SETTINGS = (
    (torch.get_num_threads, torch.set_num_threads),
    (torch.get_float32_matmul_precision, torch.set_float32_matmul_precision),
    (lambda: torch.backends.cudnn.benchmark, _set_cudnn_benchmark),
    (random.getstate, random.setstate),
    (np.random.get_state, np.random.set_state),
    (torch.get_rng_state, torch.set_rng_state),
)


@contextlib.contextmanager
def process_state_kept() -> Iterator[None]:
    """Within the block, the run may change ``SETTINGS`` (torch's threads, matmul precision,
    cuDNN's autotuner, the random generators of Python, NumPy and torch), CUDA's generators
    and Dynamo's settings; after it, however it ends (an error, a stop signal), they are as
    the block found them."""
    found = [(read(), write) for read, write in SETTINGS]
    # CUDA's generators only where CUDA is already up: reading them would start it (seconds,
    # and memory on the card) for a run on the CPU
    cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    # Dynamo's settings (a compiled step traces backward(): trace_autograd_ops) where it is
    # imported already (aegan.train imports it): importing it takes seconds
    dynamo = sys.modules.get("torch._dynamo")
    dynamo_settings = dynamo.config.get_config_copy() if dynamo is not None else None
    try:
        yield
    finally:
        for value, write in found:
            write(value)
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)
        if dynamo_settings is not None:
            now = dynamo.config.get_config_copy()
            for key in (key for key, value in dynamo_settings.items() if now[key] != value):
                setattr(dynamo.config, key, dynamo_settings[key])
