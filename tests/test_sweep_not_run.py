"""A job a sweep passed over (its record in ``SWEEP/.not_run/``) is ``not run`` while its
folder's results are as they were then, whatever the files' times say: a copied sweep
(``cp -r``, rsync) or a coarse clock gives them all new or equal ones. A run that takes
the folder later removes the record naming it. Without training: the folders are written
as a sweep leaves them."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from aegan.sweeps.end import note_not_run
from aegan.sweeps.not_run import NOT_RUN, forget_not_run
from aegan.sweeps.reader import read_sweep


def passed_over(root: Path) -> Path:
    """A sweep of two finished jobs whose later sweep passed job 1 over."""
    for job in (0, 1):
        folder = root / str(job)
        (folder / ".hydra").mkdir(parents=True)
        (folder / ".hydra" / "overrides.yaml").write_text(f"- model.latent_dim={job + 2}\n")
        (folder / "metrics.json").write_text(json.dumps({"val/best_objective": job / 4}))
    note_not_run(root, root / "1", 1, "the data's files changed since the run trained")
    return root


def statuses(root: Path) -> dict[str, str]:
    return {row["job"]: row["status"] for row in read_sweep(root)}


def same_times(root: Path, ns: int) -> None:
    for path in root.rglob("*"):
        os.utime(path, ns=(ns, ns))


def test_a_passed_over_job_stays_not_run_with_equal_times(tmp_path):
    root = passed_over(tmp_path / "sweep")
    same_times(root, 1_700_000_000 * 10**9)  # a clock of whole seconds, or of days
    assert statuses(root) == {"0": "ok", "1": "not run"}
    row = read_sweep(root)[1]
    assert row["error"] == ".not_run/1.json: the data's files changed since the run trained"
    assert row["val/best_objective"] == 0.25  # the figures its folder held


def test_a_copied_sweep_keeps_its_passed_over_job(tmp_path):
    copied = tmp_path / "copied"
    # as cp -r without -p: each file gets the time it was copied, records first here
    shutil.copytree(passed_over(tmp_path / "sweep"), copied, copy_function=shutil.copyfile)
    later = (copied / NOT_RUN / "1.json").stat().st_mtime_ns + 10**9
    os.utime(copied / "1" / "metrics.json", ns=(later, later))
    assert statuses(copied) == {"0": "ok", "1": "not run"}


def test_results_written_since_the_record_are_not_passed_over(tmp_path):
    root = passed_over(tmp_path / "sweep")
    (root / "1" / "failed.json").write_text(json.dumps({"type": "E", "error": "later"}))
    (root / "1" / "metrics.json").unlink()
    # the record's time later than the results', as a copy or a skewed clock leaves it
    same_times(root, 1_700_000_000 * 10**9)
    os.utime(root / NOT_RUN / "1.json", ns=(2 * 10**18, 2 * 10**18))
    assert statuses(root) == {"0": "ok", "1": "failed"}


def test_a_run_taking_the_folder_removes_the_record_naming_it(tmp_path):
    root = passed_over(tmp_path / "sweep")
    note_not_run(root, root / "0", 0, "another process trains there")
    forget_not_run(root / "1")  # the next sweep's job 1 takes its folder; same figures
    assert sorted(p.name for p in (root / NOT_RUN).iterdir()) == ["0.json"]
    assert statuses(root) == {"0": "not run", "1": "ok"}
    forget_not_run(tmp_path / "elsewhere")  # a run outside any sweep: nothing to remove


def test_only_records_as_a_sweep_writes_them_are_removed(tmp_path):
    """A user's file that looks like one, or one in a linked folder, is not a record."""
    root = passed_over(tmp_path / "sweep")
    (root / NOT_RUN / "1.json").write_text(json.dumps({"job": "1", "error": "mine"}))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "0.json").write_text(json.dumps({"sweep": None, "job": "0", "error": "mine"}))
    linked = tmp_path / "linked"
    (linked / "0").mkdir(parents=True)
    (linked / NOT_RUN).symlink_to(mine)
    forget_not_run(root / "1")
    forget_not_run(linked / "0")
    assert (root / NOT_RUN / "1.json").exists() and (mine / "0.json").exists()


def test_a_record_from_before_the_hashes_is_read_by_times(tmp_path):
    root = passed_over(tmp_path / "sweep")
    record = root / NOT_RUN / "1.json"
    record.write_text(json.dumps({"sweep": "x", "job": "1", "error": "changed"}))
    os.utime(record, ns=(2 * 10**18, 2 * 10**18))
    assert statuses(root)["1"] == "not run"
    os.utime(root / "1" / "metrics.json", ns=(3 * 10**18, 3 * 10**18))
    assert statuses(root)["1"] == "ok"


def test_a_record_whose_hashes_are_no_hashes_marks_no_job(tmp_path, caplog):
    """``"found": 5`` (hand-edited) was read as a record from before the hashes, by times:
    job 1 read NOT RUN, hiding the figures its folder holds, with no word of the damage."""
    root = passed_over(tmp_path / "sweep")
    record = root / NOT_RUN / "1.json"
    for found in (5, {"metrics.json": 5}):
        record.write_text(json.dumps({"sweep": "x", "job": "1", "error": "", "found": found}))
        os.utime(record, ns=(2 * 10**18, 2 * 10**18))
        assert statuses(root)["1"] == "ok"
        assert f"{record}: not a record of a job that did not run" in caplog.text


def test_two_sweeps_passing_over_other_folders_as_the_same_job_number_keep_both(tmp_path):
    """``hydra.sweep.subdir=lr${model.optimizer.lr}``: a sweep of lr=0.1,0.01 passes job 1
    (lr0.01) over, a later one of lr=0.01,0.1 its job 1 (lr0.1). Named by the number, the
    second record replaced the first, and lr0.01 read as run by the last sweep of it."""
    root = tmp_path / "sweep"
    for folder in ("lr0.1", "lr0.01", "a/b"):
        (root / folder / ".hydra").mkdir(parents=True)
        (root / folder / ".hydra" / "overrides.yaml").write_text("- model.optimizer.lr=1\n")
        (root / folder / "metrics.json").write_text(json.dumps({"val/best_objective": 0.5}))
    note_not_run(root, root / "lr0.01", 1, "another process trains there")
    note_not_run(root, root / "lr0.1", 1, "the data's files changed since")
    note_not_run(root, root / "a" / "b", 1, "nested")
    assert statuses(root) == {"a/b": "not run", "lr0.01": "not run", "lr0.1": "not run"}
    rows = {row["job"]: row["error"] for row in read_sweep(root)}
    assert rows["lr0.01"] == ".not_run/lr0.01.json: another process trains there"
    assert rows["a/b"] == ".not_run/a%2Fb.json: nested"
    forget_not_run(root / "lr0.1")  # the run that takes lr0.1 removes its record alone
    assert statuses(root) == {"a/b": "not run", "lr0.01": "not run", "lr0.1": "ok"}


def test_a_record_of_a_long_folder_name_is_one_file(tmp_path):
    root = tmp_path / "sweep"
    long_name = "model.latent_dim=8," + "x" * 200 + "/seed=1"  # a nested subdir
    (root / long_name / ".hydra").mkdir(parents=True)
    (root / long_name / ".hydra" / "overrides.yaml").write_text("- model.latent_dim=8\n")
    (root / long_name / "metrics.json").write_text(json.dumps({"val/best_objective": 0.5}))
    note_not_run(root, root / long_name, 0, "another process trains there")
    (record,) = (root / NOT_RUN).iterdir()
    assert len(record.name) <= 205 and record.name.startswith("model.latent_dim=8,xxx")
    assert json.loads(record.read_text())["job"] == long_name
    assert statuses(root) == {long_name: "not run"}
