"""An override Hydra's lexer cannot read: one line naming the character, escaped, where
it is, and quoting that keeps the value as typed."""

from __future__ import annotations

import pytest

from conftest import assert_one_error_line

CANNOT = "cannot read the override"


@pytest.mark.parametrize(
    ("override", "said"),
    [
        ("task_name=a\nb", r"'\n' at character 12, a control or invisible character"),
        ("model.name=a\x01b", r"'\x01' at character 13, a control or invisible character"),
        ("task_name=a\u200bb", r"'\u200b' at character 12, a control or invisible character"),
    ],
)
def test_a_control_character_is_named_and_kept_inside_the_quotes(cli, tmp_path, override, said):
    """Hydra's hint, quote the value, printed the line break, which the one line turned into
    a space: task_name='a b', another value."""
    key = override.partition("=")[0]
    result = cli("aegan.train", override, f"hydra.run.dir={tmp_path / 'run'}")
    assert_one_error_line(result, f"{CANNOT} {override!r}: {said}")
    assert result.stderr.rstrip().endswith(
        f"; remove it, or put the value in quotes with it inside them: {key}='...'"
    )
    assert not (tmp_path / "run").exists()


def test_a_character_read_only_quoted_gets_the_value_quoted(cli, tmp_path):
    """Hydra's words named nothing but the lexer: 'LexerNoViableAltException: task_name=a#b'."""
    result = cli("aegan.train", "task_name=a#b", f"hydra.run.dir={tmp_path / 'run'}")
    assert_one_error_line(result, "'#' at character 12 cannot be read unquoted")
    assert result.stderr.rstrip().endswith("; quote the value: \"task_name='a#b'\"")


def test_a_quote_not_closed_is_named(cli, tmp_path):
    result = cli("aegan.train", "task_name='abc", f"hydra.run.dir={tmp_path / 'run'}")
    assert_one_error_line(result, "the quote at character 11 is not closed")


@pytest.mark.parametrize(
    "path", ["/runs/plain-1.2/run@x", "/runs/sp ace ü", "/runs/a,b", "/runs/it's ${x}", "/r/a\\"]
)
def test_a_resume_line_pastes_into_a_shell_as_the_one_override_it_names(path):
    """The line that says how to go on (a stop, a failed write) printed the run's folder as
    it is: a space split it, and Hydra refused the pasted command ('ace': missing EQUAL)."""
    import shlex

    from hydra.core.override_parser.overrides_parser import OverridesParser

    from aegan.settings.overrides import pasted_override

    (token,) = shlex.split(pasted_override("hydra.run.dir", path))
    (override,) = OverridesParser.create().parse_overrides([token])
    assert (override.key_or_group, override.value()) == (
        "hydra.run.dir",
        path.replace("${", "\\${"),
    )
