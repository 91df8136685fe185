"""Every refusal of ``aegan.engine.checkpoint.load_checkpoint`` and of loading weights, with
its one-line message; the format-1 upgrade."""

from __future__ import annotations

import math
import os
import signal

import pytest
import torch
from checkpoint_task import a_state, saved
from torch import nn

from aegan.engine.checkpoint import (
    REQUIRED_KEYS,
    load_checkpoint,
    resolve_checkpoint,
    save_checkpoint,
)
from aegan.engine.state import load_network_state, load_optimizer_state
from aegan.errors import CheckpointError
from conftest import assert_same


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
    assert message.startswith(f"{path}: not a readable checkpoint (a cut or damaged archive: ")
    assert "\n" not in message
    assert len(message) <= len(str(path)) + 240  # the reason is cut to 160 characters


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_what_is_not_a_regular_file_is_named_without_waiting_on_it(tmp_path, kind):
    path = tmp_path / "last.pt"
    os.mkfifo(path) if kind == "fifo" else path.mkdir()  # nothing will write to the FIFO

    def waited(*_):
        raise TimeoutError("load_checkpoint waited on a FIFO")

    previous = signal.signal(signal.SIGALRM, waited)
    signal.alarm(20)
    try:
        with pytest.raises(CheckpointError) as caught:
            load_checkpoint(path)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    reason = "a FIFO, not a regular file" if kind == "fifo" else "a folder, not a regular file"
    assert str(caught.value) == f"{path}: not a readable checkpoint ({reason})"


@pytest.mark.parametrize("given", ["run", "file"])
def test_a_loop_of_links_is_named_as_one_not_as_a_file_gone(tmp_path, given):
    """Each link of a loop names a file, which was said not to exist: the user looked for it
    in vain."""
    folder = tmp_path / "run" / "checkpoints"
    folder.mkdir(parents=True)
    (folder / "last.pt").symlink_to("other.pt")
    (folder / "other.pt").symlink_to("last.pt")
    path = tmp_path / "run" if given == "run" else folder / "last.pt"
    with pytest.raises(CheckpointError) as caught:
        resolve_checkpoint(path)
    assert str(caught.value).endswith(" is a loop of links: it names other.pt")


def test_a_checkpoints_folder_that_is_a_loop_of_links_is_named(tmp_path):
    """Its last.pt was named as the loop, which the user found nowhere to move away."""
    (tmp_path / ".hydra").mkdir()
    (tmp_path / "checkpoints").symlink_to(tmp_path / "checkpoints")
    with pytest.raises(CheckpointError) as caught:
        resolve_checkpoint(tmp_path)
    said = f"; {tmp_path / 'checkpoints'} is a loop of links, where a run keeps a folder"
    assert str(caught.value).endswith(said)


@pytest.mark.parametrize("key", sorted(REQUIRED_KEYS))
def test_a_missing_key_is_named(tmp_path, key):
    state = {"format_version": 2, **a_state()}
    del state[key]
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(saved(tmp_path, state))
    assert str(caught.value) == f"{tmp_path / 'c.pt'}: not a usable checkpoint: {key} is missing"


@pytest.mark.parametrize(
    ("key", "value", "what"),
    [("step", "5", "a str, not an int"), ("epoch", True, "a bool, not an int"),
     ("best_objective", True, "a bool, not a float"), ("best_objective", "0", "a str, not a float"),
     ("history", {}, "a dict, not a list"), ("networks", [], "a list, not a dict")],
)  # fmt: skip
def test_a_key_of_the_wrong_type_is_named(tmp_path, key, value, what):
    state = {"format_version": 2, **a_state(), key: value}
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(saved(tmp_path, state))
    assert str(caught.value) == f"{tmp_path / 'c.pt'}: not a usable checkpoint: {key} is {what}"


def test_an_integer_best_objective_is_a_float(tmp_path):
    integer = a_state(best_objective=3, history=[{"val/loss": 3, "epoch": 1}])
    state = load_checkpoint(saved(tmp_path, {"format_version": 2, **integer}))
    assert state["best_objective"] == 3


@pytest.mark.parametrize("key", ["step", "epoch", "batch"])
def test_a_negative_counter_is_refused(tmp_path, key):
    path = saved(tmp_path, {"format_version": 2, **a_state(), key: -1})
    with pytest.raises(CheckpointError, match="a negative step, epoch or batch"):
        load_checkpoint(path)
    start = a_state(epoch=0, history=[], best_objective=float("inf"))  # no epoch done: step 0
    load_checkpoint(saved(tmp_path, {"format_version": 2, **start, key: 0}))


@pytest.mark.parametrize(
    ("config", "choices"),
    [
        ({"model": {"task": "gan"}, "data": {"name": "mnist"}}, {"model": "dcgan", "data": "mnist"}),
        ({"model": {"task": "autoencoder"}, "data": {}},
         {"model": "autoencoder", "data": None}),
        ({"model": {"task": "vae"}}, {"model": "vae", "data": None}),
        ({}, {"model": None, "data": None}),  # names none: not the option "None"
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


def test_a_negative_running_variance_is_refused_as_nan_would_be():
    """A batch norm's running variance below 0 gave NaN samples without a word."""
    state = nn.BatchNorm1d(2).state_dict()
    state["running_var"][1] = -1.0
    with pytest.raises(CheckpointError) as caught:
        load_network_state(nn.BatchNorm1d(2), state, name="G", path="c.pt")
    assert str(caught.value) == (
        "c.pt: G a batch norm's running variance is negative (running_var); use an earlier "
        "checkpoint (checkpoint=best, or a step-*.pt)"
    )


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
    state = {"format_version": 2, **a_state(best_objective=3, history=[{"val/loss": 3}])}
    del state["rng"]
    with pytest.raises(CheckpointError, match="rng is missing"):
        load_checkpoint(saved(tmp_path, state))
