"""The jobs of a sweep composed with what they share composed once (``composing_jobs``)
are the configs Hydra composes for each alone: the groups a job chooses, its search path,
the values it sets or adds, and Hydra's refusals, job after job."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra._internal import config_loader_impl
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from aegan.config import CONF_DIR
from aegan.sweep_compose import composing_jobs


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
