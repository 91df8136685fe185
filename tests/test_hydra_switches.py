"""Hydra's own switch (``hydra.job.chdir``) takes true, false or null, as aegan's switches
take true or false: OmegaConf's bool type read 1, 0, 'yes' or 'on' as one and the run went
on, where ``trainer.channels_last=1`` is refused."""

from __future__ import annotations

import pytest

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
    mine = tmp_path / "myconf" / "experiment" / "mine.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text("# @package _global_\nhydra:\n  job:\n    chdir: 1\n")
    run = tmp_path / "run"
    result = cli("aegan.train", f"hydra.searchpath=[file://{tmp_path / 'myconf'}]",
                 "experiment=mine", "data.subset=64", f"hydra.run.dir={run}")  # fmt: skip
    assert_one_error_line(result, f"experiment=mine: hydra.job.chdir=1 {ALLOWED} (set in {mine})")
    assert not run.exists()
