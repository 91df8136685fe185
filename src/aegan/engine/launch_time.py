"""``${now:...}`` under torchrun: one time for every process of the job.

Hydra's ``now`` resolver reads each process's clock as it names the run's folder
(``logs/train/runs/${now:%Y-%m-%d_%H-%M-%S}``, the default). torchrun's processes import
torch and compose the config a second or two apart on a busy machine, so a job's ranks
could name two folders: rank 1 made one of its own, holding an empty ``train.log``. Under
torchrun's agent the first process to read the time leaves it in the agent's store (the
one every process joins for the process group), and every process reads it from there.
"""

from __future__ import annotations

import re
from datetime import datetime

from omegaconf import OmegaConf

from aegan.engine.job_store import agent_store, job_key

_shared: datetime | None = None  # this process's job time, once read from the store


def launch_time() -> datetime:
    """The time of this torchrun job (the first of its processes to ask), else now."""
    global _shared
    if _shared is None:
        store = agent_store()
        if store is None:  # one process, or processes started by hand: their settings
            return datetime.now()  # are compared once they join (engine.rank_settings)
        try:
            first = store.compare_set(job_key("launch_time"), "", datetime.now().isoformat())
        except (ValueError, RuntimeError):
            return datetime.now()
        _shared = datetime.fromisoformat(first.decode())
    return _shared


# a code of strftime: %%, %Y, %Ey (a locale's variant); a lone % at the end
DATE_CODE = re.compile(r"%(?:%|[EO]?[^%]|[EO]?$)")
FORMAT_CODES = "https://docs.python.org/3/library/datetime.html#format-codes"


def formatted(moment: datetime, pattern: str) -> str:
    """``moment`` as ``pattern`` writes it; ``ValueError`` for a code the C library does not
    know (``%Q``, a lone % at the end), which it writes as it is: ``${now:%Q}`` named the
    run's folder ``%Q``, and every run after it was refused there as a trained run's."""
    for code in DATE_CODE.findall(pattern):
        if code != "%%" and moment.strftime(code) == code:
            raise ValueError(f"{code} is not a date code of strftime here ({FORMAT_CODES})")
    return moment.strftime(pattern)


def use_launch_time() -> None:
    """Hydra's ``now`` resolver (``setup_globals``), reading ``launch_time``; registered
    again after Hydra's, before the run's folder is named."""
    OmegaConf.register_new_resolver(
        "now", lambda pattern: formatted(launch_time(), pattern), use_cache=True, replace=True
    )
