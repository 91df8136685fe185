"""`torchrun` with 2 gloo processes trains on disjoint shards and leaves one loadable checkpoint."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from aegan.data import DeviceBatches
from aegan.engine import load_checkpoint
from conftest import REPO, TINY_AE, TINY_GAN


def test_ranks_draw_disjoint_shards_of_the_same_permutation():
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1)
    shards = [
        torch.cat([b.flatten() for b in DeviceBatches(images, batch_size=1, seed=3, rank=r,
                                                      world_size=2).epoch(0)])
        for r in (0, 1)
    ]  # fmt: skip
    assert len(shards[0]) == len(shards[1]) == 5
    assert set(shards[0].tolist()).isdisjoint(shards[1].tolist())


def test_torchrun_two_gloo_processes(tmp_path):
    run_dir = tmp_path / "ddp"
    torchrun = Path(sys.executable).with_name("torchrun")
    result = subprocess.run(
        [str(torchrun), "--standalone", "--nproc_per_node=2", "-m", "aegan.train", *TINY_AE,
         f"hydra.run.dir={run_dir}", f"paths.data_dir={tmp_path / 'data'}"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == [
        "best.pt",
        "last.pt",
        "step-00000015.pt",
    ]
    state = load_checkpoint(run_dir / "checkpoints" / "last.pt")
    assert state["step"] == 2000 // 2 // 64  # each rank ran its half of the epoch
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert all(v == v and abs(v) != float("inf") for v in metrics.values())
    from aegan import load_run

    run = load_run(run_dir, checkpoint="last")  # single process loads the DDP checkpoint
    assert run.reconstruct(run.data.test_images[:2]).shape == (2, 1, 28, 28)


def test_torchrun_two_gloo_processes_train_the_gan(tmp_path):
    run_dir = tmp_path / "ddp_gan"
    torchrun = Path(sys.executable).with_name("torchrun")
    result = subprocess.run(
        [str(torchrun), "--standalone", "--nproc_per_node=2", "-m", "aegan.train", *TINY_GAN,
         "data.subset=512", "data.val_size=200", "model.fd_samples=200", "logger.log_every_steps=1",
         f"hydra.run.dir={run_dir}", f"paths.data_dir={tmp_path / 'data'}"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    state = load_checkpoint(run_dir / "checkpoints" / "last.pt")
    assert state["step"] == 512 // 2 // 64
    assert {"generator", "discriminator", "generator_ema"} <= state["modules"].keys()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert all(v == v and abs(v) != float("inf") for v in metrics.values())


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
    torchrun = Path(sys.executable).with_name("torchrun")
    result = subprocess.run(
        [str(torchrun), "--standalone", "--nproc_per_node=2", str(script), str(tmp_path / "data")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]


def test_ctrl_c_to_torchrun_stops_every_rank_after_the_same_step(tmp_path):
    """A terminal's Ctrl-C reaches torchrun and both ranks (then torchrun forwards it):
    the ranks agree at a scalar flush, rank 0 saves that step, and all exit on their own."""
    run_dir = tmp_path / "ddp"
    torchrun = Path(sys.executable).with_name("torchrun")
    process = subprocess.Popen(
        [str(torchrun), "--standalone", "--nproc_per_node=2", "-m", "aegan.train", *TINY_AE,
         "trainer.epochs=1000", "logger.log_every_steps=5", f"hydra.run.dir={run_dir}",
         f"paths.data_dir={tmp_path / 'data'}"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not (run_dir / "checkpoints" / "last.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    os.killpg(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert time.monotonic() - started < 25, "torchrun killed the ranks: they did not stop"
    assert output.count("stopped by SIGINT") == 1, output[-3000:]  # rank 0 only
    (line,) = [line for line in output.splitlines() if "stopped by SIGINT" in line]
    step = int(line.split(" at step ")[1].split()[0])
    assert step % 5 == 0 or step % (2000 // 2 // 64) == 0  # a flush: log_every_steps or epoch end
    assert load_checkpoint(run_dir / "checkpoints" / "last.pt")["step"] == step
    assert "SIGKILL" not in output  # torchrun's agent had no rank left to kill
