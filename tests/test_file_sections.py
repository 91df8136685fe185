"""A config file of the user's that sets a section of settings (trainer, model, data,
evaluate, ...) to a value that is no mapping is one line naming the option, the section and
its file: ``trainer: 3`` was "In 'experiment/mine': ValidationError raised while composing
config: Merge error: int is not a subclass of TrainerSchema. value: 3 full_key:
object_type=dict", ``trainer: null`` "trainer.epochs is not a setting: trainer has none (is
its config file empty?)", and ``evaluate: 3`` named evaluate.at_end as no setting."""

from __future__ import annotations

import pytest
from own_files import train_own_experiment

from conftest import assert_one_error_line


@pytest.mark.parametrize(
    ("text", "said"),
    [("trainer: 3", "trainer=3"), ("trainer: [1]", "trainer=[1]"), ("trainer: null", "trainer=null"),
     ("data: [1]", "data=[1]"), ("evaluate: 3", "evaluate=3"), ("model: abc", "model=abc")],
)  # fmt: skip
def test_a_section_set_to_no_mapping_in_a_file_is_one_line(cli, tmp_path, text, said):
    result, mine, run = train_own_experiment(cli, tmp_path, f"{text}\n")
    section = said.partition("=")[0]
    assert_one_error_line(
        result, f"experiment=mine: {said} is not allowed: it must be a mapping of the settings "
        f"of {section} (set in {mine})",
    )  # fmt: skip
    assert not run.exists()
