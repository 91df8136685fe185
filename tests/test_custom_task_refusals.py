"""A model of the user's own that breaks a rule of the task contract or of its config: one
line naming the setting or the member, and the fix, before the run's folder is made."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from custom_task import TOY_YAML, LinearAutoencoder, toy_config, write_user_configs
from omegaconf import OmegaConf
from torch import nn

from aegan.contract import Task
from aegan.errors import ConfigError
from aegan.tasks.build import build_network
from aegan.train import train

HERE = __name__  # the module that holds the tasks the configs name


@pytest.fixture
def user_configs(tmp_path) -> str:
    return write_user_configs(tmp_path)


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


class KeepsNoNetworks(LinearAutoencoder):
    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        self.networks = {}


class NamesANetworkByNumber(LinearAutoencoder):
    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        self.networks[3] = self.networks.pop("net")


class NamesANetworkOverTwoLines(LinearAutoencoder):
    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        self.networks["net\nwork"] = self.networks.pop("net")


class KeepsANetworkUnderTwoNames(LinearAutoencoder):
    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        self.networks["copy"] = self.net


class KeepsAPartOfANetworkAsAnother(LinearAutoencoder):
    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        self.networks["encoder"] = self.net[1]


class KeepsAnOptimizerUnderTwoNames(LinearAutoencoder):
    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        self.optimizers["again"] = self.optimizers["adam"]


class StepsAParameterNoNetworkHolds(LinearAutoencoder):
    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        self.scale = nn.Parameter(torch.ones(()))
        self.optimizers["adam"].add_param_group({"params": [self.scale]})


class TakesAnotherName(LinearAutoencoder):
    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        self.name = "linear"


class ObjectiveOutsideValidation(LinearAutoencoder):
    objective = "mse"


class ListsItsLimits(LinearAutoencoder):
    limits = ["capture_step"]


class UsesLabelsInWords(LinearAutoencoder):
    uses_labels = "yes"


class BreaksItsObjectiveOverTwoLines(LinearAutoencoder):
    objective = "val/mse\nval/loss"


class KeepsAFunctionInItsState(LinearAutoencoder):
    def extra_state(self) -> dict:
        return {"steps": self.steps, "schedule": lambda step: 0.1}


class KeepsANumpyCount(LinearAutoencoder):
    def extra_state(self) -> dict:
        return {"steps": np.int64(self.steps)}


class KeepsAListAsItsState(LinearAutoencoder):
    def extra_state(self) -> list:
        return [self.steps]


@pytest.mark.parametrize(
    ("task", "line"),
    [(KeepsNoName, f"model._target_={HERE}.KeepsNoName is not a task (aegan.contract.Task): "
      "its name is None, not the name argument its constructor is given"),
     (NamesNoObjective, f"model._target_={HERE}.NamesNoObjective is not a task "
      "(aegan.contract.Task): its objective is None, not a key of what its validate returns"),
     (HasNoValidate, f"model._target_={HERE}.HasNoValidate is not a task "
      "(aegan.contract.Task): it has no validate of its own"),
     (KeepsATensorAsANetwork, f"model._target_={HERE}.KeepsATensorAsANetwork is not a task "
      "(aegan.contract.Task): its networks['scale'] is a Tensor, not a torch.nn.Module"),
     (KeepsNoNetworks, f"model._target_={HERE}.KeepsNoNetworks is not a task "
      "(aegan.contract.Task): its networks are empty: checkpoints would save nothing"),
     (NamesANetworkByNumber, f"model._target_={HERE}.NamesANetworkByNumber is not a task "
      "(aegan.contract.Task): its networks has the name 3, not a printable string"),
     (NamesANetworkOverTwoLines, f"model._target_={HERE}.NamesANetworkOverTwoLines is not a "
      "task (aegan.contract.Task): its networks has the name 'net\\nwork', not a printable "
      "string"),
     (KeepsANetworkUnderTwoNames, f"model._target_={HERE}.KeepsANetworkUnderTwoNames is not a "
      "task (aegan.contract.Task): its networks['net'] and networks['copy'] are the same "
      "object: checkpoints would save its weights twice"),
     (KeepsAPartOfANetworkAsAnother, f"model._target_={HERE}.KeepsAPartOfANetworkAsAnother is "
      "not a task (aegan.contract.Task): its networks['encoder'] is a part of networks['net'] "
      "(its 1): checkpoints would save its weights twice"),
     (KeepsAnOptimizerUnderTwoNames, f"model._target_={HERE}.KeepsAnOptimizerUnderTwoNames is "
      "not a task (aegan.contract.Task): its optimizers['adam'] and optimizers['again'] are "
      "the same object: checkpoints would save its state twice"),
     (StepsAParameterNoNetworkHolds, f"model._target_={HERE}.StepsAParameterNoNetworkHolds is "
      "not a task (aegan.contract.Task): its optimizers['adam'] steps a parameter that none "
      "of its networks holds"),
     (TakesAnotherName, f"model._target_={HERE}.TakesAnotherName is not a task "
      "(aegan.contract.Task): its name is 'linear', not the name argument its constructor is "
      "given ('toy')"),
     (ObjectiveOutsideValidation, f"model._target_={HERE}.ObjectiveOutsideValidation is not a "
      "task (aegan.contract.Task): its objective is 'mse'; it must be a key of what its "
      "validate returns, starting with 'val/'"),
     (ListsItsLimits, f"model._target_={HERE}.ListsItsLimits is not a task "
      "(aegan.contract.Task): its limits is ['capture_step'], not a mapping of trainer switch "
      "to why the task cannot take it"),
     (UsesLabelsInWords, f"model._target_={HERE}.UsesLabelsInWords is not a task "
      "(aegan.contract.Task): its uses_labels is 'yes', not True or False"),
     (BreaksItsObjectiveOverTwoLines, f"model._target_={HERE}.BreaksItsObjectiveOverTwoLines "
      "is not a task (aegan.contract.Task): its objective is 'val/mse\\nval/loss', not a key"),
     (KeepsAFunctionInItsState, f"model._target_={HERE}.KeepsAFunctionInItsState is not a "
      "task (aegan.contract.Task): its extra_state() returned ['schedule'] of type function: a "
      "checkpoint carries plain values"),
     (KeepsANumpyCount, f"model._target_={HERE}.KeepsANumpyCount is not a task "
      "(aegan.contract.Task): its extra_state() returned ['steps'] of type int64: a "
      "checkpoint carries plain values"),
     (KeepsAListAsItsState, f"model._target_={HERE}.KeepsAListAsItsState is not a task "
      "(aegan.contract.Task): its extra_state() returned list, not a dict of plain values"),
     (ListsAMetricMisspelt, "ListsAMetricMisspelt.metrics: 'probes' is not a metric; choose "
      "from: reconstruction, ")],
)  # fmt: skip
def test_a_task_without_a_member_of_the_contract_is_refused_before_its_folder(
    user_configs, tmp_path, task, line
):
    """A task that set no name was an AttributeError traceback and one without an objective
    a ContractError once an epoch was trained, each after the run's folder was made; a
    misspelt metric of its own was a KeyError once it was trained. A task with no networks,
    or whose optimizer steps a parameter outside them, trained with checkpoints that lacked
    what it trained; another name than its option's, or an objective outside val/, trained
    with records that misnamed it."""
    target = f"model._target_={HERE}.{task.__name__}"
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
        "model.latent_dim is not set: model._target_=custom_task.LinearAutoencoder needs it; set "
        "it in the config (latent_dim: ...), or give its constructor a default"
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
    target = f"model._target_={HERE}.TakesNoDevice"
    with pytest.raises(ConfigError) as task:
        train(toy_config(user_configs, tmp_path / "run", target))
    assert str(task.value) == (
        f"model._target_={HERE}.TakesNoDevice takes no argument device, which it is always "
        "given (image_shape, device): add device to its constructor"
    )
    net = OmegaConf.create({"_target_": f"{HERE}.NetOfCodesOnly"})
    with pytest.raises(ConfigError) as network:
        build_network("model.net", net, image_shape=[1, 28, 28], latent_dim=4)
    assert str(network.value) == (
        f"model.net._target_={HERE}.NetOfCodesOnly takes no argument image_shape, which it is "
        "always given (image_shape, latent_dim): add image_shape to its constructor"
    )
