"""`python -m aegan.evaluate` and the end-of-training evaluation write the documented keys."""

import json
import math
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shared_runs import CLASSIFIED, CLASSIFIED_SAMPLES

import aegan
from aegan.evaluate import evaluate_task, write_metrics
from aegan.evaluate_settings import log_dir_of
from aegan.io.readback import read_json
from aegan.train import train
from conftest import TINY_AE, assert_one_error_line, run_module

AE_KEYS = {"test/mse", "test/bce", "test/psnr", "test/ssim", "probe/accuracy", "pca/mse",
           "pca/probe_accuracy", "test/mse_over_pca"}  # fmt: skip


def test_evaluate_cli_on_a_tiny_autoencoder(cli, trained_ae_run):
    result = cli("aegan.evaluate", f"run={trained_ae_run}", "checkpoint=last", "device=cpu")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((trained_ae_run / "metrics.json").read_text())
    assert metrics.keys() >= AE_KEYS
    assert all(math.isfinite(metrics[k]) for k in AE_KEYS)
    assert 0.1 < metrics["probe/accuracy"] <= 1.0  # above chance (10 classes)
    assert 0 < metrics["test/ssim"] <= 1.0
    assert (trained_ae_run / "evaluate.log").is_file()
    assert not (trained_ae_run / ".hydra").exists()  # evaluation leaves the run's config alone


def test_evaluate_takes_a_checkpoint_file_and_leaves_a_mistyped_run_uncreated(
    cli, trained_ae_run, tmp_path
):
    """Hydra's log dir was ``run`` itself: a checkpoint file crashed its mkdir, and a
    mistyped run dir was created (with an evaluate.log) before the error named it."""
    checkpoint = trained_ae_run / "checkpoints" / "last.pt"
    result = cli("aegan.evaluate", f"run={checkpoint}", "device=cpu", "metrics=[reconstruction]")
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"wrote {trained_ae_run / 'metrics.json'}" in result.stdout
    mistyped = tmp_path / "no" / "such-run"
    result = cli("aegan.evaluate", f"run={mistyped}")
    assert result.returncode == 2
    assert f"no checkpoint at {mistyped}" in result.stdout + result.stderr
    assert not (tmp_path / "no").exists()
    not_a_run = tmp_path / "notes"  # a folder that exists but holds no run: left as it is
    not_a_run.mkdir()
    result = cli("aegan.evaluate", f"run={not_a_run}")
    assert result.returncode == 2
    assert list(not_a_run.iterdir()) == []


def test_evaluating_a_run_repeats_its_own_figures(cli, make_cfg):
    """``aegan.evaluate`` and ``load_run`` read the weights training ended with unless told
    otherwise: those its metrics.json describes, whichever epoch validated best."""
    cfg = make_cfg(
        *TINY_AE, "trainer.epochs=2", "evaluate.at_end=true", "evaluate.metrics=[reconstruction]"
    )
    trained = train(cfg)
    run_dir = Path(cfg.paths.output_dir)
    folder = run_dir / "checkpoints"
    first = sorted(folder.glob("step-*.pt"))[0]
    (folder / "best.pt").unlink()
    shutil.copy(first, folder / "best.pt")  # the best validation: the first epoch's
    assert aegan.load_run(run_dir).step == trained["train/steps"] > aegan.load_run(first).step
    result = cli("aegan.evaluate", f"run={run_dir}", "device=cpu", "metrics=[reconstruction]")
    assert result.returncode == 0, result.stderr[-3000:]
    again = read_json(run_dir / "metrics.json")
    for key in ("test/mse", "test/bce", "test/psnr", "test/ssim"):
        assert again[key] == pytest.approx(trained[key], rel=1e-6), key
    assert again["eval/step"] == trained["eval/step"] == trained["train/steps"]
    result = cli("aegan.evaluate", f"run={run_dir}", "checkpoint=best", "device=cpu",
                 "metrics=[reconstruction]")  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    # it measures these weights: no line telling it to measure them, as load_run tells a notebook
    assert "Run.metrics" not in result.stdout + result.stderr
    best = read_json(run_dir / "metrics.json")  # another epoch's figures, and it says so
    assert best["eval/step"] == aegan.load_run(first).step < best["train/steps"]
    # read back with the last weights, the best's figures were given as theirs
    assert "test/mse" not in aegan.load_run(run_dir).metrics
    assert aegan.load_run(run_dir, checkpoint="best").metrics["test/mse"] == best["test/mse"]


def test_training_ends_with_the_same_evaluation(make_cfg):
    cfg = make_cfg(*TINY_AE, "evaluate.at_end=true", "evaluate.metrics=[reconstruction,pca]")
    metrics = train(cfg)
    assert "probe/accuracy" not in metrics
    run = aegan.load_run(cfg.paths.output_dir, checkpoint="last")
    again = evaluate_task(run.task, run.data, cfg.evaluate)
    assert again.keys() == {"test/mse", "test/bce", "test/psnr", "test/ssim", "pca/mse",
                            "pca/probe_accuracy", "test/mse_over_pca"}  # fmt: skip
    for key, value in again.items():
        assert metrics[key] == pytest.approx(value, rel=1e-6), key
    assert metrics["test/mse"] > metrics["pca/mse"]  # one tiny epoch: not yet at PCA's level


GAN_KEYS = {"classifier/test_accuracy", "gen/fd", "gen/kid", "gen/precision", "gen/recall", "gen/density",
            "gen/coverage", "gen/class_entropy", "gen/classes_covered", "gen/class_kl", "floor/fd",
            "floor/kid", "floor/precision", "floor/recall", "floor/coverage"}  # fmt: skip


def test_evaluate_cli_on_a_tiny_gan(cli, make_cfg, tmp_path, classifier_cache, monkeypatch):
    """Its figures, from the classifier cached in ``cache_dir`` (``classifier_cache``): read
    from there, not trained again, and none trained into the default cache (``~/.cache/aegan``,
    ``AEGAN_CACHE_DIR``); its writing: ``test_classifier.py``."""
    from conftest import TINY_GAN

    cfg = make_cfg(*TINY_GAN, *CLASSIFIED, "model.fd_samples=200")
    train(cfg)
    cached = {path: path.stat().st_mtime_ns for path in classifier_cache.iterdir()}
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # where a default cache would go
    monkeypatch.delenv("AEGAN_CACHE_DIR", raising=False)
    result = cli("aegan.evaluate", f"run={cfg.paths.output_dir}", "checkpoint=last", "device=cpu",
                 "samples=500", f"cache_dir={classifier_cache}")  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics.keys() >= GAN_KEYS
    assert all(math.isfinite(metrics[k]) for k in GAN_KEYS)
    assert metrics["floor/fd"] < metrics["gen/fd"]  # one epoch of a tiny GAN is far from real data
    assert metrics["gen/samples"] == CLASSIFIED_SAMPLES  # a fifth of the 1000 training images
    assert 0.5 < metrics["classifier/test_accuracy"] <= 1  # a classifier, not chance
    assert {path: path.stat().st_mtime_ns for path in classifier_cache.iterdir()} == cached
    assert not list((tmp_path / "home").rglob("classifier-*.pt"))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["run=/nonexistent/run"], "no checkpoint at /nonexistent/run"),
        (["run=???"], "run is not set: add run=... to the command"),  # as if no run= given
        (["run=???", "hydra.run.dir=OUT"], "run is not set: add run=... to the command"),
        (["samples=-5"], "samples=-5 is not allowed: it must be an integer in [10, 10000000]"),
        (["metrics=[bogus]", "device=cpu"], "metrics: 'bogus' is not a metric; choose from"),
        (["metrics=[pca,pca]", "device=cpu"], "metrics: pca is named twice; name each metric once"),
        (["metrics=[fd]", "device=cpu"], "metrics: 'fd' needs a model that can sample"),
        (["metrics=probe", "device=cpu"], "metrics='probe' is not allowed: it must be a list"),
        (["metrics={probe:1}"], "metrics={probe:1} is not allowed: it must be a list of names"),
        (
            ["overrides=[data.batch_size=32]"],  # Hydra's grammar wants the item quoted
            """quote the items that hold '=': overrides='["data.batch_size=32"]'""",
        ),
        (
            ["run=STOPPED", "checkpoint=best"],
            "it holds last.pt, no best.pt: no epoch had ended when it stopped, or it was",
        ),
    ],
)
def test_evaluate_cli_errors_are_one_line(cli, trained_ae_run, tmp_path, overrides, message):
    stopped = tmp_path / "stopped"  # a run stopped before its first epoch ended: last.pt only
    (stopped / "checkpoints").mkdir(parents=True)
    shutil.copy(trained_ae_run / "checkpoints" / "last.pt", stopped / "checkpoints" / "last.pt")
    args = [a.replace("STOPPED", str(stopped)).replace("OUT", str(tmp_path / "out"))
            for a in [f"run={trained_ae_run}", *overrides]]  # fmt: skip
    result = cli("aegan.evaluate", *args)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-2000:]
    lines = [line for line in output.splitlines() if line.strip() and "][INFO]" not in line]
    assert len(lines) == 1 and message in lines[0], output[-2000:]  # the one line, nothing else


def test_a_user_mistake_is_one_line_on_stderr_and_not_in_the_runs_log(trained_ae_run):
    """It was logged, so Hydra's console handler wrote ``[date][aegan.evaluate][ERROR] - ...``
    to stdout while Hydra's own mistakes are ``error: ...`` on stderr; and into the run's
    evaluate.log, for an evaluation that never ran. In a process of its own, as a user
    runs it."""
    log = trained_ae_run / "evaluate.log"
    before = log.read_bytes() if log.exists() else None
    result = run_module("aegan.evaluate", f"run={trained_ae_run}", "samples=5")
    message = "samples=5 is not allowed: it must be an integer in [10, 10000000]"
    assert_one_error_line(result, message)
    assert (log.read_bytes() if log.exists() else None) == before  # refused before it opened


DEEP = "/" + "/".join(["c" * 200] * 20) + "/" + "d" * 69  # 4090: its checkpoints/ path is not


@pytest.mark.parametrize(
    ("run", "message"),
    [
        ("5", "run=5 is not allowed"),
        ("null", "run=null is not allowed: it must be a run dir or checkpoint file"),
        ("[1,2]", "run=[1,2] is not allowed"),
        ("", "run='' is not allowed"),
        ("${oc.env:AEGAN_TEST_UNSET}", "run='${oc.env:AEGAN_TEST_UNSET}' cannot be resolved"),
        ("/tmp/t${x}", "run='/tmp/t${x}' cannot be resolved: Interpolation key 'x' not found"),
        ("${nosuchresolver:1}", "run='${nosuchresolver:1}' cannot be resolved"),
        ("${a b}", "run='${a b}' cannot be read"),
        ("/tmp/" + "a" * 5000, "(5006 characters) it cannot be looked up (File name too long)"),
        ("/a" * 2500, "(5001 characters) it cannot be looked up (File name too long)"),
        (DEEP, "(4091 characters) it cannot be looked up (File name too long)"),
    ],
)
def test_any_run_value_is_one_line(cli, run, message):
    """``hydra.run.dir`` is resolved from ``run`` before the settings are checked: a run that
    was not a usable path, or an interpolation, ended in a 100-line traceback."""
    assert_one_error_line(cli("aegan.evaluate", f"run={run}"), message)


@given(st.one_of(st.text(), st.integers(), st.none(), st.lists(st.integers()), st.floats()))
@settings(max_examples=200, deadline=None)
def test_the_log_dir_of_any_run_value_is_a_folder(run):
    assert isinstance(log_dir_of(run), str)


def test_a_damaged_metrics_json_is_kept_aside(make_cfg, tmp_path):
    """It was overwritten by the new metrics, and what it held was lost."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for damage in ('{"mine": 3', "\xff not text"):
        (run_dir / "metrics.json").write_text(damage, encoding="latin-1")
        merged = write_metrics(run_dir, make_cfg(*TINY_AE), {"test/mse": 0.5}, step=3)
        assert merged == {"test/mse": 0.5} == read_json(run_dir / "metrics.json")
    assert (run_dir / "metrics.json.damaged").read_text() == '{"mine": 3'
    assert (run_dir / "metrics.json.damaged-1").read_bytes() == b"\xff not text"


@pytest.mark.parametrize("blocked", ["metrics.json", "tb"])
def test_a_path_in_the_way_of_the_results_is_named_before_the_evaluation(
    cli, trained_ae_run, tmp_path, blocked
):
    """A folder named metrics.json or a file named tb failed the writing, after the whole
    evaluation, with a traceback."""
    run = tmp_path / "run"
    shutil.copytree(trained_ae_run, run)
    shutil.rmtree(run / blocked, ignore_errors=True)
    (run / blocked).unlink(missing_ok=True)
    (run / "metrics.json").mkdir() if blocked == "metrics.json" else (run / "tb").write_text("")
    result = cli("aegan.evaluate", f"run={run}", "device=cpu", "metrics=[reconstruction]")
    found, wanted = (
        ("a folder", "a file") if blocked == "metrics.json" else ("not a folder", "a folder")
    )
    assert_one_error_line(result, f"{run / blocked} is {found}, where a run keeps {wanted}")
    assert "test/mse" not in result.stdout  # refused before any metric was computed


def test_a_folder_named_metrics_json_is_set_aside_and_the_results_written(make_cfg, tmp_path):
    """The results were lost in an error; the folder is the user's, kept under another name."""
    (tmp_path / "metrics.json").mkdir()
    (tmp_path / "metrics.json" / "mine.txt").write_text("kept")
    write_metrics(tmp_path, make_cfg(*TINY_AE), {"test/mse": 0.5}, step=3)
    assert (tmp_path / "metrics.json.damaged" / "mine.txt").read_text() == "kept"
    assert json.loads((tmp_path / "metrics.json").read_text())["test/mse"] == 0.5


@pytest.mark.parametrize(
    ("override", "message"),
    [("trainer.epochs=0", "so trainer.epochs would change nothing"),
     ("seed=3", "so seed would change nothing"),
     ("evaluate.samples=5", "so evaluate.samples would change nothing; set samples=... at the top level")],
)  # fmt: skip
def test_an_override_evaluation_never_reads_is_refused(cli, trained_ae_run, override, message):
    result = cli("aegan.evaluate", f"run={trained_ae_run}", f"overrides=['{override}']")
    assert_one_error_line(
        result, f"overrides: '{override}' is not allowed: an evaluation reads only"
    )
    assert message in result.stderr


@pytest.mark.parametrize("metric", ["fd", "elbo", "iwae"])
def test_a_metric_the_model_cannot_feed_is_refused_before_the_data_is_read(
    cli, trained_ae_run, monkeypatch, metric
):
    """The model is known from the checkpoint: reading the data first took seconds (minutes
    for a large image folder) before the line."""

    def read(*args, **kwargs):
        raise AssertionError("the data was read")

    monkeypatch.setattr("aegan.runs.data.load_data", read)
    result = cli("aegan.evaluate", f"run={trained_ae_run}", f"metrics=[{metric}]", "device=cpu")
    assert result.returncode == 2 and f"metrics: '{metric}' needs a model that can" in result.stderr
