"""A resume from a path composes its settings from the command, not from the run: the
README's ``trainer.resume=RUN hydra.run.dir=RUN`` after a run of ``data.subset=512`` went on
over every training image, to the default epochs, without a word. The settings a resume
changes from the checkpoint's are said in one warning line; a resume that changes none says
nothing."""

from __future__ import annotations

import logging

from aegan.train import train
from conftest import RESUME, compose_config

SAID = "continues the run at step"


def resumed(run, caplog, folder: str, *overrides: str) -> list[str]:
    """The warnings of ``train`` resuming ``run`` in ``folder`` beside it with ``overrides``."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="aegan"):
        train(compose_config([*RESUME, f"trainer.resume={run}", *overrides], run.parent / folder))
    return [m for m in caplog.messages if SAID in m]


def test_the_settings_a_resume_changes_are_said_in_one_line(ae, caplog):
    run, state = ae
    (line,) = resumed(run, caplog, "more", "data.subset=null", "data.val_size=500", "trainer.epochs=2",
                      "model.optimizer.lr=5e-4")  # fmt: skip
    assert line.startswith(f"trainer.resume={run}/checkpoints/last.pt {SAID} {state['step']} ")
    assert line.endswith(
        "with other settings than it trained with: model.optimizer.lr=0.0005 (it trained with "
        "0.001), data.subset=null (it trained with 640), trainer.epochs=2 (it trained with 1)"
    )
    assert "\n" not in line


def test_a_resume_with_the_runs_own_settings_says_nothing(ae, caplog):
    run, _ = ae
    assert resumed(run, caplog, "same", "trainer.epochs=1", "seed=7") == []
