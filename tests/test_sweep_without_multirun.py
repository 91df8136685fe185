"""A sweep given to a single run (no -m) is one line naming the override as a sweep, before
any folder: Hydra said "requires --multirun", and for a,b or shuffle(a,b) three numbered
lines joined into one."""

from __future__ import annotations

import pytest

from conftest import assert_one_error_line

GRID = "is a sweep, not a value: run it with -m (a job for each value)"


@pytest.mark.parametrize(
    ("override", "message"),
    [("model.latent_dim=1,2", f"model.latent_dim=1,2 {GRID}; a list is written "
      "model.latent_dim=[A,B], text holding a comma quoted: model.latent_dim='A,B'"),
     ("model.latent_dim=shuffle(1,2)", f"model.latent_dim=shuffle(1,2) {GRID}; a list is"),
     ("model.latent_dim=sort(2,1)", f"model.latent_dim=sort(2,1) {GRID}; a list is"),
     ("model.latent_dim=choice(8,16)", f"model.latent_dim=choice(8,16) {GRID}, or give one"),
     ("model.latent_dim=range(8,17,8)", f"model.latent_dim=range(8,17,8) {GRID}, or give one"),
     ("model=glob(*)", f"model=glob(*) {GRID}, or give one value"),
     ("seed=tag(a,choice(1,2))", f"seed=tag(a,choice(1,2)) {GRID}, or give one value"),
     ("model.latent_dim=interval(1,2)", "model.latent_dim=interval(1,2) is a search's range, "
      "not a value: run it with -m hparams_search=... (a search draws values from it)")],
)  # fmt: skip
def test_a_sweep_without_multirun_is_one_line(cli, tmp_path, override, message):
    run = tmp_path / "run"
    result = cli("aegan.train", override, "trainer.epochs=1", f"hydra.run.dir={run}")
    assert_one_error_line(result, message)
    assert "--multirun" not in result.stderr and not run.exists()


@pytest.mark.parametrize("choice", ["hydra/launcher=joblib", "hydra/sweeper=optuna"])
def test_a_sweeper_or_launcher_without_multirun_is_one_line(cli, tmp_path, choice):
    """A plain run uses neither: it trained once, the choice ignored without a word."""
    run = tmp_path / "run"
    result = cli("aegan.train", choice, "trainer.epochs=1", f"hydra.run.dir={run}")
    group = choice.partition("=")[0]
    assert_one_error_line(result, f"{choice} runs the jobs of a sweep, and a run without -m has "
                                  f"none: add -m, or leave {group} out")  # fmt: skip
    assert not run.exists()
