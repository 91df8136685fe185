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


def test_jobs_named_by_an_override_holding_a_path_are_refused_before_the_first(cli, tmp_path):
    """``data.root=/a/b`` in the names made folders within folders: ``data.root=``, ``a``,
    then ``b,model.latent_dim=4``, three levels per job."""
    sweep_dir, root = tmp_path / "sweep", tmp_path / "images"
    root.mkdir()
    sweep = ["aegan.train", "-m", *TINY, "model.latent_dim=4,8", f"hydra.sweep.dir={sweep_dir}",
             "hydra.sweep.subdir=${hydra.job.override_dirname}", f"paths.data_dir={root}"]  # fmt: skip
    refused = cli(*sweep)
    assert_one_error_line(
        refused, f"job 0 of 2 (model.latent_dim=4): paths.data_dir={root} is not allowed with "
        "hydra.sweep.subdir=${hydra.job.override_dirname}: the / in it would make each job's "
        "folder folders within folders; leave it out of the names (add paths.data_dir to "
        "hydra.job.config.override_dirname.exclude_keys) or name the jobs ${hydra.job.num}; "
        "no job was started"
    )  # fmt: skip
    assert not sweep_dir.exists()
    left_out = "hydra.job.config.override_dirname.exclude_keys=[trainer.resume,paths.data_dir]"
    assert cli(*sweep, left_out).returncode == 0
    jobs = job_folders(sweep_dir)  # each one folder, named by the other overrides
    assert len(jobs) == 2 and not any("/" in job or "data_dir" in job for job in jobs)
