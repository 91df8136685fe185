"""An override Hydra's parser cannot read is named with what was typed and what is allowed,
not the parser's grammar: "extraneous input '=' expecting {<EOF>, ':', BRACKET_OPEN, ...}",
"no viable alternative at input '[1,2'", "mismatch type argument start: str is
incompatible with Union[int, float]"."""

from __future__ import annotations

import pytest

from conftest import assert_one_error_line


@pytest.mark.parametrize(
    ("override", "reason"),
    [("model.latent_dim==3", "'=' is not expected there"),
     ("model.latent_dim=(1", "'(' is not expected there"),
     ("hydra.run.dir=${}", "'{' is not expected there"),  # "mismatched input '{' expecting"
     ("model.hidden_dims=[1,2", "'[1,2' is not complete: a bracket left open, or no value "
      "between commas"),
     ("model.hidden_dims=[1,,2]", "'[1,,' is not complete: a bracket left open, or no value "
      "between commas"),
     ("model.latent_dim=range(a)", "the argument start must be a number, not text"),
     ("seed=tag(a,1)", "the argument args[1] must be text or a sweep, not a number")],
)  # fmt: skip
def test_an_override_the_parser_cannot_read_is_in_words(cli, tmp_path, override, reason):
    run = tmp_path / "run"
    result = cli("aegan.train", override, f"hydra.run.dir={run}")
    assert_one_error_line(result, f"cannot read the override '{override}': {reason} (the syntax:")
    assert "expecting" not in result.stderr and "Union[" not in result.stderr
    assert not run.exists()
