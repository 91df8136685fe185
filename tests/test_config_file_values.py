"""A value in a config file of the user's that a typed section cannot take: one line naming
the option that set it, the key, the value and what is allowed, as an override's would."""

from __future__ import annotations

import pytest

from conftest import assert_one_error_line

GLOBAL = "# @package _global_\n"


@pytest.mark.parametrize(
    ("group", "text", "said"),
    [
        ("experiment", GLOBAL + "trainer: {epochs: abc}\n",
         "experiment=mine: trainer.epochs='abc' is not allowed: it must be an integer"),
        ("trainer", "defaults: [default]\nepochs: abc\n",
         "trainer=mine: trainer.epochs='abc' is not allowed: it must be an integer"),
        ("experiment", GLOBAL + "seed: '1'\n",
         "experiment=mine: seed='1' is not allowed: it must be an integer (unquoted: seed=1)"),
        ("experiment", GLOBAL + "hydra: {job: {chdir: abc}}\n",
         "experiment=mine: hydra.job.chdir='abc' is not allowed: it must be true or false"),
        ("experiment", GLOBAL + "trainer: {epoch: 3}\n",
         "experiment=mine: trainer.epoch is not a setting; did you mean trainer.epochs?"),
        ("experiment", GLOBAL + "hydra: {sweeper: {params: {seed: null}}}\n",
         "experiment=mine: hydra.sweeper.params.seed=null is not allowed: it must be set"),
    ],
)  # fmt: skip
def test_a_files_value_is_named_by_its_option(cli, tmp_path, group, text, said):
    """Hydra's words, with OmegaConf's about its nodes: "In 'experiment/mine':
    ValidationError raised while composing config: Value 'abc' of type 'str' could not be
    converted to Integer full_key: trainer.epochs object_type=TrainerSchema"."""
    folder = tmp_path / "myconf" / group
    folder.mkdir(parents=True)
    (folder / "mine.yaml").write_text(text)
    run = tmp_path / "run"
    result = cli("aegan.train", f"hydra.searchpath=[file://{tmp_path / 'myconf'}]",
                 f"{group}=mine", "data.subset=64", f"hydra.run.dir={run}")  # fmt: skip
    assert_one_error_line(result, said)
    assert "full_key" not in result.stderr and not run.exists()
