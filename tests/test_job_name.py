"""``hydra.job.name`` names the run's log file (NAME.log): one file name, refused in one
line before the folder is made otherwise."""

from __future__ import annotations

import pytest

from conftest import assert_one_error_line


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("a/b", "'a/b'"),  # was refused as a log file in a folder that cannot be written
        ("''", "''"),  # wrote a hidden .log
        ("..", "'..'"),  # wrote ...log
    ],
)
@pytest.mark.parametrize("sweep", [False, True])
def test_a_job_name_that_is_no_file_name_is_refused(cli, tmp_path, value, shown, sweep):
    folder = tmp_path / "run"
    where = f"hydra.sweep.dir={folder}" if sweep else f"hydra.run.dir={folder}"
    args = ["-m"] * sweep + [f"hydra.job.name={value}", "data.subset=64", where]
    result = cli("aegan.train", *args)
    assert_one_error_line(
        result, f"hydra.job.name={shown} is not allowed: it must be one file name (text, no /)"
    )
    assert not folder.exists()


def test_an_evaluation_refuses_it_too(cli, tmp_path):
    result = cli("aegan.evaluate", "hydra.job.name=a/b", f"run={tmp_path}")
    assert_one_error_line(result, "hydra.job.name='a/b' is not allowed")
