"""The jobs of a sweep composed with what they share composed once (``composing_jobs``)
are the configs Hydra composes for each alone: the groups a job chooses, its search path,
the values it sets or adds, and Hydra's refusals, job after job."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra._internal import config_loader_impl
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import ConfigCompositionException
from hydra.types import RunMode
from omegaconf import OmegaConf

from aegan.config import CONF_DIR
from aegan.sweep_checks import jobs as sweep_jobs
from aegan.sweep_checks.compose import composing_jobs


def _composed(loader, master, jobs: list[list[str]]) -> list[str]:
    """Each job's config as YAML (unresolved), or the words Hydra refused it with."""
    out = []
    for job in jobs:
        try:
            out.append(OmegaConf.to_yaml(loader.load_sweep_config(master, job)))
        except Exception as err:
            out.append(f"{type(err).__name__}: {err}")
    return out


def test_each_job_is_composed_as_hydra_composes_it_alone(tmp_path: Path):
    for size in (3, 5):  # the user's own option, in two folders, on a search path a job adds
        own = tmp_path / f"conf{size}" / "model"
        own.mkdir(parents=True)
        text = f"defaults:\n  - autoencoder\n  - _self_\nlatent_dim: {size}\n"
        (own / "mine.yaml").write_text(text)
    searchpath = f"hydra.searchpath=[file://{tmp_path / 'conf3'}]"
    jobs = [
        ["model.latent_dim=8"],
        ["model.latent_dim=16"],
        ["model=vae", "model.latent_dim=8"],
        ["model.latent_dim=8", "model=vae", "model.beta=2"],  # a group after a value
        ["model=aae", "+model.extra=1"],  # a key added: not in the next job
        ["model=aae"],
        ["experiment=vae_fashion_mnist", "model.latent_dim=4"],
        ["logger=none", "model.optimizer={lr: 0.5}"],
        [searchpath, "model=mine"],
        ["model=mine"],  # refused without the search path, after a job that had it
        [f"hydra.searchpath=[file://{tmp_path / 'conf5'}]", "model=mine"],  # the other folder
        ["model=nope"],
        ["model=nope"],  # refused again, in the same words
        ["model.nope=1"],
        ["model.latent_dim=8"],  # the first job again, after all the others
    ]
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        master = compose("train", overrides=["data.subset=256"], return_hydra_config=True)
        loader = GlobalHydra.instance().config_loader()
        alone = _composed(loader, master, jobs)
        with composing_jobs(loader):
            together = _composed(loader, master, jobs)
        after = _composed(loader, master, jobs[:1])  # Hydra's own again, once it is closed
    for job, want, got in zip(jobs, alone, together, strict=True):
        assert got == want, job
    assert after == alone[:1]
    assert "latent_dim: 3" in alone[8] and "Could not find 'model/mine'" in alone[9]
    assert "latent_dim: 5" in alone[10]
    assert "extra: 1" in alone[4] and "extra" not in alone[5]


@pytest.mark.parametrize("job", [["model=nope"], ["+model=vae"]])
def test_a_refused_job_leaves_hydra_as_it_was(job):
    """Closed on an exception, the loader composes as Hydra's own again."""
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        master = compose("train", overrides=[], return_hydra_config=True)
        loader = GlobalHydra.instance().config_loader()
        before, build = dict(vars(loader)), config_loader_impl.create_defaults_list
        with pytest.raises(ConfigCompositionException), composing_jobs(loader):
            loader.load_sweep_config(master, job)
        assert vars(loader) == before
        assert config_loader_impl.create_defaults_list is build


def _checked_jobs(overrides: list[str]) -> list:
    """Each job of ``-m overrides`` as ``check_every_job`` composes it for its check (its
    config unresolved), then the line a job is refused with, if one is."""
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    jobs: list = []
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        hydra = GlobalHydra.instance().hydra
        assert hydra is not None
        master = hydra.compose_config("train", overrides, run_mode=RunMode.MULTIRUN)
        record = lambda composed, folder: jobs.append(OmegaConf.to_container(composed))  # noqa: E731
        try:
            sweep_jobs.check_every_job(master, record)
        except Exception as err:
            jobs.append(f"{type(err).__name__}: {err}")
    return jobs


@pytest.mark.parametrize(
    "swept",
    [["model=vae,aae", "model.latent_dim=8,16"],  # groups and values, crossed
     ["experiment=vae_fashion_mnist,aae_fashion_mnist"],  # recipes: groups and values each
     ["experiment=vae_fashion_mnist", "model=vae,conv_vae", "model.beta=2"],
     ["+model.new_key=1,2"], ["++model.latent_dim=3,4"],
     ["model=autoencoder,vae", "~model.loss"],  # a key one option has, the other not
     ["data=mnist,fashion_mnist", "data.subset=10"],
     ["model.latent_dim=${data.batch_size},8"],  # an interpolation, left as written
     ["model=vae,null"], ["model.latent_dim=range(1,4)"], ["model=glob(*vae*)", "seed=1,2"],
     ["model.optimizer={lr: 0.5},{lr: 0.1}"], ["+model@extra=vae,aae", "model.latent_dim=3"],
     ["hydra.searchpath=[file://{own}]", "model=mine,autoencoder", "model.latent_dim=1,2"],
     ["hydra.searchpath=[file://{own}]", "model=deep", "model/net=small,big"],  # a nested group
     ["hydra.searchpath=[file://{own}]", "model=deep,autoencoder", "model/net=small,big"],
     ["hparams_search=autoencoder_optuna", "model=choice(autoencoder,vae)",
      "model.latent_dim=interval(2,4)"]],
)  # fmt: skip
def test_a_sweeps_jobs_are_checked_as_hydra_composes_each(tmp_path, monkeypatch, swept):
    """Swept choices of groups, recipes, nested groups and the user's own options, with
    values set, added, deleted or interpolated: each job's config, or the line it is
    refused with, is the one Hydra composes for it alone."""
    if any("optuna" in o for o in swept):
        pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="needs the sweeps extra")
    own = tmp_path / "conf" / "model"
    (own / "net").mkdir(parents=True)
    (own / "mine.yaml").write_text("defaults:\n  - autoencoder\n  - _self_\nlatent_dim: 7\n")
    (own / "deep.yaml").write_text("defaults:\n  - autoencoder\n  - net: small\n  - _self_\n")
    for name, size in (("small", 4), ("big", 9)):
        (own / "net" / f"{name}.yaml").write_text(f"hidden_dims: [{size}]\nlatent_dim: {size}\n")
    swept = [o.replace("{own}", str(own.parent)) for o in swept]
    swept.append(f"hydra.sweep.dir={tmp_path / 'sweep'}")
    together = _checked_jobs(swept)
    monkeypatch.setattr(sweep_jobs, "composing_jobs", lambda loader: contextlib.nullcontext())
    alone = _checked_jobs(swept)
    assert together == alone
    assert len(alone) > 1
