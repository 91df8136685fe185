"""A ``${now:...}`` pattern with a code the C library's strftime does not know (``%Q``, a
lone % at the end) is one line before any folder is made: strftime wrote it as it is, and
the run's or the sweep's folder was named ``%Q``."""

from __future__ import annotations

from datetime import datetime

import pytest

from conftest import assert_one_error_line

CODES = "https://docs.python.org/3/library/datetime.html#format-codes"


@pytest.mark.parametrize(
    ("args", "key"),
    [(["hydra.run.dir={dir}/${{now:%Q}}"], "hydra.run.dir"),
     (["-m", "hydra.sweep.dir={dir}/${{now:%Y-%Q}}", "seed=1,2"], "hydra.sweep.dir"),
     (["hydra.run.dir={dir}/${{now:%H%}}"], "hydra.run.dir")],
)  # fmt: skip
def test_a_date_code_strftime_does_not_know_is_refused(cli, tmp_path, args, key):
    args = [arg.format(dir=tmp_path / "runs") for arg in args]
    result = cli("aegan.train", *args, "data.subset=64")
    code = "%" if args[0].endswith("%}") else "%Q"
    assert_one_error_line(
        result, f"cannot be resolved: {code} is not a date code of strftime here ({CODES})"
    )
    assert result.stderr.startswith(f"error: {key}=") and not (tmp_path / "runs").exists()


def test_known_codes_and_a_written_percent_are_formatted():
    from aegan.engine.launch_time import formatted

    moment = datetime(2026, 12, 6, 20, 5, 9)
    assert formatted(moment, "%Y-%m-%d_%H-%M-%S") == "2026-12-06_20-05-09"
    assert formatted(moment, "100%%_%Ey") == "100%_26"
