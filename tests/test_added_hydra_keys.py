"""``+hydra.KEY=...`` for a key Hydra's own schema lacks is refused in one line, as
``hydra.KEY=...`` is: the + added it, nothing read it, and the run went on without a word.
Mappings of Hydra's that take keys of the user's stay open."""

from __future__ import annotations

import pytest

from conftest import assert_one_error_line


@pytest.mark.parametrize(
    ("override", "message"),
    [("+hydra.nope=1", "hydra.nope is not a setting; the settings of hydra are: callbacks, env,"),
     ("++hydra.verbos=true", "hydra.verbos is not a setting; did you mean hydra.verbose?"),
     ("+hydra.run.nope=1", "hydra.run.nope is not a setting; the settings of hydra.run are: dir"),
     ("++hydra.job.nme=x", "hydra.job.nme is not a setting; did you mean hydra.job.name?"),
     ("+hydra.job.config.override_dirname.kv_sepp=1",
      "hydra.job.config.override_dirname.kv_sepp is not a setting; did you mean "
      "hydra.job.config.override_dirname.kv_sep?")],
)  # fmt: skip
def test_an_added_key_hydra_has_not_is_refused(cli, tmp_path, override, message):
    run = tmp_path / "run"
    result = cli("aegan.train", override, "trainer.epochs=1", f"hydra.run.dir={run}")
    assert_one_error_line(result, message)
    assert not run.exists()


def test_keys_of_the_users_own_in_hydras_mappings_are_taken(cli, tmp_path):
    """An environment variable for the job, a launcher's setting, and a key added where one is
    (++hydra.run.dir) pass the check: refused here for trainer.epochs=0, checked later."""
    result = cli("aegan.train", "+hydra.job.env_set.AEGAN_X=1", f"++hydra.run.dir={tmp_path}/r",
                 "+hydra.launcher.n_jobs=2", "trainer.epochs=0")  # fmt: skip
    assert_one_error_line(result, "trainer.epochs=0 is not allowed")


def test_a_key_of_an_empty_mapping_of_hydras_says_how_to_add_it(cli, tmp_path):
    """It read "hydra.job.env_set has none (is its config file empty?)", as of a model
    option's file: env_set holds the user's own variables, added with a +."""
    result = cli("aegan.train", "hydra.job.env_set.AEGAN_X=1", f"hydra.run.dir={tmp_path}/r")
    assert_one_error_line(
        result, "hydra.job.env_set.AEGAN_X is not set yet: hydra.job.env_set holds none; add it "
        "with +hydra.job.env_set.AEGAN_X=..."
    )  # fmt: skip
