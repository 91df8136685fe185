"""A trained run's checkpoints changed by hand, then continued (``trainer.resume=auto``) or
evaluated from the command line: a position no run reaches, a damaged optimizer moment or
a missing ``last.pt`` is one line naming the file, and the run's files stay as they were."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import torch

from aegan.io.files import atomic_save
from aegan.train import train
from conftest import TINY_AE, assert_one_error_line, compose_config

RUN = [*TINY_AE, "data.subset=640"]  # TensorBoard on: it refused a step beyond int64
RESUME = [*RUN, "trainer.epochs=2", "trainer.resume=auto"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A tiny autoencoder run, trained once."""
    run = tmp_path_factory.mktemp("hostile-resume") / "run"
    train(compose_config(RUN, run))
    return run


def copied(run: Path, folder: Path, change=None) -> Path:
    """A copy of ``run`` whose last.pt and best.pt hold its last state after ``change``."""
    copy = folder / "run"
    shutil.copytree(run, copy)
    if change is not None:
        state = torch.load(copy / "checkpoints" / "last.pt", weights_only=True)
        change(state)
        for name in ("last.pt", "best.pt"):  # replaced, not written through the hard links
            atomic_save(state, copy / "checkpoints" / name)
    return copy


def digest(run: Path) -> dict[str, str]:
    """What the run trained and measured (its logs may say more)."""
    return {str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in [*sorted(run.glob("checkpoints/*")), run / "metrics.json"]}  # fmt: skip


def moment(state: dict) -> torch.Tensor:
    return state["optimizers"]["optimizer"]["state"][0]["exp_avg_sq"]


CHANGES = [  # each was a traceback, a message blaming the learning rate, or a silent rc 0
    (lambda s: s.update(best_objective=10**400), "best_objective is an integer of 1329 bits"),
    (lambda s: s.update(history=[{"val/mse": 10**400, "epoch": 1}]),
     "history[0] holds 'val/mse': an integer of 1329 bits"),
    (lambda s: s.update(step=2**63 + 5), "step is 9223372036854775813; counts are integers"),
    (lambda s: s.update(epoch=10**30), "epoch is an integer of 100 bits; counts are integers"),
    (lambda s: moment(s).neg_(), "0.exp_avg_sq holds negative values; a mean of squares"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "message"), CHANGES)
def test_a_changed_checkpoint_is_one_line_naming_it(cli, trained, tmp_path, change, message):
    run = copied(trained, tmp_path, change)
    before = digest(run)
    result = cli("aegan.train", *RESUME, f"hydra.run.dir={run}")
    assert_one_error_line(result, message)
    assert f"{run / 'checkpoints' / 'last.pt'}: " in result.stderr
    assert "learning rate" not in result.stderr and digest(run) == before


def test_evaluating_a_step_beyond_a_count_writes_nothing(cli, trained, tmp_path):
    run = copied(trained, tmp_path, lambda s: s.update(step=2**63 + 5))
    before = digest(run)
    result = cli("aegan.evaluate", f"run={run}", "metrics=[reconstruction]")
    assert_one_error_line(result, f"{run / 'checkpoints' / 'last.pt'}: not a usable checkpoint")
    assert digest(run) == before


@pytest.mark.parametrize("last", ["missing", "a folder"])
def test_resume_auto_without_last_pt_names_the_checkpoints_left(cli, trained, tmp_path, last):
    run = copied(trained, tmp_path)
    (step,) = (run / "checkpoints").glob("step-*.pt")
    (run / "checkpoints" / "last.pt").unlink()
    if last == "a folder":
        (run / "checkpoints" / "last.pt").mkdir()
    result = cli("aegan.train", *RESUME, f"hydra.run.dir={run}")
    assert_one_error_line(
        result,
        f"trainer.resume=auto: {run} holds a trained run, but its checkpoints/last.pt is {last}; "
        f"{'move it away, then ' if last == 'a folder' else ''}continue it with "
        f"trainer.resume={step} or trainer.resume={run / 'checkpoints' / 'best.pt'}\n",
    )
    assert "continue it with trainer.resume=auto" not in result.stderr
    if last == "a folder":  # a resume from a path would fail at its first save
        result = cli("aegan.train", *RESUME[:-1], f"trainer.resume={step}", f"hydra.run.dir={run}")
        assert_one_error_line(result, "checkpoints/last.pt is a folder, where a run keeps a ")
        (run / "checkpoints" / "last.pt").rmdir()
    result = cli("aegan.train", *RESUME[:-1], f"trainer.resume={step}", f"hydra.run.dir={run}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert torch.load(run / "checkpoints" / "last.pt", weights_only=True)["epoch"] == 2


def test_resume_auto_with_no_checkpoint_left_says_so(cli, trained, tmp_path):
    run = copied(trained, tmp_path)
    for path in (run / "checkpoints").glob("*.pt"):
        path.unlink()
    result = cli("aegan.train", *RESUME, f"hydra.run.dir={run}")
    assert_one_error_line(
        result, "its checkpoints/last.pt is missing; no checkpoint is there to continue from; "
                "train into another folder"
    )  # fmt: skip


def every_file(run: Path) -> dict[str, str]:
    """Every file of the run folder but its log, which records the refusal."""
    return {str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(run.rglob("*")) if p.is_file() and p.name != "train.log"}  # fmt: skip


@pytest.mark.parametrize(
    ("setting", "message"),
    [("model.latent_dim=8", "autoencoder weights do not fit the configured model (shape differs"),
     ("data.root={empty}", "lacks fashion_mnist IDX files")],
)  # fmt: skip
def test_a_refused_resume_leaves_the_run_folder_as_it_was(cli, trained, tmp_path, setting, message):
    """The run's record (.hydra/) and its TensorBoard history (a new event file's purge step
    hides what was logged after the checkpoint) change only once the resume has begun."""
    run = copied(trained, tmp_path)
    (tmp_path / "empty").mkdir()
    before = every_file(run)
    resume = f"trainer.resume={run}" if setting.startswith("model") else "trainer.resume=auto"
    setting = setting.format(empty=tmp_path / "empty")
    result = cli("aegan.train", *RESUME[:-1], resume, setting, f"hydra.run.dir={run}")
    assert_one_error_line(result, message)
    assert every_file(run) == before
    assert "data fashion_mnist:" not in result.stdout + result.stderr  # refused before the data


@pytest.mark.parametrize("how", ["auto", "file"])
def test_a_resume_with_fewer_epochs_than_done_is_refused(cli, tmp_path, how):
    """It trained nothing, logged "epoch 2/1", and rewrote the run's record as a 1-epoch run
    (a sweep's summary then listed it so)."""
    run = tmp_path / "run"
    assert cli("aegan.train", *RUN, "trainer.epochs=2", f"hydra.run.dir={run}").returncode == 0
    before = every_file(run)
    last = run / "checkpoints" / "last.pt"
    resume = "trainer.resume=auto" if how == "auto" else f"trainer.resume={last}"
    result = cli("aegan.train", *RUN, "trainer.epochs=1", resume, f"hydra.run.dir={run}")
    assert_one_error_line(result, f"trainer.epochs=1 is not allowed: {last} has done 2 epochs; "
                                  "continue it with trainer.epochs=2 or more")  # fmt: skip
    assert every_file(run) == before


def _other_rng(state: dict) -> None:
    state["rng"]["torch"] = torch.zeros(3, dtype=torch.uint8)


def _other_images(state: dict) -> None:
    state["data"]["train"] = "0" * len(state["data"]["train"])


@pytest.mark.parametrize(
    ("change", "message"),
    [(_other_rng, "last.pt: its random number state is not usable (rng.torch is a torch.uint8"),
     (_other_images, "the fashion_mnist images are not those the run trained on (train split")],
)  # fmt: skip
def test_a_resume_refused_on_its_state_or_data_leaves_the_runs_log(
    cli, trained, tmp_path, change, message
):
    """A refusal on what only the checkpoint's state (found after the run's log has opened)
    or the data tells leaves the trained run's train.log as it was."""
    run = copied(trained, tmp_path, change)
    (run / "train.log").write_text("the run's own lines\n")
    before = every_file(run) | {"train.log": (run / "train.log").read_text()}
    result = cli("aegan.train", *RESUME, f"hydra.run.dir={run}")
    assert_one_error_line(result, message)
    assert every_file(run) | {"train.log": (run / "train.log").read_text()} == before


def test_a_run_without_last_pt_is_read_back_from_the_checkpoint_it_keeps(cli, trained, tmp_path):
    """A run whose last.pt was removed, its step-*.pt kept, was said to have "saved no
    checkpoint yet" by aegan.evaluate and load_run."""
    run = copied(trained, tmp_path)
    (run / ".hydra").mkdir()  # as a run of the command line has it
    (step,) = (run / "checkpoints").glob("step-*.pt")
    (run / "checkpoints" / "last.pt").unlink()
    said = f"{run / 'checkpoints'} holds no last.pt: name its newest step's, {step}\n"
    assert_one_error_line(cli("aegan.evaluate", f"run={run}"), said)
