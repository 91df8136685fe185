"""``+GROUP=OPTION`` for a group the config chooses already: one line saying to drop the +,
not Hydra's advice for a defaults list in a file."""

from __future__ import annotations

import pytest

from conftest import assert_one_error_line


@pytest.mark.parametrize(
    "override", ["+model=vae", "+experiment=vae_fashion_mnist", "+hydra/launcher=joblib"]
)
def test_a_plus_before_a_chosen_group_is_named(cli, tmp_path, override):
    """It was "Multiple values for model. To override a value use 'override model: vae'"."""
    group, _, value = override[1:].partition("=")
    run = tmp_path / "run"
    result = cli("aegan.train", override, "data.subset=64", f"hydra.run.dir={run}")
    assert_one_error_line(
        result,
        f"{override} is not allowed: {group} is in the config's defaults list already; "
        f"choose its option with {group}={value}, without the +",
    )
    assert not run.exists()


def test_a_files_defaults_list_keeps_hydras_words(cli, tmp_path):
    """A file of the user's naming a group twice: there, Hydra's advice is the fix."""
    (tmp_path / "mine.yaml").write_text("defaults: [train, {model: vae}, _self_]\n")
    result = cli("aegan.train", "--config-dir", str(tmp_path), "--config-name", "mine",
                 f"hydra.run.dir={tmp_path / 'run'}")  # fmt: skip
    assert_one_error_line(result, "Multiple values for model")
