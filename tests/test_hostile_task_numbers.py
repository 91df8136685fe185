"""Every number a task's constructor takes is range-checked by name: each int or float
argument of every model option's task (its class and the classes it passes ``**settings``
to) is refused at a hostile value with one line naming ``model.<argument>``, so that an
argument added without a check fails here."""

from __future__ import annotations

import inspect
import types
import typing
from pathlib import Path

import pytest
from hydra.utils import get_object
from omegaconf import OmegaConf
from test_hostile_model_settings import refusal

import aegan.config

OPTIONS = sorted(p.stem for p in (Path(aegan.config.CONF_DIR) / "model").glob("*.yaml"))
HUGE_INT, HUGE_FLOAT = 2**40, 1e30
# where a huge value is meaningful (a seed, a warm-up never finished): only past 64 bits
UNBOUNDED = {"noise_seed": 2**64, "kl_warmup_steps": 2**64}
NOT_ARGUMENTS = ("self", "image_shape", "device")  # given by the code, not the config


def _is_number(annotation) -> bool:
    """int, float, or one of them or None; not a list of them."""
    if annotation in (int, float):
        return True
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    return union and bool({int, float} & set(typing.get_args(annotation)))


def numeric_arguments(cls) -> dict[str, type]:
    """The int and float arguments of ``cls``'s constructor and of those of the classes it
    passes ``**settings`` on to (InfoGanTask's GanTask)."""
    found: dict[str, type] = {}
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        parameters = inspect.signature(klass.__init__, eval_str=True).parameters
        for name, parameter in parameters.items():
            if name not in NOT_ARGUMENTS and _is_number(parameter.annotation):
                found.setdefault(name, parameter.annotation)
        if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            break
    return found


def cases():
    for option in OPTIONS:
        target = OmegaConf.load(Path(aegan.config.CONF_DIR) / "model" / f"{option}.yaml")
        for name, annotation in numeric_arguments(get_object(target._target_)).items():
            floats = annotation is float or float in typing.get_args(annotation)
            huge = UNBOUNDED.get(name, HUGE_FLOAT if floats else HUGE_INT)
            for value in (-1, huge):
                yield pytest.param(option, name, value, id=f"{option}-{name}={value}")


def test_every_task_has_numbers_to_check():
    assert "num_fixed_noise" in numeric_arguments(get_object("aegan.tasks.InfoGanTask"))
    assert len(list(cases())) > 50


@pytest.mark.parametrize(("option", "name", "value"), list(cases()))
def test_a_hostile_number_of_a_task_is_refused_by_its_name(option, name, value):
    assert f"model.{name}=" in refusal(option, **{f"model.{name}": value})
