"""The state a checkpoint carries and a resume restores: the weights (checked against the
built task), the optimizers (keeping this run's speed flags), the gradient scaler, the RNG
and the task's own counters, with ``Progress``, where the run stands."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from aegan.contract import Task, extra_state_problem
from aegan.engine.rng_state import RNG_ADVICE, GeneratorStateError, restore_rng, rng_state
from aegan.engine.run_record import saved_choice
from aegan.engine.task_state import load_task_state
from aegan.errors import CheckpointError, ContractError


@dataclass
class Progress:
    """Where a run stands; saved in every checkpoint."""

    epoch: int = 0  # epochs fully done
    batch: int = 0  # batches done in the current epoch
    step: int = 0  # optimisation steps done in all
    best_objective: float = math.inf
    history: list[dict[str, float]] = field(default_factory=list)  # validation per epoch


FIT_ADVICE = "use the checkpoint's own config (aegan.load_run) or matching model overrides"
FINITE_ADVICE = "use an earlier checkpoint (checkpoint=best, or a step-*.pt)"


class UnfitWeights(ValueError):
    """Weights that are not a network's; ``advice``: what to do (None: the caller's say)."""

    def __init__(self, what: str, advice: str | None = "") -> None:
        super().__init__(what)
        self.advice = advice


def check_network_state(network: torch.nn.Module, state: Any) -> None:
    """``state`` against ``network``'s own state_dict: its names, shapes and dtypes from the
    tensors' metadata alone, then finite values. A few KB of file can hold a stride-0 tensor
    of billions of elements, so no value is read before its shape is the model's. Raises
    ``UnfitWeights`` saying what differs."""
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and torch.is_tensor(v) for k, v in state.items()
    ):
        raise UnfitWeights("weights are not a state_dict of tensors")
    own = network.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    common = sorted(own.keys() & state.keys())
    mismatched = [f"{k} {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
                  for k in common if state[k].shape != own[k].shape]  # fmt: skip
    other_dtype = [f"{k} {state[k].dtype} vs model {own[k].dtype}"  # load_state_dict would cast
                   for k in common if state[k].dtype != own[k].dtype]  # fmt: skip
    if missing or unexpected or mismatched or other_dtype:
        parts = []
        if mismatched:
            parts.append("shape differs: " + ", ".join(mismatched[:3]))
        if other_dtype:
            parts.append("dtype differs: " + ", ".join(other_dtype[:3]))
        if missing:
            parts.append("missing: " + ", ".join(missing[:3]))
        if unexpected:
            parts.append("unexpected: " + ", ".join(unexpected[:3]))
        raise UnfitWeights(f"weights do not fit the configured model ({'; '.join(parts)})", None)
    nonfinite = [k for k, v in state.items() if v.is_floating_point() and not v.isfinite().all()]
    if nonfinite:
        raise UnfitWeights(
            f"weights are not finite ({', '.join(nonfinite[:3])} hold NaN or inf)", FINITE_ADVICE
        )
    # a variance below 0 gives NaN from its first forward pass, as NaN itself would
    negative = [k for k, v in state.items() if k.endswith("running_var") and (v < 0).any()]
    if negative:
        raise UnfitWeights(
            f"a batch norm's running variance is negative ({', '.join(negative[:3])})",
            FINITE_ADVICE,
        )


def load_network_state(
    network: torch.nn.Module, state: Any, *, name: str, path: Path | str
) -> None:
    """``load_state_dict`` after ``check_network_state``, its refusal one line naming the
    file and the network."""
    check_network_fits(network, state, name=name, path=path)
    network.load_state_dict(state)


def check_network_fits(
    network: torch.nn.Module, state: Any, *, name: str, path: Path | str, unfit: str = FIT_ADVICE
) -> None:
    """``check_network_state``'s refusal in one line naming the file, the network and what to
    do (``unfit`` for another model's weights); ``network`` may be on the meta device."""
    try:
        check_network_state(network, state)
    except UnfitWeights as err:
        advice = unfit if err.advice is None else err.advice
        raise CheckpointError(f"{path}: {name} {err}{f'; {advice}' * bool(advice)}") from None


def checkpoint_state(task: Task, amp: Any, progress: Progress, record: dict) -> dict[str, Any]:
    """Everything a resume needs, as tensors and plain containers (loadable weights-only).
    ``record``: the run's resolved config and its config choices (plain values)."""
    extra = task.extra_state()
    problem = extra_state_problem(extra)
    if problem:  # refused before a file is written: the checkpoints before stay loadable
        raise ContractError(f"{type(task).__name__}.extra_state() returned {problem}")
    return {
        **record,
        "epoch": progress.epoch,
        "batch": progress.batch,
        "step": progress.step,
        "best_objective": progress.best_objective,
        "history": progress.history,
        "networks": {name: m.state_dict() for name, m in task.networks.items()},
        "optimizers": {name: o.state_dict() for name, o in task.optimizers.items()},
        "scaler": amp.state_dict(),
        "task": extra,
        "rng": rng_state(),
    }


# torch.optim's moments of squares or magnitudes (Adam and AdamW, amsgrad's maximum,
# RMSprop, Adadelta, Adagrad, Adamax): never negative in a run, and a negative one is a
# square root of a negative number at the next step, read as a diverging learning rate
SQUARED_MOMENTS = ("exp_avg_sq", "max_exp_avg_sq", "square_avg", "acc_delta", "sum", "exp_inf")


def check_optimizer_state(optimizer: torch.optim.Optimizer, state: Any) -> None:
    """A saved optimizer state against the built optimizer, before torch reads it: as many
    groups and parameters, and per parameter a finite floating-point tensor of its shape
    (a moment; >= 0 for ``SQUARED_MOMENTS``) or a 0-d ``step`` >= 0. A fused kernel given a
    moment of another size writes past its end. Raises ValueError naming the entry."""
    groups = state.get("param_groups") if isinstance(state, dict) else None
    if not isinstance(groups, list) or not isinstance(state.get("state"), dict):
        raise ValueError("not an optimizer state_dict")
    own_groups = optimizer.param_groups
    if len(groups) != len(own_groups) or any(
        not isinstance(g, dict) or not isinstance(g.get("params"), list)
        or len(g["params"]) != len(own["params"]) for g, own in zip(groups, own_groups, strict=True)
    ):  # fmt: skip
        raise ValueError("its parameter groups are not this model's")
    params = dict(zip((i for g in groups for i in g["params"]),
                      (p for own in own_groups for p in own["params"]), strict=True))  # fmt: skip
    kept = [_names_kept(optimizer, group) for group in own_groups]
    kept_of = dict(zip((i for g in groups for i in g["params"]),
                       (kept[n] for n, own in enumerate(own_groups) for _ in own["params"]),
                       strict=True))  # fmt: skip
    for key, entry in state["state"].items():
        if key not in params or not isinstance(entry, dict):
            raise ValueError(f"state {key!r:.40} belongs to no parameter")
        missing = sorted(kept_of[key] - entry.keys())
        if missing:  # its step would raise KeyError, as a traceback mid-epoch
            raise ValueError(
                f"{key} has no {', '.join(missing)}, which {type(optimizer).__name__} keeps per "
                "parameter with these settings"
            )
        shape = params[key].shape
        for name, value in entry.items():
            if not torch.is_tensor(value) or not value.is_floating_point():
                raise ValueError(f"{key}.{name:.40} is not a floating-point tensor")
            wanted = () if name == "step" else shape
            if value.shape != wanted:
                raise ValueError(
                    f"{key}.{name} has shape {tuple(value.shape)}, not {tuple(wanted)}"
                )
            if not value.isfinite().all() or (name == "step" and value < 0):
                raise ValueError(f"{key}.{name} holds {'NaN or inf' if value.dim() else value}")
            if name in SQUARED_MOMENTS and bool((value < 0).any()):
                raise ValueError(
                    f"{key}.{name} holds negative values; a mean of squares is never negative"
                )


def _names_kept(optimizer: torch.optim.Optimizer, group: dict) -> set[str]:
    """What ``optimizer``'s class keeps per parameter of ``group`` once it has stepped (Adam:
    step, exp_avg, exp_avg_sq; amsgrad adds one), learnt from one step of its kind on a
    one-element stand-in; none where that cannot be made (a closure-driven optimizer)."""
    settings = {k: v for k, v in group.items() if k != "params"}
    for flag in ("capturable", "differentiable", "foreach", "fused"):  # the names are the same
        if flag in settings:
            settings[flag] = False
    stand_in = torch.zeros(1, requires_grad=True)
    stand_in.grad = torch.zeros(1)
    try:
        probe = type(optimizer)([{"params": [stand_in], **settings}])
        probe.step()
    except Exception:  # its own class's quirks: the names go unchecked, torch's step says
        return set()
    return set(probe.state.get(stand_in, {}))


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    """The saved moments and step counts (checked first) into an optimizer built from this
    run's config, whose settings it keeps: torch would take the checkpoint's lr, betas and
    flags. A file does not choose how a run steps, a resume with another lr takes it, and a
    run resumed with other speed switches (``capture_step``, fused Adam or not) steps as
    configured, its step counters moved where those flags keep them (on the parameters'
    device when capturable or fused)."""
    check_optimizer_state(optimizer, state)
    settings = [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups]
    optimizer.load_state_dict(state)
    for group, kept in zip(optimizer.param_groups, settings, strict=True):
        group.update(kept)
        on_device = bool(group.get("capturable") or group.get("fused"))
        for param in group["params"]:
            param_state = optimizer.state.get(param, {})
            if torch.is_tensor(param_state.get("step")):
                device = param.device if on_device else torch.device("cpu")
                param_state["step"] = param_state["step"].to(device, torch.float32)


def restore(task: Task, amp: Any, state: dict[str, Any], *, path: Path | str) -> Progress:
    """Load a checkpoint's weights, optimizer and scaler state and RNG into a built task."""
    load_weights(task, state, path=path)
    for name, optimizer in task.optimizers.items():
        if name not in state["optimizers"]:
            raise CheckpointError(f"{path}: no optimizer state for {name!r}")
        try:
            load_optimizer_state(optimizer, state["optimizers"][name])
        except (ValueError, KeyError, TypeError) as err:
            raise CheckpointError(
                f"{path}: the {name} optimizer state does not fit ({err})"
            ) from err
    try:
        amp.load_state_dict(state["scaler"])
    except ValueError as err:  # the scaler's own refusal, a sentence
        raise CheckpointError(f"{path}: its gradient scaler state is not usable ({err})") from None
    except (KeyError, TypeError, AttributeError, RuntimeError) as err:
        raise CheckpointError(f"{path}: its gradient scaler state is not usable ({err!r})") from err
    load_task_state(task, state["task"], path=path)
    try:
        restore_rng(state["rng"])
    except (GeneratorStateError, RuntimeError) as err:  # RuntimeError: torch's own refusal
        raise CheckpointError(
            f"{path}: its random number state is not usable ({err}); {RNG_ADVICE}"
        ) from None
    return Progress(
        epoch=state["epoch"], batch=state["batch"], step=state["step"],
        best_objective=float(state["best_objective"]), history=list(state["history"]),
    )  # fmt: skip


def load_weights(task: Task, state: dict[str, Any], *, path: Path | str) -> None:
    """Every network's weights from a checkpoint, after checking it is of this model."""
    check_weights(task, state, path=path)
    for name, network in task.networks.items():
        network.load_state_dict(state["networks"][name])


def check_weights(
    task: Task, state: dict[str, Any], *, path: Path | str, unfit: str = FIT_ADVICE
) -> None:
    """Raise ``CheckpointError`` unless the checkpoint holds every network of ``task`` (which
    may be built on the meta device) with its names, shapes and dtypes, all finite."""
    wanted, saved = set(task.networks), set(state["networks"])
    if wanted != saved:
        raise CheckpointError(
            f"{path}: a checkpoint {saved_choice(state, 'model')} (networks "
            f"{', '.join(sorted(saved))}); this model has {', '.join(sorted(wanted))}"
        )
    for name, network in task.networks.items():
        check_network_fits(network, state["networks"][name], name=name, path=path, unfit=unfit)
