"""aegan.engine.checkpoint in milliseconds: what a checkpoint holds, what a resume restores,
and every refusal of ``load_checkpoint`` and ``restore`` with its one-line message.

A two-network task small enough to train in a few steps stands in for a model; the files
are real, written and read with torch.
"""

from __future__ import annotations

import math
import os
import re

import pytest
import torch
from torch import nn

from aegan.amp import Amp
from aegan.contract import Task
from aegan.engine.checkpoint import (
    CHECKPOINT_FORMAT,
    REQUIRED_KEYS,
    Progress,
    checkpoint_state,
    last_good_checkpoint,
    load_checkpoint,
    load_network_state,
    load_optimizer_state,
    load_weights,
    resolve_checkpoint,
    restore,
    run_dir_of,
    save_checkpoint,
)
from aegan.errors import CheckpointError
from conftest import assert_same

CPU = torch.device("cpu")
RECORD = {"config": {"seed": 3}, "choices": {"model": "tiny", "data": "noise"}}


class TinyTask(Task):
    """Two networks (one with BatchNorm's integer counter), two Adams, a step counter."""

    objective = "val/loss"

    def __init__(self, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.networks = {
            "encoder": nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)),
            "decoder": nn.Linear(3, 4),
        }
        self.optimizers = {
            name: torch.optim.Adam(net.parameters(), lr=0.01) for name, net in self.networks.items()
        }
        self.steps = 0

    def train_step(self, batch: torch.Tensor, amp: Amp) -> dict[str, torch.Tensor]:
        loss = (self.networks["decoder"](self.networks["encoder"](batch)) - batch).pow(2).mean()
        amp.backward(loss)
        for optimizer in self.optimizers.values():
            amp.step(optimizer)
            optimizer.zero_grad()
        amp.update()
        self.steps += 1
        return {"train/loss": loss.detach()}

    def extra_state(self) -> dict:
        return {"steps": self.steps}

    def load_extra_state(self, state: dict) -> None:
        self.steps = state["steps"]


def trained(steps: int = 3, seed: int = 0) -> tuple[TinyTask, Amp]:
    task = TinyTask(seed)
    amp = Amp("fp32", CPU, skip_nonfinite=True)  # a unit scaler: its state is saved too
    for _ in range(steps):
        task.train_step(torch.randn(8, 4), amp)
    return task, amp


def a_state(**changes) -> dict:
    task, amp = trained(1)
    progress = Progress(epoch=1, batch=2, step=5, best_objective=0.5, history=[{"val/loss": 0.5}])
    return {**checkpoint_state(task, amp, progress, RECORD), **changes}


def saved(tmp_path, state: dict, name: str = "c.pt") -> str:
    torch.save(state, tmp_path / name)
    return tmp_path / name


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
        (lambda s: s.update(task={}), "c.pt: the task state does not fit this model (KeyError("),
        (lambda s: s.update(rng={}), "c.pt: its random number state is not usable (KeyError("),
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
        "x.pt: a checkpoint of model=? (networks critic, decoder, encoder); "
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
    assert last_good_checkpoint(folder) == "none was written yet"
    with pytest.raises(CheckpointError) as caught:
        save_checkpoint(a_state(), folder, step=7, keep=1, is_best=False)
    assert re.fullmatch(
        rf"could not write the checkpoint {folder}/step-00000007\.pt \(File exists\); "
        rf"none was written yet\. Make room, then continue with trainer\.resume={folder.parent}",
        str(caught.value),
    )


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


def test_load_checkpoint_reads_what_save_wrote(tmp_path):
    state = a_state()
    save_checkpoint(state, tmp_path, step=5, keep=1, is_best=False)
    loaded = load_checkpoint(tmp_path / "last.pt")
    assert_same(loaded, {"format_version": 2, **state})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ([1, 2], "not an aegan checkpoint (no format_version)"),
        ({"step": 1}, "not an aegan checkpoint (no format_version)"),
        ({"format_version": 3}, "checkpoint format 3 is not supported (this version reads "
                                "formats 1 and 2)"),
        ({"format_version": "2"}, "checkpoint format '2' is not supported"),
    ],
)  # fmt: skip
def test_load_checkpoint_refuses_what_is_not_a_checkpoint(tmp_path, content, message):
    path = saved(tmp_path, content)
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    assert str(caught.value).startswith(f"{path}: {message}")


def test_a_truncated_file_is_not_readable(tmp_path):
    path = tmp_path / "c.pt"
    torch.save({"format_version": 2, **a_state()}, path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: not a readable checkpoint (PytorchStreamReader failed")
    assert "\n" not in message
    assert len(message) <= len(str(path)) + 240  # the reason is cut to 200 characters


@pytest.mark.parametrize("key", sorted(REQUIRED_KEYS))
def test_a_missing_key_is_named(tmp_path, key):
    state = {"format_version": 2, **a_state()}
    del state[key]
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(saved(tmp_path, state))
    assert str(caught.value) == f"{tmp_path / 'c.pt'}: not a usable checkpoint: {key} is missing"


@pytest.mark.parametrize(
    ("key", "value", "what"),
    [("step", "5", "a str, not a int"), ("epoch", True, "a bool, not a int"),
     ("best_objective", True, "a bool, not a float"), ("best_objective", "0", "a str, not a float"),
     ("history", {}, "a dict, not a list"), ("networks", [], "a list, not a dict")],
)  # fmt: skip
def test_a_key_of_the_wrong_type_is_named(tmp_path, key, value, what):
    state = {"format_version": 2, **a_state(), key: value}
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(saved(tmp_path, state))
    assert str(caught.value) == f"{tmp_path / 'c.pt'}: not a usable checkpoint: {key} is {what}"


def test_an_integer_best_objective_is_a_float(tmp_path):
    state = load_checkpoint(saved(tmp_path, {"format_version": 2, **a_state(best_objective=3)}))
    assert state["best_objective"] == 3


@pytest.mark.parametrize("key", ["step", "epoch", "batch"])
def test_a_negative_counter_is_refused(tmp_path, key):
    path = saved(tmp_path, {"format_version": 2, **a_state(), key: -1})
    with pytest.raises(CheckpointError, match="a negative step, epoch or batch"):
        load_checkpoint(path)
    load_checkpoint(saved(tmp_path, {"format_version": 2, **a_state(), key: 0}))


@pytest.mark.parametrize(
    ("config", "choices"),
    [
        ({"model": {"task": "gan"}, "data": {"name": "mnist"}}, {"model": "dcgan", "data": "mnist"}),
        ({"model": {"task": "autoencoder"}, "data": {}},
         {"model": "autoencoder", "data": "None"}),
        ({"model": {"task": "vae"}}, {"model": "vae", "data": "None"}),
        ({}, {"model": "None", "data": "None"}),
    ],
)  # fmt: skip
def test_a_format_1_checkpoint_is_read_as_format_2(tmp_path, config, choices):
    """Format 1 kept the weights under "modules" and the EMA generator as AveragedModel's
    state ("module." keys and a counter), and had no "choices"."""
    state = a_state(config=config)
    del state["choices"]
    weights = state.pop("networks")
    ema = {"module.weight": torch.ones(2), "module.bias": torch.zeros(2),
           "n_averaged": torch.tensor(5)}  # fmt: skip
    path = saved(tmp_path, {**state, "format_version": 1,
                            "modules": {**weights, "generator_ema": ema}})  # fmt: skip
    loaded = load_checkpoint(path)
    assert loaded["format_version"] == 2 and "modules" not in loaded
    assert loaded["choices"] == choices
    assert_same(loaded["networks"], {**weights, "generator_ema": {
        "weight": torch.ones(2), "bias": torch.zeros(2)}})  # fmt: skip


def test_load_network_state_loads_a_fitting_state():
    source, target = nn.Linear(3, 2), nn.Linear(3, 2)
    load_network_state(target, source.state_dict(), name="net", path="c.pt")
    assert_same(target.state_dict(), source.state_dict())


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ([1], "c.pt: G weights are not a state_dict of tensors"),
        ({"weight": [1.0]}, "c.pt: G weights are not a state_dict of tensors"),
        ({"weight": torch.zeros(2, 3), "bias": torch.zeros(5), "extra": torch.zeros(1),
          "more": torch.zeros(1), "most": torch.zeros(1), "last": torch.zeros(1)},
         "c.pt: G weights do not fit the configured model (shape differs: bias (5,) vs model "
         "(2,); unexpected: extra, last, more); use the checkpoint's own config "
         "(aegan.load_run) or matching model overrides"),
        ({"weight": torch.zeros(2, 3)},
         "c.pt: G weights do not fit the configured model (missing: bias); use the "
         "checkpoint's own config (aegan.load_run) or matching model overrides"),
        ({"weight": torch.zeros(2, 3), "bias": torch.zeros(2), "extra": torch.zeros(1)},
         "c.pt: G weights do not fit the configured model (unexpected: extra); use the "
         "checkpoint's own config (aegan.load_run) or matching model overrides"),
        ({"weight": torch.full((2, 3), math.nan), "bias": torch.tensor([0.0, -math.inf])},
         "c.pt: G weights are not finite (weight, bias hold NaN or inf); use an earlier "
         "checkpoint (checkpoint=best, or a step-*.pt)"),
    ],
)  # fmt: skip
def test_load_network_state_refuses_weights_that_do_not_fit(state, message):
    network = nn.Linear(3, 2)
    before = {k: v.clone() for k, v in network.state_dict().items()}
    with pytest.raises(CheckpointError) as caught:
        load_network_state(network, state, name="G", path="c.pt")
    assert str(caught.value) == message
    assert_same(network.state_dict(), before)


def test_integer_buffers_are_not_checked_for_finiteness():
    source = nn.BatchNorm1d(2)
    source.num_batches_tracked.fill_(7)
    target = nn.BatchNorm1d(2)
    load_network_state(target, source.state_dict(), name="bn", path="c.pt")
    assert target.num_batches_tracked.item() == 7


def test_a_format_1_file_with_a_malformed_config_gets_the_usual_refusal(tmp_path):
    state = a_state(config=["not", "a", "dict"])
    del state["choices"]
    path = saved(tmp_path, {**state, "format_version": 1, "modules": state.pop("networks")})
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    assert str(caught.value) == f"{path}: not a usable checkpoint: config is a list, not a dict"


@pytest.mark.parametrize("capturable", [True, False])
def test_optimizer_step_counters_go_where_this_runs_flags_keep_them(capturable):
    """A CPU run's Adam resumed by a capturable one (a CUDA graph; meta stands in for the
    GPU): the step counter moves to the parameter's device, as float32."""
    weight = torch.nn.Parameter(torch.ones(3))
    saved = torch.optim.Adam([weight], foreach=False)
    weight.grad = torch.ones(3)
    saved.step()
    on_meta = torch.nn.Parameter(torch.ones(3, device="meta"))
    resumed = torch.optim.Adam([on_meta], capturable=capturable, foreach=False)
    load_optimizer_state(resumed, saved.state_dict())
    assert resumed.param_groups[0]["capturable"] is capturable
    step = resumed.state[on_meta]["step"]
    assert step.device.type == ("meta" if capturable else "cpu") and step.dtype == torch.float32


class Payload:
    """Unpickling it would run code: make a folder."""

    def __init__(self, folder) -> None:
        self.folder = str(folder)

    def __reduce__(self):
        return (os.mkdir, (self.folder,))


def test_a_checkpoint_that_would_run_code_is_refused_unopened(tmp_path):
    path = saved(tmp_path, {"format_version": 2, **a_state(), "task": Payload(tmp_path / "ran")})
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    assert str(caught.value) == (
        f"{path}: refused to load: the file holds Python objects beyond tensors and plain "
        "containers (possibly code); only weights-only checkpoints are accepted"
    )
    assert not (tmp_path / "ran").exists()


def test_a_key_after_an_integer_best_objective_is_still_checked(tmp_path):
    state = {"format_version": 2, **a_state(best_objective=3)}
    del state["rng"]
    with pytest.raises(CheckpointError, match="rng is missing"):
        load_checkpoint(saved(tmp_path, state))
