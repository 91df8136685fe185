"""A task's networks as it was built, held to while it trains: a checkpoint saves them, and a
resume or ``load_run`` builds the task again and loads them. A network added, replaced or
reshaped by a step was saved where nothing could load it (a replaced one's trained weights
lost, as its optimizer stepped the old one), said only at the resume, if at all.
"""

from __future__ import annotations

from aegan.contract import Task
from aegan.errors import ContractError

# name -> (the module's id, its weights' and buffers' shapes by key, its weights' ids by key)
Layout = dict[str, tuple[int, dict[str, tuple[int, ...]], dict[str, int]]]


def network_layout(task: Task) -> Layout:
    """What of ``task.networks`` a checkpoint depends on: which modules, of which shapes,
    holding which weights (those its optimizers step)."""
    return {
        name: (
            id(network),
            {key: tuple(value.shape) for key, value in network.state_dict().items()},
            {key: id(weight) for key, weight in network.named_parameters()},
        )
        for name, network in task.networks.items()
    }


def check_networks_kept(task: Task, built: Layout) -> None:
    """Raise ``ContractError`` where ``task.networks`` differ from ``built`` (its layout as
    training began)."""
    owner, now = type(task).__name__, network_layout(task)
    rule = (
        "checkpoints save the networks a task is built with, which a resume and load_run "
        "build again: make every network in the constructor and change its weights in place"
    )
    for name in now.keys() - built.keys():
        raise ContractError(f"{owner}.networks gained {name!r:.60} after it was built; {rule}")
    for name in built.keys() - now.keys():
        raise ContractError(f"{owner}.networks lost {name!r:.60} after it was built; {rule}")
    for name, (module, shapes, weights) in now.items():
        if module != built[name][0]:
            raise ContractError(
                f"{owner}.networks[{name!r:.60}] is another module than the one it was built "
                f"with (its optimizer steps that one's weights); {rule}"
            )
        for key in [*built[name][1], *(key for key in shapes if key not in built[name][1])]:
            before, after = built[name][1].get(key), shapes.get(key)
            if before != after:
                raise ContractError(
                    f"{owner}.networks[{name!r:.60}] holds {key} of shape {after}, built as "
                    f"{before}; {rule}"
                )
        for key, weight in weights.items():
            if weight != built[name][2].get(key):
                raise ContractError(
                    f"{owner}.networks[{name!r:.60}] holds another {key} than it was built "
                    f"with (its optimizer steps that one); {rule}"
                )
