"""Deleting a config group every run reads (~data, ~hydra, ~hydra/job_logging) is one line
before any folder: ~hydra dropped conf/hydra's checks, so Hydra made ./outputs/DATE/TIME with
.hydra/ and train.log and the run was refused for hydra.output_subdir, never typed;
~hydra/job_logging made the run's folder and stopped on "'root'"; ~data and ~trainer were
named as no setting."""

from __future__ import annotations

import pytest

from conftest import assert_one_error_line


@pytest.mark.parametrize(
    "override",
    ["~hydra", "~hydra/job_logging", "~hydra/launcher=basic", "~data", "~trainer", "~paths",
     "~model", "~logger=tensorboard"],
)  # fmt: skip
def test_deleting_a_group_every_run_reads_is_one_line(cli, tmp_path, override):
    group = override.lstrip("~").partition("=")[0]
    result = cli("aegan.train", override, "trainer.epochs=1", f"hydra.run.dir={tmp_path}/run")
    assert_one_error_line(
        result, f"{override} is not allowed: every run reads {group}; choose one of its "
        f"options with {group}=NAME"
    )  # fmt: skip
    assert list(tmp_path.iterdir()) == []
