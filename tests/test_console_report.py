"""What a run prints at its end points at what it wrote."""

from __future__ import annotations

import pytest

from aegan.cli.hydra_job import headline
from conftest import TINY_AE


@pytest.mark.parametrize("logger", ["none", "tensorboard"])
def test_the_tensorboard_command_is_printed_only_for_a_tensorboard_log(cli, tmp_path, logger):
    run = tmp_path / "run"
    result = cli("aegan.train", *TINY_AE, "data.subset=256", "logger.projector_samples=0",
                 f"logger={logger}", f"hydra.run.dir={run}")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    printed = f"tensorboard --logdir {run / 'tb'}" in result.stdout + result.stderr
    assert printed == (logger == "tensorboard") == (run / "tb").is_dir()


def test_the_final_line_shows_each_figure_beside_its_floor():
    """A GAN's console line held only its val/ figures: its sample figures were in
    metrics.json alone."""
    metrics = {"gen/fd": 13.2, "floor/fd": 0.15, "gen/kid": 0.14, "gen/kid_std": 0.01,
               "floor/kid": 0.0, "gen/class_entropy": -0.0, "gen/samples": 10000.0,
               "eval/step": 5.0, "train/steps": 5.0, "codes/mmd": 0.004, "val/mse": 0.5}  # fmt: skip
    assert headline(metrics) == (
        "codes/mmd=0.004 gen/class_entropy=0 gen/fd=13.2 (floor 0.15) gen/kid=0.14 (floor 0) "
        "val/mse=0.5"
    )


def test_the_final_line_shows_the_likelihood_bound_not_its_settings():
    """test/iwae_nll, a VAE's headline figure, was left to metrics.json with IWAE's k."""
    metrics = {"test/neg_elbo": 250.0, "test/iwae_nll": 247.1, "test/iwae_neg_elbo": 249.9,
               "test/iwae_k": 1000.0, "test/iwae_images": 10000.0}  # fmt: skip
    assert headline(metrics) == ("test/iwae_neg_elbo=249.9 test/iwae_nll=247.1 test/neg_elbo=250")
