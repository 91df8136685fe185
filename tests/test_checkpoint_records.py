"""A checkpoint's record of its run (``config``, ``choices``) holds what a config file
holds: text, numbers, true or false, null, lists and mappings. Anything else is named as
the file is read, before a check compares it with a run's settings."""

from __future__ import annotations

import shutil

import pytest
import torch
from hostile_state import changed, saved

from aegan.engine.checkpoint import load_checkpoint
from aegan.errors import CheckpointError
from conftest import RESUME, assert_one_error_line

NOT_PLAIN = [
    ("config.model.latent_dim", torch.zeros(3), "a torch.float32 tensor of shape (3,)"),
    ("config.model.hidden_dims", (64,), "a tuple"),
    ("choices.model", torch.tensor(1), "a torch.int64 tensor of shape ()"),
]


@pytest.mark.parametrize(("where", "value", "kind"), NOT_PLAIN)
def test_a_record_value_that_no_config_holds_is_named_as_the_file_is_read(
    ae, tmp_path, where, value, kind
):
    path = saved(changed(ae[1], where, value), tmp_path / "run")
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    assert str(caught.value) == (
        f"{path}: not a usable checkpoint: {where} is {kind}; a run's record holds text, "
        "numbers, true or false, null, lists and mappings"
    )


@pytest.mark.parametrize("resume", ["auto", "the run"])
def test_a_tensor_in_the_record_is_one_line_for_a_resume(ae, cli, tmp_path, resume):
    """Compared with the command's settings, the tensor was read as true or false: the
    check stopped with a traceback, "aegan's fault"."""
    run = shutil.copytree(ae[0], tmp_path / "run")
    saved(changed(ae[1], "config.model.latent_dim", torch.zeros(3)), run)
    given = "auto" if resume == "auto" else str(run)
    result = cli("aegan.train", *RESUME, "trainer.epochs=2", f"trainer.resume={given}",
                 f"hydra.run.dir={run}")  # fmt: skip
    assert_one_error_line(
        result, f"{run}/checkpoints/last.pt: not a usable checkpoint: config.model.latent_dim "
        "is a torch.float32 tensor of shape (3,)"
    )  # fmt: skip
