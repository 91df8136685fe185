"""Under torchrun every process must train with the same settings.

torchrun starts each process with one command line, but a value each process reads for
itself differs between them: ``seed=${oc.env:LOCAL_RANK}`` gave each rank other initial
weights (averaged gradients never brought them together, and rank 0 saved its own), a
``model.latent_dim`` read per rank ended in gloo's abort on a gradient buffer of another
size, and a run folder from ``${now:}`` read a second apart left a second folder. So,
once the processes have joined, each compares its resolved config with rank 0's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import torch.distributed as dist

from aegan.errors import ConfigError


def check_same_settings(settings: Mapping[str, Any], world_size: int) -> None:
    """``ConfigError`` on every rank unless every rank's ``settings`` (its resolved config)
    equal rank 0's, naming the first setting that differs and its value in each process."""
    if world_size == 1:
        return
    gathered: list[Any] = [None] * world_size
    # plain JSON text between this job's own processes: never an object that runs code
    dist.all_gather_object(gathered, json.dumps(settings, sort_keys=True, default=str))
    first, *others = (json.loads(text) for text in gathered)
    for rank, other in enumerate(others, start=1):
        for key, ours, theirs in differences(first, other):
            shown = "hydra.run.dir (paths.output_dir)" if key == "paths.output_dir" else key
            raise ConfigError(
                f"{shown} is {_shown(ours)} in process 0 and {_shown(theirs)} in "
                f"process {rank}: the processes of a torchrun job must train with the same "
                f"settings; set {shown} to one value for all (not one read per process, "
                "such as ${oc.env:LOCAL_RANK} or ${now:...})"
            )


def differences(a: Any, b: Any, key: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(dotted key, value in ``a``, value in ``b``) where two plain configs differ; a key
    that only one has is None in the other."""
    if isinstance(a, dict) and isinstance(b, dict):
        for name in sorted(a.keys() | b.keys()):
            yield from differences(a.get(name), b.get(name), f"{key}.{name}" if key else name)
    elif a != b:
        yield key, a, b


def _shown(value: Any) -> str:
    """A setting's value in full up to 160 characters: run folders differ at their end."""
    return f"{value!r:.160}"
