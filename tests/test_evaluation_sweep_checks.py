"""``python -m aegan.evaluate -m``: every job's settings and run checked before the first job
starts, under each launcher. A mistake in job 1 was found as it started: under the basic
launcher after job 0 had evaluated its run, under joblib's while job 0 was killed mid-run
without a word."""

from __future__ import annotations

import shutil
import tempfile

import numpy as np
import pytest
from hostile_runs import TINY_IDX, tiny_idx_folder

from aegan.data.idx import write_idx
from aegan.train import train
from conftest import assert_one_error_line, compose_config

LAUNCHERS = {  # the plugin each launcher needs
    "basic": None,
    "joblib": "hydra_plugins.hydra_joblib_launcher",
    "submitit_local": "hydra_plugins.hydra_submitit_launcher",
}


@pytest.fixture(scope="module")
def folders(trained_ae_run, tmp_path_factory):
    """A run of this module's own and what a sweep may name in its place by mistake."""
    root = tmp_path_factory.mktemp("evaluation-sweep-checks")
    shutil.copytree(trained_ae_run, root / "run")
    (root / "run" / ".hydra").mkdir()  # as aegan.train's command writes it
    (root / "run" / ".hydra" / "config.yaml").write_text("trainer: {epochs: 1}\n")
    (root / "sweep").mkdir()  # a training sweep's folder: its record and a job's run
    (root / "sweep" / "multirun.yaml").write_text("hydra: {}\n")
    shutil.copytree(trained_ae_run, root / "sweep" / "0")
    (root / "no-checkpoint" / "checkpoints").mkdir(parents=True)
    (root / "junk.pt").write_text("not weights\n")
    return root


def untouched(run):
    """What an evaluation of ``run`` would change: its figures and its log."""
    log = run / "evaluate.log"
    return (run / "metrics.json").read_bytes(), log.read_bytes() if log.exists() else None


@pytest.mark.parametrize(
    "swept, refused",
    [
        ("run={run},{root}/missing", "(run={root}/missing): no checkpoint at {root}/missing"),
        ("run={run},{root}/sweep", "it is a sweep's folder: name one of its runs"),
        ("run={run},{root}/no-checkpoint", "no checkpoint at {root}/no-checkpoint"),
        ("run={run},{root}/junk.pt", "{root}/junk.pt: not a readable checkpoint"),
        ("run={run} samples=100,3", "(samples=3): samples=3 is not allowed"),
        ("run={run} device=cpu,tpu", "(device=tpu): device='tpu' is not allowed"),
        ("run={run} metrics=[reconstruction],[nosuch]", "'nosuch' is not a metric"),
        ("run={run} 'overrides=[],[\"trainer.epochs=3\"]'", "trainer.epochs would change nothing"),
        # found as the job read its run, before the data: after job 0 had evaluated its run
        ("run={run} metrics=[reconstruction],[fd]", "'fd' needs a model that can sample"),
        ("run={run} 'overrides=[],[\"model.latent_dim=8\"]'", "the run's weights do not fit"),
        (
            "run={run} 'overrides=[],[\"data.root={root}/missing\"]'",
            "{root}/missing does not exist",
        ),
    ],
)
def test_a_mistake_in_a_later_job_of_an_evaluation_sweep_starts_no_job(
    cli, folders, tmp_path, monkeypatch, swept, refused
):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    run, before = folders / "run", untouched(folders / "run")
    args = swept.format(run=run, root=folders).split(" ")
    args = [arg.strip("'") for arg in args]  # as a shell passes them
    result = cli("aegan.evaluate", "-m", "device=cpu", "metrics=[reconstruction]", *args)
    assert_one_error_line(result, "error: job 1 of 2 (")
    assert refused.format(root=folders) in result.stderr
    assert result.stderr.endswith("; no job was started\n"), result.stderr
    assert untouched(run) == before


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_each_launcher_checks_every_evaluation_before_the_first(
    cli, folders, tmp_path, monkeypatch, launcher
):
    if LAUNCHERS[launcher]:
        pytest.importorskip(LAUNCHERS[launcher], reason="needs the sweeps extra")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    run, before = folders / "run", untouched(folders / "run")
    result = cli("aegan.evaluate", "-m", f"run={folders}/missing,{run}", "device=cpu",
                 "metrics=[reconstruction]", f"hydra/launcher={launcher}")  # fmt: skip
    assert_one_error_line(
        result,
        f"error: job 0 of 2 (run={folders}/missing): no checkpoint at {folders}/missing: "
        "expected a .pt file, or a run dir holding checkpoints/last.pt; it does not exist; "
        "no job was started",
    )
    assert untouched(run) == before


def test_an_evaluation_sweep_keeps_its_runs_training_record(cli, folders, tmp_path, monkeypatch):
    """Hydra wrote each job's .hydra/ (``hydra.output_subdir``) over its run's own, the record
    of how it was trained, as no evaluation alone did."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    record = folders / "run" / ".hydra" / "config.yaml"
    before = record.read_bytes()
    result = cli("aegan.evaluate", "-m", f"run={folders / 'run'}", "device=cpu",
                 "metrics=[reconstruction]", "hydra.output_subdir=.hydra")  # fmt: skip
    assert_one_error_line(
        result, "error: hydra.output_subdir=.hydra is not allowed: Hydra would write it"
    )
    assert record.read_bytes() == before


@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_one_run_in_two_jobs_at_once_is_refused_before_either(
    cli, folders, tmp_path, monkeypatch, launcher
):
    """The second job found the run's folder held by the first, and the sweep ended both."""
    pytest.importorskip(LAUNCHERS[launcher], reason="needs the sweeps extra")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    run, before = folders / "run", untouched(folders / "run")
    result = cli("aegan.evaluate", "-m", f"run={run},{run}/checkpoints/last.pt", "device=cpu",
                 "metrics=[reconstruction]", f"hydra/launcher={launcher}")  # fmt: skip
    assert_one_error_line(
        result,
        f"error: job 1 of 2 (run={run}/checkpoints/last.pt): run={run}/checkpoints/last.pt is "
        f"the run of an earlier job too (run={run}), and hydra/launcher={launcher} runs the "
        "jobs at once",
    )
    assert untouched(run) == before


@pytest.mark.parametrize(
    "setting, refused",
    [
        (
            "hydra.launcher.n_jobs=0",
            "hydra.launcher.n_jobs=0 is not allowed: it must be the number",
        ),
        ("+hydra.launcher.n_job=2", "did you mean hydra.launcher.n_jobs?"),  # ran, n_jobs ignored
    ],
)
def test_a_launcher_setting_that_cannot_work_is_one_line(
    cli, folders, tmp_path, monkeypatch, setting, refused
):
    """joblib's own error as it launched, or a misspelt setting passed over, as in training."""
    pytest.importorskip(LAUNCHERS["joblib"], reason="needs the sweeps extra")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    run, before = folders / "run", untouched(folders / "run")
    result = cli("aegan.evaluate", "-m", f"run={run},{folders}/sweep/0", "device=cpu",
                 "metrics=[reconstruction]", "hydra/launcher=joblib", setting)  # fmt: skip
    assert_one_error_line(result, refused)
    assert untouched(run) == before


def test_a_run_whose_images_changed_in_a_later_job_starts_no_job(
    cli, folders, tmp_path, monkeypatch
):
    """Refused once that job had read its images, after job 0 had written its figures."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    data = tiny_idx_folder(tmp_path / "idx")
    changed = tmp_path / "changed"
    train(compose_config([*TINY_IDX, f"data.root={data}"], changed))
    write_idx(data / "t10k-images-idx3-ubyte", np.zeros((64, 28, 28), dtype=np.uint8))
    run, before = folders / "run", untouched(folders / "run")
    result = cli("aegan.evaluate", "-m", f"run={run},{changed}", "device=cpu",
                 "metrics=[reconstruction]")  # fmt: skip
    assert_one_error_line(result, f"error: job 1 of 2 (run={changed}): {changed}: the ")
    assert "are not those the run trained on" in result.stderr
    assert untouched(run) == before
