"""``python -m aegan.evaluate -m run=A,B``: each job an evaluation of its run, as one alone is.
Its logs went into ./multirun/DATE/TIME/N of the folder the command was typed in (the
second as app.log), and a stop named only the job's own run, not the runs it left."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest
from command_signals import signal_at_call

from aegan.sweep_checks.evaluation import _figures_written, _runs_left
from conftest import REPO


def copies(run, tmp_path, names="ab"):
    """Runs of their own, to write into: ``run``'s folder copied, its evaluate.log left."""
    runs = [tmp_path / name for name in names]
    for copy in runs:
        shutil.copytree(run, copy)
        (copy / "evaluate.log").unlink(missing_ok=True)
    return runs


def test_an_evaluation_sweep_logs_each_job_in_its_runs_folder(
    cli, trained_ae_run, tmp_path, monkeypatch
):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    runs = copies(trained_ae_run, tmp_path)
    typed_in = set((REPO / "multirun").glob("*/*"))  # Hydra's folders there, of other commands
    result = cli("aegan.evaluate", "-m", f"run={runs[0]},{runs[1]}", "device=cpu",
                 "metrics=[reconstruction]")  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    for run in runs:
        assert f"wrote {run / 'metrics.json'}" in result.stdout
        assert [path.name for path in run.glob("*.log")] == ["evaluate.log"], list(run.iterdir())
    assert set((REPO / "multirun").glob("*/*")) == typed_in  # nothing where it was typed
    own = tmp_path / f"aegan-evaluate-{os.geteuid()}" / f"sweep-{os.getpid()}"
    assert (own / "multirun.yaml").is_file()  # Hydra's own, in this process's folder


def test_a_stopped_evaluation_sweep_says_its_later_jobs_did_not_run(
    cli, trained_ae_run, tmp_path, monkeypatch
):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    runs = copies(trained_ae_run, tmp_path)
    untouched = (runs[1] / "metrics.json").read_bytes()
    with signal_at_call(signal.SIGTERM, "evaluate_task"):
        result = cli("aegan.evaluate", "-m", f"run={runs[0]},{runs[1]}", "device=cpu",
                     "metrics=[reconstruction]")  # fmt: skip
    assert result.returncode == -signal.SIGTERM, result.stderr[-3000:]
    said = result.stdout + result.stderr
    assert (
        f"stopped by SIGTERM during the evaluation (reconstruction); the trained run is intact: "
        f"evaluate it with python -m aegan.evaluate run={runs[0]} (sweep job 0: run={runs[0]} "
        "device=cpu metrics=[reconstruction]); later jobs did not run: run the same command again"
    ) in said, said[-3000:]
    assert (runs[1] / "metrics.json").read_bytes() == untouched


def test_a_stop_between_two_jobs_of_an_evaluation_sweep_says_the_later_did_not_run(
    cli, trained_ae_run, tmp_path, monkeypatch
):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    runs = copies(trained_ae_run, tmp_path)
    with signal_at_call(signal.SIGINT, "run_job", call=2):  # Hydra starting the second job
        result = cli("aegan.evaluate", "-m", f"run={runs[0]},{runs[1]}", "device=cpu",
                     "metrics=[reconstruction]")  # fmt: skip
    assert result.returncode == -signal.SIGINT, result.stderr[-3000:]
    assert result.stderr.splitlines()[-1] == (
        "error: stopped by SIGINT after the evaluation began; the run's metrics.json is whole, "
        "as it was or as written. Later jobs did not run: run the same command again"
    ), result.stderr[-3000:]


def test_a_ctrl_c_to_a_joblib_evaluation_sweep_stops_each_job_as_one_alone(
    trained_ae_run, tmp_path
):
    """Its process took the stop for one before any work ("nothing was evaluated or
    written") and joblib then ended the jobs' processes, whatever they were writing."""
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher", reason="needs the sweeps extra")
    runs = copies(trained_ae_run, tmp_path, "abc")  # c's job waits for a worker
    before = {run: sorted(path.name for path in run.iterdir()) for run in runs}
    figures = {run: (run / "metrics.json").read_bytes() for run in runs}
    process = subprocess.Popen(
        [sys.executable, "-m", "aegan.evaluate", "-m", f"run={','.join(map(str, runs))}",
         "device=cpu", "metrics=[probe]", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # its own process group, as a terminal gives a command
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )  # fmt: skip
    deadline = time.monotonic() + 120
    # both jobs in their metrics: their held log lines written (a job whose stop came before
    # its start does not run, its empty evaluate.log removed)
    while not all(evaluating(run) for run in runs[:2]):
        if process.poll() is not None or time.monotonic() > deadline:  # ended, or hangs
            process.kill()
            pytest.fail(process.communicate()[0][-3000:])
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    output = process.communicate(timeout=120)[0]
    assert process.returncode == -signal.SIGINT, output[-3000:]
    assert [line for line in output.splitlines() if line.startswith("error:")] == [
        "error: stopped by SIGINT while the sweep's jobs ran: each evaluation in flight stopped "
        "and named its run, whose metrics.json is whole, and no later job started. Not "
        f"evaluated: {', '.join(map(str, runs))}; run the same command again with "
        f"run={','.join(map(str, runs))}"  # the line named none of those it left
    ], output[-3000:]
    for job, run in enumerate(runs[:2]):
        assert f"(sweep job {job}: run={run} device=cpu" in output, output[-3000:]
        stopped = json.loads((run / "stopped.json").read_text())
        assert (stopped["phase"], stopped["signal"]) == ("evaluation", "SIGINT"), stopped
    for run in runs:
        assert (run / "metrics.json").read_bytes() == figures[run]  # whole, as it was
    assert sorted(path.name for path in runs[2].iterdir()) == before[runs[2]]  # not begun
    assert "Traceback" not in output, output[-3000:]


def test_a_stopped_joblib_sweep_names_the_runs_it_left_alone(
    cli, trained_ae_run, tmp_path, monkeypatch
):
    """What the line above says once some jobs finished: the runs whose figures the sweep
    wrote are not named again."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    runs = copies(trained_ae_run, tmp_path)
    began = {run: (str(run), _figures_written(run)) for run in runs}
    assert _runs_left(began) == (
        f"Not evaluated: {runs[0]}, {runs[1]}; run the same command again with "
        f"run={runs[0]},{runs[1]}"
    )
    result = cli("aegan.evaluate", f"run={runs[0]}", "device=cpu", "metrics=[reconstruction]")
    assert result.returncode == 0, result.stderr[-3000:]
    assert _runs_left(began) == (
        f"Not evaluated: {runs[1]}; run the same command again with run={runs[1]}"
    )
    alone = {runs[0]: began[runs[0]]}  # a sweep of that run alone
    assert _runs_left(alone) == "Every run's figures were written: none is left to evaluate"


def evaluating(run) -> bool:
    """Whether an evaluation of ``run`` has begun its metrics (``evaluate.log`` written)."""
    log = run / "evaluate.log"
    return log.exists() and log.stat().st_size > 0
