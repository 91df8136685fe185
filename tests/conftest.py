"""Shared fixtures: compose the real configs, overridden to CPU, small data and a tmp dir."""

from __future__ import annotations

import atexit
import importlib
import logging
import os
import runpy
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import pytest
import torch
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict
from worker_process import EVERY_CORE

import aegan.config
import aegan.signals.starting_signals as starting_signals
from aegan.amp import Amp
from aegan.data import ImageData
from aegan.signals.starting_signals import StoppedBySignal
from aegan.speed import build_step
from aegan.tasks import build_task

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
REPO = CONF_DIR.parent
CPU = torch.device("cpu")
# Where a hostile payload (``builtins.open`` of a file here) writes if anything runs it: a
# folder that is there, as one that was not made the payload fail, which looked refused
SENTINEL_DIR = Path(tempfile.mkdtemp(prefix="aegan-hostile-"))
atexit.register(shutil.rmtree, SENTINEL_DIR, ignore_errors=True)
pytest_plugins = ("shared_runs",)  # the trained runs and classifier that tests share


def compose_config(overrides: list[str], output_dir: Path) -> DictConfig:
    """``conf/train.yaml`` with ``overrides``, writing into ``output_dir``."""
    cfg = aegan.config.compose_config(list(overrides))
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
        cfg.paths.data_dir = str(output_dir.parent / "data")
    return cfg


def synthetic_data(n: int = 256, shape: tuple[int, int, int] = (1, 28, 28)) -> ImageData:
    """Random uint8 images: the mechanics of a step, not learning (no files needed). Their
    own generator: the same images whatever ran before in the process."""
    draws = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, *shape), dtype=torch.uint8, generator=draws)
    labels = torch.arange(n) % 10
    return ImageData("synthetic", images, labels, images[:64], labels[:64], images[:64],
                     labels[:64], tuple(map(str, range(10))), "test")  # fmt: skip


def built(overrides: list[str], tmp_path: Path, device=CPU, data: ImageData | None = None):
    """(cfg, task, amp, step) for ``overrides``, as ``aegan.train`` builds them."""
    cfg = compose_config(overrides, tmp_path / "run")
    data = data or synthetic_data()
    task = build_task(cfg.model, data.image_shape, device)
    amp = Amp(cfg.trainer.precision, device, skip_nonfinite=cfg.trainer.on_nonfinite == "skip")
    step = build_step(task, amp, cfg.trainer, device)
    task.train()
    return cfg, task, amp, step


def assert_same(a, b, where: str = "state") -> None:
    """Nested dicts / lists / tensors / numbers equal; tensors bitwise, with the same dtype."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{where}: {a.keys()} vs {b.keys()}"
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif torch.is_tensor(a):
        assert torch.is_tensor(b) and a.dtype == b.dtype and a.shape == b.shape, where
        assert torch.equal(a, b), f"{where} differs by {(a.double() - b.double()).abs().max()}"
    else:
        assert a == b, f"{where}: {a!r} vs {b!r}"


def weights(state: dict, name: str) -> dict:
    """A network's weights in a checkpoint dict."""
    return state["networks"][name]


class Touch:
    """Pickled, a call of ``Path.touch``: what a full pickle load runs, a weights-only one
    refuses. A file holding one tells, by ``path`` appearing, whether a reader ran code."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return Path.touch, (self.path,)


TINY_AE = [
    "trainer.device=cpu",
    "trainer.cpu_threads=1",  # tiny matmuls: one thread is fastest and immune to contention
    "data.subset=2000",
    "data.val_size=500",
    "data.batch_size=64",
    "trainer.epochs=1",
    "logger.log_every_steps=5",
    "logger.projector_samples=64",
    "evaluate.at_end=false",  # tests/test_evaluate.py covers it
]

# The article's layer layout at reduced widths, so that CPU steps take milliseconds.
TINY_GAN = [
    "model=dcgan",
    "trainer.device=cpu",
    "trainer.cpu_threads=1",  # small convolutions: one thread is fastest and immune to contention
    "trainer.precision=auto",  # bf16 where the CPU has it natively: emulated, it is 14x slower
    "data.batch_size=64",
    "data.val_size=500",
    "trainer.epochs=1",
    "model.fd_samples=500",
    "model.generator.channels=[64,32,32]",
    "model.discriminator.channels=[32,64]",
    "evaluate.at_end=false",  # the domain-classifier metrics: tests/test_evaluate.py
]


def run_steps(step, data, n: int, batch_size: int = 64) -> list[dict[str, float]]:
    """``n`` steps of ``step`` on consecutive batches; their scalars as floats."""
    out = []
    for i in range(n):
        stats = step(data.train_images[i * batch_size : (i + 1) * batch_size])
        out.append({k: v.item() for k, v in stats.items()})
    return out


def _threads(count: int):
    threads = torch.get_num_threads()
    torch.set_num_threads(count)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def every_core():
    """This process on every core it was given (not the one its xdist worker keeps to): for
    tests of how many threads a run takes."""
    kept = os.sched_getaffinity(0)
    os.sched_setaffinity(0, EVERY_CORE)
    yield len(EVERY_CORE)
    os.sched_setaffinity(0, kept)


@pytest.fixture
def one_thread():
    """What trainer.cpu_threads=1 does in a run, for tests that step a task directly."""
    yield from _threads(1)


@pytest.fixture(scope="module")
def one_thread_module():
    """One thread for a whole module of small ops: about as fast as two, and immune to the
    other core's load (``pytestmark = pytest.mark.usefixtures("one_thread_module")``)."""
    yield from _threads(1)


FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(scope="session")
def fashion() -> dict[str, torch.Tensor]:
    """All of Fashion-MNIST as uint8: images (N, 1, 28, 28), labels (N,)."""
    from aegan.data.idx import read_idx

    if not (FASHION_DIR / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"Fashion-MNIST not found in {FASHION_DIR}")
    return {
        "train_x": read_idx(FASHION_DIR / "train-images-idx3-ubyte.gz").unsqueeze(1),
        "train_y": read_idx(FASHION_DIR / "train-labels-idx1-ubyte.gz"),
        "test_x": read_idx(FASHION_DIR / "t10k-images-idx3-ubyte.gz").unsqueeze(1),
        "test_y": read_idx(FASHION_DIR / "t10k-labels-idx1-ubyte.gz"),
    }


@pytest.fixture
def make_cfg(tmp_path):
    """``make_cfg(*overrides, run="run")`` -> composed config writing to ``tmp_path/run``."""

    def _make(*overrides: str, run: str = "run") -> DictConfig:
        return compose_config(list(overrides), tmp_path / run)

    return _make


RESUME = [*TINY_AE, "data.subset=640", "logger.enabled=false"]  # ae's run, to resume from


def torchrun_two(folder: Path) -> list[str]:
    """torchrun's command line for two local processes, its own log folder in ``folder``
    (else each run leaves a ``torchelastic_*`` folder in the system's temporary folder)."""
    torchrun = Path(sys.executable).with_name("torchrun")
    return [str(torchrun), "--standalone", "--nproc_per_node=2", f"--log-dir={folder / 'torchrun'}"]


def run_module(module: str, *args: str) -> subprocess.CompletedProcess:
    """``python -m module args`` from the repository root, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=REPO, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip


def as_a_new_process_shows_warnings() -> None:
    """The warning filters of a new ``python`` process (its defaults, ``-W`` unset), in
    place of pytest's: a warning a user would see on stderr is seen by the test too."""
    warnings.resetwarnings()
    warnings.simplefilter("default")  # each warning once per place, as Python shows it
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning,
                     ResourceWarning):  # fmt: skip
        warnings.filterwarnings("ignore", category=category)


def restore_root_logging(handlers: list[logging.Handler], level: int) -> None:
    """The root logger as it was before a command ran in this process: Hydra's logging
    config gave it handlers writing to the captured stdout, closed after the test, and a
    later test's log line became "--- Logging error ---" on its stderr."""
    root = logging.getLogger()
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def cli(monkeypatch, capsys):
    """``cli(module, *args)``: ``python -m module args`` (or ``python scripts/x.py args``)
    run in this process, as the CompletedProcess a new one would give (a new process spends
    seconds importing torch per case; the tests that need a real one use ``run_module``)."""

    def run(module: str, *args: str) -> subprocess.CompletedProcess:
        monkeypatch.setattr(sys, "argv", [module, *args])
        monkeypatch.setattr(starting_signals, "_work_began", False)  # as in a new process
        monkeypatch.setattr(starting_signals, "_going_on", "")  # no sweep began in it
        monkeypatch.chdir(REPO)
        code: int | str | None = 0
        root_logging = list(logging.getLogger().handlers), logging.getLogger().level
        with warnings.catch_warnings(record=True) as shown:  # pytest's filters hide them
            as_a_new_process_shows_warnings()
            try:
                if module.endswith(".py"):
                    runpy.run_path(str(REPO / module), run_name="__main__")
                else:
                    importlib.import_module(module).main()
            except SystemExit as exit_info:
                code = exit_info.code
                if isinstance(exit_info, StoppedBySignal):  # the command's process dies by it
                    code = -exit_info.signal_number  # as subprocess reports such a death
            finally:  # as a process's end would: no Hydra state, no log handler left
                GlobalHydra.instance().clear()
                HydraConfig.instance().cfg = None
                restore_root_logging(*root_logging)
        out = capsys.readouterr()
        printed = "".join(  # where Python prints them: on stderr, in the order raised
            warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line)
            for w in shown
        )
        out = type(out)(out.out, printed + out.err) if printed else out
        if isinstance(code, str):  # sys.exit("message"): printed to stderr, exit code 1
            return subprocess.CompletedProcess([module, *args], 1, out.out, out.err + code + "\n")
        return subprocess.CompletedProcess([module, *args], code or 0, out.out, out.err)

    return run


def assert_one_error_line(result: subprocess.CompletedProcess, message: str) -> None:
    """Exit code 2, ``error: ...`` alone on stderr naming ``message``, nothing before it (no
    warning, no traceback, no logged ERROR on stdout)."""
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-2000:]
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, output[-2000:]
    assert message in result.stderr, output[-2000:]
    assert "[ERROR]" not in result.stdout and "Traceback" not in output
    assert "Warning" not in output


def value_refusal(call) -> str:
    """The one line of the ValueError ``call()`` raises (a notebook's call refused)."""
    with pytest.raises(ValueError) as caught:
        call()
    assert "\n" not in str(caught.value)
    return str(caught.value)
