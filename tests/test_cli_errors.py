"""Every entry point's mistakes read the same: ``error: ...`` alone on stderr, exit code 2."""

import errno
import json
import subprocess

import pytest

from aegan.errors import ConfigError
from aegan.summarize import summarize
from aegan.sweeps.reader import read_sweep
from conftest import REPO, TINY_AE, assert_one_error_line, run_module


def test_a_training_mistake_is_one_line_on_stderr_and_in_train_log(tmp_path):
    """It was logged: ``[date][aegan.train][ERROR] - ...`` on stdout, unlike Hydra's. In a
    process of its own, as a user runs it. A setting is refused before the run's folder is
    made; a mistake found in training goes to the run's train.log too."""
    result = run_module("aegan.train", "trainer.epochs=0", f"hydra.run.dir={tmp_path / 'a'}")
    message = "trainer.epochs=0 is not allowed: it must be a positive integer"
    assert_one_error_line(result, message)
    assert result.stdout == "" and not (tmp_path / "a").exists()
    result = run_module(
        "aegan.train", *TINY_AE, "model.optimizer.lr=1e30", f"hydra.run.dir={tmp_path / 'b'}"
    )
    message = "non-finite loss at step "
    assert_one_error_line(result, message)
    assert message in (tmp_path / "b" / "train.log").read_text()


def test_a_single_run_that_fails_in_training_is_listed_failed(cli, tmp_path):
    """It left no failed.json, so ``aegan.summarize`` listed it "unfinished", as if it were
    still running. A run refused in a trained run's folder leaves none there: the trained run
    did not fail."""
    diverges = "model.optimizer.lr=1e30"
    result = cli("aegan.train", *TINY_AE, diverges, f"hydra.run.dir={tmp_path / 'nan'}")
    assert_one_error_line(result, "non-finite loss at step ")
    (row,) = read_sweep(tmp_path)
    assert row["status"] == "failed"
    assert row["error"].startswith("NonFiniteError: non-finite loss at step ")
    # no figures before it: a metrics.json written later is of a run after this failure
    assert json.loads((tmp_path / "nan" / "failed.json").read_text())["metrics_sha256"] is None
    # a folder of single runs is not titled a sweep (Hydra's multirun.yaml marks one)
    assert summarize(tmp_path).startswith(f"# Summary of runs: {tmp_path}\n\n1 job: 1 failed")

    trained = tmp_path / "trained"
    assert cli("aegan.train", *TINY_AE, f"hydra.run.dir={trained}").returncode == 0
    assert_one_error_line(
        cli("aegan.train", *TINY_AE, f"hydra.run.dir={trained}"), "already holds a trained run"
    )
    more = ["trainer.resume=auto", "trainer.epochs=2", diverges]
    result = cli("aegan.train", *TINY_AE, *more, f"hydra.run.dir={trained}")
    assert_one_error_line(result, "was trained with other settings")
    assert not (trained / "failed.json").exists()
    assert read_sweep(trained)[0]["status"] == "ok"


def test_a_failure_record_that_cannot_be_written_leaves_the_error_one_line(
    cli, tmp_path, monkeypatch
):
    """A folder that stopped taking files failed the run, then its failed.json: the second
    error's traceback buried the first (exit 1), in a sweep too."""
    import aegan.cli.hydra_job

    def disk_full(path, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(aegan.cli.hydra_job, "write_json", disk_full)
    diverges = "model.optimizer.lr=1e30"
    result = cli("aegan.train", *TINY_AE, diverges, f"hydra.run.dir={tmp_path / 'run'}")
    assert_one_error_line(result, "non-finite loss at step ")
    assert "failed.json cannot be written (No space left on device)" in result.stdout

    sweep = ["seed=0,1", f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    result = cli("aegan.train", "-m", *TINY_AE, diverges, *sweep)
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert result.stdout.count("failed.json cannot be written") == 2


def test_a_run_folder_that_takes_no_file_is_refused_before_training(cli, tmp_path):
    """Only checkpoints/ was probed: a resume into a folder that takes no new file trained
    its epochs, then failed writing metrics.json."""
    run = tmp_path / "run"
    assert cli("aegan.train", *TINY_AE, f"hydra.run.dir={run}").returncode == 0
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    if subprocess.run(["chattr", "+i", str(run)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here (as root, the only unwritable folder)")
    try:
        more = ["trainer.resume=auto", "trainer.epochs=2"]
        result = cli("aegan.train", *TINY_AE, *more, f"hydra.run.dir={run}")
    finally:
        subprocess.run(["chattr", "-i", str(run)], check=True)
    assert_one_error_line(result, f"hydra.run.dir={run} is not writable")  # the setting typed
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == before


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("hydra.run.dir=/x${nope}", "hydra.run.dir='/x${nope}' cannot be resolved"),
        ("hydra.run.dir=/x${a b}", "hydra.run.dir='/x${a b}' cannot be read"),
        # hydra.run.dir is ${paths.log_dir}/...: the key that breaks is the one typed
        ("paths.log_dir=${oc.env:AEGAN_TEST_UNSET}", "paths.log_dir='${oc.env:AEGAN_TEST_UNSET}'"),
        ("task_name=${nosuchresolver:x}", "task_name='${nosuchresolver:x}' cannot be resolved"),
        # checked as Hydra makes the run dir from it: '' was the root of the disk
        ("paths.log_dir=''", "paths.log_dir='' is not allowed: it must be a folder path"),
        ("paths.log_dir=null", "paths.log_dir=null is not allowed: it must be a folder path"),
    ],
)
def test_an_interpolation_hydra_resolves_is_one_line(cli, override, message):
    """Hydra resolves hydra.run.dir before the task: a broken interpolation there was a
    traceback of a hundred lines."""
    assert_one_error_line(cli("aegan.train", override), message)


@pytest.mark.parametrize(
    ("module", "entry", "problem"),
    [("aegan.train", "file:///nonexistent", "does not exist"),
     ("aegan.bench", "/nonexistent", "does not exist"),
     ("aegan.train", "README.md", "is a file, not a config folder"),  # was "does not exist"
     ("aegan.evaluate", "pkg://no_such_package", "does not exist"),
     ("aegan.evaluate", "nosuchscheme://x", "is not allowed")],
)  # fmt: skip
def test_a_searchpath_that_is_not_there_is_one_line(cli, module, entry, problem, tmp_path):
    """Hydra warned in two lines (a made-up scheme: a traceback) and went on without it."""
    # a setting that stops each at once, should the searchpath go through (no training)
    stop = {"aegan.train": "trainer.epochs=0", "aegan.bench": "steps=0"}.get(module, "run=???")
    result = cli(module, f"hydra.searchpath=[{entry}]", stop, f"hydra.run.dir={tmp_path}")
    assert_one_error_line(result, f"hydra.searchpath: {entry} {problem}")


def test_a_config_dir_that_is_not_there_is_one_line(cli, tmp_path):
    """``--config-dir`` (``-cd``), the other way to add config folders: a traceback."""
    result = cli("aegan.evaluate", "--config-dir", str(tmp_path / "nope"))
    assert_one_error_line(
        result, f"--config-dir: Additional config directory '{tmp_path / 'nope'}' not found"
    )


@pytest.mark.parametrize(
    ("override", "message"),
    [("hparams_search=null", "hparams_search=null: Config group override must be a string"),
     ("model=null", "model=null: Config group override must be a string"),
     ("trainer=[1]", "trainer=[1] is not allowed: trainer takes one option's name (trainer=NAME"),
     ("model=[vae,dcgan]", "model=[vae,dcgan] is not allowed: model takes one option's name"),
     # the two recipes trained merged; Hydra's words: "argument of type 'int' is not iterable"
     ("experiment=[vae_fashion_mnist,aae_fashion_mnist]", "experiment takes one option's name"),
     ("hparams_search=[1]", "hparams_search=[1] is not allowed: hparams_search takes one"),
     ("hydra/launcher=[a]", "hydra/launcher=[a] is not allowed: hydra/launcher takes one"),
     ("model.hidden_dims={a:1}", "model.hidden_dims={a:1} is not allowed: it must be a list, not"),
     ("model.net=[1]", "model.net=[1] is not allowed: it must be a mapping of settings, not a list"),
     ("data.val_size=0", "data.val_size=0 is not allowed: it must be an integer >= 1")],
)  # fmt: skip
def test_a_group_or_size_that_cannot_be_is_one_line(cli, override, message, tmp_path):
    """``hparams_search=null`` was Hydra's ValueError as a traceback; ``data.val_size=0`` one
    after the whole training, when validation found no images."""
    assert_one_error_line(cli("aegan.train", override, f"hydra.run.dir={tmp_path}"), message)


@pytest.mark.parametrize(
    ("key", "choices"),
    [("trainer.device", "auto, cpu, cuda, cuda:N"), ("trainer.precision", "auto, bf16, fp16, fp32"),
     ("trainer.on_nonfinite", "stop, skip"), ("trainer.compile_scope", "network, step"),
     ("trainer.compile", "none, default, reduce-overhead, max-autotune")],
)  # fmt: skip
def test_a_choice_set_to_null_lists_the_choices(cli, key, choices, tmp_path):
    """The trainer's schema refused null before its checks ran: "field 'trainer.device' is
    not Optional", without the values that are allowed."""
    result = cli("aegan.train", f"{key}=null", f"hydra.run.dir={tmp_path}")
    assert_one_error_line(result, f"{key}=null is not allowed; choose one of: {choices}")


def test_a_refusal_writes_values_as_they_are_typed():
    """null, true and false, as a config file and the command line write them; a string
    that holds such words is the user's text and stays as it is."""
    message = str(ConfigError("a.b=None is not allowed; c[0]=True and d=False; e='x=None'"))
    assert message == "a.b=null is not allowed; c[0]=true and d=false; e='x=None'"


def test_a_logging_setting_that_cannot_work_names_itself(tmp_path):
    """``logging.config`` said "Unable to configure handler 'console'", naming neither the
    key nor the value. In a process of its own: the failed set-up leaves logging half-made.
    A level or a name it cannot take is refused before (tests/test_job_logging_options.py)."""
    override = "+hydra.job_logging.handlers.console.nope=1"
    result = run_module("aegan.train", override, f"hydra.run.dir={tmp_path}")
    assert_one_error_line(result, f"{override}: the run's logging cannot be set up with it")
    assert "unexpected keyword argument 'nope'" in result.stderr


@pytest.mark.parametrize(
    ("module", "override"),
    [("aegan.train", "~seed"), ("aegan.train", "~evaluate.samples"),
     ("aegan.evaluate", "~device"), ("aegan.evaluate", "~samples")],
)  # fmt: skip
def test_a_setting_deleted_on_the_command_line_is_one_line(cli, module, override, tmp_path):
    """``~seed`` was OmegaConf's ConfigAttributeError as a traceback, exit code 1."""
    key = override[1:]
    run = [f"run={tmp_path}/none"] if module == "aegan.evaluate" else []
    result = cli(module, *run, override, f"hydra.run.dir={tmp_path}")
    assert_one_error_line(result, f"{key} is not set (deleted with ~{key}?)")


@pytest.mark.parametrize(
    ("override", "message"),
    [("~trainer.resume", "~trainer.resume is not allowed: trainer.resume holds no value to delete (null, or no such setting); every setting in conf/ is read"),
     ("~trainer.epochs", "~trainer.epochs is not allowed: every setting in conf/ is read, so give it a value (trainer.epochs=...) instead")],
)  # fmt: skip
def test_a_setting_hydra_cannot_delete_is_named_as_typed(cli, tmp_path, override, message):
    """Hydra said 'trainer.resume' does not exist (it is null), and "TrainerSchema
    (DictConfig) does not support deletion"."""
    assert_one_error_line(cli("aegan.train", override, f"hydra.run.dir={tmp_path}/r"), message)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "args", [["hydra.run.dir='~/aegan-x'"], ["-m", "hydra.sweep.dir='~/aegan-x'"]]
)
def test_a_run_folder_under_tilde_is_refused(cli, args):
    """The folder checks expanded ~ (they refused, or passed, /root/aegan-x), while Hydra
    wrote the run to ./~/aegan-x without a word."""
    result = cli("aegan.train", *args, "seed=1")
    key = args[-1].partition("=")[0]
    assert_one_error_line(result, f"{key}=~/aegan-x is not allowed: Hydra does not expand ~")
    assert not (REPO / "~").exists()


def test_a_value_hydra_reads_only_quoted_is_shown_quoted(cli, tmp_path):
    """A path with a letter outside ASCII got Hydra's lexer error alone."""
    run = tmp_path / "ünïcødé"
    result = cli("aegan.train", f"hydra.run.dir={run}", "trainer.epochs=0")
    assert_one_error_line(result, f"; quote the value: \"hydra.run.dir='{run}'\"")
    quoted = cli("aegan.train", f"hydra.run.dir='{run}'", "trainer.epochs=0")
    assert_one_error_line(quoted, "trainer.epochs=0 is not allowed")


def test_a_searchpath_set_in_a_config_file_is_checked_too(cli, tmp_path):
    """Typed on the command line, an entry that is not there was one line; set in the
    user's own primary config, Hydra warned and the run went on without it."""
    (tmp_path / "my.yaml").write_text(
        f"defaults:\n  - train\n  - _self_\nhydra:\n  searchpath: [file://{tmp_path / 'nowhere'}]\n"
    )
    result = cli("aegan.train", "--config-dir", str(tmp_path), "--config-name", "my",
                 *TINY_AE, f"hydra.run.dir={tmp_path / 'run'}")  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (  # named with the file that set it
        f"error: the config my: hydra.searchpath: file://{tmp_path / 'nowhere'} does not exist; "
        "each entry must be a config folder that exists: file://PATH or pkg://PACKAGE (set in "
        f"{tmp_path / 'my.yaml'})"
    )
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("override", "message"),
    [("evaluate.samples=100", "evaluate.samples is not a setting of this command; did you mean "
      "samples=100?"),
     ("model.beta=2", "model.beta is not a setting of this command; to evaluate the run with it "
      "changed: overrides='[\"model.beta=2\"]'"),
     ("trainer.epochs=2", "trainer is not a setting; the sections are: cache_dir, checkpoint")],
)  # fmt: skip
def test_a_training_key_on_evaluate_says_what_to_type(cli, override, message, tmp_path):
    """Without a '+', a training setting read "evaluate is not a setting; the sections are:
    ...", where '+evaluate.samples=100' said "did you mean samples=100?"."""
    assert_one_error_line(cli("aegan.evaluate", f"run={tmp_path}", override), message)


@pytest.mark.parametrize("module", ["aegan.train", "aegan.evaluate", "aegan.bench"])
def test_debug_shows_the_full_traceback_of_a_composition_mistake(cli, module, tmp_path):
    """debug=true promises the tracebacks: a key Hydra could not override gave its few
    lines asking for HYDRA_FULL_ERROR=1, and exit code 1, instead."""
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException, match="model.nope"):
        cli(module, "model.nope=1", "debug=true", f"hydra.run.dir={tmp_path / 'new'}")
