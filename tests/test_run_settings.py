"""What a resume may change and what makes a run what it is (``aegan.engine.run_settings``):
a checkpoint of the same model and data with other settings that leave its networks as they
are (``model.loss=bce``, ``model.beta=4``), copied into another run's folder, is not loaded,
evaluated or resumed as that run's, and a resume that would change one is refused; the
optimizer's settings, the seed, ``data.batch_size`` and ``data.subset`` a resume may change,
and every checkpoint of the run still loads after it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf, open_dict

import aegan
from aegan.engine.resume import check_same_run
from aegan.errors import CheckpointError, ConfigError
from aegan.io.files import atomic_save
from aegan.train import train
from conftest import TINY_AE, assert_one_error_line, compose_config

TINY = [*TINY_AE, "data.subset=256", "logger=none"]
NOT_ITS = "it is not this run's: move it away, or name the run it came from"


def _trained(folder: Path, *overrides: str) -> Path:
    """A tiny run in ``folder`` with its record as Hydra writes it: as composed, before the
    run resolves its paths (``${..latent_dim}`` as text)."""
    cfg = compose_config([*TINY, *overrides], folder)
    with open_dict(cfg):
        cfg.pop("hydra", None)
    record = OmegaConf.to_yaml(cfg)
    train(cfg)
    (folder / ".hydra").mkdir()
    (folder / ".hydra" / "config.yaml").write_text(record)
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The autoencoder with mse and with bce, and a VAE of beta=4."""
    top = tmp_path_factory.mktemp("settings")
    return {"mse": _trained(top / "mse"), "bce": _trained(top / "bce", "model.loss=bce"),
            "beta": _trained(top / "beta", "model=vae", "model.beta=4")}  # fmt: skip


@pytest.fixture
def run(runs, tmp_path):
    """A copy of the mse run, holding the bce run's last checkpoint as its last and best."""
    run = shutil.copytree(runs["mse"], tmp_path / "run")
    shutil.copy(run / "checkpoints" / "last.pt", run / "checkpoints" / "own.pt")
    for name in ("last.pt", "best.pt"):
        shutil.copy(runs["bce"] / "checkpoints" / "last.pt", run / "checkpoints" / name)
    return run


def test_another_runs_checkpoint_of_other_settings_is_not_taken_for_the_runs(cli, run):
    """Its weights fit the folder's networks: it was loaded with the folder's figures as
    Run.metrics, and aegan.evaluate wrote its figures into the folder's metrics.json."""
    record = run / ".hydra" / "config.yaml"
    before = (run / "metrics.json").read_bytes()
    for which in ("last", "best"):
        with pytest.raises(CheckpointError) as caught:
            aegan.load_run(run, checkpoint=which)
        assert str(caught.value) == (
            f"{run}/checkpoints/{which}.pt: a checkpoint of model.loss=bce, in the folder of a "
            f"run of model.loss=mse ({record}); {NOT_ITS}"
        )
    result = cli("aegan.evaluate", f"run={run}", "device=cpu", "metrics=[reconstruction]")
    assert_one_error_line(result, f"{run}/checkpoints/last.pt: a checkpoint of model.loss=bce")
    assert (run / "metrics.json").read_bytes() == before
    assert aegan.load_run(run / "checkpoints" / "own.pt").config.model.loss == "mse"
    # saved before a setting was added to conf/, a checkpoint's config lacks it: not compared
    state = torch.load(run / "checkpoints" / "own.pt", weights_only=True)
    del state["config"]["model"]["loss"]
    atomic_save(state, run / "checkpoints" / "last.pt")
    assert "loss" not in aegan.load_run(run).config.model  # left to the task's default


@pytest.mark.parametrize("resume", ["auto", "the run"])
def test_another_runs_checkpoint_of_other_settings_is_not_resumed_as_the_runs(cli, run, resume):
    """With its own settings on the command line it went on in the folder as the run, over
    its record, figures and best.pt."""
    files = {p: p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}
    given = "auto" if resume == "auto" else str(run)
    result = cli("aegan.train", *TINY, "model.loss=bce", "trainer.epochs=2",
                 f"trainer.resume={given}", f"hydra.run.dir={run}")  # fmt: skip
    assert_one_error_line(
        result, f"{run}/checkpoints/last.pt: a checkpoint of model.loss=bce, in the folder of a "
        f"run of model.loss=mse ({run}/.hydra/config.yaml); {NOT_ITS}"
    )  # fmt: skip
    assert {p: p.read_bytes() for p in files} == files


def test_a_resume_changes_only_what_a_resume_may_change(cli, runs, tmp_path):
    """A VAE of beta=4 went on as one of beta=1: its history and best.pt measured another
    objective than the steps after. The optimizer's settings, the seed, data.batch_size and
    data.subset it may change, in the run's own folder too, whose record then holds the new
    values: the checkpoints trained before still load as the run's."""
    new = tmp_path / "new"
    result = cli("aegan.train", *TINY, "model=vae", "trainer.epochs=2",
                 f"trainer.resume={runs['beta']}", f"hydra.run.dir={new}")  # fmt: skip
    assert_one_error_line(
        result, f"trainer.resume={runs['beta']}/checkpoints/last.pt: it was trained with "
        "model.beta=4, this command has model.beta=1.0; a resume continues the run as it "
        "trained, changing at most its optimizers' settings (not their _target_), seeds, "
        "data.root, data.batch_size or data.subset: resume with model.beta=4, or start a new run"
    )  # fmt: skip
    assert not new.exists()
    run = shutil.copytree(runs["mse"], tmp_path / "run")
    changed = ["model.optimizer.lr=0.01", "seed=5", "data.batch_size=32", "data.subset=300"]
    result = cli("aegan.train", *TINY, *changed, "trainer.epochs=2",
                 f"trainer.resume={run}", f"hydra.run.dir={run}")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    steps = sorted((run / "checkpoints").glob("step-*.pt"))
    assert len(steps) == 2
    for path in [*steps, run / "checkpoints" / "best.pt"]:
        assert aegan.load_run(path).config.model.loss == "mse"


def test_a_resume_with_another_optimizer_class_is_refused(cli, runs, tmp_path):
    """An Adam run resumed with torch.optim.SGD went on without a word, its moments dropped;
    an SGD run resumed with Adam was refused after the data was read, blaming the file."""
    new = tmp_path / "new"
    result = cli("aegan.train", *TINY, "model.optimizer._target_=torch.optim.SGD",
                 "trainer.epochs=2", f"trainer.resume={runs['mse']}", f"hydra.run.dir={new}")  # fmt: skip
    assert_one_error_line(
        result, f"trainer.resume={runs['mse']}/checkpoints/last.pt: it was trained with "
        "model.optimizer._target_=torch.optim.Adam, this command has "
        "model.optimizer._target_=torch.optim.SGD; a resume continues the run as it trained"
    )  # fmt: skip
    assert not new.exists()


def test_a_resume_that_deletes_a_setting_the_run_has_is_refused(cli, runs, tmp_path):
    """~model.loss left the loss to the task's default: a run trained with bce went on with
    mse, its objective another than its history's."""
    new = tmp_path / "new"
    result = cli("aegan.train", *TINY, "~model.loss", "trainer.epochs=2",
                 f"trainer.resume={runs['bce']}", f"hydra.run.dir={new}")  # fmt: skip
    assert_one_error_line(
        result, f"trainer.resume={runs['bce']}/checkpoints/last.pt: it was trained with "
        "model.loss=bce, this command has model.loss deleted (~model.loss: the task's "
        "default); a resume continues the run as it trained"
    )  # fmt: skip
    assert not new.exists()


def test_a_setting_added_since_in_the_folders_record_leaves_the_run_its_own(tmp_path):
    """trainer.resume=auto of a run from before a model setting (an AAE without
    model.ema_decay) leaves it to the task's default, no average, but Hydra's record of the
    resume names conf/'s value: the networks that value builds were held against the run's
    own checkpoints, refused as another run's."""
    run = _trained(tmp_path / "aae", "model=aae", "~model.ema_decay")
    record = run / ".hydra" / "config.yaml"
    record.write_text(
        record.read_text().replace("  name: aae\n", "  name: aae\n  ema_decay: 0.5\n")
    )
    loaded = aegan.load_run(run)
    assert loaded.task.ema is None and "ema_decay" not in loaded.config.model


def _record(**model) -> dict:
    config = {"model": {"name": "autoencoder", "optimizer": {"lr": 1e-3}, "loss": "mse", **model},
              "data": {"name": "fashion_mnist"}, "seed": 0}  # fmt: skip
    return {"config": config, "choices": {"model": "autoencoder", "data": "fashion_mnist"}}


def test_resume_auto_offers_to_continue_anyway_only_what_a_resume_may_change():
    """It offered trainer.resume=PATH for other data settings (refused there for all but
    the batch size and subset) and not for another lr (which that resume takes)."""
    path = Path("run/checkpoints/last.pt")
    for now, anyway in (({"optimizer": {"lr": 0.5}}, True), ({"loss": "bce"}, False)):
        with pytest.raises(ConfigError) as caught:
            check_same_run(_record(), _record(**now), path)
        offered = str(caught.value).endswith(f"trainer.resume={path} to continue it anyway")
        assert offered == anyway, caught.value
