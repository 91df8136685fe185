"""A list or a mapping that the settings' check refuses is shown as the command line writes
it: ``task_name=[a]`` was named as Python writes the list (``task_name=['a']``), and
``model.loss=[a,null]`` as ``['a', None]``."""

from __future__ import annotations

import pytest

from aegan.amp import resolve_precision
from conftest import CPU, assert_one_error_line

AUTO = resolve_precision("auto", CPU)  # fp32, or bf16 where the CPU has it


@pytest.mark.parametrize(
    ("override", "message"),
    [("task_name=[a]", "task_name=[a] is not allowed: it must be text"),
     ("model.loss=[a,null]", "model.loss=[a,null] is not allowed: it must be text"),
     ("paths.data_dir=[a]", "paths.data_dir=[a] is not allowed: it must be text"),
     ("evaluate.at_end={a:true}", "evaluate.at_end={a:true} is not allowed: it must be true or "
      "false, not a mapping")],
)  # fmt: skip
def test_a_refused_list_is_shown_as_typed(cli, tmp_path, override, message):
    run = tmp_path / "run"
    result = cli("aegan.train", override, "data.subset=64", f"hydra.run.dir={run}")
    assert_one_error_line(result, message)
    assert not run.exists()


@pytest.mark.parametrize(
    ("module", "argument", "message"),
    [("aegan.evaluate", "metrics={probe:1}", "metrics={probe:1} is not allowed"),
     ("aegan.evaluate", "overrides=[null]", "overrides: null is not allowed: an override is text, "
      "key=value"),
     ("aegan.evaluate", "overrides=[[a]]", "overrides: [a] is not allowed: an override is text"),
     ("aegan.bench", "compile_modes=[none,none]", "compile_modes=[none,none] is not allowed"),
     ("aegan.bench", "precisions=[auto,fp32,bf16]", "precisions=[auto,fp32,bf16] is not allowed: "
      f"it times [{AUTO},fp32,bf16], one precision twice")],
)  # fmt: skip
def test_evaluate_and_bench_show_a_refused_value_as_typed(cli, trained_ae_run, module, argument,
                                                          message):  # fmt: skip
    """They showed Python's ['none', 'none'], {'probe': 1}, and None (read as an override's
    name: "so None would change nothing")."""
    run = [f"run={trained_ae_run}"] if module == "aegan.evaluate" else ["trainer.device=cpu"]
    assert_one_error_line(cli(module, *run, argument), message)


@pytest.mark.parametrize(
    ("value", "shown"),
    [(["\n"], r"['\n']"), (["a b", "", "x/y.z"], "['a b','',x/y.z]"),
     (["nan", "True", "null"], "['nan','True','null']"), ({"k": "a,b"}, "{k:'a,b'}")],
)  # fmt: skip
def test_text_in_a_refused_list_is_quoted_where_the_command_line_needs_it(value, shown):
    """An item of text was written bare: ``seed=['\\n']`` made a message of two lines, and
    ``['nan']`` read back as a number."""
    from aegan.errors import refused_value

    assert refused_value(value) == shown
