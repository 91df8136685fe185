"""What a run prints at its end points at what it wrote."""

from __future__ import annotations

import pytest

from conftest import TINY_AE


@pytest.mark.parametrize("logger", ["none", "tensorboard"])
def test_the_tensorboard_command_is_printed_only_for_a_tensorboard_log(cli, tmp_path, logger):
    run = tmp_path / "run"
    result = cli("aegan.train", *TINY_AE, "data.subset=256", "logger.projector_samples=0",
                 f"logger={logger}", f"hydra.run.dir={run}")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    printed = f"tensorboard --logdir {run / 'tb'}" in result.stdout + result.stderr
    assert printed == (logger == "tensorboard") == (run / "tb").is_dir()
