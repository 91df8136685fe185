"""The members of the task contract (``aegan.contract``) checked as a task is built: what
the engine and a checkpoint read of it, each refusal one line naming the task and the rule,
before the run's folder is made; else a traceback an epoch in, or a checkpoint that lacks
what the run trained."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from aegan.contract import (
    BEST_OBJECTIVE,
    CALLS,
    LIMITABLE,
    VALIDATION_PREFIX,
    Task,
    call_problem,
    extra_state_problem,
    is_printable_name,
)
from aegan.errors import ConfigError, a_kind
from aegan.tasks.latents import PriorSamples

TASK_MEMBERS = (  # what every task's constructor sets: (member, its type, what it holds)
    ("name", str, "the name argument its constructor is given"),
    ("networks", dict, "a dict of its nn.Modules by name"),
    ("optimizers", dict, "a dict of its optimizers by name"),
    ("objective", str, "a key of what its validate returns (lower is better)"),
    ("metrics", (tuple, list), "a tuple of metric names, or ()"),
    ("limits", Mapping, "a mapping of trainer switch to why the task cannot take it"),
    ("inert", Mapping, "a mapping of setting to why it has no effect"),
    ("uses_labels", bool, "True or False"),
)


def check_task_members(
    task: Any, target: str, option: str | None = None, *, device: torch.device | None = None
) -> None:
    """Raise ``ConfigError`` for the first member of the task contract that ``task`` lacks
    or holds wrong; ``option``: the model section's ``name``, which the task must keep;
    ``device``: the one it was built for, which its networks must be on (``meta``: tensors
    that hold no values to save, checked again once built on the run's device)."""
    on_meta = device is not None and device.type == "meta"
    refused = f"model._target_={target} is not a task (aegan.contract.Task):"
    for member, kind, meaning in TASK_MEMBERS:
        value = getattr(task, member, None)
        if not isinstance(value, kind) or (kind is str and not is_printable_name(value)):
            raise ConfigError(f"{refused} its {member} is {value!r}, not {meaning}")
    if option is not None and task.name != option:
        raise ConfigError(
            f"{refused} its name is {task.name!r:.60}, not the name argument its constructor "
            f"is given ({option!r}): runs, checkpoints and summaries are named by it"
        )
    if not task.objective.startswith(VALIDATION_PREFIX) or task.objective == BEST_OBJECTIVE:
        raise ConfigError(
            f"{refused} its objective is {task.objective!r:.60}; it must be a key of what its "
            f"validate returns, starting with {VALIDATION_PREFIX!r}, other than "
            f"{BEST_OBJECTIVE!r} (the engine's)"
        )
    if not task.networks:
        raise ConfigError(f"{refused} its networks are empty: checkpoints would save nothing")
    if not task.optimizers:  # else its own step's KeyError, after the run's folder is made
        raise ConfigError(
            f"{refused} its optimizers are empty: nothing would train; build one per network "
            "it trains (aegan.tasks.build.build_optimizer)"
        )
    _check_limits(task, refused)
    entries = (("networks", nn.Module, "torch.nn.Module"),
               ("optimizers", torch.optim.Optimizer, "torch.optim.Optimizer"))  # fmt: skip
    for member, kind, kind_name in entries:  # checkpoints save their state_dicts
        for name, value in getattr(task, member).items():
            if not is_printable_name(name):
                raise ConfigError(
                    f"{refused} its {member} has the name {name!r:.40}, not a printable string"
                )
            if not isinstance(value, kind):
                raise ConfigError(
                    f"{refused} its {member}[{name!r}] is {a_kind(type(value).__name__)}, not a "
                    f"{kind_name}"
                )
    _check_each_held_once(task, refused)
    _check_param_groups(task, refused)
    if device is not None and not on_meta:
        _check_on_device(task, refused, device)
    _check_optimized_are_saved(task, refused)
    problem = extra_state_problem(_extra_state(task, on_meta))
    if problem:
        raise ConfigError(f"{refused} its extra_state() returned {problem}")
    for method in ("train_step", "validate"):
        if getattr(type(task), method, Task.train_step) in (Task.train_step, Task.validate):
            raise ConfigError(
                f"{refused} it has no {method} of its own (aegan.contract.Task.{method} says "
                "what it does)"
            )
    for member in CALLS:
        problem = call_problem(task, member)
        if problem:
            raise ConfigError(f"{refused} {problem}")
    width = getattr(task, "latent_dim", None)
    draws_normal = getattr(type(task), "draw_latents", None) is PriorSamples.draw_latents
    if draws_normal and (not isinstance(width, int) or isinstance(width, bool) or width < 1):
        raise ConfigError(  # else an AttributeError at its first sample, after training
            f"{refused} its latent_dim is {width!r:.40}, not the width of the codes its "
            "sample draws from N(0, I) (aegan.tasks.latents.PriorSamples): set it to its "
            "code size, or override draw_latents"
        )


def _check_limits(task: Any, refused: str) -> None:
    """Each of ``limits``' keys is a switch by its exact name, each reason printable text: a
    misspelt one ('capture-step') matched no switch, and the run it was to refuse went on."""
    for switch, reason in task.limits.items():
        if switch not in LIMITABLE:
            raise ConfigError(
                f"{refused} its limits name {switch!r:.60}, not a switch; choose from: "
                f"{', '.join(LIMITABLE)}"
            )
        if not is_printable_name(reason):
            raise ConfigError(
                f"{refused} its limits[{switch!r}] is {reason!r:.60}, not a reason in words "
                "(one line)"
            )


def _extra_state(task: Any, on_meta: bool) -> Any:
    """``task.extra_state()``; on the meta device, {} where it reads tensor values (a GAN
    copies its fixed noise to the CPU): checked again once built on its device."""
    if not on_meta:
        return task.extra_state()
    try:
        return task.extra_state()
    except (NotImplementedError, RuntimeError):  # "Cannot copy out of meta tensor"
        return {}


def _check_each_held_once(task: Any, refused: str) -> None:
    """No network is another, or a part of another, and no optimizer is another: a
    checkpoint would save it twice, and an optimizer built per network would step the same
    weights twice a step. Weights tied between two networks are theirs to share."""
    why = {"networks": "checkpoints would save its weights twice, and an optimizer per "
                       "network would step them twice",
           "optimizers": "checkpoints would save its state twice"}  # fmt: skip
    for member, reason in why.items():
        first_name: dict[int, str] = {}
        for name, value in getattr(task, member).items():
            first = first_name.setdefault(id(value), name)
            if first != name:
                raise ConfigError(
                    f"{refused} its {member}[{first!r}] and {member}[{name!r}] are the same "
                    f"object: {reason}; keep it under one name"
                )
    network_names = {id(network): name for name, network in task.networks.items()}
    for name, network in task.networks.items():
        for path, module in network.named_modules():
            part = network_names.get(id(module))
            if path and part is not None:
                raise ConfigError(
                    f"{refused} its networks[{part!r}] is a part of networks[{name!r}] (its "
                    f"{path}): {why['networks']}; keep each module in one network"
                )


def _check_on_device(task: Any, refused: str, device: torch.device) -> None:
    """Every network's weights and buffers are on ``device``: one left elsewhere (built
    without ``.to(device)``) failed the first step with torch's device mismatch, after the
    run's folder was made, or was saved with no values (the meta device)."""
    for name, network in task.networks.items():
        for key, tensor in (*network.named_parameters(), *network.named_buffers()):
            held = tensor.device
            if held.type != device.type or device.index not in (None, held.index):
                raise ConfigError(
                    f"{refused} its networks[{name!r}] holds {key} on the {held} device, not "
                    f"on {device}, the device it is built for; move the network there "
                    "(.to(device))"
                )


def _check_optimized_are_saved(task: Any, refused: str) -> None:
    """Every parameter an optimizer steps is in one of the networks: a checkpoint saves
    the networks' weights, and one it lacks would be lost at the first resume."""
    saved = {id(p) for network in task.networks.values() for p in network.parameters()}
    for name, optimizer in task.optimizers.items():
        for group in optimizer.param_groups:
            if any(id(p) not in saved for p in group["params"]):
                raise ConfigError(
                    f"{refused} its optimizers[{name!r}] steps a parameter that none of its "
                    "networks holds: checkpoints save the networks' weights, so it would be "
                    "lost; keep it in an nn.Module of its networks"
                )


def _check_param_groups(task: Any, refused: str) -> None:
    """Each param group's settings of the kind of the optimizer's defaults: a group the task
    set by hand (``group["lr"] = "0.01"``) failed inside torch at the first step, after the
    run's folder was made."""
    for name, optimizer in task.optimizers.items():
        for index, group in enumerate(optimizer.param_groups):
            for key, default in optimizer.defaults.items():
                value = group.get(key, default)
                if isinstance(default, bool):
                    fits, kind = isinstance(value, bool), "true or false"
                elif isinstance(default, (int, float)):
                    fits, kind = _is_real_scalar(value), "a number"
                else:
                    continue
                if not fits:
                    raise ConfigError(
                        f"{refused} its optimizers[{name!r}] param group {index} has "
                        f"{key}={value!r:.40}, not {kind} as its default {default!r}"
                    )


def _is_real_scalar(value: Any) -> bool:
    """A real number: an int or float, or a 0-d real tensor (a learning rate may be one)."""
    if isinstance(value, torch.Tensor):
        return value.dim() == 0 and not value.is_complex() and value.dtype != torch.bool
    return isinstance(value, (int, float)) and not isinstance(value, bool)
