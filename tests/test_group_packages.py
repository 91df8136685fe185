"""A config group every run reads at its own place, moved with @PACKAGE, is one line before
any folder: Hydra said "To append to your default list use +model@x=vae", and that put vae's
settings under a key x that nothing reads, the run training the autoencoder without a word."""

from __future__ import annotations

import pytest

from conftest import assert_one_error_line


@pytest.mark.parametrize(
    "override",
    ["model@x=vae", "+model@x=vae", "++data@y=mnist", "experiment@_global_=vae_fashion_mnist",
     "+hydra/launcher@z=joblib"],
)  # fmt: skip
def test_a_group_moved_to_another_package_is_one_line(cli, tmp_path, override):
    group = override.lstrip("+").partition("@")[0]
    run = tmp_path / "run"
    result = cli("aegan.train", override, "trainer.epochs=0", f"hydra.run.dir={run}")
    assert_one_error_line(
        result, f"{override} is not allowed: an option of {group} is read only where {group} "
        f"puts it (@PACKAGE moves it where nothing reads it); choose one with {group}=NAME"
    )  # fmt: skip
    assert not run.exists()
