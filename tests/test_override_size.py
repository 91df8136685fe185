"""An override too large for Hydra's parser is one line before Hydra reads it: a list of
50,000 layer sizes took its parser minutes (its time grows with the square of a list's
length) before the schema refused it, brackets nested 2,000 deep ran Python out of
recursion, and a number of 5,000 digits was a traceback (Python's "Exceeds the limit (4300
digits) for integer string conversion")."""

from __future__ import annotations

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from aegan.settings.override_size import MAX_ITEMS, MAX_NESTING, MAX_SWEEP_VALUES
from conftest import assert_one_error_line

MOST = f"an override holds at most {MAX_ITEMS} in one (the longest list a setting takes"
SWEEP = f"a sweep has at most {MAX_SWEEP_VALUES:,} (a grid's jobs)"


def listed(count: int, item: str = "4") -> str:
    return ",".join([item] * count)


@pytest.mark.parametrize(
    ("override", "message"),
    [(f"model.hidden_dims=[{listed(5000)}]", f"it holds 5,000 items in one list; {MOST}"),
     (f"+model.net.x={{{','.join(f'k{i}:1' for i in range(1500))}}}", "it holds 1,500 items"),
     (f"model.hidden_dims=[[{listed(1200)}],[4]]", "it holds 1,200 items in one list"),
     (f"seed={','.join(map(str, range(10001)))}", f"it sweeps 10,001 values; {SWEEP}"),
     (f"seed=choice({','.join(map(str, range(12000)))})", "it sweeps 12,000 values"),
     ("model.hidden_dims=" + "[" * 2000 + "]" * 2000,
      f"its value nests 2000 brackets deep; an override nests at most {MAX_NESTING}"),
     ("model.latent_dim=" + "9" * 5000, "it holds a number of 5,000 digits, more than Python"),
     ("model.hidden_dims=[64,9_" + "9" * 4300 + "]", "it holds a number of 4,301 digits")],
)  # fmt: skip
def test_an_override_too_large_to_parse_is_one_line(cli, monkeypatch, tmp_path, override, message):
    parsed: list[str] = []  # what Hydra's parser read: its time grows with a list's square
    parse_rule = OverridesParser.parse_rule

    def reading(self: OverridesParser, text: str, rule_name: str) -> object:
        parsed.append(text)
        return parse_rule(self, text, rule_name)

    monkeypatch.setattr(OverridesParser, "parse_rule", reading)
    run = tmp_path / "run"
    result = cli("aegan.train", f"hydra.run.dir={run}", override)
    assert_one_error_line(result, message)
    value = override.split("=", 1)[1]
    assert not [text for text in parsed if value in text] and not run.exists()


def test_the_longest_list_a_setting_takes_and_commas_in_text_are_read(cli, tmp_path):
    """A list of MAX_ITEMS layers, and commas inside a quoted text, are under the bound:
    refused here for trainer.epochs=0, which is checked after them."""
    layers = f"model.hidden_dims=[{listed(MAX_ITEMS)}]"
    text = f"+notes='{listed(3000, 'a')}'"
    result = cli("aegan.train", layers, text, "trainer.epochs=0", f"hydra.run.dir={tmp_path}/r")
    assert_one_error_line(result, "trainer.epochs=0 is not allowed")


def test_a_sweep_as_long_as_a_grid_may_be_is_read(cli, tmp_path):
    """Its values are read as a sweep: without -m, the line of a sweep given to one run."""
    values = ",".join(map(str, range(2000)))
    result = cli("aegan.train", f"seed={values}", f"hydra.run.dir={tmp_path}/r")
    assert_one_error_line(result, "is a sweep, not a value: run it with -m")


def test_the_sweep_bound_is_the_grids():
    from aegan.sweep_checks.jobs import MAX_GRID_JOBS

    assert MAX_SWEEP_VALUES == MAX_GRID_JOBS


def test_the_item_bound_is_the_layers():
    from aegan.settings.schema_kinds import MAX_LAYERS

    assert MAX_ITEMS == MAX_LAYERS


def test_an_override_too_large_to_parse_is_not_read_for_its_refusals_line():
    """The line an entry point prints writes each number as typed, which reads the overrides:
    the line refusing 50,000 layer sizes came after minutes of reading them there."""
    from aegan.settings.refused_values import read_as_typed

    assert read_as_typed(f"[{listed(MAX_ITEMS)}]") == [4] * MAX_ITEMS
    assert read_as_typed(f"[{listed(MAX_ITEMS + 1)}]") is None


@pytest.mark.parametrize("command", ["aegan.train", "aegan.bench"])
def test_a_quoted_number_too_long_to_read_is_refused_as_text(cli, tmp_path, command):
    """'9...9' (5,000 digits) is text; its line's hint read it as a number: a traceback,
    after aegan.train had made the run's folder."""
    key = "model.latent_dim" if command == "aegan.train" else "steps"
    run = tmp_path / "run"
    result = cli(command, f"{key}='{'9' * 5000}'", f"hydra.run.dir={run}")
    assert_one_error_line(result, f"{key}='999")
    assert not run.exists()
