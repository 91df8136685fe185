"""Hydra's own switch (``hydra.job.chdir``) takes true, false or null, as aegan's switches
take true or false: OmegaConf's bool type read 1, 0, 'yes' or 'on' as one and the run went
on, where ``trainer.channels_last=1`` is refused. Its text settings take text: true was
written 'True', and ``hydra.run.dir=true`` trained in ./True."""

from __future__ import annotations

import pytest
from own_files import train_own_experiment

from conftest import assert_one_error_line

ALLOWED = "is not allowed: it must be true or false (or null: Hydra's default)"


@pytest.mark.parametrize(
    ("override", "shown"),
    [("hydra.job.chdir=1", "1"), ("hydra.job.chdir=0", "0"), ("hydra.job.chdir=yes", "'yes'"),
     ("++hydra.job.chdir=on", "'on'"), ("hydra.job.chdir='true'", "'true'")],
)  # fmt: skip
def test_a_hydra_switch_given_another_value_is_refused(cli, tmp_path, override, shown):
    run = tmp_path / "run"
    result = cli("aegan.train", override, "data.subset=64", f"hydra.run.dir={run}")
    assert_one_error_line(result, f"hydra.job.chdir={shown} {ALLOWED}")
    assert not run.exists()


def test_a_hydra_switch_in_a_config_file_is_refused_naming_the_file(cli, tmp_path):
    result, mine, run = train_own_experiment(cli, tmp_path, "hydra:\n  job:\n    chdir: 1\n")
    assert_one_error_line(result, f"experiment=mine: hydra.job.chdir=1 {ALLOWED} (set in {mine})")
    assert not run.exists()


@pytest.mark.parametrize("key", ["hydra.run.dir", "hydra.job.name"])
def test_a_hydra_text_setting_given_true_or_false_is_refused(cli, tmp_path, monkeypatch, key):
    monkeypatch.setattr("conftest.REPO", tmp_path)  # where ./True would be made
    run = [] if key == "hydra.run.dir" else [f"hydra.run.dir={tmp_path / 'run'}"]
    result = cli("aegan.train", f"{key}=true", *run, "data.subset=64")
    assert_one_error_line(
        result, f"{key}=true is not allowed: it must be text (quoted where it reads as true or "
        f"false: {key}='true')"
    )  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_a_hydra_text_setting_in_a_config_file_is_refused_naming_the_file(cli, tmp_path):
    result, mine, run = train_own_experiment(cli, tmp_path, "hydra:\n  job:\n    name: false\n")
    said = "experiment=mine: hydra.job.name=false is not allowed: it must be text"
    assert_one_error_line(result, said)
    assert not run.exists()
