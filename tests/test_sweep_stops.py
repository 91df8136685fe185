"""A stop signal to a sweep whose jobs run in joblib's workers: each job in flight saves its
step, no later job starts, and the sweep's process ends in one line, by the signal. Its own
stop was taken for one before any work ("nothing was trained or saved"), and joblib then
terminated the workers, a job between two checkpoints losing its epoch; a Ctrl-C killed a
worker with no job yet, and joblib the others with it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from command_signals import signal_at_call

from aegan.engine.interrupt import TrainingInterrupted, stop_before_training
from aegan.signals import sweep_stops
from conftest import REPO, TINY_AE


@pytest.mark.parametrize(
    ("stop", "to_the_group", "jobs", "workers"),
    [(signal.SIGTERM, False, "4,8,16", 2),  # kill PID: passed on; the third job is queued
     (signal.SIGINT, True, "4,8", 3)],  # the terminal's Ctrl-C, and a worker without a job
    ids=["sigterm-to-the-sweep", "ctrl-c-to-the-group"],
)  # fmt: skip
def test_a_stopped_joblib_sweep_keeps_what_its_jobs_trained(
    tmp_path, stop, to_the_group, jobs, workers
):
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher", reason="needs the sweeps extra")
    sweep = tmp_path / "sweep"
    sweep_args = ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={workers}"]
    sweep_args += [f"model.latent_dim={jobs}", "trainer.epochs=500", f"hydra.sweep.dir={sweep}"]
    process = subprocess.Popen(
        [sys.executable, "-m", "aegan.train", "-m", *TINY_AE, *sweep_args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives a command
    )
    deadline = time.monotonic() + 180
    while not all((sweep / job / "checkpoints" / "last.pt").exists() for job in "01"):
        if process.poll() is not None or time.monotonic() > deadline:  # ended, or hangs
            process.kill()
            pytest.fail(process.communicate()[0][-3000:])
        time.sleep(0.1)
    if to_the_group:
        os.killpg(process.pid, stop)
    else:
        process.send_signal(stop)  # to the sweep's process alone
    output = process.communicate(timeout=120)[0]
    assert process.returncode == -stop, output[-3000:]
    for job in "01":  # each saved the step it was in, past its first epoch's checkpoint
        stopped = json.loads((sweep / job / "stopped.json").read_text())
        assert stopped["signal"] == stop.name and stopped["step"] >= 31, stopped
        assert (sweep / job / "checkpoints" / f"step-{stopped['step']:08d}.pt").is_file()
    assert not (sweep / "2" / "checkpoints").exists()  # a job queued behind them
    assert_the_sweeps_stop_line(output, stop, sweep)
    assert "Traceback" not in output and "leaked" not in output, output[-3000:]


def assert_the_sweeps_stop_line(output: str, stop: signal.Signals, sweep) -> None:
    """The sweep's one ``error:`` line: its signal, and how to go on with the whole sweep."""
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert lines == [
        f"error: stopped by {stop.name} while the sweep's jobs ran: each job in flight saved "
        "its step and said where, and no later job started. To go on with the whole sweep: "
        f"rerun it with hydra.sweep.dir={sweep} trainer.resume=auto"
    ], output[-3000:]


@pytest.mark.parametrize(
    ("stop", "to_the_group"),
    [(signal.SIGTERM, False),  # kill PID: passed on to the job beneath its controller
     (signal.SIGINT, True)],  # the terminal's Ctrl-C: the controller no longer dies of it
    ids=["sigterm-to-the-sweep", "ctrl-c-to-the-group"],
)  # fmt: skip
def test_a_stopped_submitit_local_sweep_keeps_what_its_job_trained(tmp_path, stop, to_the_group):
    """submitit's controller process died of a Ctrl-C with a traceback and then sent its job
    a second SIGINT and SIGKILL; a SIGTERM to the sweep alone left its job training on."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="needs the sweeps extra")
    sweep = tmp_path / "sweep"
    sweep_args = ["hydra/launcher=submitit_local", "model.latent_dim=4", "trainer.epochs=500"]
    process = subprocess.Popen(
        [sys.executable, "-m", "aegan.train", "-m", *TINY_AE, *sweep_args,
         f"hydra.sweep.dir={sweep}"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # its own process group, as a terminal gives a command
    )  # fmt: skip
    deadline = time.monotonic() + 180
    while not (sweep / "0" / "checkpoints" / "last.pt").exists():
        if process.poll() is not None or time.monotonic() > deadline:  # ended, or hangs
            process.kill()
            pytest.fail(process.communicate()[0][-3000:])
        time.sleep(0.1)
    os.killpg(process.pid, stop) if to_the_group else process.send_signal(stop)
    try:
        output = process.communicate(timeout=60)[0]
    except subprocess.TimeoutExpired:  # its job trains on, holding its output open
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail(f"the sweep's job went on after its stop: {process.communicate()[0][-3000:]}")
    assert process.returncode == -stop, output[-3000:]
    stopped = json.loads((sweep / "0" / "stopped.json").read_text())
    assert stopped["signal"] == stop.name and stopped["step"] >= 31, stopped
    assert (sweep / "0" / "checkpoints" / f"step-{stopped['step']:08d}.pt").is_file()
    assert_the_sweeps_stop_line(output, stop, sweep)
    job_logs = "".join(path.read_text() for path in (sweep / ".submitit").glob("*/*.err"))
    assert "Traceback" not in output + job_logs, (output + job_logs)[-3000:]


def test_a_stop_in_a_workers_job_before_its_training_handlers_is_acted_on(monkeypatch):
    """A signal between a joblib job's start and its training's handlers was recorded, then
    forgotten: the job trained on to its end."""
    monkeypatch.setenv(sweep_stops.PARENT_ENV, "1")  # a worker: another process launched it
    monkeypatch.setattr(sweep_stops, "_stops", [])
    kept = {number: signal.getsignal(number) for number in sweep_stops.STOP_SIGNALS}
    try:
        sweep_stops.job_starts_in_worker()
        signal.raise_signal(signal.SIGTERM)  # in the job's setup: its config checked, ...
        with pytest.raises(TrainingInterrupted) as stop, stop_before_training():
            pytest.fail("the job's setup went on after its stop")
    finally:
        for number, handler in kept.items():
            signal.signal(number, handler)
    assert (stop.value.signal_number, stop.value.phase) == (signal.SIGTERM, "setup")


# submitit's controller: it starts its job's process a moment after its own start
CONTROLLER = """import subprocess, sys, time
time.sleep(0.5)
job = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
sys.exit(-job.wait())"""


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_a_stop_before_a_jobs_process_starts_reaches_it(monkeypatch, stop):
    """A SIGTERM to a submitit_local sweep before its job's process started (its controller
    starts it a second or more after its own start) was passed on to no one, and the job
    trained to its end; so was a Ctrl-C, which reaches only the processes there from the
    terminal."""
    monkeypatch.setenv(sweep_stops.PARENT_ENV, str(os.getpid()))  # this process: the sweep's
    monkeypatch.setattr(sweep_stops, "_stops", [])
    monkeypatch.setattr(sweep_stops, "_job_depth", [2])  # submitit_local's
    sweep_stops._sweep_stop(stop, None)  # no job's process yet
    controller = subprocess.Popen([sys.executable, "-c", CONTROLLER])
    try:
        assert controller.wait(timeout=30) == signal.SIGTERM  # its job ended by the stop
    finally:
        controller.kill()


# a job's process there as the Ctrl-C came: it says so once it runs
STARTED = """import subprocess, sys
job = subprocess.Popen([sys.executable, "-c", "print('job', flush=True); import time; time.sleep(60)"],
                       stdout=subprocess.PIPE, text=True)
print(job.stdout.readline(), end="", flush=True)
sys.exit(-job.wait())"""


def test_a_ctrl_c_is_not_sent_again_to_the_jobs_that_heard_it(monkeypatch):
    """The terminal's Ctrl-C reached the jobs' processes there: a SIGTERM after it would
    stop an evaluation a second time as it unwinds from the first."""
    monkeypatch.setenv(sweep_stops.PARENT_ENV, str(os.getpid()))
    monkeypatch.setattr(sweep_stops, "_stops", [])
    monkeypatch.setattr(sweep_stops, "_job_depth", [2])
    controller = subprocess.Popen(
        [sys.executable, "-c", STARTED], stdout=subprocess.PIPE, text=True
    )
    try:
        assert controller.stdout.readline() == "job\n"  # its job's process is there
        sweep_stops._sweep_stop(signal.SIGINT, None)
        with pytest.raises(subprocess.TimeoutExpired):  # not sent a stop of the sweep's
            controller.wait(timeout=5 * sweep_stops.PASS_ON_EVERY_S)
    finally:
        controller.kill()


def test_a_stop_between_two_jobs_of_a_sweep_says_how_to_go_on(cli, tmp_path):
    """Outside its jobs' handlers (Hydra setting up the next job) a stop said what the job
    before kept, not that the later jobs did not run nor how to go on with the sweep."""
    sweep = tmp_path / "sweep"
    with signal_at_call(signal.SIGINT, "run_job", call=2):  # Hydra starting the second job
        result = cli("aegan.train", "-m", *TINY_AE, "model.latent_dim=4,8",
                     f"hydra.sweep.dir={sweep}")  # fmt: skip
    assert result.returncode == -signal.SIGINT, result.stderr[-3000:]
    assert result.stderr.splitlines()[-1] == (
        "error: stopped by SIGINT after training began; the checkpoints it wrote are kept. To "
        f"go on with the whole sweep: rerun it with hydra.sweep.dir={sweep} trainer.resume=auto"
    ), result.stderr[-3000:]
    assert (sweep / "0" / "checkpoints" / "last.pt").is_file() and not (sweep / "1").exists()
