"""Logging settings that cannot work are one line before any folder, where Hydra made the
run's folder first: a hydra/job_logging option that leaves conf/hydra's file handler (the
run's train.log) without a file ("FileHandler.__init__() missing 1 required positional
argument: 'filename'"), a level or a name logging.config cannot take."""

from __future__ import annotations

import shutil

import pytest

from conftest import assert_one_error_line


@pytest.mark.parametrize("option", ["stdout", "disabled"])
@pytest.mark.parametrize("multirun", [False, True])
def test_a_logging_option_without_the_log_file_is_one_line(cli, tmp_path, option, multirun):
    folder = tmp_path / "out"
    where = ["seed=0,1", f"hydra.sweep.dir={folder}"] if multirun else [f"hydra.run.dir={folder}"]
    flags = ["-m"] if multirun else []
    result = cli("aegan.train", *flags, f"hydra/job_logging={option}", "trainer.epochs=1", *where)
    assert_one_error_line(
        result, f"hydra/job_logging={option} is not allowed: the run's log file (train.log) "
        "needs the file handler of hydra/job_logging=default"
    )  # fmt: skip
    assert not folder.exists()


def test_no_logging_at_all_passes_the_check(cli, tmp_path):
    result = cli("aegan.train", "hydra/job_logging=none", "trainer.epochs=0",
                 f"hydra.run.dir={tmp_path}/run")  # fmt: skip
    assert_one_error_line(result, "trainer.epochs=0 is not allowed")


@pytest.mark.parametrize(
    ("override", "shown"),
    [("hydra.job_logging.root.level=NOPE", "hydra.job_logging.root.level=NOPE"),
     ("+hydra.job_logging.loggers.aegan.level=[a]", "hydra.job_logging.loggers.aegan.level=[a]"),
     ("+hydra.job_logging.handlers.file.level=info", "hydra.job_logging.handlers.file.level=info")],
)  # fmt: skip
def test_a_logging_level_logging_cannot_take_is_one_line(cli, tmp_path, override, shown):
    """Hydra made the run's folder and its train.log before logging.config said "Unable to
    configure root logger (Unknown level: 'NOPE')"."""
    run = tmp_path / "run"
    result = cli("aegan.train", override, "trainer.epochs=1", f"hydra.run.dir={run}")
    assert_one_error_line(result, f"{shown} is not allowed: it must be a logging level: DEBUG,")
    assert not run.exists()


@pytest.mark.parametrize(
    ("override", "reason"),
    [("hydra.job_logging.handlers.console.stream=ext://sys.nope", "No module named 'sys.nope'"),
     ("hydra.job_logging.handlers.console.class=logging.Nope", "No module named 'logging.Nope'"),
     ("+hydra.job_logging.formatters.simple.class=nope.Formatter", "No module named 'nope'")],
)  # fmt: skip
def test_a_logging_name_that_cannot_be_imported_is_one_line(cli, tmp_path, override, reason):
    """Hydra made the run's folder before logging.config said "Unable to configure handler
    'console' (Cannot resolve 'sys.nope' ...)"."""
    run = tmp_path / "run"
    result = cli("aegan.train", override, "trainer.epochs=1", f"hydra.run.dir={run}")
    shown = override.lstrip("+")
    assert_one_error_line(result, f"{shown} is not allowed: it must name an importable object")
    assert reason in result.stderr
    assert not run.exists()


@pytest.mark.parametrize(
    "override",
    ["hydra.job_logging.root.level=NOPE", "hydra.job_logging.handlers.console.class=logging.Nope"],
)
def test_aegan_evaluate_refuses_them_before_its_log_in_the_run(
    cli, trained_ae_run, tmp_path, override
):
    """aegan.evaluate's log goes into the run's folder: logging.config's error came after
    Hydra opened an empty evaluate.log there."""
    run = shutil.copytree(trained_ae_run, tmp_path / "run")  # the shared run, left as it is
    (run / "evaluate.log").unlink(missing_ok=True)
    result = cli("aegan.evaluate", f"run={run}", override)
    assert_one_error_line(result, f"{override} is not allowed: it must")
    assert not (run / "evaluate.log").exists()
