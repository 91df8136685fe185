"""A ``${...}`` in a command-line value: resolved in the config it sets, as the job will
resolve it, and refused in one line before the run's folder where it cannot work."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import TINY_AE, assert_one_error_line

QUICK_BENCH = ["model=autoencoder", "trainer.device=cpu", "data.subset=256", "steps=1",
               "warmup=0", "repeats=1", "threads=[1]"]  # fmt: skip


def test_a_tie_given_on_the_command_line_trains(cli, tmp_path: Path):
    """conf/'s own form of a tie, typed as an override: it was looked up again in Hydra's
    list of the overrides, failed there, and the run was refused once its folder was made."""
    run = tmp_path / "run"
    result = cli("aegan.train", *TINY_AE, "model.net.latent_dim=${..latent_dim}",
                 f"hydra.run.dir={run}")  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-2000:]
    assert (run / "checkpoints" / "last.pt").is_file()


def test_a_bench_value_that_cannot_be_resolved_leaves_no_folder(cli, tmp_path, monkeypatch):
    """The check of bench's overrides resolved them in Hydra's list, and its failure passed
    the whole check over: the job refused the value after making the folder."""
    monkeypatch.delenv("AEGAN_UNSET_FOR_TEST", raising=False)
    out = tmp_path / "out"
    result = cli("aegan.bench", *QUICK_BENCH, "seed=${oc.env:AEGAN_UNSET_FOR_TEST}",
                 f"hydra.run.dir={out}")  # fmt: skip
    assert_one_error_line(result, "seed='${oc.env:AEGAN_UNSET_FOR_TEST}' cannot be resolved")
    assert not out.exists()


@pytest.mark.parametrize("sweep", [[], ["-m"]])
def test_a_hydra_value_in_the_runs_folder_is_checked_before_the_folder(cli, tmp_path, sweep):
    """``${hydra:...}`` did not resolve in the check before Hydra made the folder, which
    passed the whole check over: the job refused task_name once the folder was made (a
    sweep's was refused as "HydraConfig was not set")."""
    logs = tmp_path / "logs"
    result = cli("aegan.train", *sweep, *TINY_AE, "task_name=${hydra:runtime.cwd}",
                 f"paths.log_dir={logs}")  # fmt: skip
    assert_one_error_line(result, "task_name='/")
    assert "is not allowed: it must be one folder name (text, no /)" in result.stderr
    assert not logs.exists()


def test_a_hydra_value_in_an_evaluation_setting_resolves_as_in_the_job(
    cli, trained_ae_run, tmp_path
):
    """Checked before Hydra's record of the run was set, it was refused: "HydraConfig was
    not set", for a value the evaluation itself resolves."""
    run = tmp_path / "run"
    shutil.copytree(trained_ae_run, run)
    result = cli("aegan.evaluate", f"run={run}", "device=cpu", "metrics=[reconstruction]",
                 "cache_dir=${hydra:runtime.cwd}/.cache/aegan-unused")  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-2000:]
