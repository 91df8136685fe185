"""A model of the user's own whose state no checkpoint can carry or load: one line naming
the task, and the checkpoints written before kept loadable."""

from __future__ import annotations

import random

import pytest
from custom_task import LinearAutoencoder, toy_config, write_user_configs
from torch import nn

from aegan.engine import load_checkpoint
from aegan.errors import CheckpointError, ConfigError, ContractError
from aegan.train import train

HERE = __name__  # the module that holds the tasks the configs name


@pytest.fixture
def user_configs(tmp_path) -> str:
    return write_user_configs(tmp_path)


class KeepsAnObjectOnceTrained(LinearAutoencoder):
    def extra_state(self) -> dict:
        return {"steps": self.steps, **({"rng": random.Random(0)} if self.steps > 20 else {})}


def test_a_state_no_checkpoint_can_carry_stops_the_run_and_keeps_the_checkpoints_before(
    user_configs, tmp_path
):
    """An object in extra_state() was pickled into every checkpoint after it appeared, each
    then refused by the weights-only load of a resume: the run's last loadable weights
    were the ones before, kept nowhere once the checkpoints rotated."""
    run = tmp_path / "run"
    target = f"model._target_={HERE}.KeepsAnObjectOnceTrained"
    with pytest.raises(ContractError) as refused:
        train(toy_config(user_configs, run, target, "trainer.epochs=2"))
    assert str(refused.value).startswith(
        "KeepsAnObjectOnceTrained.extra_state() returned ['rng'] of type Random: a checkpoint "
        "carries plain values"
    )
    assert load_checkpoint(run / "checkpoints" / "last.pt")["task"] == {"steps": 20}


class RefusesItsStateOnLoad(LinearAutoencoder):
    def load_extra_state(self, state: dict) -> None:
        raise RuntimeError("steps\nout of range")


def test_a_load_extra_state_that_raises_is_one_line_naming_the_task(user_configs, tmp_path):
    """Only KeyError, TypeError, ValueError and AttributeError were named; anything else the
    task's own code raised on resume (a RuntimeError here) was a traceback."""
    run, target = tmp_path / "run", f"model._target_={HERE}.RefusesItsStateOnLoad"
    train(toy_config(user_configs, run, target, "evaluate.at_end=false"))
    resume = toy_config(user_configs, run, target, "trainer.epochs=2", f"trainer.resume={run}")
    with pytest.raises(CheckpointError) as refused:
        train(resume)
    assert str(refused.value) == (
        f"{run / 'checkpoints' / 'last.pt'}: the task state does not fit this model "
        "(RefusesItsStateOnLoad.load_extra_state raised RuntimeError: steps out of range)"
    )
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 20


class KeepsASentinel(LinearAutoencoder):
    """A best epoch kept as -1 until there is one: an integer, not a count."""

    def extra_state(self) -> dict:
        return {"steps": self.steps, "best_epoch": -1 if self.steps <= 20 else 0}

    def load_extra_state(self, state: dict) -> None:
        self.steps = int(state["steps"])


class CountsPastAnyCheckpoint(LinearAutoencoder):
    def extra_state(self) -> dict:
        return {"steps": self.steps * 10**90}


def test_an_integer_state_below_zero_resumes_and_one_past_64_bits_is_refused(
    user_configs, tmp_path
):
    """Every integer was held to be a count (>= 0) on resume: a -1 the task starts with was
    refused as "not a count"; and a count past 64 bits was saved, then refused on resume."""
    run, target = tmp_path / "run", f"model._target_={HERE}.KeepsASentinel"
    train(toy_config(user_configs, run, target, "evaluate.at_end=false"))
    resume = toy_config(user_configs, run, target, "trainer.epochs=2", f"trainer.resume={run}")
    assert train(resume)["train/steps"] == 40
    big = f"model._target_={HERE}.CountsPastAnyCheckpoint"
    with pytest.raises(ContractError, match=r"\['steps'\] = 2e\+91, an integer past what"):
        train(toy_config(user_configs, tmp_path / "big", big))
    assert not (tmp_path / "big" / "checkpoints" / "last.pt").exists()


class LeavesANetworkOffItsDevice(LinearAutoencoder):
    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        self.networks["scale"] = nn.Linear(1, 1, device="meta")  # no .to(device)


def test_a_network_left_off_the_tasks_device_is_refused_before_a_step(user_configs, tmp_path):
    """A network not moved to the task's device trained on: its weights were saved in every
    checkpoint with no values (on a GPU: the first step failed on torch's device mismatch)."""
    run, target = tmp_path / "run", f"model._target_={HERE}.LeavesANetworkOffItsDevice"
    with pytest.raises(ConfigError) as refused:
        train(toy_config(user_configs, run, target))
    assert str(refused.value).startswith(
        f"model._target_={target.removeprefix('model._target_=')} is not a task "
        "(aegan.contract.Task): its networks['scale'] holds weight on the meta device, not on "
        "cpu, the device it is built for"
    )
    assert not (run / "checkpoints" / "last.pt").exists()
