"""``python -m aegan.evaluate -m run=A,B``: each job an evaluation of its run, as one alone is.
Its logs went into ./multirun/DATE/TIME/N of the folder the command was typed in (the
second as app.log), and a stop named only the job's own run, not the runs it left."""

from __future__ import annotations

import shutil
import signal

from command_signals import signal_at_call

from conftest import REPO


def copies(run, tmp_path):
    """Two runs of their own, to write into: ``run``'s folder copied, its evaluate.log left."""
    runs = [tmp_path / "a", tmp_path / "b"]
    for copy in runs:
        shutil.copytree(run, copy)
        (copy / "evaluate.log").unlink(missing_ok=True)
    return runs


def test_an_evaluation_sweep_logs_each_job_in_its_runs_folder(
    cli, trained_ae_run, tmp_path, monkeypatch
):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    runs = copies(trained_ae_run, tmp_path)
    typed_in = set((REPO / "multirun").glob("*/*"))  # Hydra's folders there, of other commands
    result = cli("aegan.evaluate", "-m", f"run={runs[0]},{runs[1]}", "device=cpu",
                 "metrics=[reconstruction]")  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    for run in runs:
        assert f"wrote {run / 'metrics.json'}" in result.stdout
        assert [path.name for path in run.glob("*.log")] == ["evaluate.log"], list(run.iterdir())
    assert set((REPO / "multirun").glob("*/*")) == typed_in  # nothing where it was typed
    assert (tmp_path / "tmp" / "aegan-evaluate" / "multirun.yaml").is_file()  # Hydra's own


def test_a_stopped_evaluation_sweep_says_its_later_jobs_did_not_run(
    cli, trained_ae_run, tmp_path, monkeypatch
):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
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
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    runs = copies(trained_ae_run, tmp_path)
    with signal_at_call(signal.SIGINT, "run_job", call=2):  # Hydra starting the second job
        result = cli("aegan.evaluate", "-m", f"run={runs[0]},{runs[1]}", "device=cpu",
                     "metrics=[reconstruction]")  # fmt: skip
    assert result.returncode == -signal.SIGINT, result.stderr[-3000:]
    assert result.stderr.splitlines()[-1] == (
        "error: stopped by SIGINT after the evaluation began; the run's metrics.json is whole, "
        "as it was or as written. Later jobs did not run: run the same command again"
    ), result.stderr[-3000:]
