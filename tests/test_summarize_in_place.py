"""What stands where a sweep's job or its record belongs: a FIFO or a file in a planned
job's place (or above it), and a job's record linked from another run, each marked BROKEN
with what is there, never read as the job's own."""

from __future__ import annotations

import json
import os
import shutil

from test_summarize_hostile import make_sweep

from aegan.sweeps.reader import read_sweep


def test_a_planned_jobs_place_holding_a_fifo_or_a_file_above_it_says_what_is_there(tmp_path):
    """A FIFO at job 2's place read "2 is a file"; job a/0 below a file ``a`` read NOT
    STARTED, "trainer.resume=auto runs the jobs left", where no job can go."""
    root = make_sweep(tmp_path / "sweep", jobs=2)
    os.mkfifo(root / "2")
    (root / "a").write_text("not a folder")
    planned = [
        {"job": job, "overrides": [f"seed={n}"]} for n, job in enumerate(["0", "1", "2", "a/0"])
    ]
    (root / "jobs.json").write_text(json.dumps({"jobs": planned}))
    rows = {row["job"]: row for row in read_sweep(root)}
    assert rows["2"]["status"] == rows["a/0"]["status"] == "broken"
    assert rows["2"]["error"] == "2 is a FIFO, not its job's folder"
    assert rows["a/0"]["error"] == "a/0 is below a, which is a file, not its job's folder"


def test_a_jobs_record_linked_from_another_run_is_broken(tmp_path):
    """Job 0's .hydra/ a link to another sweep's job's, job 1's overrides.yaml, job 2's
    failed.json: each read as the job's own, its row holding another run's overrides (or
    failure) beside its own figures."""
    root = make_sweep(tmp_path / "sweep", jobs=3)
    other = make_sweep(tmp_path / "other", jobs=1) / "0"
    (other / "failed.json").write_text(json.dumps({"type": "Error", "error": "other's"}))
    (root / "2" / "metrics.json").unlink()
    shutil.rmtree(root / "0" / ".hydra")
    (root / "1" / ".hydra" / "overrides.yaml").unlink()
    linked = (("0", ".hydra"), ("1", ".hydra/overrides.yaml"), ("2", "failed.json"))
    for job, name in linked:
        (root / job / name).symlink_to(other / name)
    rows = {row["job"]: row for row in read_sweep(root)}
    for job, name in linked:
        assert rows[job]["status"] == "broken", rows[job]
        assert rows[job]["error"] == f"{name} is a link to {other / name}, not the run's own file"
