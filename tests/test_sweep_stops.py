"""A stop signal to a sweep whose jobs run in joblib's workers: each job in flight saves its
step, no later job starts, and the sweep's process ends in one line, by the signal. Its own
stop was taken for one before any work ("nothing was trained or saved"), and joblib then
terminated the workers, a job between two checkpoints losing its epoch."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO, TINY_AE


def test_a_sigterm_to_a_joblib_sweep_keeps_what_its_jobs_trained(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher", reason="needs the sweeps extra")
    sweep = tmp_path / "sweep"
    jobs = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "model.latent_dim=4,8,16"]
    jobs += ["trainer.epochs=500", f"hydra.sweep.dir={sweep}"]  # two in flight, one queued
    process = subprocess.Popen(
        [sys.executable, "-m", "aegan.train", "-m", *TINY_AE, *jobs],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 180
    while not all((sweep / job / "checkpoints" / "last.pt").exists() for job in "01"):
        if process.poll() is not None or time.monotonic() > deadline:  # ended, or hangs
            process.kill()
            pytest.fail(process.communicate()[0][-3000:])
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)  # to the sweep's process alone, as a kill PID does
    output = process.communicate(timeout=120)[0]
    assert process.returncode == -signal.SIGTERM, output[-3000:]
    for job in "01":  # each saved the step it was in, past its first epoch's checkpoint
        stopped = json.loads((sweep / job / "stopped.json").read_text())
        assert stopped["signal"] == "SIGTERM" and stopped["step"] >= 31, stopped
        assert (sweep / job / "checkpoints" / f"step-{stopped['step']:08d}.pt").is_file()
    assert not (sweep / "2" / "checkpoints").exists()  # the job queued behind them
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert lines == [
        "error: stopped by SIGTERM while the sweep's jobs ran: each job in flight saved its "
        "step and said where, and no later job started. To go on with the whole sweep: "
        f"rerun it with hydra.sweep.dir={sweep} trainer.resume=auto"
    ], output[-3000:]
