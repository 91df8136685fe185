"""A model of the user's own: a task defined outside the package (``custom_task.py``) and
a config on Hydra's search path, with no edit under src/ or conf/, trains, checkpoints,
resumes, evaluates and loads back; the docs' example does too."""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Iterable

import pytest
import torch
from custom_task import LinearAutoencoder, toy_config, write_user_configs
from omegaconf import OmegaConf

import aegan
from aegan.contract import can
from aegan.engine import load_checkpoint
from aegan.errors import CheckpointError, ContractError
from aegan.evaluate import evaluate_task
from aegan.tasks.latents import PriorEncoderDecoder
from aegan.train import train
from conftest import REPO


@pytest.fixture
def user_configs(tmp_path) -> str:
    return write_user_configs(tmp_path)


def test_a_task_of_ones_own_trains_resumes_evaluates_and_loads(user_configs, tmp_path):
    run_dir = tmp_path / "run"
    first = train(toy_config(user_configs, run_dir))
    assert first["train/steps"] == 20
    assert first["test/mse"] == pytest.approx(first["val/mse"], rel=0.1)  # evaluated at the end
    state = load_checkpoint(run_dir / "checkpoints" / "last.pt")
    assert state["choices"]["model"] == "toy" and state["task"] == {"steps": 20}

    resumed = train(
        toy_config(user_configs, run_dir, "trainer.epochs=2", f"trainer.resume={run_dir}")
    )
    assert resumed["train/steps"] == 40 and resumed["val/mse"] < first["val/mse"]
    assert load_checkpoint(run_dir / "checkpoints" / "last.pt")["task"] == {"steps": 40}

    run = aegan.load_run(run_dir, checkpoint="last", searchpath=[user_configs])
    assert isinstance(run.task, LinearAutoencoder) and run.task.steps == 40
    assert run.encode(run.data.test_images[:3]).shape == (3, 4)
    again = evaluate_task(run.task, run.data, run.config.evaluate)
    assert again["test/mse"] == pytest.approx(resumed["test/mse"], rel=1e-6)
    assert again["probe/accuracy"] == pytest.approx(resumed["probe/accuracy"])


def test_its_run_cannot_be_loaded_without_its_configs(user_configs, tmp_path):
    run_dir = tmp_path / "run"
    train(toy_config(user_configs, run_dir, "evaluate.at_end=false"))
    with pytest.raises(
        CheckpointError, match=r"options \(model=toy\) cannot be composed here.*searchpath"
    ):
        aegan.load_run(run_dir, checkpoint="last")  # data=fashion_mnist composes: not named


class StepOfFloats(LinearAutoencoder):
    def train_step(self, batch: torch.Tensor, amp) -> dict:
        return {"train/loss": super().train_step(batch, amp)["train/loss"].item()}


class StepOfNothing(LinearAutoencoder):
    def train_step(self, batch: torch.Tensor, amp) -> dict:
        super().train_step(batch, amp)
        return {}


class StepNamedByNumbers(LinearAutoencoder):
    def train_step(self, batch: torch.Tensor, amp) -> dict:
        return {1: super().train_step(batch, amp)["train/loss"]}


class StepInTheGraph(LinearAutoencoder):
    def train_step(self, batch: torch.Tensor, amp) -> dict:
        super().train_step(batch, amp)
        return {"train/norm": sum(p.square().sum() for p in self.net.parameters())}


class StepOfComplex(LinearAutoencoder):
    def train_step(self, batch: torch.Tensor, amp) -> dict:
        return {"train/loss": super().train_step(batch, amp)["train/loss"] * (1 + 0j)}


class StepOnTheMetaDevice(LinearAutoencoder):
    def train_step(self, batch: torch.Tensor, amp) -> dict:
        super().train_step(batch, amp)
        return {"train/loss": torch.zeros((), device="meta")}


class ValidatesAnotherKey(LinearAutoencoder):
    def validate(self, batches: Iterable[torch.Tensor], amp) -> dict[str, float]:
        return {"val/loss": super().validate(batches, amp)["val/mse"]}


class StepOfAFloatLater(LinearAutoencoder):
    def train_step(self, batch: torch.Tensor, amp) -> dict:
        loss = super().train_step(batch, amp)["train/loss"]
        return {"train/loss": loss.item() if self.steps == 3 else loss}


class ValidatesToATensor(LinearAutoencoder):
    def validate(self, batches: Iterable[torch.Tensor], amp) -> dict:
        return {"val/mse": torch.tensor(super().validate(batches, amp)["val/mse"])}


class ValidatesToANumber(LinearAutoencoder):
    def validate(self, batches: Iterable[torch.Tensor], amp) -> float:
        return super().validate(batches, amp)["val/mse"]


class ValidatesOverTwoLines(LinearAutoencoder):
    def validate(self, batches: Iterable[torch.Tensor], amp) -> dict:
        return {**super().validate(batches, amp), "val/a\nb": 1.0}


class ValidatesToWords(LinearAutoencoder):
    def validate(self, batches: Iterable[torch.Tensor], amp) -> dict:
        return {"val/mse": "low"}


@pytest.mark.parametrize(
    ("task", "line"),
    [(StepOfFloats, "StepOfFloats.train_step returned train/loss as a float; it must return 0-d "
      "real tensors by name (str), detached, on the task's device"),
     (StepOfAFloatLater, "StepOfAFloatLater.train_step returned train/loss as a float; "),
     (StepNamedByNumbers, "StepNamedByNumbers.train_step returned the name 1, not a printable "
      "string; "),
     (ValidatesOverTwoLines, "ValidatesOverTwoLines.validate returned the name 'val/a\\nb', "
      "not a printable string"),
     (StepInTheGraph, "StepInTheGraph.train_step returned train/norm still requiring grad "
      "(not detached); "),
     (StepOfComplex, "StepOfComplex.train_step returned train/loss as a torch.complex64 tensor; "),
     (StepOnTheMetaDevice, "StepOnTheMetaDevice.train_step returned train/loss on the meta "
      "device; "),
     (StepOfNothing, "StepOfNothing.train_step returned {}; it must return a dict of named 0-d "
      "tensors, its loss among them"),
     (ValidatesAnotherKey, "ValidatesAnotherKey.validate returned val/loss, not its objective "
      "val/mse"),
     (ValidatesToATensor, "ValidatesToATensor.validate returned val/mse as a torch.float32 "
      "tensor of shape (); it must return floats"),
     (ValidatesToANumber, "ValidatesToANumber.validate returned 0."),
     (ValidatesToWords, "ValidatesToWords.validate returned val/mse as 'low'; it must return "
      "floats")],
)  # fmt: skip
def test_a_task_that_breaks_the_contract_is_named_in_one_line(user_configs, tmp_path, task, line):
    """Each was a traceback from inside the engine (AttributeError: 'float' object has no
    attribute 'new_empty'; IndexError: list index out of range; KeyError: 'val/mse';
    'int' object has no attribute 'startswith'; stack(): ... requires grad; torch.cat():
    input types can't be cast; Cannot copy out of meta tensor; argument of type 'float' is
    not iterable; '<' not supported between 'str' and 'float'), the rule the task broke left
    to find; a tensor from validate was kept in the checkpoint's history. Only the first
    step was checked: a float on a later one was "expected Tensor as element 0"."""
    target = f"model._target_=test_custom_task.{task.__name__}"
    with pytest.raises(ContractError) as refused:
        train(toy_config(user_configs, tmp_path / "run", target, "evaluate.at_end=false"))
    assert str(refused.value).startswith(line)


def test_the_example_in_the_docs_trains_evaluates_and_loads(tmp_path, monkeypatch):
    """docs/own-model.md's model, its code and config as printed there."""
    section = (REPO / "docs" / "own-model.md").read_text()
    code, config = (
        re.search(rf"```{kind}\n(.*?)```", section, re.S)[1] for kind in ("python", "yaml")
    )
    (tmp_path / "mypackage").mkdir()
    (tmp_path / "mypackage" / "__init__.py").write_text(code)
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "denoising.yaml").write_text(config)
    monkeypatch.syspath_prepend(str(tmp_path))
    searchpath = f"file://{tmp_path / 'conf'}"
    # its own setting set as the doc's text says (it was "not a setting": the config left it out)
    cfg = toy_config(searchpath, tmp_path / "run", "model=denoising", "model.noise_std=0.1")
    assert train(cfg)["test/mse"] > 0
    run = aegan.load_run(tmp_path / "run", searchpath=[str(tmp_path / "conf")])
    assert run.reconstruct(run.data.test_images[:3]).shape == (3, 1, 28, 28)
    with pytest.raises(AttributeError, match="cannot sample"):
        run.sample(2)
    # a folder whose name holds Hydra's grammar was split at its comma, or read as an override
    odd = tmp_path / "my,conf=[1]'s"
    shutil.copytree(tmp_path / "conf", odd)
    assert aegan.load_run(tmp_path / "run", searchpath=[str(odd)]).step == run.step


WITH_A_CONSTANT = """\
import torch
import torch.nn.functional as F
from custom_task import LinearAutoencoder

WEIGHT = torch.tensor(2.0)  # made as the module is imported


class WeightedLoss(LinearAutoencoder):
    def train_step(self, batch, amp):
        x = batch.float() / 255
        loss = WEIGHT * F.mse_loss(self.reconstruct_logits(x), x)
        amp.backward(loss)
        amp.step(self.optimizers["adam"])
        return {"train/loss": loss.detach()}
"""


def test_a_module_first_imported_to_build_its_task_keeps_its_tensors(
    user_configs, tmp_path, monkeypatch
):
    """Its settings are checked on the meta device first: a module imported then made its
    module-level tensors meta tensors for good, and the first step failed in torch's words
    ("Cannot copy out of meta tensor; no data!") after the run's folder was made."""
    (tmp_path / "with_a_constant.py").write_text(WITH_A_CONSTANT)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "with_a_constant", raising=False)
    target = "model._target_=with_a_constant.WeightedLoss"
    train(toy_config(user_configs, tmp_path / "run", target, "evaluate.at_end=false"))
    assert sys.modules["with_a_constant"].WEIGHT.device.type == "cpu"


class KeepsItsNoiseOnTheCpu(LinearAutoencoder):
    def __init__(self, *, device, **settings) -> None:
        super().__init__(device=device, **settings)
        self.noise = torch.randn(4, 4, device=device)

    def extra_state(self) -> dict:
        return {"steps": self.steps, "noise": self.noise.cpu()}


def test_a_state_copied_to_the_cpu_is_not_read_on_the_meta_device(user_configs, tmp_path):
    """The settings are checked on a task built on the meta device, whose tensors hold no
    values: its extra_state() there ("Cannot copy out of meta tensor") is not asked for."""
    target = "model._target_=test_custom_task.KeepsItsNoiseOnTheCpu"
    train(toy_config(user_configs, tmp_path / "run", target, "evaluate.at_end=false"))
    state = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")["task"]
    assert state["noise"].shape == (4, 4)


class LinearWithAPrior(PriorEncoderDecoder, LinearAutoencoder):
    """The linear autoencoder read as a model with N(0, I) on its codes."""

    device = torch.device("cpu")


def test_a_task_with_a_prior_on_its_codes_gets_sample_generate_and_reconstruct():
    """PriorEncoderDecoder derives the three from encode and decode, and only a task that
    mixes it in can sample (aegan.contract: a model's own methods, no others)."""
    adam = OmegaConf.create({"_target_": "torch.optim.Adam", "lr": 0.01})
    task = LinearWithAPrior(image_shape=(1, 28, 28), device="cpu", name="toy", latent_dim=4,
                            optimizer=adam)  # fmt: skip
    assert not can(LinearAutoencoder, "sample") and can(task, "sample")
    z = torch.randn(1200, 4, generator=torch.Generator().manual_seed(0))  # 3 chunks of codes
    images = task.generate(z)
    assert images.shape == (1200, 1, 28, 28) and torch.equal(images[:500], task.decode(z[:500]))
    assert torch.equal(task.sample(1200, torch.Generator().manual_seed(0)), images)
    x = torch.rand(3, 1, 28, 28)
    assert torch.equal(task.reconstruct(x), task.decode(task.encode(x)))
