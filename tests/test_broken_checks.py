"""A check of the settings that breaks (an exception of aegan's own, not a user's mistake nor
Hydra's) stops the command before anything is written: passed over in silence, it let a
run or a sweep start with that setting unchecked. In-process, as ``python -m aegan.train``."""

from __future__ import annotations

import pytest

from conftest import TINY_AE


def broken(*args: object, **kwargs: object) -> None:
    raise TypeError("a check that broke")


@pytest.mark.parametrize(
    ("patched", "args"),
    [("check_run", ["model.latent_dim=4"]),
     ("check_every_job", ["-m", "model.latent_dim=4,8"]),
     ("check_sweep_folder", ["-m", "model.latent_dim=4,8"])],
)  # fmt: skip
def test_a_check_that_breaks_stops_before_anything_is_written(
    cli, tmp_path, monkeypatch, patched, args
):
    monkeypatch.setattr(f"aegan.sweep_checks.settings.{patched}", broken)
    folder = tmp_path / "out"
    where = "hydra.sweep.dir" if "-m" in args else "hydra.run.dir"
    result = cli("aegan.train", *args, *TINY_AE, f"{where}={folder}")
    assert result.returncode == 1, (result.stdout + result.stderr)[-2000:]
    last = result.stderr.splitlines()[-1]
    assert last.startswith("error: the check of the settings failed (TypeError: a check "
                           "that broke); nothing was started")  # fmt: skip
    assert "Traceback" in result.stderr
    assert not folder.exists()
