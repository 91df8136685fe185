"""A config file of the user's that a file of aegan's of the same name hides on Hydra's
search path (conf/ comes first): refused in one line naming both, where Hydra trained on
aegan's own without a word."""

from __future__ import annotations

import pytest

from aegan.config import compose_config
from aegan.errors import ConfigError
from conftest import REPO, assert_one_error_line

QUICK = ["data.subset=64", "data.val_size=32", "evaluate.at_end=false", "logger=none",
         "trainer.device=cpu", "trainer.epochs=1"]  # fmt: skip


@pytest.fixture
def own_folder(tmp_path):
    folder = tmp_path / "mine"
    (folder / "model").mkdir(parents=True)
    (folder / "train.yaml").write_text("defaults: [_self_]\nseed: 5\n")
    (folder / "model" / "vae.yaml").write_text("latent_dim: 3\n")
    return folder


@pytest.mark.parametrize(
    ("given", "hidden", "read", "instead"),
    [([], "train.yaml", "conf/train.yaml", "my_train.yaml, run with --config-name my_train"),
     (["model=vae"], "train.yaml", "conf/train.yaml", "my_train.yaml"),
     (["--config-name", "other", "model=vae"], "model/vae.yaml", "conf/model/vae.yaml",
      "model/my_vae.yaml, chosen with model=my_vae")],
)  # fmt: skip
def test_a_hidden_file_in_the_config_dir_is_refused(cli, tmp_path, own_folder, given, hidden,
                                                     read, instead):  # fmt: skip
    if "other" in given:  # its own primary config, composing aegan's train.yaml
        (own_folder / "train.yaml").unlink()
        (own_folder / "other.yaml").write_text("defaults: [train, _self_]\n")
    run = tmp_path / "run"
    result = cli("aegan.train", "--config-dir", str(own_folder), *given, *QUICK,
                 f"hydra.run.dir={run}")  # fmt: skip
    assert_one_error_line(
        result, f"--config-dir: {own_folder / hidden} is never read: {REPO / read} has its name"
    )
    assert f"give yours a name of its own (e.g. {instead}" in result.stderr
    assert not run.exists()


def test_a_hidden_file_on_the_searchpath_is_refused(cli, tmp_path, own_folder):
    run = tmp_path / "run"
    result = cli("aegan.train", f"hydra.searchpath=[file://{own_folder}]", "model=vae", *QUICK,
                 f"hydra.run.dir={run}")  # fmt: skip
    assert_one_error_line(
        result, f"hydra.searchpath: {own_folder / 'model/vae.yaml'} is never read"
    )
    assert not run.exists()


def test_a_hidden_file_is_refused_where_configs_are_composed_in_python(own_folder):
    """``compose_config`` (``load_run``'s and the notebooks' way in) took conf's model/vae."""
    with pytest.raises(ConfigError, match=r"^hydra.searchpath: .*model/vae.yaml is never read"):
        compose_config(["model=vae"], searchpath=[f"file://{own_folder}"])


def test_files_that_are_not_loaded_or_are_aegans_own_are_not_refused(cli, tmp_path, own_folder):
    """A hidden file the run does not load (model/vae.yaml, model=autoencoder), and conf/
    itself given as the folder (each file hides itself), run as before."""
    (own_folder / "train.yaml").unlink()
    for folder, name in ((own_folder, "a"), (REPO / "conf", "b")):
        run = tmp_path / name
        result = cli("aegan.train", "--config-dir", str(folder), *QUICK, f"hydra.run.dir={run}")
        assert result.returncode == 0, result.stderr[-2000:]
        assert (run / "metrics.json").is_file()
