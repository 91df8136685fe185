"""How a torchrun job stops: a signal in rank 0's final evaluation, a non-finite loss
that only one rank saw. Every rank stops at the same point, and nothing is saved for a
step one of them found bad."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from aegan.engine import load_checkpoint
from conftest import REPO, TINY_AE, torchrun_two


def start_torchrun(tmp_path: Path, target: list[str], *overrides: str) -> subprocess.Popen:
    """Two processes of ``target`` (``-m aegan.train`` or a script) on the tiny autoencoder,
    in their own process group, with their output in one pipe."""
    return subprocess.Popen(
        [*torchrun_two(tmp_path), *target, *TINY_AE, *overrides,
         f"paths.data_dir={tmp_path / 'data'}"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip


def ctrl_c_once(process: subprocess.Popen, ready, after_s: float = 0.0) -> str:
    """Once ``ready()``, ``after_s`` later, Ctrl-C to torchrun's process group: its output,
    where torchrun's agent names SIGKILL if a rank outlived its 30 s grace."""
    try:
        deadline = time.monotonic() + 120
        while not ready():
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
        time.sleep(after_s)
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=120)
        return output
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def test_sigterm_in_rank_zeros_final_evaluation_stops_it(tmp_path):
    """The other ranks have left once training ends: a signal to the job stops rank 0's
    evaluation at its next metric (it had waited for an agreement that never came, and ran
    on until torchrun killed it or it finished)."""
    run_dir = tmp_path / "ddp"
    process = start_torchrun(
        tmp_path, ["-m", "aegan.train"], "evaluate.at_end=true", f"hydra.run.dir={run_dir}"
    )
    deadline = time.monotonic() + 120
    while not (run_dir / "metrics.json").exists() and time.monotonic() < deadline:
        time.sleep(0.01)  # training's figures are written: the evaluation begins
    os.killpg(process.pid, signal.SIGTERM)
    output, _ = process.communicate(timeout=120)
    assert "stopped by SIGTERM after training ended" in output, output[-3000:]
    stopped = json.loads((run_dir / "stopped.json").read_text())
    last = load_checkpoint(run_dir / "checkpoints" / "last.pt")["step"]
    assert (stopped["phase"], stopped["step"], last) == ("evaluation", last, 2000 // 2 // 64)


# ``torchrun ... nan_on_rank_one.py [aegan.train arguments]``: aegan.train, with rank 1's
# 5th training loss reported as NaN (a rank-local overflow, say); rank 0's stay finite
NAN_ON_RANK_ONE = """\
import os
from aegan.tasks.autoencoder import AutoencoderTask
from aegan.train import main

original, calls = AutoencoderTask.train_step, []

def train_step(self, batch, amp):
    stats = original(self, batch, amp)
    calls.append(1)
    if os.environ["RANK"] == "1" and len(calls) == 5:
        stats = {key: value * float("nan") for key, value in stats.items()}
    return stats

AutoencoderTask.train_step = train_step
main()
"""


def test_a_non_finite_loss_on_one_rank_stops_every_rank_before_a_save(tmp_path):
    """Rank 1's bad loss went into the gradients both ranks averaged: rank 0 went on to
    save that step as last.pt while rank 1 stopped, and torchrun killed it at the next
    all-reduce. The ranks now agree at the flush, before anything is saved."""
    script = tmp_path / "nan_on_rank_one.py"
    script.write_text(NAN_ON_RANK_ONE)
    run_dir = tmp_path / "ddp"
    process = start_torchrun(  # 5 steps an epoch, a flush at each 5th
        tmp_path, [str(script)], "data.subset=640", "trainer.epochs=2", f"hydra.run.dir={run_dir}"
    )
    try:
        output, _ = process.communicate(timeout=300)
    finally:  # on a timeout: no rank left waiting
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    # rank 1 names the scalar it had; rank 0, which had none, the step alone
    assert output.count("error: non-finite loss at step 5: train/loss=nan; training stopped") == 1
    assert output.count("error: non-finite loss at step 5; training stopped") == 1, output[-3000:]
    assert not list((run_dir / "checkpoints").glob("*.pt"))


# ``torchrun ... slow_steps.py [aegan.train arguments]``: aegan.train with each training step
# 0.15 s longer on every rank, as a DCGAN's step on a 2-core CPU
SLOW_STEPS = """\
import time
from aegan.tasks.autoencoder import AutoencoderTask
from aegan.train import main

original = AutoencoderTask.train_step

def train_step(self, batch, amp):
    time.sleep(0.15)
    return original(self, batch, amp)

AutoencoderTask.train_step = train_step
main()
"""


def test_a_signal_between_far_apart_flushes_stops_every_rank_within_seconds(tmp_path):
    """The ranks agreed on a signal only at a scalar flush or an epoch's end, here 45 s
    away: torchrun killed them 30 s after forwarding Ctrl-C, and nothing of the epoch was
    saved. They now agree every few seconds of steps as well."""
    script = tmp_path / "slow_steps.py"
    script.write_text(SLOW_STEPS)
    run_dir = tmp_path / "ddp"
    process = start_torchrun(  # 312 steps of 0.15 s an epoch
        tmp_path,
        [str(script)],
        "data.subset=40000",
        "logger.log_every_steps=100000",
        f"hydra.run.dir={run_dir}",
    )
    log = run_dir / "train.log"

    def training() -> bool:
        return log.is_file() and "training autoencoder" in log.read_text()

    output = ctrl_c_once(process, training, after_s=3)
    assert "SIGKILL" not in output, "torchrun killed the ranks: they did not stop"
    (line,) = [line for line in output.splitlines() if "stopped by SIGINT" in line]
    step = int(line.split(" at step ")[1].split()[0])
    assert 0 < step < 312 and load_checkpoint(run_dir / "checkpoints" / "last.pt")["step"] == step


# ``torchrun ... slow_validation.py [aegan.train arguments]``: aegan.train whose validation
# takes 40 s on every rank, rank 0 touching $VALIDATING as it begins
SLOW_VALIDATION = """\
import os, pathlib, time
from aegan.tasks.autoencoder import AutoencoderTask
from aegan.train import main

original = AutoencoderTask.validate

def validate(self, batches, amp):
    if os.environ["RANK"] == "0":
        pathlib.Path(os.environ["VALIDATING"]).touch()
    for _ in range(400):
        time.sleep(0.1)
    return original(self, batches, amp)

AutoencoderTask.validate = validate
main()
"""


def test_a_signal_in_a_long_validation_saves_the_epoch_within_seconds(tmp_path, monkeypatch):
    """The ranks validated to the end before acting on the signal: past the 30 s after
    which torchrun kills them, the epoch was lost. Now the validation stops at once, and
    the epoch is saved unvalidated."""
    script = tmp_path / "slow_validation.py"
    script.write_text(SLOW_VALIDATION)
    validating, run_dir = tmp_path / "validating", tmp_path / "ddp"
    monkeypatch.setenv("VALIDATING", str(validating))
    process = start_torchrun(tmp_path, [str(script)], "data.subset=640", f"hydra.run.dir={run_dir}")
    output = ctrl_c_once(process, validating.exists)
    assert "SIGKILL" not in output, output[-3000:]
    (line,) = [line for line in output.splitlines() if "stopped by SIGINT" in line]
    assert "at step 5 (epoch 1/1, batch 5/5); saved" in line, line
    last = load_checkpoint(run_dir / "checkpoints" / "last.pt")
    assert (last["step"], last["epoch"], last["batch"]) == (5, 0, 5)
