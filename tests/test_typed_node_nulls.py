"""null given to a typed setting that does not take it names the kind it takes: it was
"trainer.epochs=null is not allowed: it must be set", which says nothing of what to set."""

from __future__ import annotations

import pytest

from conftest import assert_one_error_line


@pytest.mark.parametrize(
    ("override", "message"),
    [("trainer.epochs=null", "trainer.epochs=null is not allowed: it must be a positive integer"),
     ("trainer.keep_checkpoints=null", "trainer.keep_checkpoints=null is not allowed: it must be "
      "a positive integer"),
     ("hydra.job.name=null", "hydra.job.name=null is not allowed: it must be text")],
)  # fmt: skip
def test_null_for_a_typed_setting_names_its_kind(cli, tmp_path, override, message):
    run = tmp_path / "run"
    result = cli("aegan.train", override, "data.subset=64", f"hydra.run.dir={run}")
    assert_one_error_line(result, message)
    assert not run.exists()
