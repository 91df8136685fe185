"""A checkpoint of the same model and data as its run folder's record, with networks of
other sizes (another run's, ``model.latent_dim=16``, copied there), is not loaded or
evaluated as that run's; settings that leave the networks as they are may differ."""

from __future__ import annotations

import logging
import shutil

import pytest
from omegaconf import OmegaConf, open_dict

import aegan
from aegan.errors import CheckpointError
from aegan.train import train
from conftest import TINY_AE, assert_one_error_line, compose_config


def _trained(folder, *overrides):
    """A tiny autoencoder run in ``folder`` with its record as Hydra writes it."""
    cfg = compose_config([*TINY_AE, "logger=none", *overrides], folder)
    train(cfg)
    (folder / ".hydra").mkdir()
    with open_dict(cfg):
        cfg.pop("hydra", None)
    OmegaConf.save(cfg, folder / ".hydra" / "config.yaml")
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two runs of the autoencoder: codes of 32 (the run) and of 16 (another)."""
    top = tmp_path_factory.mktemp("runs")
    return _trained(top / "run"), _trained(top / "other", "model.latent_dim=16")


@pytest.fixture
def run(runs, tmp_path):
    return shutil.copytree(runs[0], tmp_path / "run")


def test_another_runs_checkpoint_of_other_sizes_is_not_taken_for_the_runs(cli, runs, run, caplog):
    """It was loaded with the folder's figures (of the 32-d model) as Run.metrics, and
    aegan.evaluate wrote its figures into the folder's metrics.json. Settings that leave
    the networks as they are may differ: a resume may change them, and the record holds
    the last command's."""
    record = run / ".hydra" / "config.yaml"
    cfg = OmegaConf.load(record)
    cfg.model.optimizer.lr, cfg.trainer.epochs, cfg.seed = 0.5, 7, 3
    OmegaConf.save(cfg, record)
    own = run / "checkpoints" / "own.pt"
    shutil.copy(run / "checkpoints" / "last.pt", own)
    for name in ("last.pt", "best.pt"):
        shutil.copy(runs[1] / "checkpoints" / "last.pt", run / "checkpoints" / name)
    before = (run / "metrics.json").read_bytes()
    for which in ("last", "best"):
        with pytest.raises(CheckpointError) as caught:
            aegan.load_run(run, checkpoint=which)
        assert str(caught.value) == (
            f"{run}/checkpoints/{which}.pt: a checkpoint with autoencoder.encoder.3.weight of "
            f"shape (16, 64), in the folder of a run whose record builds it (32, 64) ({record}); "
            "it is not this run's: move it away, or name the run it came from"
        )
    result = cli("aegan.evaluate", f"run={run}", "device=cpu", "metrics=[reconstruction]")
    assert_one_error_line(result, f"{run}/checkpoints/last.pt: a checkpoint with autoencoder.")
    assert (run / "metrics.json").read_bytes() == before
    assert aegan.load_run(runs[1]).config.model.latent_dim == 16  # in its own run's folder
    shutil.copy(own, run / "checkpoints" / "last.pt")
    with caplog.at_level(logging.WARNING):
        loaded = aegan.load_run(run)
    assert loaded.config.model.latent_dim == 32 and loaded.metrics
    assert not [r for r in caplog.records if str(record) in r.getMessage()]


def test_a_record_whose_networks_cannot_be_built_is_said_and_the_run_loads(run, caplog):
    """A damaged record leaves the checkpoint's own record to rebuild the run, as one that
    is no YAML does."""
    record = run / ".hydra" / "config.yaml"
    record.write_text(record.read_text().replace("latent_dim: 32", "latent_dim: -4", 1))
    with caplog.at_level(logging.WARNING):
        loaded = aegan.load_run(run)
    assert loaded.config.model.latent_dim == 32
    said = [r.getMessage() for r in caplog.records if str(record) in r.getMessage()]
    assert len(said) == 1 and said[0].startswith(f"{record}: its networks cannot be built here")


@pytest.mark.parametrize("into", ["new", "its own"])
def test_another_runs_checkpoint_of_other_sizes_is_not_resumed_as_the_runs(cli, runs, run, into):
    """Resumed with the sizes it has, it went on as the run: in a new folder as its
    continuation, in the run's own folder over its record and figures."""
    shutil.copy(runs[1] / "checkpoints" / "last.pt", run / "checkpoints" / "last.pt")
    folder = run.parent / "resumed" if into == "new" else run
    record = (run / ".hydra" / "config.yaml").read_bytes()
    result = cli("aegan.train", *TINY_AE, "logger=none", "model.latent_dim=16",
                 "trainer.epochs=2", f"trainer.resume={run}", f"hydra.run.dir={folder}")  # fmt: skip
    assert_one_error_line(
        result, f"{run}/checkpoints/last.pt: a checkpoint with autoencoder.encoder.3.weight of "
        "shape (16, 64), in the folder of a run whose record builds it (32, 64)"
    )  # fmt: skip
    assert not (run.parent / "resumed").exists()
    assert (run / ".hydra" / "config.yaml").read_bytes() == record
