"""aegan.engine.checkpoint and engine.state in milliseconds: what a checkpoint holds and
what a restore puts back. Where files go: test_checkpoint_saving.py; how they are found:
test_checkpoint_lookup.py; refusals of damaged files: test_checkpoint_refusals.py."""

from __future__ import annotations

import pytest
import torch
from checkpoint_task import CPU, RECORD, TinyTask, a_state, trained

from aegan.amp import Amp
from aegan.engine.checkpoint import REQUIRED_KEYS, load_checkpoint, save_checkpoint
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
