"""A task's sub-config (a network's, an optimizer's) that is null, a number or a list: one
line naming that key, not the task's class ("no such class or function", "could not be
built: argument of type 'NoneType' is not iterable")."""

from __future__ import annotations

import re
import textwrap
from functools import cache

import pytest
import torch
from omegaconf import OmegaConf, open_dict

import aegan.config
from aegan.errors import ConfigError
from aegan.tasks import build_task
from aegan.tasks.build import build_optimizer
from conftest import REPO, TINY_AE, assert_one_error_line

META = torch.device("meta")
MODELS = sorted(path.stem for path in (REPO / "conf" / "model").glob("*.yaml"))


@cache
def composed(model: str):
    return aegan.config.compose_config([f"model={model}", "trainer.device=cpu"])


def sub_configs(model: str) -> list[str]:
    section = composed(model).model
    return [
        key for key in section if OmegaConf.is_dict(section[key]) and "_target_" in section[key]
    ]


SUB_CONFIGS = [(model, key) for model in MODELS for key in sub_configs(model)]


def refusal(section, shape=(1, 28, 28)) -> str:
    with pytest.raises(ConfigError) as refused:
        build_task(section, shape, META)
    return str(refused.value)


@pytest.mark.parametrize(("model", "key"), SUB_CONFIGS)
@pytest.mark.parametrize(("value", "shown"), [(None, "null"), (5, "5"), ([1, 2], "[1,2]")])
def test_a_sub_config_that_is_no_config_names_itself(model, key, value, shown):
    """As a user's own option file sets it (conf/'s schema does not know the file)."""
    assert len(SUB_CONFIGS) >= 30
    section = composed(model).model.copy()
    with open_dict(section):
        section[key] = value
    kind = "an optimizer" if "optimizer" in key else "a network"
    assert refusal(section).startswith(
        f"model.{key}={shown} is not allowed: it must be a config with a _target_ ({kind}"
    )


@pytest.mark.parametrize(("model", "key"), SUB_CONFIGS)
def test_a_sub_config_without_target_or_deleted_names_itself(model, key):
    section = composed(model).model.copy()
    with open_dict(section):
        section[key] = {"lr": 0.1}
        assert refusal(section).startswith(f"model.{key} has no _target_ (its keys: lr)")
        del section[key]
    assert refusal(section).startswith(f"model.{key} is not set (deleted with ~model.{key}?)")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [(["model.optimizer=null"], "model.optimizer=null is not allowed: it must be a config"),
     (["model=dcgan", "model.g_optimizer=null"], "model.g_optimizer=null is not allowed"),
     (["model=vae", "model.net=null"], "model.net=null is not allowed: it must be a config"),
     (["model=optint"], "model.optimizer=5 is not allowed: it must be a config"),
     (["model=netlist"], "model.net=[1,2] is not allowed: it must be a config")],
)  # fmt: skip
def test_the_command_line_names_the_sub_config(cli, tmp_path, overrides, message):
    folder = tmp_path / "myconf" / "model"
    folder.mkdir(parents=True)
    own = (REPO / "conf" / "model" / "autoencoder.yaml").read_text()
    own = own.replace("name: autoencoder", "name: optint")
    (folder / "optint.yaml").write_text(own[: own.index("optimizer:")] + "optimizer: 5\n")
    (folder / "netlist.yaml").write_text(
        re.sub(r"net:\n(  .*\n)+", "net: [1, 2]\n", own.replace("name: optint", "name: netlist"))
    )
    searchpath = f"hydra.searchpath=[file://{folder.parent}]"
    run = tmp_path / "run"
    result = cli("aegan.train", *TINY_AE, searchpath, *overrides, f"hydra.run.dir={run}")
    assert_one_error_line(result, message)
    assert not run.exists()


USER_TASKS = '''
from aegan.tasks.build import build_network


class Annotated:
    """Reads its sub-config itself before building it."""

    def __init__(self, *, image_shape, device, name, net: dict, settings: dict | None = None):
        self.wide = net.get("wide")


class Plain:
    """No annotations: its network's builder names the key."""

    def __init__(self, *, image_shape, device, name, net, **settings):
        self.net = build_network("model.net", net, image_shape=image_shape)
'''


@pytest.fixture
def user_tasks(tmp_path, monkeypatch, request):
    module = f"user_tasks_{request.node.name.split('[')[-1].strip(']').replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(USER_TASKS))
    monkeypatch.syspath_prepend(str(tmp_path))
    return module


def user_section(target: str, **settings):
    return OmegaConf.create({"_target_": target, "name": "mine", **settings})


@pytest.mark.parametrize("task", ["Annotated", "Plain"])
def test_a_users_task_gets_the_line_too(user_tasks, task):
    section = user_section(f"{user_tasks}.{task}", net=None)
    assert refusal(section).startswith("model.net=null is not allowed: it must be a config")


@pytest.mark.parametrize(
    ("partial", "refused"),
    [(None, None), (True, None),
     (False, "model.optimizer._partial_=false is not allowed: the task completes the optimizer "
      "with its parameters; set model.optimizer._partial_=true, or leave it out")],
)  # fmt: skip
def test_an_optimizer_is_completed_with_the_parameters_with_or_without_partial(partial, refused):
    """An optimizer's config without ``_partial_: true`` was called with no parameters:
    "Adam.__init__() missing 1 required positional argument: 'params'", the fix left to guess;
    the task always completes it, so it is partial whether its config says so or not."""
    cfg = OmegaConf.create({"_target_": "torch.optim.Adam", "lr": 0.01})
    if partial is not None:
        cfg._partial_ = partial
    params = [torch.nn.Parameter(torch.zeros(3))]
    if refused is None:
        optimizer = build_optimizer("model.optimizer", cfg, params)
        assert isinstance(optimizer, torch.optim.Adam) and optimizer.defaults["lr"] == 0.01
        return
    with pytest.raises(ConfigError) as error:
        build_optimizer("model.optimizer", cfg, params)
    assert str(error.value) == refused
