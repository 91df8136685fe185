"""`torchrun` with 2 gloo processes: averaged gradients (2 ranks at batch B train as 1 process
at 2B), identical ranks, one loadable checkpoint (what each rank draws: ``test_rank_draws.py``)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from aegan.engine import load_checkpoint
from conftest import REPO, TINY_AE, TINY_GAN, assert_one_error_line, torchrun_two

# ``torchrun ... networks_at_exit.py OUT [aegan.train arguments]``: aegan.train's command line
# that, when it ends, saves the state of every network it ran forward to OUT/rank{RANK}.pt
# (in the order first run), so a test can see the weights of ranks that write no checkpoint
NETWORKS_AT_EXIT = """\
import os, sys
from pathlib import Path
import torch
from torch.nn.modules.module import register_module_forward_hook
from aegan.models import DenseAutoencoder, Discriminator, Generator
from aegan.tasks.gan import GanTask
from aegan.train import main

out = Path(sys.argv.pop(1))
seen = {}
drawn = []  # a GAN's first training latents (drawn from the rank's own stream)
draw_latents = GanTask.draw_latents

def recording(self, n, generator=None, device="cpu"):
    z = draw_latents(self, n, generator, device)
    if generator is None and len(drawn) < 3:
        drawn.append(z.clone())
    return z

GanTask.draw_latents = recording

def hook(module, args, output):
    if isinstance(module, (DenseAutoencoder, Discriminator, Generator)):
        seen.setdefault(id(module), module)

register_module_forward_hook(hook)
try:
    main()
finally:
    states = [module.state_dict() for module in seen.values()]
    torch.save(states, out / f"rank{os.environ.get('RANK', '0')}.pt")
    torch.save(drawn, out / f"latents{os.environ.get('RANK', '0')}.pt")
"""


def networks(state: dict) -> dict[str, dict[str, torch.Tensor]]:
    """A checkpoint's weights by network name: the one line that knows where they are kept."""
    return state["networks"]


def torchrun_saving_networks(out: Path, *args: str) -> subprocess.Popen:
    """2 gloo ranks of aegan.train; each saves its networks to ``out/rank{0,1}.pt`` at exit."""
    script = out / "networks_at_exit.py"
    script.write_text(NETWORKS_AT_EXIT)
    return subprocess.Popen(
        [*torchrun_two(out), str(script), str(out), *args],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # see finish
    )  # fmt: skip


def finish(*processes: subprocess.Popen, timeout: float = 300) -> list[str]:
    """Wait for ``processes`` (each started in a session of its own) and return their
    stderr; on a timeout or an error, kill what is left of them, ranks included."""
    try:
        return [process.communicate(timeout=timeout)[1] for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)


def assert_ranks_hold_the_same_networks(out: Path, checkpoint: dict) -> None:
    """Every rank ends with the same networks, bitwise, and they are the ones rank 0 saved."""
    ranks = [torch.load(out / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) >= 1
    for i, (a, b) in enumerate(zip(*ranks, strict=True)):
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), f"network {i}: {key} differs between the ranks"
    for name, saved in networks(checkpoint).items():  # the hook saw the trained networks
        if name.endswith("_ema"):  # the averaged copy, a wrapper around one
            continue
        assert any(
            a.keys() == saved.keys() and all(torch.equal(a[k], saved[k]) for k in a)
            for a in ranks[0]
        ), name


@pytest.fixture(scope="module")
def ae_runs(tmp_path_factory):
    """The autoencoder on 2000 images: 2 gloo ranks at data.batch_size=64 under torchrun,
    and one process at 128, side by side (15 steps each)."""
    root = tmp_path_factory.mktemp("ddp_ae")
    common = [*TINY_AE, f"paths.data_dir={root / 'data'}"]
    ddp = torchrun_saving_networks(root, *common, f"hydra.run.dir={root / 'ddp'}")
    single = subprocess.Popen(
        [sys.executable, "-m", "aegan.train", *common, "data.batch_size=128",
         f"hydra.run.dir={root / 'single'}"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    for process, err in zip((ddp, single), finish(ddp, single), strict=True):
        assert process.returncode == 0, err[-3000:]
    return root


def test_torchrun_two_gloo_processes(ae_runs):
    run_dir = ae_runs / "ddp"
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == [
        "best.pt",
        "last.pt",
        "step-00000015.pt",
    ]
    state = load_checkpoint(run_dir / "checkpoints" / "last.pt")
    assert state["step"] == 2000 // 2 // 64  # each rank ran its half of the epoch
    assert state["processes"] == 2  # what a mid-epoch resume checks (tests/test_resume_order.py)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert all(v == v and abs(v) != float("inf") for v in metrics.values())
    from aegan import load_run

    run = load_run(run_dir, checkpoint="last")  # single process loads the DDP checkpoint
    assert run.reconstruct(run.data.test_images[:2]).shape == (2, 1, 28, 28)


def test_two_ranks_train_as_one_process_with_twice_the_batch(ae_runs):
    """DDP averages the gradients: 2 ranks at batch B end with the weights of 1 process at
    2B. Rank r takes every 2nd index of the epoch's permutation, so the ranks' b-th batches
    together are the single process's b-th batch; the loss is a mean over the batch, no
    BatchNorm or dropout, and Adam is elementwise. Only the order of the float32 sums
    differs: measured 3e-8 at most (weights ~0.2, an ulp 1.5e-8) after 15 steps. Without
    averaging the weights differ by ~1e-2, and one Adam step moves a weight by up to
    lr = 1e-3; atol 1e-6 is 30x the rounding and 1/1000 of a step."""
    ddp = load_checkpoint(ae_runs / "ddp" / "checkpoints" / "last.pt")
    single = load_checkpoint(ae_runs / "single" / "checkpoints" / "last.pt")
    assert ddp["step"] == single["step"] == 15
    (name,) = networks(single)
    for key, expected in networks(single)[name].items():
        got = networks(ddp)[name][key]
        difference = (got - expected).abs().max().item()
        assert torch.allclose(got, expected, rtol=0, atol=1e-6), f"{key} differs by {difference}"
    metrics = [
        json.loads((ae_runs / run / "metrics.json").read_text()) for run in ("ddp", "single")
    ]
    assert metrics[0].keys() == metrics[1].keys()
    for key, value in metrics[1].items():
        assert metrics[0][key] == pytest.approx(value, rel=1e-6), key


def test_every_rank_ends_with_the_same_weights(ae_runs):
    checkpoint = load_checkpoint(ae_runs / "ddp" / "checkpoints" / "last.pt")
    assert_ranks_hold_the_same_networks(ae_runs, checkpoint)


@pytest.mark.slow
def test_torchrun_two_gloo_processes_train_the_gan(tmp_path):
    """BatchNorm and dropout make the GAN's 2 ranks differ from one process at 2B, but
    gradient averaging in both networks keeps the ranks identical. Each rank draws latents
    of its own: one stream on both drew the same fakes twice, B of them a step, not 2B."""
    run_dir = tmp_path / "ddp_gan"
    process = torchrun_saving_networks(
        tmp_path, *TINY_GAN, "data.subset=512", "data.val_size=200", "model.fd_samples=200",
        "logger.log_every_steps=1", f"hydra.run.dir={run_dir}", f"paths.data_dir={tmp_path / 'data'}",
    )  # fmt: skip
    (err,) = finish(process)
    assert process.returncode == 0, err[-3000:]
    state = load_checkpoint(run_dir / "checkpoints" / "last.pt")
    assert state["step"] == 512 // 2 // 64
    assert {"generator", "discriminator", "generator_ema"} <= networks(state).keys()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert all(v == v and abs(v) != float("inf") for v in metrics.values())
    assert_ranks_hold_the_same_networks(tmp_path, state)
    latents = [torch.load(tmp_path / f"latents{r}.pt", weights_only=True) for r in (0, 1)]
    assert len(latents[0]) == len(latents[1]) == 3
    assert not any(torch.equal(a, b) for a, b in zip(*latents, strict=True))


def test_rank_zero_fetches_the_data_before_the_other_ranks_look(tmp_path):
    """``main_first``: rank 1 enters the block only after rank 0 has left it."""
    script = tmp_path / "main_first.py"
    script.write_text(
        "import sys, time\n"
        "from pathlib import Path\n"
        "from aegan.engine.distributed import init_distributed, shutdown_distributed\n"
        "dist = init_distributed('cpu')\n"
        "marker = Path(sys.argv[1])\n"
        "with dist.main_first():\n"
        "    if dist.is_main:\n"
        "        time.sleep(1.0)  # a slow download\n"
        "        marker.write_text('fetched')\n"
        "    else:\n"
        "        assert marker.read_text() == 'fetched', 'rank 1 ran before rank 0 finished'\n"
        "shutdown_distributed()\n"
    )
    result = subprocess.run(
        [*torchrun_two(tmp_path), str(script), str(tmp_path / "data")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]


def test_ctrl_c_to_torchrun_stops_every_rank_after_the_same_step(tmp_path):
    """A terminal's Ctrl-C reaches torchrun and both ranks (then torchrun forwards it):
    the ranks agree at a scalar flush (or every few seconds of steps between them), rank 0
    saves that step, and all exit on their own."""
    run_dir = tmp_path / "ddp"
    process = subprocess.Popen(
        [*torchrun_two(tmp_path), "-m", "aegan.train", *TINY_AE,
         "trainer.epochs=1000", "logger.log_every_steps=5", f"hydra.run.dir={run_dir}",
         f"paths.data_dir={tmp_path / 'data'}"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not (run_dir / "checkpoints" / "last.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert output.count("stopped by SIGINT") == 1, output[-3000:]  # rank 0 only
    (line,) = [line for line in output.splitlines() if "stopped by SIGINT" in line]
    step = int(line.split(" at step ")[1].split()[0])
    assert load_checkpoint(run_dir / "checkpoints" / "last.pt")["step"] == step
    assert "SIGKILL" not in output  # torchrun's agent had no rank left to kill after its grace


@pytest.mark.parametrize(
    ("environment", "message"),
    [({"WORLD_SIZE": "abc"}, "WORLD_SIZE='abc' is not allowed: it must be an integer of at least 1"),
     ({"WORLD_SIZE": "0"}, "WORLD_SIZE='0' is not allowed"),
     ({"WORLD_SIZE": "1", "RANK": "1"}, "RANK='1' is not allowed: it must be an integer from 0 to 0"),
     ({"WORLD_SIZE": "2"}, "RANK is not set: WORLD_SIZE=2 trains in processes that torchrun starts"),
     ({"WORLD_SIZE": "2", "RANK": "x"}, "RANK='x' is not allowed"),
     ({"WORLD_SIZE": "2", "RANK": "2"}, "RANK='2' is not allowed: it must be an integer from 0 to 1"),
     ({"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "-1"}, "LOCAL_RANK='-1' is not allowed"),
     ({"WORLD_SIZE": "2", "RANK": "1"}, "MASTER_ADDR is not set"),
     # read for each process's share of the cores: '²' was int()'s ValueError, 'x' taken as 1
     ({"LOCAL_WORLD_SIZE": "\u00b2"}, "LOCAL_WORLD_SIZE='\u00b2' is not allowed: it must be an "
      "integer of at least 1"),
     ({"LOCAL_WORLD_SIZE": "x"}, "LOCAL_WORLD_SIZE='x' is not allowed")],
)  # fmt: skip
def test_a_launch_environment_torchrun_would_not_set_is_one_line(
    cli, tmp_path, monkeypatch, environment, message
):
    """Set by hand or left from another job: each was a traceback (int() of 'abc', a KeyError
    for RANK) before the run began."""
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR",
                 "MASTER_PORT"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    run_dir = tmp_path / "run"
    refused = cli("aegan.train", *TINY_AE, f"hydra.run.dir={run_dir}")
    assert_one_error_line(refused, message)
    assert not (run_dir / "checkpoints").exists()
