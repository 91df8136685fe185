"""SIGKILL, a stop signal and Ctrl-C to a sweep, then a resume: each ends with the training
state of a run never stopped, bitwise, and the same final metrics."""

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from resume_checks import (
    assert_same_training_state,
    assert_weights_differ,
    last_state,
    metrics_of,
    signal_at,
    signal_in_training_forward,
)

from aegan.engine.interrupt import TrainingInterrupted
from aegan.train import train
from conftest import REPO, TINY_AE


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_matches(tmp_path):
    """A real training process killed with SIGKILL inside step 18 (checkpoints every 7
    steps: last.pt holds step 14, mid-epoch) and resumed in its run dir ends bitwise where
    an uninterrupted run does; its last.pt at the kill is that run's step 14."""
    overrides = [*TINY_AE, "data.subset=1500", "trainer.epochs=2",  # 23 steps per epoch
                 "trainer.checkpoint_every_steps=7", "trainer.keep_checkpoints=100",
                 f"paths.data_dir={tmp_path / 'data'}"]  # fmt: skip
    train_cli = [sys.executable, "-m", "aegan.train"]
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    runs = [  # side by side: each keeps to one thread
        subprocess.Popen([*command, *overrides, f"hydra.run.dir={run_dir}"], cwd=REPO,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for command, run_dir in ((train_cli, straight), (signal_at(tmp_path, "SIGKILL", 17), killed))
    ]  # fmt: skip
    try:
        (_, straight_err), (_, killed_err) = (run.communicate(timeout=300) for run in runs)
    finally:  # on a timeout or an error, none is left running
        for run in runs:
            if run.poll() is None:
                run.kill()
    assert runs[0].returncode == 0, straight_err[-3000:]
    assert runs[1].returncode == -signal.SIGKILL, killed_err[-3000:]

    at_kill = last_state(killed)
    assert (at_kill["step"], at_kill["epoch"], at_kill["batch"]) == (14, 0, 14)
    final = last_state(straight)
    assert at_kill["step"] < final["step"] == 46  # the resume below has 32 steps to train
    assert_same_training_state(last_state(straight, "step-00000014.pt"), at_kill)

    subprocess.run(
        [*train_cli, *overrides, f"hydra.run.dir={killed}", f"trainer.resume={killed}"],
        cwd=REPO, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    resumed = last_state(killed)
    assert_weights_differ(at_kill, resumed)
    assert_same_training_state(final, resumed)
    assert metrics_of(killed) == metrics_of(straight)


@pytest.mark.parametrize(
    ("signal_number", "at_step", "where"),
    [
        (signal.SIGINT, 40, r"at step 41 \(epoch 2/2, batch 10/31\);"),  # mid-epoch
        (signal.SIGHUP, 20, r"at step 21 \(epoch 1/2, batch 21/31\);"),  # the terminal closed
    ],
)
def test_stop_signal_saves_the_step_in_flight_and_resume_matches(
    make_cfg, signal_number, at_step, where
):
    """Ctrl-C or SIGHUP during a step: that step finishes and is saved (the uninterrupted
    run's state at that step), and a resume in the same folder ends bitwise where an
    uninterrupted run does (31 steps per epoch). SIGTERM, and a stop in an epoch's last
    step: test_stops_in_validation.py."""
    common = [*TINY_AE, "trainer.epochs=2"]
    straight = make_cfg(*common, f"trainer.checkpoint_every_steps={at_step + 1}",
                        "trainer.keep_checkpoints=100", run="straight")  # fmt: skip
    straight_metrics = train(straight)

    stopped = make_cfg(*common, run="stopped")
    # Python's own handler, or SIG_IGN where the tests were started in the background
    handler_before = signal.getsignal(signal.SIGINT)
    with (
        signal_in_training_forward(signal_number, at_step),
        pytest.raises(TrainingInterrupted, match=where) as raised,
    ):
        train(stopped)
    assert raised.value.exit_code == 128 + signal_number
    assert signal.getsignal(signal.SIGINT) is handler_before  # handlers restored
    run_dir = Path(stopped.paths.output_dir)
    at_stop = last_state(run_dir)
    assert at_stop["step"] == at_step + 1 < 62
    assert_same_training_state(last_state(straight.paths.output_dir, f"step-{at_step + 1:08d}.pt"),
                               at_stop)  # fmt: skip
    stop_record = json.loads((run_dir / "stopped.json").read_text())
    assert stop_record["step"] == at_step + 1
    assert stop_record["signal"] == signal.Signals(signal_number).name

    resumed_metrics = train(make_cfg(*common, f"trainer.resume={run_dir}", run="stopped"))
    assert not (run_dir / "stopped.json").exists()  # finished now
    assert_weights_differ(at_stop, last_state(run_dir))
    assert_same_training_state(last_state(straight.paths.output_dir), last_state(run_dir))
    assert resumed_metrics == straight_metrics


@pytest.mark.slow
def test_ctrl_c_to_a_sweep_saves_the_job_and_ends_the_sweep(tmp_path):
    """Ctrl-C inside step 21 of a sweep's first job: it saves that step, the sweep ends;
    the same sweep again with trainer.resume=auto finishes it, and the interrupted job ends
    bitwise where the other job, never interrupted, does (the swept setting,
    trainer.keep_checkpoints, does not change what is trained)."""
    sweep_dir = tmp_path / "sweep"
    overrides = ["-m", *TINY_AE, "data.subset=1000", "trainer.epochs=2",  # 15 steps per epoch
                 "trainer.keep_checkpoints=2,3",
                 f"hydra.sweep.dir={sweep_dir}", f"paths.data_dir={tmp_path / 'data'}"]  # fmt: skip
    process = subprocess.run(
        [*signal_at(tmp_path, "SIGINT", 20), *overrides],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    output = process.stdout + process.stderr
    assert process.returncode == 130, output[-2000:]
    assert "Traceback" not in output
    (line,) = [line for line in output.splitlines() if "stopped by SIGINT" in line]
    assert "at step 21 (epoch 2/2, batch 6/15)" in line
    run_dir, other_dir = sweep_dir / "0", sweep_dir / "1"
    at_stop = last_state(run_dir)
    assert at_stop["step"] == 21
    assert f"trainer.resume={run_dir} hydra.run.dir={run_dir} (sweep job 0:" in line
    assert "keep_checkpoints=2" in line
    assert not other_dir.exists()  # the sweep ended with the job
    from aegan.sweeps.reader import read_sweep

    job, never = read_sweep(sweep_dir)  # the grid's second job never started
    assert job["status"] == "stopped" and "at step 21 (" in job["error"]
    assert (never["job"], never["status"], never["trainer.keep_checkpoints"]) == (
        "1", "not started", 3)  # fmt: skip

    # as the line says: the same sweep again, with trainer.resume=auto
    assert f"hydra.sweep.dir={sweep_dir} trainer.resume=auto" in line
    subprocess.run(
        [sys.executable, "-m", "aegan.train", *overrides, "trainer.resume=auto"],
        cwd=REPO, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    assert [job["status"] for job in read_sweep(sweep_dir)] == ["ok", "ok"]
    assert_weights_differ(at_stop, last_state(run_dir))
    assert_same_training_state(last_state(other_dir), last_state(run_dir))
    assert metrics_of(run_dir) == metrics_of(other_dir)
