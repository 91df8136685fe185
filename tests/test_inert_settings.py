"""A setting given on the command line that the others leave without effect gets one
warning line naming why; the run goes on (a sweep over both holds such pairs)."""

from __future__ import annotations

import logging
import shutil

import pytest
import torch

from aegan.data import image_shape_of
from aegan.evaluate import log_codes
from aegan.inert import warn_inert
from aegan.logger import TensorBoardLogger
from aegan.tasks import build_task
from conftest import TINY_AE, built, compose_config, synthetic_data

CASES = [
    (["model=dcgan", "model.gp_weight=5"], "model.gp_weight=5 has no effect: model.loss=ns has no gradient penalty"),
    (["model=infogan", "model.continuous=0", "model.continuous_weight=3"],
     "model.continuous_weight=3 has no effect: model.continuous=0 leaves it nothing to weigh"),
    (["model=infogan", "model.info_weight=0", "model.continuous_weight=3"],
     "model.continuous_weight=3 has no effect: model.info_weight=0 leaves it nothing to weigh"),
    (["model=vae", "model.beta=0", "model.kl_warmup_steps=100"],
     "model.kl_warmup_steps=100 has no effect: model.beta=0 has no KL term to warm up"),
    (["trainer.compile_scope=step"], "trainer.compile_scope=step has no effect: trainer.compile=none"),
    (["evaluate.at_end=false", "evaluate.samples=100"],
     "evaluate.samples=100 has no effect: evaluate.at_end=false evaluates nothing"),
    (["model=aae", "evaluate.iwae_samples=10"],
     "evaluate.iwae_samples=10 has no effect: the final metrics do not include iwae"),
    (["evaluate.samples=100"],
     "evaluate.samples=100 has no effect: the final metrics draw no samples and use no domain "
     "classifier"),
    (["logger=none", "logger.projector_samples=50"],
     "logger.projector_samples=50 has no effect: logger.enabled=false writes no TensorBoard projector"),
    (["model=dcgan", "logger.projector_samples=50"],
     "logger.projector_samples=50 has no effect: dcgan has no codes to show in the projector"),
    # a speed switch with nothing to act on here was taken without a word
    (["trainer.device=cpu", "trainer.pad_thin_convs=true"],
     "trainer.pad_thin_convs=true has no effect: it acts on CUDA only, and this run is on cpu"),
    (["trainer.device=cpu", "trainer.cudnn_benchmark=false"],
     "trainer.cudnn_benchmark=false has no effect: it acts on CUDA only, and this run is on cpu"),
    (["trainer.channels_last=true"],
     "trainer.channels_last=true has no effect: autoencoder has no convolutions: no layout to change"),
    (["model=vae", "trainer.fast_dropout=false"],
     "trainer.fast_dropout=false has no effect: vae has no dropout"),
    # Hydra keeps the last of a key given twice and drops the other without a word
    (["model=vae", "model=dcgan"],
     "model=vae has no effect: model=dcgan comes after it on the command line"),
    (["trainer.epochs=3", "++trainer.epochs=1"],
     "trainer.epochs=3 has no effect: ++trainer.epochs=1 comes after it on the command line"),
]  # fmt: skip
USED = [["model=dcgan", "model.loss=wgan_gp", "model.gp_weight=5"],
        ["model=vae", "model.beta=0.5", "model.kl_warmup_steps=100"],
        ["model=vae", "evaluate.iwae_samples=10"], ["trainer.compile=default", "trainer.compile_scope=step"],
        # the samples, or the training images the domain classifier leaves out as the floor
        ["model=dcgan", "evaluate.samples=100"], ["evaluate.metrics=[classifier]", "evaluate.samples=100"],
        ["logger.projector_samples=50"], ["trainer.epochs=2", "trainer.epochs=2"],
        # 0 asks for no projector, which a model without codes has not: compare.py sets it
        ["model=dcgan", "logger.projector_samples=0"], ["logger=none", "logger.projector_samples=0"],
        ["model=dcgan", "trainer.device=cpu", "trainer.channels_last=true", "trainer.fast_dropout=false",
         "trainer.flush_denormal=false"]]  # fmt: skip


def warnings_for(overrides: list[str], tmp_path, caplog) -> list[str]:
    cfg = compose_config(overrides, tmp_path / "run")
    task = build_task(cfg.model, image_shape_of(cfg.data), torch.device("meta"))
    with caplog.at_level(logging.WARNING, logger="aegan.config"):
        warn_inert(cfg, task, overrides)
    return [r.getMessage() for r in caplog.records]


@pytest.mark.parametrize(("overrides", "message"), CASES)
def test_a_setting_without_effect_gets_one_line_saying_why(tmp_path, caplog, overrides, message):
    (line,) = warnings_for(overrides, tmp_path, caplog)
    assert line.startswith(message)


@pytest.mark.parametrize("overrides", USED)
def test_a_setting_that_takes_effect_gets_no_line(tmp_path, caplog, overrides):
    assert warnings_for(overrides, tmp_path, caplog) == []


def test_a_run_says_it_and_goes_on(cli, tmp_path):
    result = cli("aegan.train", *TINY_AE, "model=vae", "model.beta=0", "model.kl_warmup_steps=9",
                 f"hydra.run.dir={tmp_path}")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "model.kl_warmup_steps=9 has no effect: model.beta=0" in result.stdout + result.stderr


def test_more_projector_codes_than_test_images_is_said(tmp_path, caplog):
    """Capped as ``evaluate.samples`` is: the line names the setting and what was shown."""
    data = synthetic_data()  # 64 test images
    _, task, _, _ = built([], tmp_path, data=data)
    logger = TensorBoardLogger(tmp_path / "tb")
    with caplog.at_level(logging.WARNING, logger="aegan.train"):
        log_codes(task, data, logger, 1000, step=1)
    logger.close()
    assert [r.getMessage() for r in caplog.records] == [
        "logger.projector_samples=1000 is more than the 64 test images: the projector shows 64"
    ]


def test_an_evaluation_says_it_of_its_own_settings(cli, tmp_path, trained_ae_run):
    """aegan.evaluate metrics=[reconstruction] samples=100 ran without a word of it."""
    run = shutil.copytree(trained_ae_run, tmp_path / "run")
    result = cli("aegan.evaluate", f"run={run}", "metrics=[reconstruction]", "samples=100",
                 "iwae_samples=5")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    output = result.stdout + result.stderr
    assert "samples=100 has no effect: the final metrics draw no samples" in output
    assert "iwae_samples=5 has no effect: the final metrics do not include iwae" in output
