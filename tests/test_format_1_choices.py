"""A format-1 checkpoint saved without ``model.task`` names no model: every refusal says so
in those words, where each said "model=null", an option nobody has (and told the user to
resume it with model=null)."""

from __future__ import annotations

from pathlib import Path

import pytest
from checkpoint_task import TinyTask, a_state, saved

from aegan.engine.checkpoint import load_checkpoint
from aegan.engine.resume import check_resumed_model, check_same_run
from aegan.engine.run_record import check_in_its_run
from aegan.engine.state import check_weights
from aegan.errors import CheckpointError, ConfigError
from aegan.runs.record import record_config

CONFIG = {"seed": 3, "model": {"latent_dim": 2}, "data": {"name": "fashion_mnist"}}  # no task
RECORD = {"config": CONFIG, "choices": {"model": "autoencoder", "data": "fashion_mnist"}}


def format_1(run: Path) -> Path:
    """A format-1 file (weights under "modules", no "choices") in ``run``'s checkpoints/,
    of one network of the two TinyTask has."""
    state = a_state(config=CONFIG)
    del state["choices"]
    modules = {"encoder": state.pop("networks")["encoder"]}
    (run / "checkpoints").mkdir(parents=True)
    return saved(run / "checkpoints", {**state, "format_version": 1, "modules": modules}, "last.pt")


def _in_its_run(path: Path, state: dict) -> None:
    (path.parent.parent / ".hydra").mkdir()
    (path.parent.parent / ".hydra" / "config.yaml").write_text("model:\n  name: autoencoder\n")
    check_in_its_run(path, state)


REFUSALS = {
    "resumed": (
        lambda path, state: check_resumed_model(state, "autoencoder", path),
        "{path}: a checkpoint that names no model, so not known to be of model=autoencoder; "
        "start this run without trainer.resume",
    ),
    "in a run's folder": (
        _in_its_run,
        "{path}: a checkpoint that names no model, in the folder of a run of model=autoencoder "
        "({run}/.hydra/config.yaml); it is not known to be this run's: move it away, or name "
        "the run it came from",
    ),
    "resumed by auto": (
        lambda path, state: check_same_run(state, RECORD, path),
        "trainer.resume=auto: {path} is a run that names no model, not model=autoencoder; "
        "choose another hydra.run.dir",
    ),
    "its weights": (
        lambda path, state: check_weights(TinyTask(), state, path=path),
        "{path}: a checkpoint that names no model (networks encoder); this model has decoder, "
        "encoder",
    ),
    "rebuilt": (
        lambda path, state: record_config(state, path=path),
        "{path}: a checkpoint that names no model: a run is rebuilt through conf/ by its "
        "model's name",
    ),
}


@pytest.mark.parametrize("where", list(REFUSALS))
def test_a_checkpoint_that_names_no_model_is_said_so(tmp_path, where):
    path = format_1(tmp_path / "run")
    state = load_checkpoint(path)
    assert state["choices"] == {"model": None, "data": "fashion_mnist"}
    refuse, message = REFUSALS[where]
    with pytest.raises((CheckpointError, ConfigError)) as caught:
        refuse(path, state)
    assert str(caught.value) == message.format(path=path, run=tmp_path / "run")
