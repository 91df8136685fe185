"""A sweep continued in its folder (``trainer.resume=auto``, a requeued job's setting): each
job finds the folder it trained in, or the sweep is refused in one line before any job; a
continued sweep never mixes another sweep's jobs into its folder. In-process, as
``python -m aegan.train -m`` runs them, on tiny data."""

from __future__ import annotations

from pathlib import Path

from conftest import TINY_AE, assert_one_error_line

TINY = [*TINY_AE, "data.subset=200", "data.val_size=100", "logger=none"]


def job_folders(sweep_dir: Path) -> list[str]:
    return sorted(str(p.parent.parent.relative_to(sweep_dir))
                  for p in sweep_dir.glob("**/.hydra/overrides.yaml"))  # fmt: skip


def test_jobs_named_by_their_overrides_are_found_again_by_resume_auto(cli, tmp_path):
    """``trainer.resume=auto`` was part of each name: every job trained anew in a new folder."""
    sweep_dir = tmp_path / "sweep"
    sweep = ["aegan.train", "-m", *TINY, "model.latent_dim=4,8", f"hydra.sweep.dir={sweep_dir}",
             "hydra.sweep.subdir=${hydra.job.override_dirname}"]  # fmt: skip
    first = cli(*sweep)
    assert first.returncode == 0, first.stderr[-2000:]
    trained = job_folders(sweep_dir)
    assert len(trained) == 2
    again = cli(*sweep, "trainer.resume=auto")
    assert again.returncode == 0, again.stderr[-2000:]
    assert job_folders(sweep_dir) == trained
    # a setting in the names changed: no job finds its folder, none is trained anew beside
    moved = cli(*sweep, "trainer.resume=auto", "trainer.epochs=2")
    assert_one_error_line(moved, f"hydra.sweep.dir={sweep_dir} holds a sweep (its jobs: ")
    assert "whose folders this sweep's jobs do not find" in moved.stderr
    assert job_folders(sweep_dir) == trained
    # trainer.resume left in the names: refused before the first job
    named = cli(*sweep, "trainer.resume=auto", "hydra.job.config.override_dirname.exclude_keys=[]")
    assert_one_error_line(
        named, "hydra.job.config.override_dirname.exclude_keys=[] is not allowed with "
        "hydra.sweep.subdir=${hydra.job.override_dirname}: it must list trainer.resume"
    )  # fmt: skip
