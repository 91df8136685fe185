"""Hydra's own flags read otherwise than asked are one line: --package without --cfg was
ignored and the run started; a package the config lacks (or one set to null) was "package
'nope' not found in config" with exit code 1; --hydra-help with a setting of the command's
named it as no setting; --cfg hydra --resolve stopped on paths.log_dir, never typed; a flag
argparse refuses was its line after Hydra's usage lines."""

from __future__ import annotations

import signal

import hydra
import pytest
from command_signals import handled_as, signal_at_call

from aegan.cli.hydra_flags import flags_line
from aegan.signals.starting_signals import SETTING_UP, StoppedBySignal
from conftest import assert_one_error_line


@pytest.mark.parametrize(
    ("flags", "message"),
    [(["-p", "model"], "--package model is read only with --cfg (--cfg job --package model)"),
     (["--cfg", "job", "-p", "nope"], "--package nope: the config has no nope; --cfg job shows: "
      "data, debug, evaluate, logger, model, paths, seed, task_name, trainer"),
     (["--cfg", "job", "--package", "model.nope"],
      "--package model.nope: the config has no model.nope; model has: _recursive_, _target_,"),
     (["--cfg", "hydra", "-p", "run"], "--package run: the config has no run; --cfg hydra shows: "
      "hydra"),
     (["--cfg", "hydra", "--resolve"], "--cfg hydra --resolve cannot resolve Hydra's settings: "
      "they read the command's (hydra.run.dir reads paths.log_dir)"),
     (["--hydra-help"], "--hydra-help shows Hydra's own help, composed without the command's "
      "settings: trainer.epochs=0 cannot be given with it; --help shows the command's"),
     # argparse's line came after Hydra's usage, three lines in all
     (["--cfg", "nope"], "argument --cfg/-c: invalid choice: 'nope' (choose from 'job', 'hydra',"),
     (["--info", "nope"], "argument --info/-i: invalid choice: 'nope' (choose from 'all',"),
     (["--nope"], "unrecognized arguments: --nope"),
     # conf/ replaced: "--config-name train: there is no such config ... in conf/"
     (["--config-path", "nope"], "--config-path nope is not allowed: it replaces aegan's conf/")],
)  # fmt: skip
def test_a_flag_hydra_would_read_otherwise_is_one_line(cli, tmp_path, flags, message):
    run = tmp_path / "run"
    result = cli("aegan.train", *flags, "trainer.epochs=0", f"hydra.run.dir={run}")
    assert_one_error_line(result, message)
    assert not run.exists()


@pytest.mark.parametrize(("package", "shown"), [("trainer.resume", "null"), ("seed", "0")])
def test_a_package_holding_a_plain_value_is_shown(cli, package, shown):
    """A setting set to null was "not found in config", exit code 1."""
    result = cli("aegan.train", "--cfg", "job", "--package", package)
    assert result.returncode == 0 and result.stdout == f"{shown}\n", result.stderr


def test_a_stop_while_the_flags_are_read_stops_the_command(capsys):
    """The flags are read with Hydra's parser before Hydra reads them, and any SystemExit
    there was taken for argparse's: a SIGTERM's was swallowed, and the command trained a
    whole run after its line said that nothing was trained."""
    with (
        handled_as("aegan.train"),
        signal_at_call(signal.SIGTERM, "parse_known_args"),
        pytest.raises(StoppedBySignal),
    ):
        flags_line(["trainer.epochs=1"])
    assert capsys.readouterr().err == f"error: stopped by SIGTERM {SETTING_UP}\n"


def test_a_flag_given_by_its_prefix_is_said_once(cli):
    """--vers (argparse's prefix of --version) printed Hydra's version three times: each
    reading of the flags before Hydra's own printed it too."""
    result = cli("aegan.train", "--vers")
    assert (result.returncode, result.stdout) == (0, f"Hydra {hydra.__version__}\n")
