"""A sweep's folder is walked within bounds: ``summarize /`` walked the whole disk (44 s),
listed every run on it as a job of one sweep and wrote its summary into ``/``. A tree too
large to be a sweep's is one line, and nothing is written; a sweep's jobs, nested or not,
are read as before. Without training: folders as a sweep leaves them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import aegan.sweeps.walk
from aegan.errors import ConfigError
from aegan.summarize import main as summarize_main
from aegan.sweeps.reader import read_sweep


def job(folder: Path, objective: float = 0.5) -> Path:
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text("- model.latent_dim=8\n")
    (folder / "metrics.json").write_text(json.dumps({"val/best_objective": objective}))
    return folder


def test_a_tree_too_large_for_a_sweep_is_one_line_and_nothing_is_written(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(aegan.sweeps.walk, "MAX_ENTRIES", 50)  # 20,000 by default
    home = tmp_path / "home"
    job(home / "logs" / "train" / "multiruns" / "d" / "0")
    for name in range(60):  # a user's own files, beside the runs
        (home / "photos" / str(name)).mkdir(parents=True)
    with pytest.raises(ConfigError, match="holds more than 50 files and folders") as refused:
        read_sweep(home)
    assert "\n" not in str(refused.value) and "hydra.sweep.dir" in str(refused.value)
    assert summarize_main([str(home)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {home} holds more than 50 files")
    assert not list(home.glob("summary.*"))


def test_jobs_nested_or_not_are_found_and_not_walked_into(tmp_path, monkeypatch):
    monkeypatch.setattr(aegan.sweeps.walk, "MAX_ENTRIES", 50)
    root = tmp_path / "sweep"
    job(root / "0", 0.2)
    job(root / "ns" / "seed1", 0.1)  # hydra.sweep.subdir=${model.loss}/seed${seed}
    for step in range(100):  # a job's own files are not looked through for jobs
        (root / "0" / "checkpoints" / f"step-{step}").mkdir(parents=True)
    (root / ".submitit" / "1").mkdir(parents=True)  # the launcher's, no job
    (root / "elsewhere").symlink_to(tmp_path / "sweep" / "ns")  # a link is not followed
    assert [row["job"] for row in read_sweep(root)] == ["0", "ns/seed1"]
    assert [row["job"] for row in read_sweep(root / "0")] == ["."]  # a single run's folder


def test_a_job_deeper_than_the_walk_goes_is_not_read(tmp_path):
    deep = tmp_path / "sweep"
    job(deep.joinpath(*["d"] * (aegan.sweeps.walk.MAX_JOB_DEPTH + 1)))
    job(deep.joinpath(*["d"] * aegan.sweeps.walk.MAX_JOB_DEPTH))
    assert [len(Path(row["job"]).parts) for row in read_sweep(deep)] == [
        aegan.sweeps.walk.MAX_JOB_DEPTH
    ]


@pytest.mark.parametrize(
    "record", ["a loop of links", "a link to nothing", "a file", "a link to its job's folder"]
)
def test_a_job_whose_record_folder_is_none_is_listed_broken(tmp_path, record):
    """A job whose .hydra/ was no folder was passed over by the walk: the summary listed
    one job fewer, without a word."""
    root = tmp_path / "sweep"
    job(root / "0")
    hydra = job(root / "1") / ".hydra"
    (hydra / "overrides.yaml").unlink()
    hydra.rmdir()
    if record == "a file":
        hydra.write_text("- model.latent_dim=8\n")
    else:
        links = {"a loop of links": hydra, "a link to its job's folder": hydra.parent}
        hydra.symlink_to(links.get(record, tmp_path / "gone"))
    rows = read_sweep(root)
    assert [(row["job"], row["status"]) for row in rows] == [("0", "ok"), ("1", "broken")]
    assert rows[1]["error"].startswith(".hydra")


@pytest.mark.parametrize(
    ("place", "target", "why"),
    [("1", "1", "a loop of links"), ("1", "gone", "leading nowhere"),
     ("d/1", "1", "a loop of links")],
)  # fmt: skip
def test_a_job_folder_that_is_a_link_leading_nowhere_is_listed_broken(tmp_path, place, target, why):
    """``ln -s 1 SWEEP/1``, or a link to a run since deleted: the walk passed over it and the
    summary listed one job fewer, without a word."""
    root = tmp_path / "sweep"
    job(root / "0")
    (root / place).parent.mkdir(exist_ok=True)
    (root / place).symlink_to(target)
    rows = read_sweep(root)
    assert [(row["job"], row["status"]) for row in rows] == [("0", "ok"), (place, "broken")]
    assert rows[1]["error"] == f"{place} is a link to {target!r} ({why}), not its job's folder"
