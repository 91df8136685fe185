"""TensorBoard's curves across a stop: a run stopped between two logged points and resumed
logs those of a run that never stopped (the same steps, the same means), the window left
open at the stop being saved in the checkpoint; one saved without it (by an earlier
version) still resumes, and a window out of shape is one line."""

import signal
from pathlib import Path

import pytest
import torch
from fit_task import run_fit
from resume_checks import signal_in_training_forward
from test_tensorboard import logged_scalars

from aegan.data.fingerprint import data_change
from aegan.engine import load_checkpoint
from aegan.engine.interrupt import TrainingInterrupted
from aegan.errors import CheckpointError
from aegan.io.files import atomic_save
from aegan.train import train
from conftest import TINY_AE, compose_config

COMMON = [*TINY_AE, "trainer.epochs=2"]  # 31 steps an epoch, a point every 5 and at its end


def stopped_at_step_7(make_cfg) -> Path:
    """A run stopped by Ctrl-C inside step 7, between the points of steps 5 and 10."""
    cfg = make_cfg(*COMMON, run="stopped")
    with (
        signal_in_training_forward(signal.SIGINT, 6),
        pytest.raises(TrainingInterrupted, match="at step 7 "),
    ):
        train(cfg)
    return Path(cfg.paths.output_dir)


def assert_same_curves(resumed: dict, expected: dict, tags) -> None:
    """Each of ``tags`` at the same steps, with the same values (to float32's precision)
    but for ``perf/*``, the time of each window being its own."""
    for tag in tags:
        assert [step for step, _ in resumed[tag]] == [step for step, _ in expected[tag]], tag
        if not tag.startswith("perf/"):
            values = [value for _, value in expected[tag]]
            assert [value for _, value in resumed[tag]] == pytest.approx(values, rel=1e-6), tag


def test_a_run_stopped_between_two_points_and_resumed_logs_one_runs_curves(make_cfg):
    straight = make_cfg(*COMMON, run="straight")
    train(straight)
    run_dir = stopped_at_step_7(make_cfg)
    assert [step for step, _ in logged_scalars(run_dir / "tb")["train/loss"]] == [5]
    train(make_cfg(*COMMON, f"trainer.resume={run_dir}", run="stopped"))

    expected = logged_scalars(Path(straight.paths.output_dir) / "tb")
    resumed = logged_scalars(run_dir / "tb")
    assert resumed.keys() == expected.keys()
    assert_same_curves(resumed, expected, expected)


def test_skipped_steps_are_counted_across_a_stop(tmp_path):
    """``fit_task``'s 8-step epochs, a point every 3 steps, steps 2 and 4 not finite and
    skipped: stopped inside step 5, the resumed run's points at 6 and after count both."""
    changes = {"log": True, "nan_steps": (2, 4), "on_nonfinite": "skip", "epochs": 2}
    run_fit(tmp_path / "straight", **changes)
    with pytest.raises(TrainingInterrupted):
        run_fit(tmp_path / "stopped", stop_at=5, **changes)
    run_fit(tmp_path / "stopped", resume=True, **changes)
    expected = logged_scalars(tmp_path / "straight" / "tb")
    resumed = logged_scalars(tmp_path / "stopped" / "tb")
    assert_same_curves(resumed, expected, ["train/skipped_steps", "train/loss"])


def test_a_checkpoint_without_the_open_window_still_resumes(make_cfg):
    """Saved by a version that kept no window: the steps before the stop are left out of
    the first point after it, as they were then."""
    run_dir = stopped_at_step_7(make_cfg)
    last = run_dir / "checkpoints" / "last.pt"
    state = torch.load(last, weights_only=True)
    assert state.pop("scalar_window")["steps"] == 2  # steps 6 and 7
    atomic_save(state, last)
    train(make_cfg(*COMMON, f"trainer.resume={run_dir}", run="stopped"))
    assert load_checkpoint(last)["step"] == 62
    steps = [step for step, _ in logged_scalars(run_dir / "tb")["train/loss"]]
    assert steps == sorted({*range(5, 62, 5), 31, 62})


@pytest.fixture(scope="module")
def stopped_state(tmp_path_factory) -> dict:
    """The last.pt of a run stopped inside step 7."""
    folder = tmp_path_factory.mktemp("stopped")
    run_dir = stopped_at_step_7(lambda *overrides, run: compose_config(overrides, folder / run))
    return torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("scalar_window", "2 steps", "scalar_window is a str, not a dict"),
        ("scalar_window", {"steps": -2}, "scalar_window.steps is -2"),
        ("scalar_window", {"steps": 8}, "scalar_window.steps is 8, more than the run's 7 steps"),
        ("scalar_window", {"sums": {"train/loss": float("nan")}}, "scalar_window.sums holds 'train/loss': nan"),
        ("scalar_window", {"nonfinite": 3}, "scalar_window.nonfinite is 3, more than the window's 2"),
        ("scalar_window", {"seconds": -1.0}, "scalar_window.seconds is -1.0"),
        ("scalar_window", {"skipped": True}, "scalar_window.skipped is True"),
        # a damaged fingerprint was read as changed data ("put the run's files back"), or,
        # not a dict, skipped: the run was evaluated on whatever data was there
        ("data", [1], "data (the data's fingerprint) is a list, not a dict"),
        ("data", {"train": "x"}, "data.train is 'x'; it is 32 hex digits"),
        ("data", {"test": 7}, "data.test is 7; it is 32 hex digits"),
        ("data", {"val": None}, "data.val is None; it is 32 hex digits"),
        ("data", {"sizes": None}, "data.sizes is None; it is the three splits' image counts"),
        ("data", {"sizes": [1, 2]}, "data.sizes is [1, 2]; it is the three splits' image counts"),
        ("data", {"sizes": [1, 2, -3]}, "data.sizes is [1, 2, -3]"),
    ],
)  # fmt: skip
def test_an_open_window_or_fingerprint_out_of_shape_is_one_line(
    stopped_state, tmp_path, key, value, message
):
    state = stopped_state
    if isinstance(value, dict):
        value = {**state[key], **value}
    atomic_save({**state, key: value}, tmp_path / "hand-made.pt")
    with pytest.raises(CheckpointError, match="not a usable checkpoint") as refused:
        load_checkpoint(tmp_path / "hand-made.pt")
    assert message in str(refused.value) and "\n" not in str(refused.value)


def test_a_fingerprint_without_a_split_is_refused(stopped_state, tmp_path):
    """Every version that kept a fingerprint kept all three splits: one taken out was a split
    whose images went unchecked, its figures measured on whatever was there."""
    fewer = {key: value for key, value in stopped_state["data"].items() if key != "train"}
    atomic_save({**stopped_state, "data": fewer}, tmp_path / "fewer.pt")
    with pytest.raises(CheckpointError, match="data.train is None; it is 32 hex digits"):
        load_checkpoint(tmp_path / "fewer.pt")


def test_a_checkpoint_without_a_fingerprint_is_said_to_go_unchecked(stopped_state, caplog):
    """Written before fingerprints were kept: it still resumes and loads, with a warning."""
    older = {key: value for key, value in stopped_state.items() if key != "data"}
    data_cfg = stopped_state["config"]["data"]
    assert data_change(older, stopped_state["data"], data_cfg) is None
    assert "holds no fingerprint of its data" in caplog.text
    assert "whether the fashion_mnist images are those the run trained on" in caplog.text
    caplog.clear()
    assert data_change(stopped_state, stopped_state["data"], data_cfg) is None
    assert "fingerprint" not in caplog.text
