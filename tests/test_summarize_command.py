"""What ``python -m aegan.summarize`` is given and what it says: every command-line mistake
is one line and exit code 2, what is no path is refused rather than read as the current
folder, figures not of the weights as trained are noted, and a trained run's own folder is
summarised without writing into it. Damaged sweep folders: test_summarize_hostile."""

from __future__ import annotations

import json
import os

import pytest
from test_summarize_hostile import make_sweep

from aegan.errors import ConfigError, FolderNotFoundError
from aegan.run import load_run
from aegan.summarize import main as summarize_main
from aegan.summarize import summarize
from aegan.sweeps.reader import read_sweep


@pytest.mark.parametrize(
    "args",
    [[], ["--bogus"], ["SWEEP", "--bogus", "1"], ["SWEEP", "--objective"], ["SWEEP", "extra"],
     ["SWEEP", "--out", "FILE"], ["SWEEP", "--out", "FILE/sub"], ["FILE"], ["MISSING"],
     ["SWEEP", "--out", "nul\0"], ["SWEEP", "--objective", "val/best_objetive"]],
)  # fmt: skip
def test_every_command_line_mistake_is_one_line_and_exit_code_2(tmp_path, capsys, args):
    sweep, file = make_sweep(tmp_path / "sweep"), tmp_path / "file"
    file.write_text("kept")
    names = {"SWEEP": str(sweep), "FILE": str(file), "MISSING": str(tmp_path / "missing")}
    args = [names.get(a, a.replace("FILE", str(file))) for a in args]
    assert summarize_main(args) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error: ") and err.count("\n") == 1, err
    assert file.read_text() == "kept" and not (sweep / "summary.md").exists()


@pytest.mark.parametrize(
    ("make", "what"),
    [(lambda p: p.write_text(""), "is a file, not a folder"),
     (os.mkfifo, "is a FIFO, not a folder"),
     (lambda p: p.symlink_to(p.parent / "nothing"), "is a link to nothing, not a folder"),
     (lambda p: p.symlink_to(p), "is a loop of links, not a folder")],
)  # fmt: skip
def test_a_sweep_folder_that_is_no_folder_says_what_is_there(tmp_path, capsys, make, what):
    """A FIFO or a device was "is not a folder", a link to nothing "does not exist"."""
    given = tmp_path / "sweep"
    make(given)
    assert summarize_main([str(given)]) == 2
    assert capsys.readouterr().err == (
        f"error: {given} {what}: a sweep's folder holds one folder per job\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--out", "<fifo>"], "--out=<fifo> is not allowed: it is a FIFO, not a folder"),
     (["--out", "<gone>"], "--out=<gone> is not allowed: it is a link to nothing, not a folder"),
     (["--objective", ""], "--objective='' is not allowed: it must be a metric's name"),
     (["--objective", "a\nb"], "--objective='a\\nb' is not allowed")],
)  # fmt: skip
def test_an_out_folder_or_objective_that_cannot_be_one_is_named(tmp_path, capsys, args, message):
    """--out at a FIFO was "is not a folder", at a link to nothing "cannot be written there
    (File exists)", both after the walk; a blank --objective of a sweep without figures
    sorted by nothing."""
    sweep = tmp_path / "sweep"
    (sweep / "0" / ".hydra").mkdir(parents=True)
    (sweep / "0" / ".hydra" / "overrides.yaml").write_text("- seed=0\n")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "gone").symlink_to(tmp_path / "nothing")
    names = {"<fifo>": str(tmp_path / "fifo"), "<gone>": str(tmp_path / "gone")}
    assert summarize_main([str(sweep), *(names.get(a, a) for a in args)]) == 2
    for name, path in names.items():
        message = message.replace(name, path)
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"error: {message}") and err.count("\n") == 1, err


def test_help_still_works(capsys):
    with pytest.raises(SystemExit) as info:
        summarize_main(["--help"])
    assert info.value.code == 0 and "--objective" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [([""], "MULTIRUN_DIR='' is not allowed: it must be a sweep's folder"),
     ([" "], "MULTIRUN_DIR=' ' is not allowed"),
     (["SWEEP", "--out", ""], "--out='' is not allowed: it must be a folder for summary.csv")],
)  # fmt: skip
def test_an_empty_path_is_refused_not_read_as_the_current_folder(
    tmp_path, capsys, monkeypatch, args, message
):
    """``""`` was Path(""), the current folder: every run under it was summarised, and
    summary.csv and summary.md written into it."""
    sweep = make_sweep(tmp_path / "sweep")
    monkeypatch.chdir(sweep)
    assert summarize_main([str(sweep) if a == "SWEEP" else a for a in args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == f"error: {message}" + err.partition(message)[2]
    assert err.count("\n") == 1 and not list(sweep.glob("summary.*"))


@pytest.mark.parametrize(
    ("path", "shown"), [("", "''"), ("  ", "'  '"), (None, "null"), (123, "123")]
)
def test_read_sweep_and_summarize_refuse_what_is_no_path_in_one_line(
    tmp_path, monkeypatch, path, shown
):
    """``read_sweep("")`` read every run under the current folder; None and 123 were a
    TypeError from inside pathlib."""
    sweep = make_sweep(tmp_path / "sweep")
    monkeypatch.chdir(sweep)
    with pytest.raises(ConfigError, match=f"^path={shown} is not allowed: it must be a sweep"):
        read_sweep(path)
    with pytest.raises(ConfigError, match=f"^path={shown} is not allowed"):
        summarize(path)
    if path is not None:  # out=None: the sweep's own folder
        with pytest.raises(ConfigError, match=f"^out={shown} is not allowed"):
            summarize(sweep, out=path)
    assert not list(sweep.glob("summary.*"))


@pytest.mark.parametrize("kind", ["a newline", "too long"])
def test_a_path_from_an_environment_variable_is_refused_in_one_line(tmp_path, kind):
    """The notebooks read AEGAN_RUN_DIR, AEGAN_CODE_SIZE_SWEEP and AEGAN_SWEEP_DIR: a newline
    pasted into one split the message that names the path; a name too long was pathlib's
    errno line, thousands of characters."""
    sweep = make_sweep(tmp_path / "sweep")
    path = f"{sweep}\nx" if kind == "a newline" else str(tmp_path / ("x" * 5000))
    with pytest.raises((ConfigError, FolderNotFoundError)) as refused:
        read_sweep(path)
    message = str(refused.value)
    assert "\n" not in message and len(message) < 400, message
    reason = "without control characters" if kind == "a newline" else "cannot be looked up"
    assert reason in message, message
    if kind == "a newline":
        with pytest.raises(ConfigError, match="^path=.* without control characters$"):
            load_run(path)


def test_a_mistyped_objective_names_the_metric_meant(tmp_path, capsys):
    sweep = make_sweep(tmp_path / "sweep")
    assert summarize_main([str(sweep), "--objective", "val/best_objetive"]) == 2
    assert capsys.readouterr().err == (
        "error: --objective val/best_objetive is not a metric of the sweep's jobs, which have: "
        "val/best_objective; did you mean val/best_objective?\n"
    )


def test_figures_of_an_evaluation_with_model_overrides_are_noted(tmp_path, capsys):
    """They were shown as the job's own, the overrides hidden among the eval/ columns. Where
    the images are (the README's data.root) changes no figure: the images are checked."""
    import json

    from aegan.summarize import main

    for job, evaluated in (("0", ""), ("1", "model.beta=2"), ("2", "data.root=/mnt/fmnist")):
        run = tmp_path / "sweep" / job
        (run / ".hydra").mkdir(parents=True)
        (run / ".hydra" / "overrides.yaml").write_text(f"- seed={job}\n")
        figures = {"val/best_objective": 0.1, "test/mse": 0.02, "eval/overrides": evaluated}
        (run / "metrics.json").write_text(json.dumps(figures))
    assert main([str(tmp_path / "sweep")]) == 0
    assert (
        "note: the figures of job 1 are of the model with the overrides of a later evaluation "
        "(eval/overrides in summary.csv), not as it trained"
    ) in capsys.readouterr().out  # job 2 unnamed


def test_figures_of_the_weights_of_an_earlier_step_are_noted(tmp_path, capsys):
    """aegan.evaluate checkpoint=best put the best step's figures beside other jobs' last
    weights', without a word: eval/ columns are not shown."""
    import json

    from aegan.summarize import main

    for job, evaluated in (("0", 16), ("1", 8)):
        run = tmp_path / "sweep" / job
        (run / ".hydra").mkdir(parents=True)
        (run / ".hydra" / "overrides.yaml").write_text(f"- seed={job}\n")
        figures = {"val/best_objective": 0.1, "gen/fd": 8.0, "train/steps": 16,
                   "eval/step": evaluated}  # fmt: skip
        (run / "metrics.json").write_text(json.dumps(figures))
    assert main([str(tmp_path / "sweep")]) == 0
    note = ("note: the figures of job 1 are of the weights of an earlier step (eval/step in "
            "summary.csv) than training ended at (train/steps)")  # fmt: skip
    assert note in capsys.readouterr().out


def test_a_trained_runs_folder_is_summarised_without_writing_into_it(tmp_path, capsys):
    """``aegan.summarize RUN_DIR`` wrote summary.csv and summary.md among the run's files,
    and ``--out`` could put them inside any job; only a run writes in its own folder."""
    root = make_sweep(tmp_path / "sweep")
    run = root / "1"
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    assert summarize_main([str(run)]) == 0
    printed = capsys.readouterr().out
    assert "| .   | ok " in printed  # the run, shown
    assert printed.endswith(
        f"not written: {run} is a trained run's folder, which only its own run writes; to keep "
        "the summary, name a folder with --out DIR\n"
    )
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == before
    for out in (run, run / ".hydra"):
        assert summarize_main([str(root), "--out", str(out)]) == 2
        assert capsys.readouterr().err.startswith(f"error: --out={out} ")
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == before
    assert summarize_main([str(run), "--out", str(tmp_path / "kept")]) == 0
    assert (tmp_path / "kept" / "summary.md").is_file()


def test_jobs_are_ranked_best_first_by_the_objectives_own_direction(tmp_path, capsys):
    """``--objective test/psnr`` sorted lowest first, under "lower is better": the worst
    reconstruction at the top. A figure where higher is better is ranked highest first,
    and ``--direction`` says which way when the user knows better."""
    sweep = make_sweep(tmp_path / "sweep")  # val/best_objective 0, 0.25, 0.5
    for job, psnr in (("0", 20.0), ("1", 25.0), ("2", 22.0)):
        metrics = json.loads((sweep / job / "metrics.json").read_text())
        (sweep / job / "metrics.json").write_text(json.dumps({**metrics, "test/psnr": psnr}))

    def ranked(*args: str) -> tuple[list[str], str]:
        assert summarize_main([str(sweep), *args]) == 0
        text = capsys.readouterr().out
        return [line.split("|")[1].strip() for line in text.splitlines()[7:10]], text

    jobs, text = ranked("--objective", "test/psnr")
    assert jobs == ["1", "2", "0"] and "sorted by test/psnr (higher is better)" in text
    assert ranked("--objective", "test/psnr", "--direction", "minimize")[0] == ["0", "2", "1"]
    jobs, text = ranked()  # the objective a job returns: lower is better
    assert jobs == ["0", "1", "2"] and "sorted by val/best_objective (lower is better)" in text
    assert summarize_main([str(sweep), "--direction", "up"]) == 2
    assert "argument --direction: invalid choice: 'up'" in capsys.readouterr().err


def test_out_in_a_jobs_folder_or_among_the_sweeps_jobs_is_refused(tmp_path, capsys):
    """--out at a failed job (or inside it) wrote summary.csv and summary.md among its
    files, and --out at a job's place not yet made made that folder."""
    root = make_sweep(tmp_path / "sweep")
    (root / "multirun.yaml").write_text("{}\n")
    (root / "1" / "metrics.json").unlink()
    (root / "1" / "failed.json").write_text(json.dumps({"type": "ValueError", "error": "x"}))
    before = sorted(root.rglob("*"))
    refusals = [(root / "1", "is a run's folder, which only its own run writes"),
                (root / "1" / ".hydra", f"is inside the run folder {root / '1'}"),
                (root / "3", f"is inside the sweep {root}, where its jobs' folders go")]  # fmt: skip
    for out, why in refusals:
        assert summarize_main([str(root), "--out", str(out)]) == 2
        error = capsys.readouterr().err
        assert error.startswith(f"error: --out={out} {why}") and error.count("\n") == 1
        assert error.endswith("choose a folder outside it\n" if "run" in why else
                              "or choose a folder outside the sweep\n")  # fmt: skip
    assert sorted(root.rglob("*")) == before
    assert summarize_main([str(root / "1")]) == 0  # shown, not written
    assert capsys.readouterr().out.endswith(
        f"not written: {root / '1'} is a run's folder, which only its own run writes; to keep "
        "the summary, name a folder with --out DIR\n"
    )
    assert sorted(root.rglob("*")) == before


def test_out_is_checked_where_it_leads(tmp_path, capsys):
    """SWEEP/0/.. was taken for a folder inside job 0, SWEEP/1/../3 for one inside job 1,
    and a link to a job's folder wrote into that job."""
    root = make_sweep(tmp_path / "sweep")
    (tmp_path / "link").symlink_to(root / "1")
    for out, where in ((root / "1" / ".." / "3", root / "3"), (tmp_path / "link", root / "1")):
        assert summarize_main([str(root), "--out", str(out)]) == 2
        assert capsys.readouterr().err.startswith(f"error: --out={where} ")
    assert summarize_main([str(root), "--out", str(root / "0" / "..")]) == 0
    assert (root / "summary.csv").is_file() and not (root / "1" / "summary.csv").exists()
