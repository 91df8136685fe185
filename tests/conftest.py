"""Shared fixtures: compose the real configs, overridden to CPU, small data and a tmp dir."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict

import aegan.config  # noqa: F401  (registers the config schema)

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
REPO = CONF_DIR.parent


def compose_config(overrides: list[str], output_dir: Path) -> DictConfig:
    """``conf/train.yaml`` with ``overrides``, writing into ``output_dir``."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
        cfg.paths.data_dir = str(output_dir.parent / "data")
    return cfg


TINY_AE = [
    "trainer.device=cpu",
    "trainer.cpu_threads=1",  # tiny matmuls: one thread is fastest and immune to contention
    "data.subset=2000",
    "data.val_size=500",
    "data.batch_size=64",
    "trainer.epochs=1",
    "logger.log_every_steps=5",
    "logger.projector_samples=64",
    "evaluate.at_end=false",  # tests/test_evaluate.py covers it
]

# The article's layer layout at reduced widths, so that CPU steps take milliseconds.
TINY_GAN = [
    "model=dcgan",
    "trainer.device=cpu",
    "trainer.cpu_threads=1",  # small convolutions: one thread is fastest and immune to contention
    "trainer.precision=bf16",
    "data.batch_size=64",
    "data.val_size=500",
    "trainer.epochs=1",
    "model.fd_samples=500",
    "model.generator.channels=[64,32,32]",
    "model.discriminator.channels=[32,64]",
    "evaluate.at_end=false",  # the domain-classifier metrics: tests/test_evaluate.py
]


@pytest.fixture
def one_thread():
    """What trainer.cpu_threads=1 does in a run, for tests that step a task directly."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def make_cfg(tmp_path):
    """``make_cfg(*overrides, run="run")`` -> composed config writing to ``tmp_path/run``."""

    def _make(*overrides: str, run: str = "run") -> DictConfig:
        return compose_config(list(overrides), tmp_path / run)

    return _make


@pytest.fixture(scope="session")
def trained_ae_run(tmp_path_factory) -> Path:
    """One tiny real autoencoder run on Fashion-MNIST, shared by the tests that only read it."""
    from aegan.train import train

    run_dir = tmp_path_factory.mktemp("ae") / "run"
    train(compose_config(TINY_AE, run_dir))
    return run_dir
