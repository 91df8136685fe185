"""What a test of a resume compares and how it stops a run: checkpoints by value, and a signal
raised at a known training forward pass, in this process or in a child aegan.train."""

import json
import signal
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import torch
from torch.nn.modules.module import register_module_forward_hook

from aegan.engine import load_checkpoint
from aegan.models import DenseAutoencoder
from conftest import assert_same


def networks(state: dict) -> dict[str, dict[str, torch.Tensor]]:
    """A checkpoint's weights by network name: the one line that knows where they are kept."""
    return state["networks"]


# where the run was written, how it was started; the log window a stop leaves open (its
# steps' sums and time) that a save at the same step by a run that went on has logged
NOT_TRAINING_STATE = {"config", "scalar_window"}


def assert_same_training_state(a: dict, b: dict) -> None:
    """Two checkpoints hold the same training state: everything but ``NOT_TRAINING_STATE``."""
    assert a.keys() == b.keys()
    for key in sorted(a.keys() - NOT_TRAINING_STATE):
        assert_same(a[key], b[key], key)


def assert_weights_differ(a: dict, b: dict) -> None:
    """The resume had work to do: the comparisons above could fail."""
    assert any(
        not torch.equal(value, networks(b)[name][key])
        for name, weights in networks(a).items()
        for key, value in weights.items()
    )


def last_state(run_dir: str | Path, name: str = "last.pt") -> dict:
    return load_checkpoint(Path(run_dir) / "checkpoints" / name)


def metrics_of(run_dir: str | Path) -> dict[str, float]:
    return json.loads((Path(run_dir) / "metrics.json").read_text())


@contextmanager
def in_training_forward(forward: int, action: Callable[[], None]):
    """Call ``action`` during the autoencoder's ``forward``-th (0-based) training forward
    pass, that is inside step ``forward + 1``."""
    count = 0

    def hook(module, args, output):
        nonlocal count
        if isinstance(module, DenseAutoencoder) and module.training:
            if count == forward:
                action()
            count += 1

    handle = register_module_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


def signal_in_training_forward(signal_number: int, forward: int):
    """Raise ``signal_number`` in this process inside step ``forward + 1``."""
    return in_training_forward(forward, lambda: signal.raise_signal(signal_number))


# ``python signal_at.py SIGNAL N [aegan.train arguments]``: the command line of aegan.train,
# which sends itself SIGNAL during the N-th (0-based) training forward pass of the autoencoder
SIGNAL_AT = """\
import os, signal, sys
from torch.nn.modules.module import register_module_forward_hook
from aegan.models import DenseAutoencoder
from aegan.train import main

sig, at = signal.Signals[sys.argv.pop(1)], int(sys.argv.pop(1))
count = 0

def hook(module, args, output):
    global count
    if isinstance(module, DenseAutoencoder) and module.training:
        if count == at:
            os.kill(os.getpid(), sig)
        count += 1

register_module_forward_hook(hook)
main()
"""


def signal_at(tmp_path: Path, signal_name: str, forward: int) -> list[str]:
    script = tmp_path / "signal_at.py"
    script.write_text(SIGNAL_AT)
    return [sys.executable, str(script), signal_name, str(forward)]
