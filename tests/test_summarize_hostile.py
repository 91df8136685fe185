"""Hostile sweep folders for ``python -m aegan.summarize``: each damaged file marks its job
BROKEN in one line and the summary goes on, in bounded time and size; what a file holds never
replaces a row's own fields or breaks the table. The command line: test_summarize_command."""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path

import pytest

from aegan.summarize import main as summarize_main
from aegan.sweeps.reader import read_sweep

# "billion laughs": a few hundred bytes of aliases that expand to 9**7 items
LAUGHS = "- &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"- &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
    for prev, name in zip("abcdef", "bcdefg", strict=True)
)


def make_sweep(root: Path, jobs: int = 3) -> Path:
    """``jobs`` finished jobs, as a sweep leaves them."""
    for job in range(jobs):
        folder = root / str(job)
        (folder / ".hydra").mkdir(parents=True)
        (folder / ".hydra" / "overrides.yaml").write_text(f"- model.latent_dim={job + 2}\n")
        (folder / "metrics.json").write_text(json.dumps({"val/best_objective": job / 4}))
    return root


def summary(root: Path, capsys) -> tuple[dict[str, dict], str]:
    """Summarise ``root`` (exit code 0 or the test fails): its rows by job, and summary.md."""
    started = time.process_time()  # this process's CPU seconds: other jobs' load is not counted
    assert summarize_main([str(root)]) == 0
    assert time.process_time() - started < 30  # the quadratic table took minutes
    capsys.readouterr()
    rows = {
        row["job"]: row for row in csv.DictReader((root / "summary.csv").open(encoding="utf-8"))
    }
    return rows, (root / "summary.md").read_text()


DEEP_JSON = b"[" * 100_000
DAMAGED = [
    ("metrics.json", DEEP_JSON, "metrics.json: nested deeper than 32 levels"),
    ("failed.json", DEEP_JSON, "failed.json: nested deeper than 32 levels"),
    ("stopped.json", b'{"a": ' * 100_000, "stopped.json: nested deeper than 32 levels"),
    # a FAILED or STOPPED row whose error was Python's repr of what the file held
    ("failed.json", b'{"type": {"a": 1}}', "failed.json: type is a mapping, not text"),
    ("stopped.json", b'{"message": 5}', "stopped.json: message is 5, not text"),
    ("metrics.json", b'{"val/best_objective": 1e400}', "1e400 is beyond a float"),
    ("metrics.json", b'{"val/best_objective": ' + b"9" * 4000 + b"}", "is beyond a float"),
    # the job read ok, with a blank where its objective was
    ("metrics.json", b'{"val/best_objective": {"a": 1}}', "val/best_objective is a mapping, not a figure"),
    ("metrics.json", b'{"test/mse": [0.1]}', "test/mse is a list, not a figure"),
    # no figure: not a job that ended "ok" with a blank or a word for its objective
    ("metrics.json", b'{"val/best_objective": true}', "val/best_objective is true, not a figure"),
    ("metrics.json", b'{"val/best_objective": null}', "val/best_objective is null, not a figure"),
    ("metrics.json", b'{"val/best_objective": "0.1"}', 'val/best_objective is "0.1", not a figure'),
    ("metrics.json", b'{"val/best_objective": null, "_nonfinite": {"val/best_objective": "x"}}',
     "val/best_objective is null, not a figure"),
    ("metrics.json", b'{"eval/overrides": 5}', "eval/overrides is 5, not text"),
    # a column named with a line break split summary.csv's rows
    ("metrics.json", b'{"test/mse\\nerror: forged": 0.5}', "test/mse\\nerror: forged is no metric's name"),
    ("metrics.json", b'{"": 0.5}', "metrics.json: '' is no metric's name"),
    ("metrics.json", b'{" ": 0.5}', "metrics.json: ' ' is no metric's name"),
    (".hydra/overrides.yaml", b"[" * 20_000 + b"]" * 20_000, "nest"),
    (".hydra/overrides.yaml", b"- - a=1\n", "nested deeper than 1 levels"),
    (".hydra/overrides.yaml", LAUGHS.encode(), "anchors and aliases are not allowed"),
    (".hydra/overrides.yaml", b"- &x a=1\n", "anchors and aliases are not allowed"),
    (".hydra/overrides.yaml", b"".join(b"- k%d=1\n" % i for i in range(200_000)),
     "over the 1048576 allowed"),
    (".hydra/overrides.yaml", b"- a=1\n" * 1001, "1001 overrides, over 1000"),
    (".hydra/overrides.yaml", b"- !!binary aGk=\n", "tags (tag:yaml.org,2002:binary)"),
    (".hydra/overrides.yaml", b"- a=1\n---\n- b=2\n", "more than one document"),
    (".hydra/overrides.yaml", b"- 8\n- null\n", "not a list of key=value overrides"),
    (".hydra/overrides.yaml", b"a: b\n", "not a list of key=value overrides"),
    (".hydra/overrides.yaml", b"- a=" + b"9" * 5000 + b"\n", None),  # text, not a number
]  # fmt: skip


@pytest.mark.parametrize(("name", "content", "message"), DAMAGED)
def test_a_damaged_file_marks_its_job_broken_in_one_line(tmp_path, capsys, name, content, message):
    root = make_sweep(tmp_path / "sweep")
    if name == "failed.json":  # read only where no metrics.json is
        (root / "1" / "metrics.json").unlink()
    (root / "1" / name).write_bytes(content)
    rows, text = summary(root, capsys)
    assert [rows[job]["status"] for job in "02"] == ["ok", "ok"]
    if message is None:  # readable after all: shown as it is, cut short in the table
        assert rows["1"]["status"] == "ok" and rows["1"]["a"] == "9" * 5000
    else:
        assert rows["1"]["status"] == "broken"
        assert message in rows["1"]["error"] and "\n" not in rows["1"]["error"]
        assert rows["1"]["error"].startswith(name)  # the file, by its name in the job's folder
    assert len(text) < 5000  # bounded, whatever the file holds


@pytest.mark.parametrize("name", ["metrics.json", "failed.json", "stopped.json", "overrides"])
def test_a_folder_or_fifo_in_a_files_place_marks_its_job_broken(tmp_path, capsys, name):
    root = make_sweep(tmp_path / "sweep")
    name = ".hydra/overrides.yaml" if name == "overrides" else name
    for job, make in (("0", Path.mkdir), ("1", os.mkfifo)):  # a FIFO hung the old reader
        (root / job / name).unlink(missing_ok=True)
        if name == "failed.json":
            (root / job / "metrics.json").unlink()
        make(root / job / name)
    rows, _ = summary(root, capsys)
    assert [rows[job]["status"] for job in "012"] == ["broken", "broken", "ok"]
    assert (
        rows["0"]["error"]
        == f"{name}: not readable as {'plain YAML' if 'yaml' in name else 'JSON'} (a folder, not a regular file)"
    )
    assert rows["1"]["error"].endswith("(a FIFO, not a regular file)")


@pytest.mark.parametrize("target", ["itself", "nothing"])
def test_a_metrics_file_linking_nowhere_marks_its_job_broken_not_unfinished(tmp_path, target):
    """A metrics.json that is a loop of links, or a link to nothing, read as no file: the
    job was listed as unfinished, as if still training."""
    root = make_sweep(tmp_path / "sweep", jobs=2)
    link = root / "1" / "metrics.json"
    link.unlink()
    link.symlink_to(link if target == "itself" else tmp_path / "moved.json")
    rows = {row["job"]: row for row in read_sweep(root)}
    assert [rows[job]["status"] for job in "01"] == ["ok", "broken"]
    assert (
        rows["1"]["error"]
        == f"metrics.json is a link to {os.readlink(link)}, not the run's own file"
    )


GOOD_OPTUNA = "name: optuna\nbest_params:\n  model.latent_dim: 8\n  optimizer.lr: 0.001\n"


@pytest.mark.parametrize(
    ("content", "line"),
    [(GOOD_OPTUNA + "best_value: 0.25\n",
      "optuna best: 0.25 with model.latent_dim=8, optimizer.lr=0.001"),
     (LAUGHS.replace("- &g", "best_params: &g") + "best_value: 1\n",
      "not readable as plain YAML (anchors and aliases are not allowed)"),
     ("best_value: 1\nbest_params: " + "[" * 20_000 + "]" * 20_000 + "\n", "not readable as"),
     ("best_value: 1\nbest_params: {a: {b: 1}}\n", "nested deeper than 2 levels"),
     (GOOD_OPTUNA + "best_value: 0.25\nbest_value: 9\n", "the key 'best_value' is given twice"),
     ("best_value: 1\nbest_params:\n  a: 1\n  a: 2\n", "the key 'a' is given twice"),
     (GOOD_OPTUNA + "best_value: [1]\n", "is not the sweeper's name, best_params"),
     (GOOD_OPTUNA + "best_value: true\n", "is not the sweeper's name, best_params"),
     (GOOD_OPTUNA + "best_value: " + "9" * 400 + "\n", "is not the sweeper's name"),
     ("best_value: 1\nbest_params: [a, b]\n", "is not the sweeper's name, best_params"),
     ("- 1\n", "is not the sweeper's name, best_params")],
)  # fmt: skip
def test_optuna_results_are_read_strictly_and_shown_in_one_bounded_line(
    tmp_path, capsys, content, line
):
    root = make_sweep(tmp_path / "sweep")
    (root / "optimization_results.yaml").write_text(content)
    rows, text = summary(root, capsys)
    assert {row["status"] for row in rows.values()} == {"ok"}
    shown = [x for x in text.splitlines() if x.startswith("optuna best: ")]
    assert len(shown) == 1 and line in shown[0], shown
    assert len(text) < 5000


def test_the_optuna_best_line_names_its_job_or_says_it_is_in_another_folder(tmp_path, capsys):
    """A study in hydra.sweeper.storage gone on with in a new folder numbers its jobs from
    0 again; its best trial may be an earlier sweep's: the line read as this folder's."""
    root = make_sweep(tmp_path / "sweep")  # job 1: model.latent_dim=3, objective 0.25
    best = "name: optuna\nbest_params:\n  model.latent_dim: {}\nbest_value: {}\n"
    (root / "optimization_results.yaml").write_text(best.format(3, 0.25))
    assert "\noptuna best: 0.25 (job 1) with model.latent_dim=3\n" in summary(root, capsys)[1]
    (root / "optimization_results.yaml").write_text(best.format(9, 0.125))
    assert (
        "\noptuna best: 0.125 with model.latent_dim=9; no job in this folder: a trial of an "
        "earlier sweep of the study (hydra.sweeper.storage), in another folder\n"
    ) in summary(root, capsys)[1]


def test_file_keys_never_replace_a_rows_own_fields(tmp_path):
    root = make_sweep(tmp_path / "sweep")
    keys = ("job", "status", "error", "run_dir", "overrides")
    (root / "1" / ".hydra" / "overrides.yaml").write_text("".join(f"- {k}=x\n" for k in keys))
    metrics = {**{k: 7 for k in keys}, "model.latent_dim": 5, "val/best_objective": 0.5}
    (root / "2" / "metrics.json").write_text(json.dumps(metrics))
    rows = {row["job"]: row for row in read_sweep(root)}
    assert set(rows) == {"0", "1", "2"} and {r["status"] for r in rows.values()} == {"ok"}
    assert rows["1"]["run_dir"] == str(root / "1") and rows["1"]["error"] == ""
    assert rows["1"]["overrides"] == [f"{k}=x" for k in keys]
    assert all(rows["1"][f"override:{k}"] == "x" for k in keys)
    assert rows["2"]["job"] == "2" and rows["2"]["model.latent_dim"] == 4
    assert all(rows["2"][f"metric:{k}"] == 7 for k in keys)
    assert rows["2"]["metric:model.latent_dim"] == 5


def test_line_breaks_and_pipes_in_names_and_errors_keep_the_table_whole(tmp_path, capsys):
    root = make_sweep(tmp_path / "sweep")
    (root / "2").rename(root / "we|ird\nname\x1b[31m")
    (root / "1" / "metrics.json").unlink()
    failure = {"type": "Error", "error": "a|b\nc\r\n| d \\| e \u2028 \x1b[2J"}
    (root / "1" / "failed.json").write_text(json.dumps(failure))
    _, text = summary(root, capsys)
    table = [line for line in text.split("\n") if line.startswith("|")]
    assert len(table) == 2 + 3 and text.count("\n") == len(text.splitlines())  # a line a row
    unescaped = [line.replace("\\\\", "").replace("\\|", "").count("|") for line in table]
    assert len(set(unescaped)) == 1  # every row has the header's cells
    assert "\x1b" not in text and "\r" not in text and "\u2028" not in text
    assert r"we\|ird\nname\x1b[31m" in text and r"a\|b\nc\r\n\| d \\\| e \u2028 \x1b[2J" in text


def test_a_folder_name_that_is_not_utf8_is_escaped_in_both_files(tmp_path, capsys):
    root = make_sweep(tmp_path / "sweep")
    os.rename(root / "2", os.fsencode(root) + b"/j\xff")  # Linux names are bytes
    rows, text = summary(root, capsys)  # csv.DictReader: summary.csv is UTF-8
    assert rows["j\\udcff"]["status"] == "ok" and "| j\\udcff " in text


def test_a_grids_jobs_that_never_started_are_listed(tmp_path, capsys, caplog):
    """A sweep cut short by Ctrl-C listed only the jobs that had a folder: nothing said the
    grid had more, nor which settings were left to run."""
    import json

    from aegan.summarize import main

    run = tmp_path / "sweep" / "0"
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "overrides.yaml").write_text("- model.latent_dim=8\n")
    (run / "metrics.json").write_text(json.dumps({"val/best_objective": 0.1}))
    plan = {"jobs": [{"job": str(n), "overrides": [f"model.latent_dim={d}"]}
                     for n, d in enumerate((8, 16, 32))]}  # fmt: skip
    (tmp_path / "sweep" / "jobs.json").write_text(json.dumps(plan))
    assert main([str(tmp_path / "sweep")]) == 0
    printed = capsys.readouterr().out
    assert "3 jobs: 1 ok, 2 not started" in printed
    assert "| 2   | NOT STARTED | 32 " in printed
    (tmp_path / "sweep" / "jobs.json").write_text('{"jobs": [{"job": 1}]}')
    assert main([str(tmp_path / "sweep")]) == 0
    assert "1 job: 1 ok" in capsys.readouterr().out
    assert "a job that is not a folder and its overrides; the jobs that never" in caplog.text
    outside = {"jobs": [{"job": "../../../etc", "overrides": []}]}  # its run_dir elsewhere
    (tmp_path / "sweep" / "jobs.json").write_text(json.dumps(outside))
    assert main([str(tmp_path / "sweep")]) == 0
    assert "1 job: 1 ok" in capsys.readouterr().out
    assert "job '../../../etc' is not a folder inside the sweep's" in caplog.text
    (tmp_path / "sweep" / "jobs.json").unlink()
    os.mkfifo(tmp_path / "sweep" / "jobs.json")  # was passed over as if there were no plan
    assert main([str(tmp_path / "sweep")]) == 0
    assert "jobs.json: not readable as JSON (a FIFO, not a regular file); the jobs" in caplog.text


def test_a_planned_jobs_place_holding_a_file_or_a_link_is_broken_not_a_job_to_run(tmp_path):
    """jobs.json's job 2 where a file lies, job 3 a link to another run's folder: both read
    NOT STARTED, "the same command with trainer.resume=auto runs the jobs left"; a job
    listed twice was two rows."""
    root = make_sweep(tmp_path / "sweep", jobs=2)
    (root / "2").write_text("not a folder")
    other = make_sweep(tmp_path / "other", jobs=1) / "0"
    (root / "3").symlink_to(other)
    planned = [
        {"job": str(n), "overrides": [f"model.latent_dim={n + 2}"]} for n in (0, 1, 2, 3, 4, 4)
    ]
    (root / "jobs.json").write_text(json.dumps({"jobs": planned}))
    rows = {row["job"]: row for row in read_sweep(root)}
    assert {job: row["status"] for job, row in rows.items()} == {
        "0": "ok", "1": "ok", "2": "broken", "3": "broken", "4": "not started"
    }  # fmt: skip
    assert rows["2"]["error"] == "2 is a file, not its job's folder"
    assert rows["3"]["error"] == f"3 is a link to {str(other)!r}, not its job's folder"


@pytest.mark.parametrize("plan", [False, True])
def test_a_job_folder_that_is_a_link_is_broken_with_or_without_a_plan(tmp_path, plan):
    """Job 2 a link to another run's folder: in a search's folder (no jobs.json) it was left
    out of the summary without a word; with a plan it was broken. Job a/0 of a plan, whose
    folder ``a`` is a link: it read NOT STARTED, "trainer.resume=auto runs the jobs left"."""
    root = make_sweep(tmp_path / "sweep", jobs=2)
    other = make_sweep(tmp_path / "other", jobs=1)
    (root / "2").symlink_to(other / "0")
    if plan:
        (root / "a").symlink_to(other)
        planned = [{"job": job, "overrides": [f"model.latent_dim={n + 2}"]}
                   for n, job in enumerate("012")]  # fmt: skip
        (root / "jobs.json").write_text(
            json.dumps({"jobs": [*planned, {"job": "a/0", "overrides": []}]})
        )
    rows = {row["job"]: row for row in read_sweep(root)}
    assert {job: row["status"] for job, row in rows.items()} == {
        "0": "ok", "1": "ok", "2": "broken", **({"a/0": "broken"} if plan else {})
    }  # fmt: skip
    assert rows["2"]["error"] == f"2 is a link to {str(other / '0')!r}, not its job's folder"
    assert "val/best_objective" not in rows["2"]  # the other run's figures are not this job's
    assert rows["2"].get("model.latent_dim") == (4 if plan else None)  # the plan's, if any
    if plan:
        assert (
            rows["a/0"]["error"]
            == f"a/0 is behind the link a -> {str(other)!r}, not its job's folder"
        )
