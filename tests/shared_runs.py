"""What several test files share that takes seconds to make: tiny trained runs (registered
by conftest's ``pytest_plugins``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from conftest import RESUME, TINY_AE, compose_config


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
