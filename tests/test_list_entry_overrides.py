"""An override of a list's entry that cannot be (past its end, not a number, deleted) is one
line naming it and the list, before any folder: OmegaConf's words were shown ("list index
out of range", "invalid literal for int() with base 10: 'x'", "list indices must be integers
or slices, not str")."""

from __future__ import annotations

import pytest

from conftest import assert_one_error_line

WHOLE = "give the whole list: model.hidden_dims=[A,B]"


@pytest.mark.parametrize(
    ("override", "why"),
    [("model.hidden_dims.5=5", "model.hidden_dims has no entry 5"),
     ("+model.hidden_dims.5=5", "model.hidden_dims has no entry 5"),
     ("model.hidden_dims.x=5", "model.hidden_dims is a list, its entries numbered from 0"),
     ("~model.hidden_dims.0", "an entry of a list cannot be deleted")],
)  # fmt: skip
def test_a_list_entry_that_cannot_be_set_is_one_line(cli, tmp_path, override, why):
    run = tmp_path / "run"
    result = cli("aegan.train", override, "trainer.epochs=1", f"hydra.run.dir={run}")
    assert_one_error_line(result, f"{override} is not allowed: {why}; {WHOLE}")
    assert not run.exists()


def test_an_entry_inside_the_list_is_set(cli, tmp_path):
    result = cli("aegan.train", "model.hidden_dims.0=7", "model.latent_dim=0",
                 f"hydra.run.dir={tmp_path}/run")  # fmt: skip
    assert_one_error_line(result, "model.latent_dim=0 is not allowed")
