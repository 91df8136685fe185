"""The scripts that train or sweep (compare.py, parity.py, compare_pythae.py, step_floor.py): a
mistake is one ``error:`` line before anything runs, and a sweep that failed is one line naming
it."""

import pytest

import aegan.signals.child_runs
from conftest import REPO, assert_one_error_line


@pytest.mark.parametrize(
    "script", ["compare.py table", "parity.py ae", "compare_pythae.py", "step_floor.py"]
)
def test_an_empty_out_path_is_refused_before_anything_runs(cli, script, monkeypatch):
    """``--out ""`` (an unset shell variable) was the current folder, or failed at ``open``
    once every run had trained."""
    monkeypatch.syspath_prepend(str(REPO / "scripts"))  # as a script's own folder is
    name, *command = script.split()
    result = cli(f"scripts/{name}", *command, "--out", "")
    assert result.returncode == 2, result.stderr
    assert "argument --out: '' is not allowed: it must be a path" in result.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [  # each was trained with the default budget, a CalledProcessError or a pointless sweep
        (["--epochs", "0"], "argument --epochs: '0' is not allowed: it must be an integer in"),
        (["--epochs", "-3"], "argument --epochs: '-3' is not allowed"),
        (["--seeds", "a"], "argument --seeds: 'a' is not allowed: it must be a comma list"),
        (["--seeds", "0,0"], "argument --seeds: '0,0' is not allowed"),
        (["data.subset=-1"], "data.subset=-1 is not allowed: it must be an integer >= 1"),
        (["seed=5"], "seed=5 is not allowed: parity.py sets seed from --seeds"),
        # Optuna's trials, or a grid, in place of the seeds: one figure a seed, of any job
        (["hydra/sweeper=optuna"], "hydra/sweeper=optuna is not allowed: parity.py sets "
         "hydra/sweeper from --seeds; give --seeds instead"),
        (["hparams_search=autoencoder_optuna"], "parity.py sets hparams_search from --seeds"),
        (["hydra.sweeper.params.seed=1"], "parity.py sets hydra.sweeper.params from --seeds"),
        (["model.latent_dim=8,16"], "model.latent_dim=8,16 is not allowed: parity.py sweeps "
         "--seeds only"),  # was Hydra's "add --multirun to your command line"
        # the path's own value won: a reference compiled as the fast path
        (["trainer.compile=default"], "trainer.compile=default is not allowed: parity.py sets "
         "trainer.compile for the paths it compares (fast: trainer.compile=default, reference: "
         "trainer.compile=none)"),
        (["model.optimizer.fused=true"], "sets model.optimizer.fused for the paths it compares"),
        # no test/mse in any run's metrics.json: a KeyError once both sweeps had trained
        (["evaluate.at_end=false"], "evaluate.at_end=false is not allowed: parity.py compares "
         "each run's test/mse, from its final evaluation"),
        (["evaluate.metrics=[probe]"], "evaluate.metrics=[probe] is not allowed: parity.py "
         "compares each run's test/mse, which the metric reconstruction gives; list it too"),
        (["--out", "{tmp}/run"], "--out={tmp}/run holds a trained run; choose a folder outside"),
        (["--out", "{tmp}/sweep"], "--out={tmp}/sweep is not allowed: it holds a sweep"),
    ],
)  # fmt: skip
def test_parity_refuses_a_mistake_before_any_sweep(cli, monkeypatch, tmp_path, args, says):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.json").write_text("{}")
    (tmp_path / "sweep").mkdir()
    (tmp_path / "sweep" / "multirun.yaml").write_text("")
    commands = []
    monkeypatch.setattr(
        aegan.signals.child_runs, "run_to_its_end", lambda command, **_: commands.append(command)
    )
    given = [arg.format(tmp=tmp_path) for arg in args]
    out = [] if "--out" in given else ["--out", str(tmp_path / "out")]
    result = cli("scripts/parity.py", "ae", *out, *given)
    assert not commands
    assert_one_error_line(result, says.format(tmp=tmp_path))  # was argparse's usage and a line


def test_parity_ends_a_failed_sweep_in_one_line_naming_it(cli, monkeypatch, tmp_path):
    """A sweep that failed was a CalledProcessError's traceback, exit code 1; a folder's
    name was given to Hydra unquoted (a comma in it made a sweep of it)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    commands = []
    monkeypatch.setattr(aegan.signals.child_runs, "run_to_its_end",
                        lambda command, **_: commands.append(command) or 2)  # fmt: skip
    out = tmp_path / "a,b"
    result = cli("scripts/parity.py", "ae", "--out", str(out), "--seeds", "0,1", "--epochs", "1")
    assert result.returncode == 2 and len(commands) == 1
    (line,) = result.stderr.splitlines()
    assert line == f"error: this sweep exited with code 2: {' '.join(commands[0])}"
    assert "seed=0,1" in commands[0] and "trainer.epochs=1" in commands[0]
    (given,) = [arg for arg in commands[0] if arg.startswith("hydra.sweep.dir=")]
    (override,) = OverridesParser.create().parse_overrides([given])
    assert not override.is_sweep_override() and override.value() == str(out / "ae" / "fast")


@pytest.mark.parametrize(
    ("variant", "message"),
    [
        ("model.kl_warmup=10", "model.kl_warmup is not a setting; did you mean "
         "model.kl_warmup_steps?"),
        ("model.beta=-1", "model.beta=-1 is not allowed"),
    ],
)  # fmt: skip
def test_a_variant_that_cannot_train_is_one_line_before_anything_runs(cli, variant, message,
                                                                       monkeypatch):  # fmt: skip
    monkeypatch.syspath_prepend(str(REPO / "scripts"))
    result = cli("scripts/compare_pythae.py", "--pairs", "vae", "--variant", variant)
    assert_one_error_line(result, f"--variant {variant} with the vae pair: {message}")
