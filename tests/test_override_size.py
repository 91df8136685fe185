"""An override too large for Hydra's parser is one line before Hydra reads it: a list of
50,000 layer sizes took its parser minutes (its time grows with the square of a list's
length) before the schema refused it, brackets nested 2,000 deep ran Python out of
recursion."""

from __future__ import annotations

import time

import pytest

from aegan.override_size import MAX_NESTING, MAX_VALUES
from conftest import assert_one_error_line

MOST = f"an override holds at most {MAX_VALUES} in one (the longest list a setting takes"


def listed(count: int, item: str = "4") -> str:
    return ",".join([item] * count)


@pytest.mark.parametrize(
    ("override", "message"),
    [(f"model.hidden_dims=[{listed(5000)}]", f"it holds 5,000 values in one list or sweep; {MOST}"),
     (f"model.latent_dim={','.join(map(str, range(1001)))}", "it holds 1,001 values in one list"),
     (f"model.latent_dim=choice({listed(2000)})", "it holds 2,000 values in one list or sweep"),
     (f"+model.net.x={{{','.join(f'k{i}:1' for i in range(1500))}}}", "it holds 1,500 values"),
     (f"model.hidden_dims=[[{listed(1200)}],[4]]", "it holds 1,200 values in one list"),
     ("model.hidden_dims=" + "[" * 2000 + "]" * 2000,
      f"its value nests 2000 brackets deep; an override nests at most {MAX_NESTING}")],
)  # fmt: skip
def test_an_override_too_large_to_parse_is_one_line(cli, tmp_path, override, message):
    run = tmp_path / "run"
    started = time.monotonic()
    result = cli("aegan.train", f"hydra.run.dir={run}", override)
    assert_one_error_line(result, message)
    assert time.monotonic() - started < 5 and not run.exists()


def test_the_longest_list_a_setting_takes_and_commas_in_text_are_read(cli, tmp_path):
    """A list of MAX_VALUES layers, and commas inside a quoted text, are under the bound:
    refused here for trainer.epochs=0, which is checked after them."""
    layers = f"model.hidden_dims=[{listed(MAX_VALUES)}]"
    text = f"+notes='{listed(3000, 'a')}'"
    result = cli("aegan.train", layers, text, "trainer.epochs=0", f"hydra.run.dir={tmp_path}/r")
    assert_one_error_line(result, "trainer.epochs=0 is not allowed")
