"""What several test files share that takes seconds to make: tiny trained runs, and the
domain classifier of the tests that measure a small run's samples (registered by conftest's
``pytest_plugins``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from filelock import FileLock

from conftest import RESUME, TINY_AE, compose_config

# The evaluations that share one classifier: 1000 training images, 200 of them held out for
# the floors (200 samples: a fifth of 1000), so that it learns the other 800
CLASSIFIED = ["data.subset=1000", "data.val_size=200"]
CLASSIFIED_SAMPLES = 200


@pytest.fixture(scope="session")
def trained_ae_run(tmp_path_factory) -> Path:
    """One tiny real autoencoder run on Fashion-MNIST, shared by the tests that only read it."""
    from aegan.train import train

    run_dir = tmp_path_factory.mktemp("ae") / "run"
    train(
        compose_config(
            [*TINY_AE, "evaluate.at_end=true", "evaluate.metrics=[reconstruction]"], run_dir
        )
    )
    return run_dir


@pytest.fixture(scope="module")
def ae(tmp_path_factory) -> tuple[Path, dict]:
    """A tiny trained autoencoder run and its last checkpoint's state, for the tests that
    change it part by part (``hostile_state``)."""
    from aegan.train import train

    run = tmp_path_factory.mktemp("hostile-checkpoints") / "run"
    train(compose_config(RESUME, run))
    return run, torch.load(run / "checkpoints" / "last.pt", weights_only=True)


@pytest.fixture(scope="session")
def classifier_cache(tmp_path_factory) -> Path:
    """A cache folder (``evaluate.cache_dir``) holding the classifier that an evaluation of
    ``CLASSIFIED`` data with ``CLASSIFIED_SAMPLES`` samples reads, trained by the
    evaluation's own code once for all xdist workers: each trained it again, 6-7 s a core."""
    from aegan.data import load_data
    from aegan.metrics.evaluation import Evaluation
    from aegan.metrics.scope import Settings

    session = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:  # each worker's folder is in the session's
        session = session.parent
    folder = session / "classifier-cache"
    with FileLock(session / "classifier-cache.lock"):  # the other workers wait, then read it
        if not list(folder.glob("classifier-*.pt")):
            cfg = compose_config([*TINY_AE, *CLASSIFIED], session / "classifier-data" / "run")
            data = load_data(cfg.data, data_dir=cfg.paths.data_dir)
            settings = Settings(samples=CLASSIFIED_SAMPLES, cache_dir=folder, progress=False)
            Evaluation(None, data, settings).classifier  # noqa: B018  trains and caches it
    return folder
