"""Hostile values for the settings of the run (trainer, logger, data, evaluate, paths, the
top-level keys) and of ``aegan.evaluate`` and ``aegan.bench``: each is refused in one line
naming the key, the value and what is allowed, by the checks the entry point runs before
any data is read. In-process (compose, then those checks): the whole table takes seconds."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
from omegaconf import OmegaConf, open_dict

from aegan.bench_plan import checked_configurations
from aegan.config import compose_config, validate_config
from aegan.errors import ConfigError
from aegan.evaluate_settings import check_evaluate_settings
from conftest import REPO, TINY_AE, assert_one_error_line

LONG = "x" * 5000
FILE = str(Path(__file__).resolve())  # a file where a folder goes


def train_checks(cfg, read_data: bool = True):
    if OmegaConf.is_interpolation(cfg.paths, "output_dir"):  # Hydra's, outside a Hydra app
        with open_dict(cfg):
            cfg.paths.output_dir = "/nonexistent/aegan-hostile-run"  # nothing is written
    validate_config(cfg, read_data=read_data)


CHECKS = {
    "train": train_checks,
    "evaluate": check_evaluate_settings,
    "bench": checked_configurations,
}


def refusal(config: str, overrides: list[str]) -> str:
    """The one-line ConfigError that ``config``'s entry point raises before reading data."""
    base = {"train": ["trainer.device=cpu"], "evaluate": ["run=/nonexistent/run"],
            "bench": ["trainer.device=cpu"]}[config]  # fmt: skip
    cfg = compose_config([*base, *overrides], config_name=config)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ConfigError) as refused:
            CHECKS[config](cfg)
    message = str(refused.value)
    assert "\n" not in message, message
    return message


CASES = [
    # trainer switches: OmegaConf's bool type read any integer as a switch (-1 as true)
    ("train", ["trainer.channels_last=-1"], "trainer.channels_last=-1 is not allowed: it must be true or false"),
    ("train", ["trainer.fast_dropout=0"], "trainer.fast_dropout=0 is not allowed: it must be true or false"),
    ("train", ["trainer.flush_denormal=9223372036854775808"], "trainer.flush_denormal=9223372036854775808 is not allowed"),
    ("train", ["trainer.direct_optimizer_step=yes"], "trainer.direct_optimizer_step='yes' is not allowed: it must be true or false"),
    ("train", ["trainer.cudnn_benchmark=null"], "trainer.cudnn_benchmark=null is not allowed: it must be true or false"),
    ("train", ["trainer.capture_step=1"], "trainer.capture_step=1 is not allowed: it must be true or false"),
    ("train", ["trainer.sync_batchnorm=0"], "trainer.sync_batchnorm=0 is not allowed: it must be true or false"),
    ("train", ["trainer.pad_thin_convs=[]"], "trainer.pad_thin_convs=[] is not allowed: it must be true or false"),
    # an empty resume (an unset variable) silently started afresh
    ("train", ["trainer.resume=''"], "trainer.resume='' is not allowed: it must be a checkpoint file, a run dir, auto or null"),
    # folders: '' put the run dir at the root of the disk, null in a folder "None", a
    # file or a long name failed with a traceback or after training
    ("train", ["paths.log_dir=''"], "paths.log_dir='' is not allowed: it must be a folder path"),
    ("train", ["paths.log_dir=null"], "paths.log_dir=null is not allowed: it must be a folder path"),
    ("train", ["paths.data_dir=null"], "paths.data_dir=null is not allowed: it must be a folder path"),
    ("train", [f"paths.data_dir={FILE}/data"], f"paths.data_dir={FILE}/data is not allowed: {FILE} is a file, not a folder"),
    ("train", [f"paths.log_dir={LONG}"], "is not allowed: it cannot be a folder (File name too long)"),
    ("train", ["paths.output_dir=null"], "paths.output_dir=null is not allowed: it must be a folder path"),
    ("train", ["task_name=null"], "task_name=null is not allowed: it must be one folder name"),
    ("train", ["task_name=''"], "task_name='' is not allowed: it must be one folder name"),
    ("train", ["task_name='a\nb'"], "task_name='a\\nb' is not allowed: it must be one folder name without control"),
    ("train", ["evaluate.cache_dir=null"], "evaluate.cache_dir=null is not allowed: it must be a folder path"),
    ("train", [f"evaluate.cache_dir={FILE}"], f"evaluate.cache_dir={FILE} is not allowed: it is a file, not a folder"),
    ("train", ["data.root=''"], "data.root='' is not allowed: it must be a folder path or null"),
    ("train", [f"data.root={FILE}"], f"data.root={FILE} is not allowed: it is a file, not a folder"),
    ("train", ["data=cifar10", f"data.root={FILE}"], f"data.root={FILE} is not allowed: it is a file, not a folder"),
    ("train", [f"data.root={LONG}"], "it cannot be a folder (File name too long)"),
    ("train", ["data.root=/nonexistent/data"], "data.root=/nonexistent/data does not exist"),
    # data integers beyond 2**31: the line said ">= 0" of a value that is
    ("train", ["data.split_seed=1099511627776"], "data.split_seed=1099511627776 is not allowed: it must be an integer in [0, 2147483647]"),
    ("train", ["data.batch_size=4294967296"], "data.batch_size=4294967296 is not allowed: it must be an integer in [1, 2147483647]"),
    ("train", ["data.val_size=-1"], "data.val_size=-1 is not allowed: it must be an integer >= 1"),
    # an empty list of metrics evaluated nothing and reported success
    ("train", ["evaluate.metrics=[]"], "evaluate.metrics=[] is not allowed: it must be a non-empty list of names"),
    # already refused, kept so: the schema's types and the engine's ranges
    ("train", ["trainer.epochs=0"], "trainer.epochs=0 is not allowed: it must be a positive integer"),
    ("train", ["trainer.cpu_threads=9223372036854775808"], "trainer.cpu_threads=9223372036854775808 is not allowed: it must fit in 64 bits"),
    ("train", ["logger.log_every_steps=nan"], "logger.log_every_steps=nan is not allowed: it must be an integer"),
    ("train", ["logger.enabled=1"], "logger.enabled=1 is not allowed: it must be true or false"),
    ("train", ["seed=-1"], "seed=-1 is not allowed: it must be an integer in [0, 9223372036854775807]"),
    ("train", ["debug=null"], "debug=null is not allowed: it must be true or false"),
    ("train", ["evaluate.samples=inf"], "evaluate.samples=inf is not allowed"),
    ("train", ["data.binarize=''"], "data.binarize='' is not allowed; choose one of: none, dynamic, fixed"),
    # a key of one's own added with + where it reads as a setting misplaced or misspelt
    ("train", ["+epochs=3"], "epochs is not a setting; did you mean trainer.epochs?"),
    ("train", ["+modle.beta=2"], "modle is not a setting; did you mean model?"),
    ("train", ["+sed=3"], "sed is not a setting; did you mean seed?"),
    ("train", ["+batch_size=8"], "batch_size is not a setting; did you mean data.batch_size?"),
    ("train", ["+metrics=[fd]"], "metrics is not a setting; did you mean evaluate.metrics?"),
    ("train", ["model=vae", "+beta=4"], "beta is not a setting; did you mean model.beta?"),
    # aegan.evaluate: the device before the checkpoint is read; the cache and the weights file
    ("evaluate", ["device=abc"], "device='abc' is not allowed; choose one of: auto, cpu, cuda, cuda:N"),
    ("evaluate", ["cache_dir=''"], "cache_dir='' is not allowed: it must be a folder path"),
    ("evaluate", [f"cache_dir={FILE}"], f"cache_dir={FILE} is not allowed: it is a file, not a folder"),
    ("evaluate", ["inception_weights=/nonexistent/w.pth"], "inception_weights='/nonexistent/w.pth' is not allowed: it must be a weights file that exists"),
    ("evaluate", ["inception_weights=[1]"], "inception_weights=[1] is not allowed"),
    ("evaluate", [f"inception_weights={LONG}"], "is not allowed: it must be a weights file that exists"),
    ("evaluate", ["metrics=[]"], "metrics=[] is not allowed: it must be a non-empty list of names"),
    ("evaluate", ["samples=1e30"], "samples=1e+30 is not allowed"),
    ("evaluate", ["+sample=100"], "sample is not a setting; did you mean samples?"),
    ("evaluate", ["+checkpiont=best"], "checkpiont is not a setting; did you mean checkpoint?"),
    # a training setting, which aegan.evaluate would not read: this command's own, or overrides
    ("evaluate", ["+evaluate.samples=100"], "evaluate.samples is not a setting of aegan.evaluate; did you mean samples=100?"),
    ("evaluate", ["+trainer.device=cpu"], "trainer.device is not a setting of aegan.evaluate; did you mean device=cpu?"),
    ("evaluate", ["+model.latent_dim=2"], "model.latent_dim is a training setting, which aegan.evaluate would not read; to evaluate the run with it changed: overrides='[\"model.latent_dim=2\"]'"),
    ("evaluate", ["+model={beta:3,latent_dim:2}"], "model.beta is a training setting"),
    ("evaluate", ["seed=1.5"], "seed=1.5 is not allowed: it must be an integer"),  # the evaluation's own
    ("train", ["evaluate.seed=-2"], "evaluate.seed=-2 is not allowed: it must be an integer in [0, "),
    # aegan.bench: the shortcut named as typed; the data set and the warmup before reading data
    ("bench", ["batch_size=[1,2]"], "batch_size=[1,2] is not allowed: it must be a positive integer or null"),
    ("bench", ["batch_size=0"], "batch_size=0 is not allowed: it must be a positive integer or null"),
    ("bench", ["data=mnist"], "data=mnist is not allowed: the plain reference loop reads Fashion-MNIST only"),
    ("bench", ["capture_step=[true]", "warmup=1"], "warmup=1 is too short for capture_step=true"),
    ("bench", ["steps=0"], "steps=0 is not allowed: it must be a positive integer"),
    ("bench", ["threads=[0]"], "threads[0]=0 is not allowed"),
    ("bench", ["task_name=''"], "task_name='' is not allowed: it must be one folder name"),
    ("bench", ["+step=10"], "step is not a setting; did you mean steps?"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("config", "overrides", "message"), CASES, ids=[f"{c}-{' '.join(o)[:60]}" for c, o, _ in CASES]
)
def test_a_hostile_run_setting_is_one_line_naming_it(config, overrides, message):
    assert message in refusal(config, overrides)


@pytest.mark.parametrize(
    "overrides",
    [["trainer.channels_last=true"], ["data=cifar10", "data.root=/nonexistent/cifar"],
     ["paths.data_dir=/nonexistent/data"], ["data.split_seed=2147483647"]],
)  # fmt: skip
def test_legitimate_run_settings_pass(overrides):
    """A folder not there yet is made when needed (cifar10 downloads into data.root): the
    settings pass; the data is fetched after them (tests/test_refused_before_the_folder.py)."""
    train_checks(compose_config(["trainer.device=cpu", *overrides]), read_data=False)


@pytest.mark.parametrize(
    ("config", "overrides"),
    [("train", ["+note=first try"]), ("train", ["+sweep.owner=me"]),
     ("bench", ["batch_size=8", "steps=3", "+note=x"])],
)  # fmt: skip
def test_keys_of_ones_own_pass(config, overrides):
    """A key unlike any of aegan's is the user's (a note for the sweep); bench's own keys
    are settings of its config, not keys of one's own."""
    CHECKS[config](compose_config(["trainer.device=cpu", *overrides], config_name=config))


@pytest.mark.parametrize(
    ("variable", "config", "key"),
    [("AEGAN_CACHE_DIR", "train", "evaluate.cache_dir"), ("AEGAN_CACHE_DIR", "evaluate", "cache_dir"),
     ("AEGAN_LOG_DIR", "train", "paths.log_dir"), ("AEGAN_DATA_DIR", "train", "paths.data_dir")],
)  # fmt: skip
def test_a_folder_from_an_environment_variable_names_the_variable(
    monkeypatch, variable, config, key
):
    """conf/ reads these folders from the environment: the user may not know they set one."""
    monkeypatch.setenv(variable, FILE)
    assert refusal(config, []) == (
        f"{key}={FILE} (from {variable}) is not allowed: it is a file, not a folder"
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [("AEGAN_LOG_DIR", "${oc.env:HOME}", "paths.log_dir='${oc.env:HOME}' (from AEGAN_LOG_DIR) is "
      "not allowed: it must be a folder path without ${...}"),
     ("AEGAN_LOG_DIR", "/tmp/x${y", "must be a folder path without ${...}"),
     ("AEGAN_LOG_DIR", "/tmp/logs\n", "paths.log_dir='/tmp/logs\\n' (from AEGAN_LOG_DIR) is not "
      "allowed: it must be a folder path without control characters"),
     ("AEGAN_DATA_DIR", "/tmp/data\n", "paths.data_dir='/tmp/data\\n' (from AEGAN_DATA_DIR)")],
)  # fmt: skip
def test_a_folder_variable_holding_what_no_folder_should_is_one_line(
    cli, monkeypatch, tmp_path, variable, value, message
):
    """Hydra resolves the run dir again for its log file: a ${...} in it was an interpolation."""
    monkeypatch.setenv(variable, value)
    where = [] if variable == "AEGAN_LOG_DIR" else [f"hydra.run.dir={tmp_path / 'run'}"]
    assert_one_error_line(cli("aegan.train", *TINY_AE, *where), message)
    assert not (REPO / "${oc.env:HOME}").exists() and not (REPO / "/tmp/x${y").exists()


@pytest.mark.parametrize("sweep", [False, True])
def test_an_output_folder_other_than_hydras_is_refused_before_anything_is_written(
    cli, tmp_path, sweep
):
    """The run was split: its log and record in Hydra's folder, its checkpoints and metrics
    in paths.output_dir, where a sweep's second job was refused beside the first's."""
    other = tmp_path / "other"
    where = ["-m", "seed=0,1", f"hydra.sweep.dir={tmp_path / 'sweep'}"] if sweep else [
        f"hydra.run.dir={tmp_path / 'run'}"]  # fmt: skip
    refused = cli("aegan.train", *where, *TINY_AE, "logger=none", f"paths.output_dir={other}")
    assert_one_error_line(refused, (
        f"paths.output_dir={other} is not allowed: it is each job's folder, which Hydra makes; "
        "choose where the sweep goes with hydra.sweep.dir=..." if sweep else
        f"paths.output_dir={other} is not allowed: it is the folder Hydra makes for the run "
        f"({tmp_path / 'run'}); choose it with hydra.run.dir=..."
    ))  # fmt: skip
    assert not (tmp_path / "sweep").exists() and not (tmp_path / "run").exists()
    assert not other.exists()


def test_relative_paths_are_the_launch_folders_with_hydra_job_chdir(cli, trained_ae_run, tmp_path):
    """Hydra moved into the run folder first: trainer.resume=RELATIVE named RUN/RELATIVE,
    and the classifier cache and the data folder would have gone into the run folder."""
    relative = os.path.relpath(trained_ae_run, REPO)  # cli runs in the repository's root
    result = cli("aegan.train", *TINY_AE, "logger=none", "trainer.epochs=2",
                 f"trainer.resume={relative}", "hydra.job.chdir=true",
                 f"hydra.run.dir={tmp_path / 'run'}")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert os.getcwd() == str(REPO)
    assert "hydra.job.chdir=true has no effect: relative paths are taken from the folder" in (
        result.stdout + result.stderr
    )
    assert (tmp_path / "run" / "checkpoints" / "last.pt").is_file()
