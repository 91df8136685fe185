"""``train(cfg)`` called in a notebook checks its folder and the checkpoint to resume before
it makes anything, as the command line does, and names the setting its caller chose the
folder with, ``paths.output_dir``: it left an empty ``checkpoints/`` folder behind a
``trainer.resume`` that named no checkpoint, and spoke of ``hydra.run.dir``, which it never
reads."""

from __future__ import annotations

import pytest

from aegan.errors import CheckpointError, ConfigError
from aegan.train import train
from conftest import TINY_AE, compose_config


def test_a_resume_of_no_checkpoint_makes_no_folder(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint" * 64)
    run = tmp_path / "run"
    with pytest.raises(CheckpointError, match="junk.pt: not a readable checkpoint"):
        train(compose_config([*TINY_AE, f"trainer.resume={junk}"], run))
    assert not run.exists()


@pytest.mark.parametrize(
    ("folder", "said"),
    [("trained", "already holds a trained run (metrics.json); continue it with trainer.resume="
      "auto (or one of its checkpoints), or train into another folder (paths.output_dir=...)"),
     ("trained/below", "paths.output_dir={trained}/below is inside the trained run {trained}; "
      "choose a folder outside it")],
)  # fmt: skip
def test_a_trained_runs_folder_is_refused_naming_paths_output_dir(tmp_path, folder, said):
    trained = tmp_path / "trained"
    trained.mkdir()
    (trained / "metrics.json").write_text("{}")
    with pytest.raises(ConfigError) as refused:
        train(compose_config(TINY_AE, tmp_path / folder))
    assert said.format(trained=trained) in str(refused.value)
    assert "hydra" not in str(refused.value)
    assert sorted(p.name for p in trained.iterdir()) == ["metrics.json"]  # nothing made there
