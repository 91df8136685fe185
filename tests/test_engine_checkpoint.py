"""aegan.engine.checkpoint in milliseconds: what a checkpoint holds, what a resume restores,
where files go and how they are found. Refusals of damaged files: test_checkpoint_refusals.py."""

from __future__ import annotations

import os
import re

import pytest
import torch
from checkpoint_task import CPU, RECORD, TinyTask, a_state, trained

from aegan.amp import Amp
from aegan.engine.branch import keep_later_checkpoints
from aegan.engine.checkpoint import (
    CHECKPOINT_FORMAT,
    REQUIRED_KEYS,
    load_checkpoint,
    resolve_checkpoint,
    run_dir_of,
    save_checkpoint,
)
from aegan.engine.failed_write import last_good_checkpoint
from aegan.engine.state import Progress, checkpoint_state, load_weights, restore
from aegan.errors import CheckpointError
from conftest import assert_same


def test_checkpoint_state_holds_every_part_of_the_training_state():
    task, amp = trained(2)
    progress = Progress(epoch=2, batch=1, step=9, best_objective=0.25, history=[{"a": 1.0}])
    rng = torch.get_rng_state()
    state = checkpoint_state(task, amp, progress, RECORD)
    assert set(state) == set(REQUIRED_KEYS)
    assert (state["epoch"], state["batch"], state["step"]) == (2, 1, 9)
    assert state["best_objective"] == 0.25 and state["history"] == [{"a": 1.0}]
    assert state["config"] == RECORD["config"] and state["choices"] == RECORD["choices"]
    assert_same(state["networks"], {n: m.state_dict() for n, m in task.networks.items()})
    assert_same(state["optimizers"], {n: o.state_dict() for n, o in task.optimizers.items()})
    assert_same(state["scaler"], amp.state_dict())
    assert state["scaler"]["scale"] == 1.0 and state["task"] == {"steps": 2}
    assert torch.equal(state["rng"]["torch"], rng)


def test_restore_continues_exactly_where_the_saved_run_was(tmp_path):
    task, amp = trained(3)
    progress = Progress(epoch=1, batch=4, step=3, best_objective=2, history=[{"val/loss": 2.0}])
    save_checkpoint(checkpoint_state(task, amp, progress, RECORD), tmp_path, step=3, keep=1,
                    is_best=False)  # fmt: skip
    batches = [torch.randn(8, 4) for _ in range(2)]  # drawn after the save, as a run would
    for batch in batches:
        task.train_step(batch, amp)

    fresh, fresh_amp = TinyTask(seed=1), Amp("fp32", CPU, skip_nonfinite=True)
    state = load_checkpoint(tmp_path / "last.pt")
    restored = restore(fresh, fresh_amp, state, path=tmp_path / "last.pt")
    assert restored == Progress(epoch=1, batch=4, step=3, best_objective=2.0,
                                history=[{"val/loss": 2.0}])  # fmt: skip
    assert isinstance(restored.best_objective, float) and fresh.steps == 3
    for batch in batches:  # the RNG continues from the save too
        assert torch.equal(torch.randn(8, 4), batch)
        fresh.train_step(batch, fresh_amp)
    assert_same(checkpoint_state(fresh, fresh_amp, restored, RECORD)["networks"],
                checkpoint_state(task, amp, restored, RECORD)["networks"])  # fmt: skip
    assert_same(fresh.optimizers["decoder"].state_dict(), task.optimizers["decoder"].state_dict())
    assert fresh_amp.state_dict() == amp.state_dict()


def test_a_restored_history_is_the_runs_own_list(tmp_path):
    state = a_state()
    progress = restore(TinyTask(), Amp("fp32", CPU), state, path="c.pt")
    progress.history.append({"val/loss": 0.1})
    assert state["history"] == [{"val/loss": 0.5}]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["optimizers"].pop("decoder"), "c.pt: no optimizer state for 'decoder'"),
        (lambda s: s["optimizers"].update(decoder=s["optimizers"]["encoder"]),
         "c.pt: the decoder optimizer state does not fit ("),
        (lambda s: s.update(task={}), "c.pt: the task state does not fit this model "
         "(it has no 'steps' entry, which TinyTask.load_extra_state reads)"),
        (lambda s: s["rng"].pop("torch"), "c.pt: its random number state is not usable (rng "
         "has no torch entry, not the generators' states (torch: the CPU generator's, cuda: a "
         "list)); resume from another of the run's checkpoints (trainer.resume="),
        (lambda s: s.update(rng=[1]), "c.pt: its random number state is not usable (rng is [1],"),
        (lambda s: s["rng"].update(torch=torch.zeros(3)),
         "c.pt: its random number state is not usable ("),
        (lambda s: s["networks"].pop("decoder"),
         "c.pt: a checkpoint of model=tiny (networks encoder); this model has decoder, encoder"),
    ],
)  # fmt: skip
def test_restore_refuses_a_state_that_does_not_fit(change, message):
    state = a_state()
    change(state)
    task = TinyTask()
    rng = torch.get_rng_state()
    with pytest.raises(CheckpointError) as caught:
        restore(task, Amp("fp32", CPU), state, path="c.pt")
    assert str(caught.value).startswith(message)
    if "random" not in message:
        assert torch.equal(torch.get_rng_state(), rng)


def test_a_cuda_rng_state_is_ignored_without_cuda():
    if torch.cuda.is_available():
        pytest.skip("this machine would restore it")
    state = a_state()
    state["rng"]["cuda"] = [torch.zeros(3, dtype=torch.uint8)]
    restore(TinyTask(), Amp("fp32", CPU), state, path="c.pt")


def test_load_weights_of_another_model_says_which_networks(tmp_path):
    state = a_state()
    state["networks"]["critic"] = {}
    del state["choices"]
    with pytest.raises(CheckpointError) as caught:
        load_weights(TinyTask(), state, path="x.pt")
    assert str(caught.value) == (
        "x.pt: a checkpoint that names no model (networks critic, decoder, encoder); "
        "this model has decoder, encoder"
    )


def test_save_writes_format_2_names_the_step_and_keeps_the_newest(tmp_path):
    folder = tmp_path / "run" / "checkpoints"
    for step in (3, 12, 40):
        path = save_checkpoint(a_state(step=step), folder, step=step, keep=2, is_best=step == 12)
        assert path == folder / f"step-{step:08d}.pt"
    assert sorted(p.name for p in folder.iterdir()) == [
        "best.pt", "last.pt", "step-00000012.pt", "step-00000040.pt"
    ]  # fmt: skip
    raw = torch.load(folder / "last.pt", weights_only=True)
    assert raw["format_version"] == CHECKPOINT_FORMAT == 2 and raw["step"] == 40
    assert torch.load(folder / "best.pt", weights_only=True)["step"] == 12
    save_checkpoint(a_state(step=41), folder, step=41, keep=0, is_best=False)  # keeps one
    assert sorted(p.name for p in folder.glob("step-*")) == ["step-00000041.pt"]


def test_a_folder_that_cannot_take_the_file_is_one_clear_error(tmp_path):
    folder = tmp_path / "run" / "checkpoints"
    folder.parent.mkdir()
    folder.write_text("a file where the folder should be")
    assert last_good_checkpoint(folder) == "no checkpoint was written yet"
    with pytest.raises(CheckpointError) as caught:
        save_checkpoint(a_state(), folder, step=7, keep=1, is_best=False)
    assert re.fullmatch(  # the path that failed, not the file it was for; nothing to resume
        rf"could not write the checkpoint {folder} \(File exists\); no checkpoint was written yet\. "
        r"Make that path writable \(or move it away\), then run the same command again",
        str(caught.value),
    )


def test_only_checkpoint_files_are_pruned(tmp_path):
    folder = tmp_path / "checkpoints"
    (folder / "step-00000001.pt").mkdir(parents=True)  # not a file this code wrote
    for step in (2, 3):
        save_checkpoint(a_state(step=step), folder, step=step, keep=1, is_best=False)
    assert sorted(p.name for p in folder.glob("step-*")) == ["step-00000001.pt", "step-00000003.pt"]


def test_a_copy_named_like_a_step_checkpoint_is_the_users(tmp_path):
    """Pruning took every step-*.pt in name order: a copy kept as step-00000002-good.pt was
    deleted as the oldest, and step 10**8's file, named before step 99999999's, as older."""
    folder = tmp_path / "checkpoints"
    save_checkpoint(a_state(step=2), folder, step=2, keep=1, is_best=False)
    os.link(folder / "step-00000002.pt", folder / "step-00000002-good.pt")
    for step in (99_999_999, 10**8):
        save_checkpoint(a_state(step=step), folder, step=step, keep=1, is_best=False)
    names = sorted(p.name for p in folder.glob("step-*"))
    assert names == ["step-00000002-good.pt", "step-100000000.pt"]


def test_a_branch_moves_the_step_checkpoints_past_it_out_of_its_window(tmp_path):
    """Resumed in its folder from step 4, the run's later step files go to past-step-4: left
    beside the branch's, pruning (newest names first) would delete the branch's own."""
    folder = tmp_path / "checkpoints"
    for step in (2, 4, 6, 8):
        save_checkpoint(a_state(step=step), folder, step=step, keep=5, is_best=False)
    kept = keep_later_checkpoints(tmp_path, folder / "step-00000004.pt", step=4, epoch=0)
    assert kept == folder / "past-step-4"
    assert sorted(p.name for p in kept.iterdir()) == ["last.pt", "step-00000006.pt",
                                                      "step-00000008.pt"]  # fmt: skip
    assert sorted(p.name for p in folder.glob("*.pt")) == [
        "last.pt", "step-00000002.pt", "step-00000004.pt"
    ]  # fmt: skip
    save_checkpoint(a_state(step=5), folder, step=5, keep=2, is_best=False)
    assert sorted(p.name for p in folder.glob("step-*")) == ["step-00000004.pt", "step-00000005.pt"]


def test_last_good_checkpoint_names_last_pt(tmp_path):
    (tmp_path / "last.pt").write_bytes(b"")
    assert last_good_checkpoint(tmp_path) == f"the last good checkpoint is {tmp_path}/last.pt"


def test_resolve_checkpoint_takes_a_file_a_run_dir_or_its_checkpoints_folder(tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    for name in ("last.pt", "best.pt", "step-00000001.pt"):
        (folder / name).write_bytes(b"x")
    assert resolve_checkpoint(folder / "step-00000001.pt") == folder / "step-00000001.pt"
    assert resolve_checkpoint(tmp_path) == folder / "last.pt"
    assert resolve_checkpoint(folder) == folder / "last.pt"
    assert resolve_checkpoint(tmp_path, "best") == folder / "best.pt"
    assert resolve_checkpoint(folder, "best") == folder / "best.pt"


def test_a_folder_of_runs_is_named_so_and_a_sweeps_as_a_sweep(tmp_path):
    """``logs/train/runs`` was called a sweep's folder."""
    runs = tmp_path / "runs"
    for run in ("2026-11-27_10-00-00", "2026-11-28_10-00-00"):
        (runs / run / "checkpoints").mkdir(parents=True)
        (runs / run / "checkpoints" / "last.pt").write_bytes(b"x")
    with pytest.raises(CheckpointError, match="it is a folder of runs: name one of its runs"):
        resolve_checkpoint(runs)
    (runs / "multirun.yaml").write_text("{}\n")
    with pytest.raises(CheckpointError, match="it is a sweep's folder: name one of its runs"):
        resolve_checkpoint(runs)


def test_resolve_checkpoint_says_what_it_expected(tmp_path):
    with pytest.raises(CheckpointError) as caught:
        resolve_checkpoint(tmp_path)
    assert str(caught.value) == (
        f"no checkpoint at {tmp_path}: expected a .pt file, or a run dir holding "
        "checkpoints/last.pt"
    )
    for folder in (tmp_path, tmp_path / "checkpoints"):  # only last.pt: no epoch had ended
        folder.mkdir(exist_ok=True)
        (folder / "last.pt").write_bytes(b"x")
        with pytest.raises(CheckpointError) as caught:
            resolve_checkpoint(tmp_path, "best")
        assert str(caught.value).endswith(
            "holding checkpoints/best.pt; it holds last.pt (no epoch had ended when it "
            "stopped?): use checkpoint=last"
        )
        (folder / "last.pt").unlink()


def test_run_dir_of_a_file_a_checkpoints_folder_or_a_run_dir(tmp_path):
    folder = tmp_path / "run" / "checkpoints"
    folder.mkdir(parents=True)
    (folder / "last.pt").write_bytes(b"x")
    (tmp_path / "loose.pt").write_bytes(b"x")
    assert run_dir_of(folder / "last.pt") == tmp_path / "run"
    assert run_dir_of(folder) == tmp_path / "run"
    assert run_dir_of(tmp_path / "run") == tmp_path / "run"
    assert run_dir_of(tmp_path / "loose.pt") == tmp_path


def test_resolve_checkpoint_says_a_folder_holds_the_checkpoints_place(tmp_path):
    (tmp_path / "checkpoints" / "last.pt").mkdir(parents=True)
    with pytest.raises(CheckpointError) as caught:
        resolve_checkpoint(tmp_path)
    assert str(caught.value).endswith(
        f"; {tmp_path / 'checkpoints' / 'last.pt'} is a folder: move it away"
    )


def test_resolve_checkpoint_says_a_fifo_is_no_checkpoint_file(tmp_path):
    """It said "expected a .pt file", of a path that names one."""
    os.mkfifo(tmp_path / "last.pt")
    with pytest.raises(CheckpointError) as caught:
        resolve_checkpoint(tmp_path / "last.pt")
    assert str(caught.value).endswith("; it is a FIFO")


def test_resolve_checkpoint_names_a_link_whose_file_is_gone(tmp_path):
    """A run whose last.pt links to a moved file read "its run has saved no checkpoint yet"."""
    (tmp_path / ".hydra").mkdir()
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.pt").symlink_to(tmp_path / "moved.pt")
    with pytest.raises(CheckpointError) as caught:
        resolve_checkpoint(tmp_path)
    assert str(caught.value).endswith(
        f"; {tmp_path / 'checkpoints' / 'last.pt'} is a link to nothing: it names "
        f"{tmp_path / 'moved.pt'}"
    )


@pytest.mark.parametrize("kind", ["file", "fifo"])
def test_resolve_checkpoint_names_a_checkpoints_folder_that_is_none(tmp_path, kind):
    """It read "its run has saved no checkpoint yet", of a run whose folder was replaced."""
    (tmp_path / ".hydra").mkdir()
    folder = tmp_path / "checkpoints"
    folder.write_bytes(b"") if kind == "file" else os.mkfifo(folder)
    with pytest.raises(CheckpointError) as caught:
        resolve_checkpoint(tmp_path)
    what = "a file" if kind == "file" else "a FIFO"
    assert str(caught.value).endswith(f"; {folder} is {what}, where a run keeps a folder")


def test_best_of_a_checkpoint_file_is_refused(tmp_path):
    """A file is the weights it holds: checkpoint=best with one took the file's weights."""
    (tmp_path / "checkpoints").mkdir()
    for name in ("last.pt", "best.pt"):
        (tmp_path / "checkpoints" / name).write_bytes(b"x")
    with pytest.raises(CheckpointError) as caught:
        resolve_checkpoint(tmp_path / "checkpoints" / "last.pt", "best")
    assert "checkpoint=best is not allowed with the checkpoint file" in str(caught.value)
    assert resolve_checkpoint(tmp_path, "best") == tmp_path / "checkpoints" / "best.pt"
