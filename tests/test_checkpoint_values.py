"""The values a checkpoint holds, checked before anything is computed from them: the run's
position (counts, best objective, history), the optimizer's second moments, the gradient
scaler and the random number states; and its names (keys, choices), as messages show them."""

from __future__ import annotations

import math

import pytest
import torch
from checkpoint_task import CPU, TinyTask, a_state, saved, trained

from aegan.amp import Amp
from aegan.engine.checkpoint import load_checkpoint
from aegan.engine.checkpoint_contents import MAX_COUNT
from aegan.engine.state import restore
from aegan.errors import CheckpointError

BAD_POSITIONS = [  # a_state: epoch 1, step 5, one history entry
    ({"step": 2**63 + 5}, "step is 9223372036854775813; counts are integers in [0, 2**62)"),
    ({"step": MAX_COUNT}, f"step is {MAX_COUNT}; counts are integers in [0, 2**62)"),
    ({"epoch": 10**30}, "epoch is an integer of 100 bits; counts are integers in [0, 2**62)"),
    ({"batch": 2**62}, "batch is 4611686018427387904; counts are"),
    ({"epoch": 6}, "epoch 6 is more than step 5; every epoch takes at least one step"),
    ({"best_objective": 10**400}, "best_objective is an integer of 1329 bits; it is a number "
                                  "within a float's range (inf before the first validation)"),
    ({"best_objective": math.nan}, "best_objective is nan; it is a number"),
    ({"history": [{"val/loss": 10**400}]}, "history[0] holds 'val/loss': an integer of 1329 "
                                           "bits; metrics are names with numbers within a"),
    ({"history": [{"val/loss": "abc"}]}, "history[0] holds 'val/loss': 'abc'; metrics are"),
    ({"history": [{3: 0.5}]}, "history[0] holds 3: 0.5; metrics are names"),
    ({"history": [{"val/loss": True}]}, "history[0] holds 'val/loss': True;"),
    ({"history": [5]}, "history[0] is an int; it holds dicts of metrics"),
    ({"history": [{"val/loss": 0.5}] * 2}, "history has 2 entries at epoch 1; it holds one per "
                                           "epoch done"),
    # never improved on (best.pt not written again), or ranked first by a sweeper
    ({"best_objective": -math.inf}, "best_objective is -inf, which no validation in history "
                                    "measured; it is the best of them (inf before the first)"),
    ({"best_objective": 0.0}, "best_objective is 0.0, which no validation in history measured"),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "message"), BAD_POSITIONS)
def test_a_position_out_of_range_is_refused_on_loading(tmp_path, changes, message):
    path = saved(tmp_path, {"format_version": 2, **a_state(**changes)})
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    assert str(caught.value).startswith(f"{path}: not a usable checkpoint: {message}")
    assert "\n" not in str(caught.value)


GOOD_POSITIONS = [
    {"best_objective": math.inf, "history": []},  # no validation yet
    {"best_objective": -math.inf, "history": [{"val/loss": -math.inf, "epoch": 1}]},  # the best
    {"best_objective": 3, "history": [{"val/loss": 3, "epoch": 1}]},
    # a diverged epoch: no better than inf
    {
        "best_objective": math.inf,
        "history": [{"val/loss": math.nan, "val/kl": math.inf, "epoch": 1}],
    },
    {"epoch": 0, "batch": 0, "step": 0, "history": [], "best_objective": math.inf},
    {"epoch": MAX_COUNT - 1, "step": MAX_COUNT - 1},
]


@pytest.mark.parametrize("changes", GOOD_POSITIONS)
def test_a_position_a_run_can_reach_is_loaded_and_restored(tmp_path, changes):
    state = load_checkpoint(saved(tmp_path, {"format_version": 2, **a_state(**changes)}))
    progress = restore(TinyTask(), Amp("fp32", CPU, skip_nonfinite=True), state, path="c.pt")
    for key, value in changes.items():
        restored = getattr(progress, key)
        assert restored == value or repr(restored) == repr(value)  # NaN is not equal to itself


@pytest.mark.parametrize("moment", ["exp_avg_sq", "max_exp_avg_sq"])
def test_a_negative_second_moment_is_the_files_fault_not_the_learning_rates(moment):
    task = TinyTask()
    for optimizer in task.optimizers.values():
        optimizer.param_groups[0]["amsgrad"] = True  # it keeps max_exp_avg_sq too
    for _ in range(2):
        task.train_step(torch.randn(8, 4), Amp("fp32", CPU))
    state = a_state()
    state["optimizers"] = {name: o.state_dict() for name, o in task.optimizers.items()}
    state["optimizers"]["decoder"]["state"][1][moment][2] = -1e-3
    with pytest.raises(CheckpointError) as caught:
        restore(task, Amp("fp32", CPU), state, path="c.pt")
    assert str(caught.value) == (
        f"c.pt: the decoder optimizer state does not fit (1.{moment} holds negative values; "
        "a mean of squares is never negative)"
    )


def test_a_zero_second_moment_is_what_a_fresh_parameter_has():
    task, amp = trained(1)
    state = a_state()
    state["optimizers"]["decoder"]["state"][1]["exp_avg_sq"].zero_()
    restore(task, amp, state, path="c.pt")


def test_a_random_number_state_of_another_shape_is_named_unread():
    state, task = a_state(), TinyTask()
    state["rng"]["torch"] = torch.zeros(1, dtype=torch.uint8).expand(10**6, 10**6)
    rng = torch.get_rng_state()
    with pytest.raises(CheckpointError) as caught:
        restore(task, Amp("fp32", CPU), state, path="c.pt")
    assert str(caught.value) == (
        "c.pt: its random number state is not usable (rng.torch is a torch.uint8 tensor of "
        f"shape (1000000, 1000000), not a torch.uint8 tensor of shape {tuple(rng.shape)}); "
        "resume from another of the run's checkpoints (trainer.resume=RUN/checkpoints/step-*.pt)"
    )
    assert torch.equal(torch.get_rng_state(), rng)


class FakeCuda:
    """torch.cuda on a machine with one device, recording the states it is given."""

    def __init__(self, monkeypatch) -> None:
        self.given: list[tuple[int, torch.Tensor]] = []
        own = torch.zeros(16, dtype=torch.uint8)  # a CUDA generator's seed and offset
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: [own])
        monkeypatch.setattr(torch.cuda, "set_rng_state", lambda s, i=0: self.given.append((i, s)))
        monkeypatch.setattr(torch.cuda, "set_rng_state_all",
                            lambda states: self.given.extend(enumerate(states)))  # fmt: skip


def test_a_cuda_random_number_state_is_checked_before_torch_copies_it(monkeypatch):
    """torch.cuda.set_rng_state clones its argument: a stride-0 state of 10**12 bytes, a
    few bytes in the file, would be made whole."""
    state, task = a_state(), TinyTask()
    state["rng"]["cuda"] = [torch.zeros(1, dtype=torch.uint8).expand(10**12)]
    cuda = FakeCuda(monkeypatch)
    with pytest.raises(CheckpointError) as caught:
        restore(task, Amp("fp32", CPU), state, path="c.pt")
    assert str(caught.value) == (
        "c.pt: its random number state is not usable (rng.cuda[0] is a torch.uint8 tensor of "
        "shape (1000000000000,), not a torch.uint8 tensor of shape (16,)); resume from another "
        "of the run's checkpoints (trainer.resume=RUN/checkpoints/step-*.pt)"
    )
    assert cuda.given == []


def test_a_run_saved_on_more_devices_restores_those_this_machine_has(monkeypatch):
    state, task = a_state(), TinyTask()
    state["rng"]["cuda"] = [torch.full((16,), i, dtype=torch.uint8) for i in range(8)]
    cuda = FakeCuda(monkeypatch)
    restore(task, Amp("fp32", CPU), state, path="c.pt")
    assert [(i, s[0].item()) for i, s in cuda.given] == [(0, 0)]


BAD_SCALERS = [  # a NaN scale skipped every step of the resumed run, silently
    ({"scale": math.nan}, "scale is nan, not a finite number > 0"),
    ({"scale": 0.0}, "scale is 0.0, not a finite number > 0"),
    ({"scale": 10**400}, "scale is an integer of 1329 bits, not a finite number > 0"),
    ({"scale": "x"}, "scale is 'x', not a finite number > 0"),
    ({"_growth_tracker": -3}, "_growth_tracker is -3, not a count below 2**31"),
    ({"_growth_tracker": 2**40}, "_growth_tracker is 1099511627776, not a count below 2**31"),
]


@pytest.mark.parametrize(("changes", "message"), BAD_SCALERS)
def test_a_gradient_scaler_state_out_of_range_is_one_line(changes, message):
    state, task = a_state(), TinyTask()
    state["scaler"].update(changes)
    with pytest.raises(CheckpointError) as caught:
        restore(task, Amp("fp32", CPU, skip_nonfinite=True), state, path="c.pt")
    assert str(caught.value) == f"c.pt: its gradient scaler state is not usable ({message})"


@pytest.mark.parametrize("key", ["scale", "_growth_tracker"])
def test_a_gradient_scaler_state_missing_an_entry_names_it_in_words(key):
    """It read ``KeyError('scale')``, Python's words for a key, inside the line."""
    state, task = a_state(), TinyTask()
    state["scaler"].pop(key)
    with pytest.raises(CheckpointError) as caught:
        restore(task, Amp("fp32", CPU, skip_nonfinite=True), state, path="c.pt")
    assert str(caught.value) == (
        f"c.pt: its gradient scaler state is not usable (it has no {key} entry, which a "
        "scaler saves)"
    )


def test_the_scalers_growth_settings_are_the_runs_not_the_files():
    state, task = a_state(), TinyTask()
    state["scaler"].update(scale=4.0, growth_factor=1e30, backoff_factor=0.0, growth_interval=0,
                           _growth_tracker=2**30 + 5)  # fmt: skip
    amp = Amp("fp32", CPU, skip_nonfinite=True)
    own = amp.state_dict()
    restore(task, amp, state, path="c.pt")
    assert amp.state_dict() == {**own, "scale": 4.0, "_growth_tracker": own["growth_interval"] - 1}


FORGED = "val/loss\nerror: forged"  # a key that would print as two lines, the second a lie


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda s: s.update(config={**s["config"], FORGED: 1}), "config"),
        (lambda s: s["networks"]["decoder"].update({FORGED: torch.ones(1)}), "networks.decoder"),
        (lambda s: s.update(history=[{FORGED: 0.5}]), "history[0]"),
    ],
)
def test_a_key_holding_a_line_break_is_refused_on_one_line(tmp_path, change, where):
    """Such a key read on into a message split it: the weights' "unexpected: ..." list,
    record_config's keys left out, a history's figure."""
    state = {"format_version": 2, **a_state()}
    change(state)
    path = saved(tmp_path, state)
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    assert str(caught.value) == (
        f"{path}: not a usable checkpoint: a key of {where} is {FORGED!r}, not a name (it "
        "holds a control character)"
    )


def test_a_choice_holding_a_line_break_is_named_on_one_line(tmp_path):
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "config.yaml").write_text("model:\n  name: tiny\n")
    (tmp_path / "checkpoints").mkdir()
    choices = {"model": "tiny\nerror: forged", "data": "noise"}
    path = saved(tmp_path / "checkpoints", {"format_version": 2, **a_state(choices=choices)})
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(f"{path}: a checkpoint of model=tiny\\nerror: forged, ")
