"""What ``load_run`` and ``Run``'s methods take from a notebook, checked in one place.

Each check names the argument as the caller typed it (``images``, ``codes``, ``z``, ``a``,
``n``, ``seed``...), the value, and what is allowed, in one line: a mistake in a notebook
cell reads as the user's own words, never as a torch traceback from deep in a network or an
allocation that fails after minutes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from aegan.cli.hydra_searchpath import missing_searchpath
from aegan.data import image_shape_of
from aegan.engine.state import check_weights
from aegan.errors import CheckpointError, ConfigError
from aegan.io.path_kinds import shown
from aegan.runs.record import record_config
from aegan.settings.overrides import deleted_group, override_key, searchpath_override
from aegan.settings.schema import GROUPS
from aegan.settings.value_kinds import check_texts
from aegan.tasks import build_task
from aegan.tasks.checks import check_bool
from aegan.tasks.inputs import check_fits, checked_shape, integer, real_codes, unit_images

META = torch.device("meta")  # where networks are built to compare their shapes, holding nothing
MODEL = "this run's model"  # who takes the images and codes of a refusal, unless told
# what a run read back is built from (a recipe, experiment=, sets model and data settings)
READ_BACK = ("model", "data", "paths", "experiment")
UNREAD_HINTS = {
    "seed": "; Run.sample takes its own seed=...",
    "evaluate": "; aegan.evaluate takes the evaluation's settings at the top level",
}
# weights that do not fit the model their own record builds: no setting of the reader's helps
NOT_AS_SAVED = (
    "its own record builds that model, so the file was changed since it was saved or saved by "
    "another version of aegan: read another checkpoint (checkpoint=best, or a step-*.pt)"
)
SEED_LIMIT = 2**64  # torch.Generator.manual_seed takes 0 .. 2**64 - 1 (negatives alias these)


def seed(value: Any) -> int:
    """A seed torch's generator takes as it is: 0 <= seed < 2**64."""
    return integer(
        "seed", value, low=0, high=SEED_LIMIT - 1,
        meaning="a seed must be an integer from 0 to 2**64 - 1",
    )  # fmt: skip


def _batch(
    name: str, value: Any, item: tuple, images: tuple, device: torch.device, *, one: bool,
    kind: str, copies: int, taker: str = MODEL,
) -> torch.Tensor:  # fmt: skip
    """``value``: one ``item`` (with ``one``) or a batch of them, checked, the ``images`` of
    that shape it makes counted against ``device``'s memory, then as a tensor batch."""
    value = checked_shape(name, value, item, kind, one=one, taker=taker)
    count = 1 if one else value.shape[0]
    check_fits(f"{name} of shape {tuple(value.shape)}", count, images, device, copies=copies)
    if isinstance(value, np.ndarray):  # a copy: negative strides and read-only views
        value = torch.from_numpy(np.array(value))
    return value[None] if one else value


def as_images(
    name: str, value: Any, shape: tuple[int, ...], device: torch.device, *, one: bool = False,
    copies: int = 1, taker: str = MODEL,
) -> torch.Tensor:  # fmt: skip
    """Images (N, *shape), or with ``one`` a single image ``shape`` (given back as a batch of
    one), as float32 in [0, 1] on ``device``: uint8 in [0, 255] or floats in [0, 1]. They
    must fit ``copies`` times: their float copy, and the images a method makes of them.
    ``taker``: who takes them, as a refusal names it."""
    kind = "an image" if one else "images"
    images = _batch(
        name, value, shape, shape, device, one=one, kind=kind, copies=copies, taker=taker
    )
    return unit_images(name, images, device, taker)


def as_codes(
    name: str, value: Any, width: int | None, shape: tuple[int, ...], device: torch.device,
    *, one: bool = False,
) -> torch.Tensor:  # fmt: skip
    """Codes (N, width), or with ``one`` a single code (width,), as float32 on ``device``;
    the ``shape`` of the images they become bounds how many fit."""
    kind = "a code" if one else "codes"
    codes = _batch(name, value, (width,), shape, device, one=one, kind=kind, copies=1)
    return real_codes(name, codes, device, MODEL)


def check_load_arguments(
    checkpoint: Any, changed_data: Any, overrides: Any, searchpath: Any, figures: Any
) -> None:
    """``load_run``'s arguments other than its paths, before any file is read."""
    check_bool("figures", figures)  # figures="no" read the figures, None left them out
    if changed_data not in ("warn", "refuse"):
        raise ConfigError(
            f"changed_data={changed_data!r:.80} is not allowed; choose warn or refuse"
        )
    if checkpoint not in ("best", "last"):
        raise ConfigError(  # a step-*.pt of the run's checkpoints/ is read as its path
            f"checkpoint={checkpoint!r:.80} is not allowed; choose best or last, or give "
            "another checkpoint's .pt file as the path"
        )
    check_texts(overrides=overrides, searchpath=searchpath)
    for override in overrides:  # composed without Hydra's job: its settings reach nothing
        key = override_key(override)
        if not key.strip():  # '==' was refused as a key that "would change nothing"
            raise ConfigError(
                f"overrides: {override!r:.80} is not allowed: it names no setting; write "
                "KEY=VALUE, such as model.latent_dim=8"
            )
        if key == "hydra" or key.startswith(("hydra.", "hydra/")):
            raise ConfigError(
                f"overrides: {override!r:.80} is not allowed: reading a run back makes no "
                "folder, log or job, so hydra settings change nothing; config folders go in "
                "searchpath=[...]"
            )
        top = re.split(r"[./@\[]", key, maxsplit=1)[0]
        if top in ("trainer", "logger"):  # accepted, unchecked and unread
            raise ConfigError(
                f"overrides: {override!r:.80} is not allowed: a run read back trains and logs "
                "nothing, so trainer and logger settings change nothing"
            )
        if top not in READ_BACK:  # evaluate.*, seed, +notes=...: as unread
            raise ConfigError(
                f"overrides: {override!r:.80} is not allowed: a run read back is built from its "
                f"model, data and paths settings alone, so {shown(key)[:60]} would change "
                f"nothing{UNREAD_HINTS.get(top, '')}"
            )
        deleted = deleted_group([override], groups=GROUPS)  # ~model: nothing to rebuild
        if deleted is not None:
            raise ConfigError(f"overrides: {deleted}")
    listed = searchpath_override(searchpath)  # as compose_config passes it
    if searchpath and (missing := missing_searchpath([listed])):  # Hydra would only warn
        raise ConfigError(missing.replace("hydra.searchpath: ", "searchpath: ", 1))


def overridden(keys: Sequence[str], overrides: Sequence[str]) -> bool:
    """Whether one of ``keys`` (``model.channels[1]``) is set by one of ``overrides``: by
    itself, or by a section or option above it (``model.channels=[...]``, ``model=vae``)."""
    given = set(map(override_key, overrides))  # as record_config reads them
    return any(key == o or key.startswith((f"{o}.", f"{o}[")) for key in keys for o in given)


def check_overrides_fit(
    meta: Any, state: dict, path: Any, overrides: Sequence[str], searchpath: Sequence[str]
) -> None:
    """The networks ``meta`` (the task ``overrides`` build, on the meta device) against the
    checkpoint's weights, before any data is read. Where only the overrides make them differ
    (``model.latent_dim=3``), ``ConfigError`` naming them: the checkpoint was blamed for it,
    once the data had been read."""
    if not overrides:  # built from the file's own record alone
        check_weights(meta, state, path=path, unfit=NOT_AS_SAVED)
        return
    try:
        check_weights(meta, state, path=path)
    except CheckpointError as err:
        own = record_config(state, path=path, overrides=[], searchpath=list(searchpath))
        own_meta = build_task(own.model, image_shape_of(own.data), META)
        check_weights(own_meta, state, path=path, unfit=NOT_AS_SAVED)  # the file's own fault
        raise ConfigError(
            f"overrides={list(overrides)!r:.200} build networks the run's weights do not fit: {err}"
        ) from None
