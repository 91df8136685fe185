"""Text that a typed setting refused is shown quoted where, unquoted, the command line would
read it as another value: ``trainer.epochs='1e3'`` was shown as the number
(``trainer.epochs=1e3 is not allowed``), and ``''`` as nothing (``trainer.epochs= is not
allowed``)."""

from __future__ import annotations

import pytest

from conftest import assert_one_error_line


@pytest.mark.parametrize(
    ("override", "message"),
    [("trainer.epochs=''", "trainer.epochs='' is not allowed: it must be an integer"),
     ("trainer.epochs='1e3'", "trainer.epochs='1e3' is not allowed: it must be an integer"),
     ("trainer.keep_checkpoints='null'",
      "trainer.keep_checkpoints='null' is not allowed: it must be an integer"),
     ("trainer.cpu_threads='a b'", "trainer.cpu_threads='a b' is not allowed: it must be a "
      "positive integer or null"),
     ("trainer.epochs=abc", "trainer.epochs='abc' is not allowed: it must be an integer")],
)  # fmt: skip
def test_refused_text_is_shown_as_it_is_typed(cli, tmp_path, override, message):
    run = tmp_path / "run"
    result = cli("aegan.train", override, "data.subset=64", f"hydra.run.dir={run}")
    assert_one_error_line(result, message)
    assert not run.exists()


@pytest.mark.parametrize(
    ("override", "message"),
    [("seed=1e3", "seed=1e3 is not allowed: it must be an integer"),
     ("trainer.epochs=1E3", "trainer.epochs=1E3 is not allowed: it must be an integer"),
     ("task_name=1e3", "task_name=1e3 is not allowed: it must be text (quoted where it reads as "
      "a number: task_name='1e3')"),
     ("trainer.resume=1e3", "trainer.resume=1e3 is not allowed: it must be a checkpoint file, a "
      "run dir, auto or null (quoted where it reads as a number: trainer.resume='1e3')"),
     ("model.hidden_dims=[64,1e3]", "model.hidden_dims[1]=1e3 is not allowed: it must be an "
      "integer"),
     ("seed=[1e3]", "seed=[1e3] is not allowed: it must be an integer")],
)  # fmt: skip
def test_a_refused_number_is_shown_as_it_is_typed(cli, tmp_path, override, message):
    """A number is read before any check sees it: ``seed=1e3`` was refused as
    ``seed=1000.0``, ``trainer.resume=1e3`` told to quote ``'1000.0'``, and a list's
    ``[1e3]`` shown as ``[1000.0]``."""
    run = tmp_path / "run"
    result = cli("aegan.train", override, "data.subset=64", f"hydra.run.dir={run}")
    assert_one_error_line(result, message)
    assert "1000.0" not in result.stderr and not run.exists()


def test_a_number_is_written_as_typed_but_not_within_a_path():
    """A job's folder named by its overrides holds the number as Hydra writes it: rewritten
    in the line, the path named no folder; an override nested too deep to read was a
    RecursionError in place of its own refusal."""
    from aegan.settings.refused_values import as_given

    said = (
        "(job seed=1000.0/ failed), (job lr=1,seed=1000.0,x=1/ failed); seed=1000.0 is not allowed"
    )
    assert as_given(said, ["seed=1e3", "x=" + "[" * 2000]) == (
        "(job seed=1000.0/ failed), (job lr=1,seed=1000.0,x=1/ failed); seed=1e3 is not allowed"
    )


def test_a_lists_number_is_written_as_typed_but_not_within_a_path():
    """Each number of a list as it was typed, in the list or as its item, where it is told
    apart from the others; a job's folder named by a list keeps the number as Hydra wrote it."""
    from aegan.settings.refused_values import as_given

    said = "(job x=[1000.0],y=1/ failed); x=[1000.0, 2, {a: 1000.0}] and x[2].a=1000.0 are not"
    assert as_given(said, ["x=[1e3,2,{a:1e3}]"]) == (
        "(job x=[1000.0],y=1/ failed); x=[1e3, 2, {a: 1e3}] and x[2].a=1e3 are not"
    )
    assert as_given("x=[1000.0,1000.0]", ["x=[1e3,1000.0]"]) == "x=[1000.0,1000.0]"  # which?
    assert as_given("x=['1000.0',1000.0]", ["x=['1000.0',1e3]"]) == "x=['1000.0',1e3]"  # text
