"""``aegan.evaluate`` measures a VAE's IWAE bound as the run's own evaluation did (its k and
test images) unless told otherwise, and a bound that takes long says so early, with what
sets its time."""

from __future__ import annotations

import json
import logging
import tempfile

import pytest
from omegaconf import OmegaConf

import aegan
import aegan.metrics.progress
from aegan.errors import CheckpointError, ConfigError
from aegan.evaluate_settings import with_run_iwae
from aegan.metrics.progress import Progress
from aegan.metrics.scope import Settings
from aegan.notebook import own_bound
from conftest import TINY_AE, assert_one_error_line, compose_config


@pytest.fixture(scope="module")
def small_bound_run(tmp_path_factory, fashion):
    """A tiny VAE run whose own evaluation bounds with k=3 on 20 test images (as the conv VAE
    recipe keeps to k=100 on 1,000)."""
    from aegan.train import train

    run_dir = tmp_path_factory.mktemp("vae") / "run"
    overrides = [*TINY_AE, "model=vae", "data.subset=256", "logger.enabled=false",
                 "evaluate.iwae_samples=3", "evaluate.iwae_images=20"]  # fmt: skip
    train(compose_config(overrides, run_dir))
    return run_dir


def test_the_bound_is_the_runs_own_by_default(cli, small_bound_run):
    """k=1000 on all 10,000 test images whatever the run's recipe: a conv VAE's evaluation,
    three minutes in training, took hours on a CPU, without a word until a tenth was done."""
    result = cli("aegan.evaluate", f"run={small_bound_run}", "metrics=[iwae]", "device=cpu")
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((small_bound_run / "metrics.json").read_text())
    assert (metrics["test/iwae_k"], metrics["test/iwae_images"]) == (3, 20)
    assert "iwae: k=3 on 20 test images, as the run's own evaluation" in result.stdout


def test_a_bound_asked_for_is_measured_as_asked(cli, small_bound_run):
    result = cli("aegan.evaluate", f"run={small_bound_run}", "metrics=[iwae]", "device=cpu",
                 "iwae_samples=2", "iwae_images=10")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((small_bound_run / "metrics.json").read_text())
    assert (metrics["test/iwae_k"], metrics["test/iwae_images"]) == (2, 10)
    assert "as the run's own evaluation" not in result.stdout


@pytest.mark.parametrize("value", [-1, "many", 10**9, True])
def test_a_records_setting_that_cannot_be_used_names_the_file(value):
    cfg = OmegaConf.create({"iwae_samples": None, "iwae_images": None})
    record = OmegaConf.create({"evaluate": {"iwae_samples": value}})
    with pytest.raises(CheckpointError, match=r"^RUN/last.pt: its record's evaluate settings"):
        with_run_iwae(cfg, record, "RUN/last.pt")


def test_a_long_bound_says_its_pace_before_its_first_tenth(monkeypatch, caplog):
    """At k=1000 on 10,000 images a tenth is half an hour: the first line came then."""
    monkeypatch.setattr(aegan.metrics.progress, "QUIET_FOR", 0.0)
    progress = Progress("iwae (k=1000)", 10000, "test images", "k (iwae_samples) times ...")
    with caplog.at_level(logging.INFO, logger="aegan.evaluate"):
        progress.done(10)
        progress.done(10)  # no new tenth: quiet
        progress.done(980)
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0].startswith("iwae (k=1000): 10/10000 test images (0%) in ")
    assert lines[0].endswith(" s to go (k (iwae_samples) times ...)")
    assert lines[1].startswith("iwae (k=1000): 1000/10000 test images (10%)")
    assert lines[1].endswith(" s to go")


def test_the_vae_notebook_bounds_a_run_with_its_own_k(small_bound_run):
    """It bounded any run at k=1000 on 1,000 images: an hour for a conv VAE run on a CPU."""
    run = aegan.load_run(small_bound_run, device="cpu")
    assert own_bound(run, 1000) == Settings(iwae_samples=3, iwae_images=20)
    assert own_bound(run, 10) == Settings(iwae_samples=3, iwae_images=10)


@pytest.mark.parametrize("most", [0, -5, 2.5, "1000"])
def test_the_notebooks_image_count_is_checked(small_bound_run, most):
    run = aegan.load_run(small_bound_run, device="cpu")
    with pytest.raises(ConfigError, match=f"^most_images={most!r} is not allowed"):
        own_bound(run, most)


def test_a_records_image_count_beyond_the_test_split_is_all_of_it(cli, tmp_path, fashion):
    """A run that skipped its own evaluation can record evaluate.iwae_images=20000: refused
    here, with iwae_images=null (the run's own) as the way out, which was refused again."""
    from aegan.train import train

    overrides = [*TINY_AE, "model=vae", "data.subset=256", "logger.enabled=false",
                 "evaluate.iwae_samples=2", "evaluate.iwae_images=20000"]  # fmt: skip
    train(compose_config(overrides, tmp_path / "run"))
    result = cli("aegan.evaluate", f"run={tmp_path / 'run'}", "metrics=[iwae]", "device=cpu")
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert (metrics["test/iwae_k"], metrics["test/iwae_images"]) == (2, 10000)


def test_a_bound_the_data_cannot_give_in_a_later_job_starts_no_job(
    cli, small_bound_run, tmp_path, monkeypatch
):
    """Refused once the job had read its data: after job 0 had written its figures."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    figures = (small_bound_run / "metrics.json").read_bytes()
    result = cli("aegan.evaluate", "-m", f"run={small_bound_run}", "metrics=[iwae]",
                 "device=cpu", "iwae_images=20,20000")  # fmt: skip
    assert_one_error_line(
        result,
        "error: job 1 of 2 (iwae_images=20000): iwae_images=20000 is more than the 10000 test "
        "images: use at most 10000; no job was started",
    )
    assert (small_bound_run / "metrics.json").read_bytes() == figures
