"""An evaluation of a damaged or stopped run: a payload on its command line, a signal while it
runs, a broken metrics file and records that name code: one line, the note of a stopped training
kept, nothing half-merged, no code chosen by a file."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from hostile_runs import SENTINEL, saved, trained_runs

import aegan.config
import aegan.evaluate
from aegan import load_run
from aegan.engine.interrupt import StopRequest, stop_on_signals
from aegan.errors import ConfigError
from aegan.evaluate import evaluate_run
from aegan.io.files import write_json
from aegan.io.readback import read_json
from aegan.signals.starting_signals import StoppedBySignal


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    return trained_runs(tmp_path_factory)


def test_a_payload_in_evaluate_overrides_is_the_users_and_still_one_line(runs, tmp_path):
    """The command line may name code (a researcher's own class); a bad one is one line."""
    run = runs["root"] / "ae"
    with pytest.raises(ConfigError, match=r"model.net._target_=nope.Nope: no module nope can be"):
        load_run(run, overrides=["model.net._target_=nope.Nope"])


def refuse_constant(name: str):
    raise AssertionError(f"a bare {name} in a result file")


def evaluate_cfg(run: Path):
    return aegan.config.compose_config(
        [f"run={run}", "checkpoint=last", "device=cpu", "metrics=[reconstruction]"],
        config_name="evaluate",
    )


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_evaluation_is_one_line_and_recorded(runs, tmp_path, signal_number):
    run = tmp_path / "run"
    saved(runs["ae"], run)
    write_json(run / "metrics.json", {"val/best_objective": 0.5})
    with stop_on_signals() as stop, pytest.raises(SystemExit) as info:
        os.kill(os.getpid(), signal_number)  # a real signal, to the real handler
        evaluate_run(evaluate_cfg(run), stop)
    assert info.value.code == 128 + signal_number
    stopped = read_json(run / "stopped.json")
    assert (
        stopped["phase"] == "evaluation" and stopped["signal"] == signal.Signals(signal_number).name
    )
    assert read_json(run / "metrics.json") == {"val/best_objective": 0.5}  # nothing half-merged
    evaluate_run(evaluate_cfg(run), StopRequest())  # evaluated again: the stop is cleared
    assert not (run / "stopped.json").exists() and "test/mse" in read_json(run / "metrics.json")


def test_a_signal_as_the_figures_are_written_stops_after_them(runs, tmp_path, monkeypatch, caplog):
    """It was not acted on: the evaluation ended with exit code 0, and a script's next
    command ran (``&&``, ``set -e``)."""
    run = tmp_path / "run"
    saved(runs["ae"], run)
    write_metrics = aegan.evaluate.write_metrics

    def signalled(*args, **kwargs):  # the real writing, a signal as it begins
        signal.raise_signal(signal.SIGTERM)
        return write_metrics(*args, **kwargs)

    monkeypatch.setattr(aegan.evaluate, "write_metrics", signalled)
    with stop_on_signals() as stop, pytest.raises(StoppedBySignal) as info:
        evaluate_run(evaluate_cfg(run), stop)
    assert (info.value.code, info.value.signal_number) == (143, signal.SIGTERM)
    assert "stopped by SIGTERM after this evaluation's figures were written" in caplog.messages
    assert "test/mse" in read_json(run / "metrics.json")  # written, whole
    assert not (run / "stopped.json").exists()  # the evaluation ended


def test_a_stopped_evaluation_keeps_the_note_that_training_stopped(runs, tmp_path):
    """Training's stopped.json says the run is to be continued: an evaluation stopped, then
    finished, neither replaces nor clears it."""
    run = tmp_path / "run"
    saved(runs["ae"], run)
    note = {"signal": "SIGINT", "step": 3, "phase": "training", "message": "stopped"}
    write_json(run / "stopped.json", note)
    with stop_on_signals() as stop, pytest.raises(SystemExit):
        os.kill(os.getpid(), signal.SIGINT)
        evaluate_run(evaluate_cfg(run), stop)
    assert read_json(run / "stopped.json") == note
    evaluate_run(evaluate_cfg(run), StopRequest())
    assert read_json(run / "stopped.json") == note


@pytest.mark.parametrize(
    "content", [b"", b"NaN", b'{"test/mse": 0.', b"[" * 100_000, b'{"test/mse": 1e400}']
)
def test_a_broken_metrics_file_loses_nothing(runs, tmp_path, capsys, content):
    run = tmp_path / "run"
    saved(runs["ae"], run)
    (run / "metrics.json").write_bytes(content)
    (run / ".hydra").mkdir()  # a run folder's other files never choose code either
    (run / ".hydra" / "config.yaml").write_text(f"model:\n  _target_: builtins.open\n"
                                                f"  file: {SENTINEL}\n")  # fmt: skip
    (run / ".hydra" / "overrides.yaml").write_text("- model._target_=builtins.open\n")
    assert load_run(run, checkpoint="last", device="cpu").metrics == {}
    evaluate_run(evaluate_cfg(run), StopRequest())
    strict = json.loads((run / "metrics.json").read_text(), parse_constant=refuse_constant)
    assert isinstance(strict["test/mse"], float) and not SENTINEL.exists()
    capsys.readouterr()
