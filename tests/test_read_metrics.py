"""A run's metrics.json read back: a value that is no figure (text, a list, an unflagged
null) is left out with one warning line naming the file and the key, by ``load_run`` and by
``aegan.evaluate`` alike; nothing crashes on it and nothing is lost."""

from __future__ import annotations

import errno
import json
import logging
import math
import os
import shutil
import stat

import pytest

from aegan import load_run
from aegan.engine.run_metrics import merge_metrics
from aegan.io.readback import MAX_JSON_KEYS, read_json

NOT_FIGURES = {"test/mse": "abc", "val/best_objective": [1, 2], "test/psnr": None,
               "test/ssim": True, "eval/step": "x", "eval/overrides": ["model.beta=2"]}  # fmt: skip


@pytest.fixture
def run(trained_ae_run, tmp_path):
    return shutil.copytree(trained_ae_run, tmp_path / "run")


def test_load_run_leaves_out_what_is_no_figure(run, caplog):
    figures = {"val/mse": 0.5, "train/steps": 3, "test/bce": math.nan}
    text = json.dumps({**NOT_FIGURES, **figures, "eval/overrides": ""}, allow_nan=True)
    (run / "metrics.json").write_text(text)
    with caplog.at_level(logging.WARNING, logger="aegan"):
        metrics = load_run(run).metrics
    assert metrics.keys() == {*figures, "eval/overrides"} and metrics["eval/overrides"] == ""
    assert all(type(metrics[key]) is float for key in figures)  # noqa: E721
    said = [r.getMessage() for r in caplog.records if "is no figure" in r.getMessage()]
    assert len(said) == len(NOT_FIGURES) - 1  # eval/overrides is text: kept as it is
    assert all(line.startswith(str(run / "metrics.json")) for line in said)
    assert any(line.endswith("test/ssim=true is no figure: left out of Run.metrics")
               for line in said), said  # as the file says it, not Python's True  # fmt: skip
    assert (run / "metrics.json").read_text() == text  # read, not written


def test_a_metrics_file_linked_from_another_run_is_not_this_runs(run, tmp_path, caplog):
    """load_run and summarize read another run's figures through the link as this run's;
    training and aegan.evaluate keep such a link aside as not the run's own."""
    from aegan.summarize import main

    other = tmp_path / "other.json"
    other.write_text(json.dumps({"val/best_objective": 0.01, "test/mse": 0.01}))
    (run / "metrics.json").unlink()
    (run / "metrics.json").symlink_to(other)
    with caplog.at_level(logging.WARNING, logger="aegan"):
        assert load_run(run).metrics == {}
    said = f"{run / 'metrics.json'} is a link to {other}, not the run's own file"
    assert any(said in r.getMessage() for r in caplog.records)
    sweep = tmp_path / "sweep"
    shutil.copytree(run, sweep / "0", symlinks=True)  # the link as a link
    (sweep / "0" / ".hydra").mkdir(exist_ok=True)
    (sweep / "0" / ".hydra" / "overrides.yaml").write_text("- seed=0\n")
    assert main([str(sweep), "--out", str(tmp_path / "table")]) == 0
    rows = (tmp_path / "table" / "summary.csv").read_text()
    assert "broken" in rows.lower() and "is a link to" in rows, rows


def test_evaluate_leaves_out_what_is_no_figure_and_keeps_the_file(run, cli):
    text = json.dumps({**NOT_FIGURES, "val/mse": 0.5})
    (run / "metrics.json").write_text(text)
    result = cli("aegan.evaluate", f"run={run}", "metrics=[reconstruction]")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-2000:]
    assert "weights of step x" not in output
    kept = [line for line in output.splitlines() if ": left out; the file is kept as" in line]
    assert len(kept) == 1 and all(key in kept[0] for key in NOT_FIGURES)
    merged = json.loads((run / "metrics.json").read_text())
    assert merged["val/mse"] == 0.5 and isinstance(merged["test/mse"], float)
    assert all(isinstance(v, float) for k, v in merged.items() if k != "eval/overrides")
    assert (run / "metrics.json.damaged").read_text() == text  # the file as it was


def test_evaluate_sets_aside_a_metrics_json_that_is_no_regular_file(run, cli):
    """A FIFO there was replaced by the new file without a word."""
    (run / "metrics.json").unlink()
    os.mkfifo(run / "metrics.json")
    result = cli("aegan.evaluate", f"run={run}", "metrics=[reconstruction]")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-2000:]
    assert "metrics.json is a FIFO, not a regular file; kept as" in output
    assert stat.S_ISFIFO(os.lstat(run / "metrics.json.damaged").st_mode)
    assert isinstance(json.loads((run / "metrics.json").read_text())["test/mse"], float)


def test_text_read_back_with_a_line_break_is_named_on_one_line(run, tmp_path, caplog):
    """A key, an eval/overrides or a link's target holding a line break split the warning
    (or the note of the figures kept aside) in two, its second line reading as another."""
    odd = "test/mse\nerror: forged"
    (run / "metrics.json").write_text(json.dumps({odd: "abc", "val/mse": 0.5}))
    with caplog.at_level(logging.WARNING, logger="aegan"):
        load_run(run)
    earlier = {"eval/overrides": "model.beta=2\nerror: forged", "eval/step": 1.0}
    (run / "metrics.json").write_text(json.dumps(earlier))
    with caplog.at_level(logging.INFO, logger="aegan"):
        merge_metrics(run, {"eval/step": 1.0, "eval/overrides": ""}, logging.getLogger("aegan"))
    (run / "metrics.json").unlink(missing_ok=True)  # kept aside as metrics.json.earlier
    (run / "metrics.json").symlink_to(tmp_path / "other\nerror: forged.json")
    with caplog.at_level(logging.WARNING, logger="aegan"):
        load_run(run)
    said = [r.getMessage() for r in caplog.records if "forged" in r.getMessage()]
    assert len(said) == 3 and not any("\n" in line for line in said), said
    assert 'test/mse\\nerror: forged="abc" is no figure' in said[0]


def test_a_number_under_a_key_holding_a_line_break_is_no_figure(run, cli, caplog):
    """It was kept in Run.metrics and written back by aegan.evaluate: no name aegan writes,
    it would split every line that names it."""
    odd = "test/mse\nerror: forged"
    text = json.dumps({odd: 0.5, "val/mse": 0.5})
    (run / "metrics.json").write_text(text)
    with caplog.at_level(logging.WARNING, logger="aegan"):
        assert load_run(run).metrics == {"val/mse": 0.5}
    said = [r.getMessage() for r in caplog.records if "forged" in r.getMessage()]
    assert said == [f"{run / 'metrics.json'}: test/mse\\nerror: forged=0.5 is no figure: "
                    "left out of Run.metrics"]  # fmt: skip
    result = cli("aegan.evaluate", f"run={run}", "metrics=[reconstruction]")
    assert result.returncode == 0, (result.stdout + result.stderr)[-2000:]
    assert odd not in json.loads((run / "metrics.json").read_text())
    assert (run / "metrics.json.damaged").read_text() == text  # the file as it was


def test_a_metrics_file_of_more_figures_than_a_run_writes_is_refused_whole(
    run, caplog, tmp_path, cli
):
    """200,000 figures in one job's 3.5 MB file made a summary of 200,000 columns; five such
    jobs, 94 MB of table and 1.3 GB of memory."""
    count = MAX_JSON_KEYS + 1
    (run / "metrics.json").write_text(json.dumps({f"test/m{i}": 0.5 for i in range(count)}))
    with pytest.raises(ValueError, match=f"an object of {count} keys, over {MAX_JSON_KEYS}"):
        read_json(run / "metrics.json")
    with caplog.at_level(logging.WARNING, logger="aegan"):
        assert load_run(run).metrics == {}
    assert f"an object of {count} keys" in caplog.text and "Run.metrics is empty" in caplog.text
    job = tmp_path / "sweep" / "0"
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("- seed=0\n")
    shutil.copy(run / "metrics.json", job / "metrics.json")
    result = cli("aegan.summarize", str(tmp_path / "sweep"))
    assert "BROKEN" in result.stdout and f"an object of {count} keys" in result.stdout
    assert len(result.stdout) < 5000


@pytest.mark.parametrize(
    "new",
    [{"test/mse": 0.25}, {"train/steps": 20.0}, {"eval/step": 2.0, "test/mse": 0.25}],
    ids=["figure-changed", "training-moved-on", "other-weights"],
)
def test_the_earlier_metrics_stay_under_their_name_until_the_new_are_written(tmp_path, new):
    """The earlier file was renamed to metrics.json.earlier before the new one was written:
    a stop or a kill between the two left the run without a metrics.json."""
    earlier = {"test/mse": 0.5, "train/steps": 10.0, "eval/step": 1.0}
    (tmp_path / "metrics.json").write_text(json.dumps(earlier))
    merge_metrics(tmp_path, new, logging.getLogger("aegan"))
    assert json.loads((tmp_path / "metrics.json").read_text()) == earlier  # not yet replaced
    assert json.loads((tmp_path / "metrics.json.earlier").read_text()) == earlier


def test_a_file_system_without_hard_links_gets_a_copy_aside(tmp_path, monkeypatch):
    def no_links(*args, **kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)  # as on a file system without hard links
    (tmp_path / "metrics.json").write_text('{"test/mse": 0.5}')
    merge_metrics(tmp_path, {"test/mse": 0.25}, logging.getLogger("aegan"))
    assert json.loads((tmp_path / "metrics.json.earlier").read_text()) == {"test/mse": 0.5}
    assert (tmp_path / "metrics.json").exists()
