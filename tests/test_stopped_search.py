"""A search (Optuna) stopped in a trial says how to search on: its line said to rerun it in
its folder with trainer.resume=auto, as a grid's does, which is refused for a search (each
trial it draws would train in an earlier trial's folder, with other values); and its trial
said to continue in its folder with "the same command", which is refused without -m."""

import signal

import pytest
from resume_checks import signal_in_training_forward

from conftest import TINY_AE

SEARCH = ["hparams_search=autoencoder_optuna", "hydra.sweeper.n_trials=2", "logger=none"]


def test_a_stopped_search_says_to_search_on_in_another_folder(cli, tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="needs the sweeps extra")
    sweep_dir = tmp_path / "sweep"
    kept = [f"hydra.sweeper.storage=sqlite:///{tmp_path / 'study.db'}"]  # kept beyond the sweep
    with signal_in_training_forward(signal.SIGTERM, 2):
        result = cli("aegan.train", "-m", *TINY_AE, *SEARCH, *kept, f"hydra.sweep.dir={sweep_dir}")
    output = result.stdout + result.stderr
    assert result.returncode == -signal.SIGTERM, output[-2000:]
    (line,) = [line for line in output.splitlines() if "stopped by SIGTERM" in line]
    job = sweep_dir / "0"
    # a trial is no command of its own ("the same command" is refused without -m): its
    # weights are measured where they are
    assert "Continue in its folder" not in line
    assert (
        f"; python -m aegan.evaluate run={job} measures the trial's weights (sweep job 0: " in line
    )
    assert line.endswith(
        "); later trials did not run. A search is not continued in its folder: search on in "
        "another one (hydra.sweep.dir=...), with the same hydra.sweeper.storage, which goes on "
        "from its trials"
    ), line
    measured = cli("aegan.evaluate", f"run={job}", "metrics=[reconstruction]")
    assert measured.returncode == 0, measured.stderr[-2000:]
    assert "test/mse" in (job / "metrics.json").read_text()
