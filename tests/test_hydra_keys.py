"""A setting reading a key of Hydra's config that is not there (``${hydra:job.nope}``):
Hydra's resolver gives null for it. Refused in one line naming the setting and the key,
before the run's folder is made."""

from __future__ import annotations

import pytest

from conftest import assert_one_error_line

NO_KEY = "is not allowed: Hydra's config has no job.nope (hydra.job.nope)"
QUICK = ["data.subset=64", "evaluate.at_end=false", "logger=none"]


@pytest.mark.parametrize(
    "override",
    [
        "seed=${hydra:job.nope}",  # was refused as seed=null
        "trainer.epochs=${hydra:job.nope}",  # trained with the default
        "data.root=${oc.env:HOME}/${hydra:job.nope}",  # inside another value
        "task_name=${hydra:job.nope}",
    ],
)
def test_a_setting_reading_no_key_of_hydras_is_refused(cli, tmp_path, override):
    run = tmp_path / "run"
    result = cli("aegan.train", override, *QUICK, f"hydra.run.dir={run}")
    key = override.partition("=")[0]
    assert_one_error_line(result, f"{key}='{override.partition('=')[2]}' {NO_KEY}")
    assert not run.exists()


@pytest.mark.parametrize("key", ["hydra.run.dir", "hydra.job_logging.handlers.file.filename"])
def test_hydras_own_folders_reading_no_key_are_refused(cli, tmp_path, key):
    """The run went into a folder named None, its log into None.log."""
    run = tmp_path / "run"
    given = f"{key}={tmp_path}/x${{hydra:job.nope}}"
    folder = [] if key == "hydra.run.dir" else [f"hydra.run.dir={run}"]
    result = cli("aegan.train", given, *QUICK, *folder)
    assert_one_error_line(result, f"{key}='{tmp_path}/x${{hydra:job.nope}}' {NO_KEY}")
    assert list(tmp_path.iterdir()) == []


def test_a_single_run_has_no_job_number(cli, tmp_path):
    run = tmp_path / "run"
    result = cli("aegan.train", "seed=${hydra:job.num}", *QUICK, f"hydra.run.dir={run}")
    assert_one_error_line(result, "hydra.job.num is a sweep's (-m) job's; a single run has none")
    assert not run.exists()


def test_a_sweeps_job_is_named_by_its_value_as_typed(cli, tmp_path):
    """Hydra's escapes were shown: (seed=${hydra\\:job.nope})."""
    sweep = tmp_path / "sweep"
    result = cli("aegan.train", "-m", "seed=1,${hydra:job.nope}", *QUICK,
                 f"hydra.sweep.dir={sweep}")  # fmt: skip
    assert_one_error_line(result, "job 1 of 2 (seed=${hydra:job.nope}): seed=")
    assert not sweep.exists()


def test_an_evaluation_reading_no_key_is_refused(cli, tmp_path):
    result = cli("aegan.evaluate", f"run={tmp_path}/${{hydra:job.nope}}")
    assert_one_error_line(result, f"run='{tmp_path}/${{hydra:job.nope}}' {NO_KEY}")


@pytest.mark.parametrize("multirun", [False, True])
def test_a_job_name_that_cannot_be_resolved_is_refused_before_the_folder(cli, tmp_path, multirun):
    """Hydra made the run's folder, then stopped on the name of its log file."""
    folder = tmp_path / "out"
    flags = ["-m", "seed=0,1"] if multirun else []
    where = f"hydra.{'sweep' if multirun else 'run'}.dir={folder}"
    name = "hydra.job.name=${oc.env:AEGAN_NO_SUCH}"
    result = cli("aegan.train", *flags, name, *QUICK, where)
    assert_one_error_line(result, "hydra.job.name='${oc.env:AEGAN_NO_SUCH}' cannot be resolved")
    assert not folder.exists()


@pytest.mark.parametrize(("value", "takes"), [("${now:}", "'pattern'"), ("x${oc.env:}", "'key'")])
def test_a_resolver_given_no_argument_is_named_so(cli, tmp_path, value, takes):
    """It read "TypeError raised while resolving interpolation: setup_globals.<locals>.
    <lambda>() missing 1 required positional argument: 'pattern'"."""
    result = cli("aegan.train", f"hydra.run.dir={tmp_path}/{value}", *QUICK)
    assert_one_error_line(
        result, f"cannot be resolved: its resolver is given no argument; it takes {takes}"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("override", ["seed=${oc.env:}", "model.latent_dim=${oc.env:}"])
def test_a_setting_whose_resolver_is_given_no_argument_is_named_so(cli, tmp_path, override):
    """aegan's settings read it in Python's words: "env() missing 1 required positional
    argument: 'key'"."""
    result = cli("aegan.train", override, *QUICK, f"hydra.run.dir={tmp_path}/run")
    assert_one_error_line(
        result, "cannot be resolved: its resolver is given no argument; it takes 'key'"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("override", "said"),
    [("hydra.run.dir=RUN${now:%Y,%m}", "given 2 arguments and takes 1"),
     ("seed=${oc.env:A,B,C}", "given 3 arguments and takes from 1 to 2")],
)  # fmt: skip
def test_a_resolver_given_too_many_arguments_is_named_so(cli, tmp_path, override, said):
    """A comma in an argument splits it: "TypeError raised while resolving interpolation:
    use_launch_time.<locals>.<lambda>() takes 1 positional argument but 2 were given"."""
    where = [] if override.startswith("hydra.run.dir") else [f"hydra.run.dir={tmp_path}/run"]
    result = cli("aegan.train", override.replace("RUN", f"{tmp_path}/run"), *QUICK, *where)
    assert_one_error_line(
        result, f"cannot be resolved: its resolver is {said} (a comma separates arguments"
    )
    assert list(tmp_path.iterdir()) == []
