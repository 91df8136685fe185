"""A text setting of the trainer given another kind of value is refused as typed, as a
model's or data's is: OmegaConf's text type turned ``trainer.compile=true`` into 'True',
refused as typed by no one ("trainer.compile='True' is not allowed"), and
``trainer.resume=true`` into a checkpoint named True."""

from __future__ import annotations

import pytest

from conftest import assert_one_error_line


@pytest.mark.parametrize(
    ("override", "message"),
    [("trainer.compile=true", "trainer.compile=true is not allowed: it must be text"),
     ("trainer.compile_scope=1", "trainer.compile_scope=1 is not allowed: it must be text"),
     ("trainer.device=1", "trainer.device=1 is not allowed: it must be text"),
     ("trainer.precision=16", "trainer.precision=16 is not allowed: it must be text"),
     ("trainer.on_nonfinite=false", "trainer.on_nonfinite=false is not allowed: it must be text"),
     ("trainer.resume=true", "trainer.resume=true is not allowed: it must be a checkpoint file, "
      "a run dir, auto or null"),
     ("trainer.resume=2026", "trainer.resume=2026 is not allowed: it must be a checkpoint file, "
      "a run dir, auto or null (quoted where it reads as a number: trainer.resume='2026')")],
)  # fmt: skip
def test_a_trainer_text_setting_of_another_kind_is_named_as_typed(cli, tmp_path, override, message):
    run = tmp_path / "run"
    result = cli("aegan.train", override, "data.subset=64", f"hydra.run.dir={run}")
    assert_one_error_line(result, message)
    assert "'True'" not in result.stderr and not run.exists()
