"""A model of the user's own: a task defined here and a config on Hydra's search path, with
no edit under src/ or conf/, trains, checkpoints, resumes, evaluates and loads back."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf, open_dict
from torch import nn

import aegan
from aegan.config import compose_config
from aegan.contract import Task, can
from aegan.data import normalize
from aegan.engine import load_checkpoint
from aegan.errors import CheckpointError, ConfigError, ContractError
from aegan.evaluate import evaluate_task
from aegan.tasks.build import build_network, build_optimizer
from aegan.tasks.latents import PriorEncoderDecoder
from aegan.train import train
from conftest import REPO

TOY_YAML = """\
_target_: test_custom_task.LinearAutoencoder
_recursive_: false
name: toy
latent_dim: 4
optimizer:
  _target_: torch.optim.Adam
  _partial_: true
  lr: 0.01
"""


class LinearAutoencoder(Task):
    """The smallest model that can encode: one linear map each way."""

    objective = "val/mse"
    metrics = ("reconstruction", "probe")

    def __init__(self, *, image_shape: Sequence[int], device, name: str, latent_dim: int,
                 optimizer: dict) -> None:  # fmt: skip
        pixels = math.prod(image_shape)
        self.name, self.latent_dim, self.shape = name, latent_dim, tuple(image_shape)
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(pixels, latent_dim), nn.Linear(latent_dim, pixels)
        )
        self.net.to(device)
        self.networks = {"net": self.net}
        self.optimizers = {
            "adam": build_optimizer("model.optimizer", optimizer, self.net.parameters())
        }
        self.steps = 0

    def train_step(self, batch: torch.Tensor, amp) -> dict[str, torch.Tensor]:
        x = normalize(batch, "unit")
        loss = F.mse_loss(self.reconstruct_logits(x), x)
        amp.backward(loss)
        amp.step(self.optimizers["adam"])
        self.steps += 1
        return {"train/loss": loss.detach()}

    def reconstruct_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1, *self.shape)

    @torch.no_grad()
    def validate(self, batches: Iterable[torch.Tensor], amp) -> dict[str, float]:
        total, count = 0.0, 0
        for batch in batches:
            x = normalize(batch, "unit")
            total += F.mse_loss(self.reconstruct(x), x, reduction="sum").item()
            count += x.numel()
        return {"val/mse": total / count}

    def extra_state(self) -> dict:
        return {"steps": self.steps}

    def load_extra_state(self, state: dict) -> None:
        self.steps = int(state["steps"])

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.net[1](self.net[0](x))

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        return self.net[2](codes).view(-1, *self.shape).clamp(0, 1)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


@pytest.fixture
def user_configs(tmp_path) -> str:
    """The user's own config folder, on Hydra's search path like ``hydra.searchpath=[...]``."""
    (tmp_path / "my_conf" / "model").mkdir(parents=True)
    (tmp_path / "my_conf" / "model" / "toy.yaml").write_text(TOY_YAML)
    return f"file://{tmp_path / 'my_conf'}"


def toy_config(searchpath: str, run_dir: Path, *overrides: str):
    cfg = compose_config(
        ["model=toy", "trainer.device=cpu", "data.subset=1000", "data.val_size=500",
         "data.batch_size=50", "trainer.epochs=1", "logger.enabled=false",
         "evaluate.metrics=[reconstruction,probe]", *overrides],
        searchpath=[searchpath],
    )  # fmt: skip
    with open_dict(cfg):
        cfg.paths.output_dir = str(run_dir)
        cfg.paths.data_dir = str(run_dir.parent / "data")
    return cfg


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
    with pytest.raises(CheckpointError, match=r"model=toy.*cannot be composed here.*searchpath"):
        aegan.load_run(run_dir, checkpoint="last")


@pytest.mark.parametrize(
    ("target", "line"),
    [("needs_missing.Net", "importing needs_missing failed: ModuleNotFoundError: No module named "
      "'a_dependency_not_installed'"),
     ("half_written.Net", "importing half_written failed: SyntaxError: "),
     ("no_such_module_anywhere.Net", "no module no_such_module_anywhere can be imported here: "
      "install its package (pip install -e DIR), or add the folder that holds it to PYTHONPATH"),
     ("other_names.Nett", "other_names has no Nett")],
)  # fmt: skip
def test_a_target_whose_module_fails_to_import_says_why(tmp_path, monkeypatch, target, line):
    """A user's module that exists but fails to import was "no such class or function",
    the cause dropped even with debug=true: a hunt for a typo in the class's name. So were
    a module not on the path (a package not installed) and a name the module lacks."""
    (tmp_path / "needs_missing").mkdir()
    (tmp_path / "needs_missing" / "__init__.py").write_text("import a_dependency_not_installed\n")
    (tmp_path / "half_written.py").write_text("def Net(:\n")
    (tmp_path / "other_names.py").write_text("class Net:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError) as refused:
        build_network("model.net", OmegaConf.create({"_target_": target}))
    assert str(refused.value).startswith(f"model.net._target_={target}: {line}")


def test_an_attribute_error_inside_a_constructor_is_not_a_missing_class(tmp_path, monkeypatch):
    """Any AttributeError was read as an import failure: "no such class or function", a
    hunt for a typo in a name that is right, while the class's own line went unsaid."""
    (tmp_path / "broken_net.py").write_text(
        "class Net:\n    def __init__(self):\n        self.nothing.here\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError) as refused:
        build_network("model.net", OmegaConf.create({"_target_": "broken_net.Net"}))
    message = str(refused.value)
    assert message.startswith("model.net._target_=broken_net.Net could not be built: ")
    assert "has no attribute 'nothing'" in message


class StepOfFloats(LinearAutoencoder):
    def train_step(self, batch: torch.Tensor, amp) -> dict:
        return {"train/loss": super().train_step(batch, amp)["train/loss"].item()}


class ValidatesAnotherKey(LinearAutoencoder):
    def validate(self, batches: Iterable[torch.Tensor], amp) -> dict[str, float]:
        return {"val/loss": super().validate(batches, amp)["val/mse"]}


@pytest.mark.parametrize(
    ("task", "line"),
    [(StepOfFloats, "StepOfFloats.train_step returned train/loss as a float; it must return 0-d "
      "tensors, left on the device"),
     (ValidatesAnotherKey, "ValidatesAnotherKey.validate returned val/loss, not its objective "
      "val/mse")],
)  # fmt: skip
def test_a_task_that_breaks_the_contract_is_named_in_one_line(user_configs, tmp_path, task, line):
    """Each was a traceback from inside the engine (AttributeError: 'float' object has no
    attribute 'new_empty'; KeyError: 'val/mse'), the rule the task broke left to find."""
    target = f"model._target_=test_custom_task.{task.__name__}"
    with pytest.raises(ContractError) as refused:
        train(toy_config(user_configs, tmp_path / "run", target, "evaluate.at_end=false"))
    assert str(refused.value).startswith(line)


class KeepsNoName(LinearAutoencoder):
    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        del self.name


class NamesNoObjective(LinearAutoencoder):
    objective = None


class ListsAMetricMisspelt(LinearAutoencoder):
    metrics = ("reconstruction", "probes")


class HasNoValidate(LinearAutoencoder):
    validate = Task.validate


class KeepsATensorAsANetwork(LinearAutoencoder):
    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        self.networks["scale"] = torch.ones(3)


@pytest.mark.parametrize(
    ("task", "line"),
    [(KeepsNoName, "model._target_=test_custom_task.KeepsNoName is not a task "
      "(aegan.contract.Task): its name is None, not the name argument its constructor is given"),
     (NamesNoObjective, "model._target_=test_custom_task.NamesNoObjective is not a task "
      "(aegan.contract.Task): its objective is None, not a key of what its validate returns"),
     (HasNoValidate, "model._target_=test_custom_task.HasNoValidate is not a task "
      "(aegan.contract.Task): it has no validate of its own"),
     (KeepsATensorAsANetwork, "model._target_=test_custom_task.KeepsATensorAsANetwork is not a "
      "task (aegan.contract.Task): its networks['scale'] is a Tensor, not a torch.nn.Module"),
     (ListsAMetricMisspelt, "ListsAMetricMisspelt.metrics: 'probes' is not a metric; choose "
      "from: reconstruction, ")],
)  # fmt: skip
def test_a_task_without_a_member_of_the_contract_is_refused_before_its_folder(
    user_configs, tmp_path, task, line
):
    """A task that set no name was an AttributeError traceback and one without an objective
    a ContractError once an epoch was trained, each after the run's folder was made; a
    misspelt metric of its own was a KeyError once it was trained."""
    target = f"model._target_=test_custom_task.{task.__name__}"
    with pytest.raises(ConfigError) as refused:
        train(toy_config(user_configs, tmp_path / "run", target))
    assert str(refused.value).startswith(line)
    assert not (tmp_path / "run").exists()


def test_a_setting_the_task_needs_and_its_config_leaves_out_is_named(user_configs, tmp_path):
    """Python's "LinearAutoencoder.__init__() missing 1 required keyword-only argument:
    'latent_dim'" named the argument, not the key to set, nor the fix."""
    with pytest.raises(ConfigError) as refused:
        train(toy_config(user_configs, tmp_path / "run", "~model.latent_dim"))
    assert str(refused.value) == (
        "model.latent_dim is not set: model._target_=test_custom_task.LinearAutoencoder needs "
        "it; set it in the config (latent_dim: ...), or give its constructor a default"
    )
    assert not (tmp_path / "run").exists()


def test_a_config_copied_under_another_name_says_which_line_to_change(user_configs, cli, tmp_path):
    """A copy of toy.yaml as copy.yaml, its name: left as toy, was refused with "(choose
    another option with model=...)": nothing said that the file's name: line was the fix."""
    folder = user_configs.removeprefix("file://")
    Path(folder, "model", "copy.yaml").write_text(TOY_YAML)
    result = cli("aegan.train", "model=copy", f"hydra.searchpath=[{user_configs}]",
                 f"hydra.run.dir={tmp_path / 'run'}")  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == (
        "error: model.name='toy' is not allowed: it must be 'copy', the name of model=copy: set "
        "name: copy in its file model/copy.yaml (or leave name out), or choose that option "
        "with model=toy\n"
    )
    assert not (tmp_path / "run").exists()


def test_the_example_in_the_docs_trains_evaluates_and_loads(tmp_path, monkeypatch):
    """docs/models.md's model of one's own, its code and config as printed there."""
    docs = (REPO / "docs" / "models.md").read_text()
    section = docs[docs.index("## A model of your own") :]
    code, config = (
        re.search(rf"```{kind}\n(.*?)```", section, re.S)[1] for kind in ("python", "yaml")
    )
    (tmp_path / "mypackage").mkdir()
    (tmp_path / "mypackage" / "__init__.py").write_text(code)
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "denoising.yaml").write_text(config)
    monkeypatch.syspath_prepend(str(tmp_path))
    searchpath = f"file://{tmp_path / 'conf'}"
    cfg = toy_config(searchpath, tmp_path / "run", "model=denoising")
    assert train(cfg)["test/mse"] > 0
    run = aegan.load_run(tmp_path / "run", searchpath=[str(tmp_path / "conf")])
    assert run.reconstruct(run.data.test_images[:3]).shape == (3, 1, 28, 28)
    with pytest.raises(AttributeError, match="cannot sample"):
        run.sample(2)


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


class TakesNoDevice(LinearAutoencoder):
    def __init__(self, *, image_shape, name, latent_dim, optimizer) -> None:
        super().__init__(image_shape=image_shape, device="cpu", name=name,
                         latent_dim=latent_dim, optimizer=optimizer)  # fmt: skip


class NetOfCodesOnly(nn.Module):
    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.linear = nn.Linear(latent_dim, 3)


def test_a_constructor_without_an_argument_it_is_always_given_is_told_to_take_it(
    user_configs, tmp_path
):
    """Python's "__init__() got an unexpected keyword argument 'device'" came after "could
    not be built", as if the config had set it: the constructor is what lacks it."""
    target = "model._target_=test_custom_task.TakesNoDevice"
    with pytest.raises(ConfigError) as task:
        train(toy_config(user_configs, tmp_path / "run", target))
    assert str(task.value) == (
        "model._target_=test_custom_task.TakesNoDevice takes no argument device, which it is "
        "always given (image_shape, device): add device to its constructor"
    )
    net = OmegaConf.create({"_target_": "test_custom_task.NetOfCodesOnly"})
    with pytest.raises(ConfigError) as network:
        build_network("model.net", net, image_shape=[1, 28, 28], latent_dim=4)
    assert str(network.value) == (
        "model.net._target_=test_custom_task.NetOfCodesOnly takes no argument image_shape, which "
        "it is always given (image_shape, latent_dim): add image_shape to its constructor"
    )
