"""A list or a mapping that the settings' check refuses is shown as the command line writes
it: ``task_name=[a]`` was named as Python writes the list (``task_name=['a']``), and
``model.loss=[a,null]`` as ``['a', None]``."""

from __future__ import annotations

import pytest

from aegan.amp import resolve_precision
from aegan.config import compose_config, validate_config
from aegan.errors import ConfigError
from aegan.settings.refused_values import one_line
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
     # no key: "so  would change nothing"
     ("aegan.evaluate", "overrides=['=5']", "overrides: '=5' is not allowed: an override is text, "
      "key=value"),
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


@pytest.mark.parametrize(
    ("overrides", "message"),
    [("data.subset=[1e3,2]", "data.subset=[1e3,2] is not allowed: it must be an integer >= 1"),
     ("trainer.cpu_threads={a:1}", "trainer.cpu_threads={a:1} is not allowed: it must be a "
      "positive integer"),
     ("model.optimizer.foreach=[a,null]", "model.optimizer.foreach=[a,null] is not allowed: it "
      "must be true, false or null"),
     ("model=aae model.prior_layout=[a]", "model.prior_layout=[a] is not allowed; choose one of"),
     ("evaluate.metrics=[fd,null]", "evaluate.metrics: null is not a metric; choose from: "),
     ("evaluate.metrics=[[fd]]", "evaluate.metrics: [fd] is not a metric; choose from: "),
     ("model=conv_vae +model.hidden_dims=[1,2]", "model.hidden_dims=[1,2] is not allowed: "
      "model.net._target_=aegan.models.ConvVAE does not read it"),
     ("model.net.latent_dim=[1,2]", "model.net.latent_dim=[1,2] is not allowed: conf/ sets it from "
      "model.latent_dim (32)")],
)  # fmt: skip
def test_a_list_that_the_code_reading_a_key_refuses_is_shown_as_typed(overrides, message):
    """Where conf/ holds null (data.subset) or ties the key to another, the check of the code
    that reads it named the value as Python writes it: ``data.subset=[1e3, 2]``,
    ``{'a': 1}``, ``['a', None]``."""
    argv = overrides.split()
    with pytest.raises(ConfigError) as refused:
        validate_config(compose_config(argv), in_job=False, read_data=False)
    assert one_line(str(refused.value), argv).startswith(message)
