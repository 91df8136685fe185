"""Values of a run's record that ``aegan.evaluate`` and a notebook act on beyond rebuilding
the model: each checked as training checks it, a value no run could have said in one line,
never acted on."""

from __future__ import annotations

import logging
import shutil

import pytest
import torch

from aegan import load_run
from aegan.io.files import atomic_save


@pytest.fixture
def run_copy(trained_ae_run, tmp_path):
    return shutil.copytree(trained_ae_run, tmp_path / "run")


def recorded(run, key: str, value) -> None:
    """``run``'s last checkpoint with its record's ``key`` (dotted) set to ``value``."""
    path = run / "checkpoints" / "last.pt"
    state = torch.load(path, weights_only=True)
    section, name = key.split(".")
    state["config"][section][name] = value
    path.unlink()  # a link to the step's file: that one stays as it was
    atomic_save(state, path)


def projector_rows(run) -> list[int]:
    return sorted(len(p.read_text().splitlines()) for p in (run / "tb").rglob("tensors.tsv"))


@pytest.mark.parametrize(
    ("count", "allowed"), [(-1, "an integer >= 0"), (10**12, "an integer in [0, 2147483647]")]
)
def test_a_projector_count_no_run_could_have_is_said_and_no_codes_are_logged(
    cli, run_copy, count, allowed
):
    """-1 logged the codes of every test image but the last, 10**12 of all of them, as if
    the user had asked for them."""
    before = projector_rows(run_copy)
    recorded(run_copy, "logger.projector_samples", count)
    result = cli("aegan.evaluate", f"run={run_copy}", "device=cpu", "metrics=[reconstruction]")
    assert result.returncode == 0, result.stderr[-2000:]
    assert projector_rows(run_copy) == before
    line = (f"last.pt: its record's logger.projector_samples={count} is not allowed: it must be "
            f"{allowed}; the projector shows no codes of these weights")  # fmt: skip
    assert line in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("key", "value", "taken"),
    [("samples", -1, 10000), ("samples", 10**12, 10000), ("samples", 3, 10000), ("seed", -1, 0)],
)
def test_a_runs_own_evaluation_setting_no_run_could_have_is_said_and_conf_s_taken(
    run_copy, caplog, key, value, taken
):
    """A notebook measures a run read back with its own evaluation's settings
    (``Settings.of(run.config.evaluate)``): samples=-1 held out one training image fewer
    than none for the domain classifier, without a word."""
    recorded(run_copy, f"evaluate.{key}", value)
    with caplog.at_level(logging.WARNING, logger="aegan.evaluate"):
        run = load_run(run_copy)
    assert run.config.evaluate[key] == taken
    assert (f"last.pt: its record's evaluate.{key}={value} is not allowed" in caplog.text
            and f"conf/'s {taken} is taken" in caplog.text)  # fmt: skip
