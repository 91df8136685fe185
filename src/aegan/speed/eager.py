"""A block run eager where what it calls may have been compiled for training."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def eager_if_compiled() -> Iterator[None]:
    """Run the block under ``torch.compiler.set_stance("force_eager")`` where Dynamo is
    loaded. Nothing is compiled unless it was imported, and importing it (which
    ``set_stance`` does) takes seconds: a process that has not loaded it does not here."""
    if "torch._dynamo" not in sys.modules:
        yield
        return
    with torch.compiler.set_stance("force_eager"):
        yield
