"""Every job's settings checked before the first job trains: a grid's jobs each as Hydra
composes it, a search's every value it can pick. ``-m trainer.epochs=1,0`` trained job 0 to
its end, then refused job 1. A run's settings are checked before Hydra makes its folder.
In-process, as ``python -m aegan.train`` runs them."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from aegan.config import CONF_DIR
from aegan.sweep_checks.jobs import check_run
from conftest import TINY_AE, assert_one_error_line

NO_JOB = "; no job was started"


@pytest.mark.parametrize(
    ("swept", "message"),
    [(["trainer.epochs=1,0", "model.latent_dim=8,16"],
      "job 2 of 4 (trainer.epochs=0 model.latent_dim=8): trainer.epochs=0 is not allowed: it "
      f"must be a positive integer{NO_JOB}"),
     # each value works alone; one combination of two does not
     (["model=aae", "model.prior=gaussian,mixture", "model.label_prior=false,true"],
      "job 1 of 4 (model.prior=gaussian model.label_prior=true): model.label_prior=true"),
     # a group option whose settings cannot work with the rest: the batch against the subset
     (["data.batch_size=64,5000"], "job 1 of 2 (data.batch_size=5000): data.batch_size=5000"),
     (["model=vae", "model.beta=1,-1"], "job 1 of 2 (model.beta=-1): model.beta=-1"),
     # a setting of the swept options that conf/'s default (the autoencoder) lacks: its list
     # of settings, no job named, and a sweep whose every job has the setting refused
     (["model=vae,conv_vae", "model.beta=-1"], "job 0 of 2 (model=vae): model.beta=-1 is not"),
     (["model=vae,dcgan", "model.beta=2"], "job 1 of 2 (model=dcgan): model.beta is not a "
      "setting; the settings of model are: _recursive_, _target_, d_optimizer"),
     # Hydra refused a group set to null as it composed every job, after making the folder
     (["model=vae,null"], "job 1 of 2 (model=null): Config group override must be a string"),
     (["trainer=[1],default"], "error: trainer=[1],default is not allowed: trainer takes one"),
     # -m with one job: it was made a folder, failed there, and the sweep said so at its end
     (["model.latent_dim=0"], "error: job 0 of 1: model.latent_dim=0 is not allowed"),
     # a value that cannot be resolved: job 0 trained, then job 1 failed on it
     (["model.latent_dim=4,${nope}"],
      "job 1 of 2 (model.latent_dim=${nope}): model.latent_dim='${nope}' cannot be resolved"),
     # a grid of no job: multirun.yaml, no job, and exit code 0
     (["model.latent_dim=range(8,4)"],
      "error: model.latent_dim=range(8,4) is not allowed: it sweeps no value"),
     # each listed or expanded by Hydra first: 21 GB and a kill, range()'s and its own words
     (["seed=range(0,1000000000)"], "error: a sweep of 1,000,000,000 jobs is not allowed: a "
      "grid has at most 10,000 (1,000,000,000 values); sweep fewer values"),
     # a count of 301 digits filled lines; an end not finite was "This is aegan's fault"
     (["seed=range(-1e300,0)"], "error: a sweep of about 1.0e+300 jobs is not allowed: a grid "
      "has at most 10,000 (about 1.0e+300 values)"),
     (["seed=range(0,inf)"], "error: seed=range(0,inf) is not allowed: its stop must be a "
      "finite number"),
     (["seed=range(nan,1)"], "error: seed=range(nan,1) is not allowed: its start must be a "
      "finite number"),
     (["seed=range(0,4,inf)"], "its step must be a finite number"),
     (["seed=range(0,200)", "model.latent_dim=range(1,101)"], "a sweep of 20,000 jobs is not "
      "allowed: a grid has at most 10,000 (200 x 100 values)"),
     (["seed=range(0,1,0)"], "error: seed=range(0,1,0) is not allowed: a range's step must not be 0"),
     (["seed=1,range(2,4)"], "error: seed=1,range(2,4) is not allowed: a list of values to sweep "
      "holds no sweep (RangeSweep); sweep one way per key"),
     (["model=vae,glob(a*)"], "holds no sweep (Glob)"),
     # a glob matching nothing, or of no group, said "its start lies past its end"
     (["model=glob(zzz*)"], "error: model=glob(zzz*) is not allowed: it matches none of "
      "model's options (aae, autoencoder,"),
     (["model.latent_dim=glob(*)"], "error: model.latent_dim=glob(*) is not allowed: glob() "
      "picks among a config group's options, and model.latent_dim is no group"),
     # the first sweep dropped without a word; one job run twice
     (["seed=1,2", "seed=3,4"], "error: seed=1,2 is not allowed: seed=3,4 comes after it, and "
      "Hydra would keep only the last; give the key once"),
     (["seed=1,2", "seed=3"], "error: seed=1,2 is not allowed: seed=3 comes after it"),
     (["model.latent_dim=4,8,4"], "error: model.latent_dim=4,8,4 is not allowed: it sweeps 4 "
      "twice, the same job run again"),
     (["model.optimizer.lr=1e-3,0.001"], "model.optimizer.lr=1e-3,0.001 is not allowed: it "
      "sweeps 0.001 twice"),
     # a grid's sweeper said "BasicSweeper does not support sweep type : INTERVAL_SWEEP"
     (["model.latent_dim=interval(1,2)"], "error: model.latent_dim=interval(1,2) is not "
      "allowed: interval() is drawn from by a search sweeper, and this sweep is a grid; search "
      "it with hparams_search=autoencoder_optuna"),
     (["model.latent_dim=tag(log,interval(1,2))"], "model.latent_dim=tag(log,interval(1,2)) is "
      "not allowed: interval() is drawn from by a search sweeper"),
     # a glob's jobs went unchecked (its options were not read), each failing in its folder
     (["model=glob(*vae*)", "model.latent_dim=abc"],
      "job 0 of 3 (model=conv_vae): model.latent_dim='abc' is not allowed")],
)  # fmt: skip
def test_a_grid_job_that_cannot_work_is_refused_before_any_job(cli, tmp_path, swept, message):
    sweep_dir = tmp_path / "sweep"
    refused = cli("aegan.train", "-m", *TINY_AE, *swept, f"hydra.sweep.dir={sweep_dir}")
    assert_one_error_line(refused, message)
    assert not sweep_dir.exists()


def test_a_job_whose_option_file_is_no_yaml_is_refused_naming_the_file(cli, tmp_path):
    """It was "the check of the settings failed (ParserError: ...). This is aegan's fault",
    with a traceback: the file is the user's, and one line names it."""
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "broken.yaml").write_text("latent_dim: [1\n")
    sweep_dir = tmp_path / "sweep"
    refused = cli("aegan.train", "-m", *TINY_AE, "model=broken,autoencoder",
                  f"hydra.searchpath=[file://{tmp_path / 'conf'}]", f"hydra.sweep.dir={sweep_dir}")  # fmt: skip
    assert_one_error_line(
        refused, f"job 0 of 2 (model=broken): model=broken: {tmp_path}/conf/model/broken.yaml "
        "is not YAML that can be read: while parsing a flow sequence"
    )  # fmt: skip
    assert refused.returncode == 2 and not sweep_dir.exists()


@pytest.mark.parametrize(
    ("swept", "message"),
    [(["data.batch_size=choice(64,100000)"], "data.batch_size=100000"),
     # a range's or an interval's ends
     (["model.latent_dim=range(0,16)"], "model.latent_dim=0"),
     (["model.optimizer.lr=interval(-1,0.001)"], "model.optimizer.lr=-1"),
     # the command line's range for a key the search config sweeps replaces that one
     (["model.optimizer.lr=tag(log,interval(0,0.01))"],
      "the values (model.latent_dim=4 model.optimizer.lr=0): model.optimizer.lr=0 is"),
     # more combinations than are checked: each value still is
     (["model.latent_dim=choice(4,8,16)", "seed=choice(0,1,2,3,4)", "data.val_size=choice(100,200)",
       "model.optimizer.lr=choice(0.001,0.01)", "data.batch_size=choice(16,32,-1)"],
      "data.batch_size=-1"),
     (["model.latent_dim=interval(8,4)"], "model.latent_dim=interval(8,4) is not allowed")],
)  # fmt: skip
def test_a_value_a_search_can_pick_that_cannot_work_is_refused(cli, tmp_path, swept, message):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="needs the sweeps extra")
    sweep_dir = tmp_path / "sweep"
    refused = cli("aegan.train", "-m", *TINY_AE, "hparams_search=autoencoder_optuna", *swept,
                  f"hydra.sweep.dir={sweep_dir}")  # fmt: skip
    assert_one_error_line(refused, message)
    assert not sweep_dir.exists()


def test_a_search_says_it_checks_combinations_of_its_values_not_jobs(cli, tmp_path):
    """A 1-trial search said "checking the settings of 30 jobs": the 30 are its values'
    combinations (5 code sizes x the learning rate's 2 ends x 3 seeds)."""
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="needs the sweeps extra")
    done = cli("aegan.train", "-m", *TINY_AE, "hparams_search=autoencoder_optuna",
               "hydra.sweeper.n_trials=1", "seed=choice(0,1,2)",
               f"hydra.sweep.dir={tmp_path / 'sweep'}")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "checking 30 combinations of its values before the first starts" in done.stdout


def test_a_run_that_cannot_work_leaves_no_folder(cli, tmp_path):
    run_dir = tmp_path / "run"
    refused = cli("aegan.train", *TINY_AE, "model.latent_dim=0", f"hydra.run.dir={run_dir}")
    assert_one_error_line(refused, "model.latent_dim=0 is not allowed")
    assert not run_dir.exists()


@pytest.mark.parametrize(
    ("written", "size", "ends"),
    [("range(0.1,1.0,0.1)", 9, ["0.1", "0.9"]),  # float division said 10, and tried 1.0
     ("range(0,10,3)", 4, ["0", "9"]), ("range(5,0,-2)", 3, ["5", "1"])],
)  # fmt: skip
def test_a_range_is_counted_and_its_ends_taken_as_hydra_steps_it(written, size, ends):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from aegan.sweep_checks.values import sweep_size, values_to_try

    (override,) = OverridesParser.create().parse_overrides([f"x={written}"])
    assert sweep_size(override) == size == len(list(override.sweep_iterator()))
    assert values_to_try(override) == ends


def test_a_checked_config_is_left_as_it_was():
    """A run's config is checked as Hydra's record of its run (``HydraConfig``), which marks
    its hydra node read-only: after the check, the node, the config and the record are as
    they were."""
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        config = compose("train", overrides=TINY_AE, return_hydra_config=True)
    record = HydraConfig.instance().cfg
    written = OmegaConf.to_yaml(config)
    check_run(config)
    assert OmegaConf.to_yaml(config) == written
    assert not OmegaConf.is_readonly(config.hydra)
    assert HydraConfig.instance().cfg is record


def test_a_value_the_sweepers_own_params_sweep_twice_is_refused(cli, tmp_path):
    """``hydra.sweeper.params: {seed: 0,1,0}`` in the user's config ran seed 0 twice, the
    second job in a folder of its own: only the command line's sweeps were checked."""
    grid = tmp_path / "conf" / "experiment" / "grid.yaml"
    grid.parent.mkdir(parents=True)
    grid.write_text("# @package _global_\nhydra:\n  sweeper:\n    params:\n      seed: 0,1,0\n")
    sweep_dir = tmp_path / "sweep"
    refused = cli("aegan.train", "-m", *TINY_AE, f"hydra.searchpath=[file://{tmp_path / 'conf'}]",
                  "experiment=grid", f"hydra.sweep.dir={sweep_dir}")  # fmt: skip
    assert_one_error_line(
        refused, "error: experiment=grid: seed=0,1,0 is not allowed: it sweeps 0 twice, the same "
        f"job run again; give each value once (set in {grid})\n"
    )  # fmt: skip
    assert not sweep_dir.exists()
