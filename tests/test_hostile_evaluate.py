"""``python -m aegan.evaluate`` on settings beyond what it can use, paths relative to the user,
model overrides and a run folder holding another model's checkpoint: each said, recorded
with the figures or refused in one line, never silently."""

from __future__ import annotations

import json
import logging
import os
import shutil

import pytest
from omegaconf import OmegaConf

import aegan
import aegan.evaluate
from aegan.errors import CheckpointError
from conftest import REPO, TINY_AE, assert_one_error_line, built, synthetic_data


def evaluate_cfg(**settings):
    """``aegan.evaluate``'s settings as the task's evaluation reads them."""
    defaults = {"metrics": None, "samples": 10000, "cache_dir": "unused", "iwae_samples": 2,
                "iwae_images": None, "inception_weights": None}  # fmt: skip
    return OmegaConf.create({**defaults, **settings})


@pytest.fixture
def vae(tmp_path):
    """A VAE task and 256 training, 64 test synthetic images: a fifth held out is 51."""
    _, task, _, _ = built(["model=vae", "model.latent_dim=4", "model.hidden_dims=[16]"], tmp_path)
    task.train(False)
    return task, synthetic_data(256)


def test_samples_beyond_the_data_are_said_and_the_number_used_is_recorded(vae, monkeypatch, caplog):
    """samples=100000 was capped to 51 without a word, and only fd recorded its count."""
    task, data = vae
    monkeypatch.setattr(aegan.evaluate, "evaluate_metrics", lambda *args, **kwargs: {})
    with caplog.at_level(logging.WARNING, logger="aegan.evaluate"):
        out = aegan.evaluate.evaluate_task(
            task, data, evaluate_cfg(metrics=["kid"], samples=100000)
        )
    assert out == {"eval/samples": 51.0}
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith(
        "evaluate.samples=100000 is more than the data allows: the sample metrics use 51"
    )


def test_iwae_images_beyond_the_test_split_are_said_and_recorded(vae, caplog):
    task, data = vae
    with caplog.at_level(logging.WARNING, logger="aegan.evaluate"):
        out = aegan.evaluate.evaluate_task(task, data, evaluate_cfg(metrics=["iwae"],
                                                                    iwae_images=1000))  # fmt: skip
    assert out["eval/iwae_images"] == 64 and "test/iwae_nll" in out
    (line,) = [r.getMessage() for r in caplog.records]
    assert (
        line == "evaluate.iwae_images=1000 is more than the 64 test images: the IWAE bound uses 64"
    )


@pytest.fixture
def run_copy(trained_ae_run, tmp_path):
    """A copy of the shared tiny autoencoder run, to change."""
    return shutil.copytree(trained_ae_run, tmp_path / "my run")


def test_a_relative_run_is_the_users_with_hydra_job_chdir(cli, run_copy):
    """Hydra moved into the run dir first: run=RELATIVE named RUN/RELATIVE, no checkpoint."""
    relative = os.path.relpath(run_copy, REPO)  # cli runs in the repository's root
    result = cli("aegan.evaluate", f"run={relative}", "hydra.job.chdir=true", "device=cpu",
                 "metrics=[reconstruction]")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert os.getcwd() == str(REPO)
    assert json.loads((run_copy / "metrics.json").read_text())["eval/step"] > 0


def test_model_overrides_are_recorded_with_the_figures_and_replace_the_earlier_ones(cli, run_copy):
    """The overrides were in evaluate.log only: the figures beside them in metrics.json
    would pass for the run's own."""
    first = cli("aegan.evaluate", f"run={run_copy}", "device=cpu", "metrics=[reconstruction]")
    assert first.returncode == 0, first.stderr[-2000:]
    assert json.loads((run_copy / "metrics.json").read_text())["eval/overrides"] == ""
    again = cli("aegan.evaluate", f"run={run_copy}", "device=cpu", "metrics=[pca]",
                "overrides=['data.batch_size=100']")  # fmt: skip
    assert again.returncode == 0, again.stderr[-2000:]
    metrics = json.loads((run_copy / "metrics.json").read_text())
    assert metrics["eval/overrides"] == "data.batch_size=100" and "pca/mse" in metrics
    assert "test/mse" not in metrics and "val/mse" in metrics  # not of these settings: kept aside
    earlier = json.loads((run_copy / "metrics.json.earlier").read_text())
    assert "test/mse" in earlier and earlier["eval/overrides"] == ""


def test_a_metrics_file_linked_from_elsewhere_is_not_merged_as_the_runs(cli, run_copy, tmp_path):
    """A metrics.json that linked to another file had that file's figures merged into the
    run's new metrics.json as its own."""
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text('{"test/mse": 5, "foreign/figure": 1}')
    (run_copy / "metrics.json").unlink()
    (run_copy / "metrics.json").symlink_to(elsewhere)
    result = cli("aegan.evaluate", f"run={run_copy}", "device=cpu", "metrics=[pca]")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "is a link to" in result.stdout and "not the run's own file" in result.stdout
    metrics = json.loads((run_copy / "metrics.json").read_text())
    assert "foreign/figure" not in metrics and "pca/mse" in metrics
    assert (
        not (run_copy / "metrics.json").is_symlink()
        and (run_copy / "metrics.json.link").is_symlink()
    )
    assert elsewhere.read_text() == '{"test/mse": 5, "foreign/figure": 1}'  # left as it was


@pytest.fixture
def foreign_checkpoint(run_copy):
    """The autoencoder's checkpoint in the folder of a run whose record says VAE: what a
    copied file from another run looks like."""
    (run_copy / ".hydra").mkdir(exist_ok=True)
    (run_copy / ".hydra" / "config.yaml").write_text("model:\n  name: vae\n  latent_dim: 32\n")
    return run_copy


def test_another_models_checkpoint_in_a_run_is_one_line_for_evaluate(cli, foreign_checkpoint):
    """It was evaluated as the run: another model's figures in its metrics.json."""
    before = (foreign_checkpoint / "metrics.json").read_bytes()
    result = cli("aegan.evaluate", f"run={foreign_checkpoint}", "device=cpu")
    assert_one_error_line(
        result, f"{foreign_checkpoint}/checkpoints/last.pt: a checkpoint of model=autoencoder, "
        f"in the folder of a run of model=vae ({foreign_checkpoint}/.hydra/config.yaml)"
    )  # fmt: skip
    assert (foreign_checkpoint / "metrics.json").read_bytes() == before


def test_another_models_checkpoint_in_a_run_is_refused_by_load_run(foreign_checkpoint):
    with pytest.raises(CheckpointError, match="a checkpoint of model=autoencoder, in the folder"):
        aegan.load_run(foreign_checkpoint)  # was the autoencoder, as if the run were one


def test_another_models_checkpoint_in_a_run_is_one_line_for_resume(
    cli, foreign_checkpoint, tmp_path
):
    """It said the checkpoint was not of model=vae, and to resume it with its own model."""
    result = cli("aegan.train", *TINY_AE, "model=vae", f"trainer.resume={foreign_checkpoint}",
                 f"hydra.run.dir={tmp_path / 'resumed'}", "logger=none")  # fmt: skip
    assert_one_error_line(result, "a checkpoint of model=autoencoder, in the folder of a run of "
                          "model=vae")  # fmt: skip


@pytest.mark.parametrize("where", ["beside", "branch"])
def test_a_checkpoint_that_is_not_its_folders_run_is_not_evaluated_as_it(cli, run_copy, where):
    """A file beside a run's checkpoints/ (the run's own model or another's) or in a branch
    kept in checkpoints/past-step-N/ was evaluated as the run, or as a run of its own inside
    checkpoints/: its figures merged into the run's metrics.json (other weights under one
    eval/step), or a metrics.json, tb/ and log made inside the run's checkpoints."""
    last = run_copy / "checkpoints" / "last.pt"
    stray = run_copy / "copy.pt" if where == "beside" else last.parent / "past-step-3" / "last.pt"
    stray.parent.mkdir(exist_ok=True)
    shutil.copy(last, stray)
    before = sorted(p.relative_to(run_copy) for p in run_copy.rglob("*"))
    result = cli("aegan.evaluate", f"run={stray}", "device=cpu", "metrics=[reconstruction]")
    said = (f"lies beside the run {run_copy}, not in its checkpoints folder" if where == "beside"
            else f"is of a branch kept in {stray.parent} when the run {run_copy} resumed")  # fmt: skip
    assert_one_error_line(result, f"run={stray}: {stray} {said}")
    assert sorted(p.relative_to(run_copy) for p in run_copy.rglob("*")) == before
    assert not aegan.load_run(stray).metrics  # the folder's figures are not of these weights


@pytest.mark.parametrize("name", ["metrics.json", "train.log", ".hydra/config.yaml"])
def test_a_runs_other_file_named_as_the_run_is_no_checkpoint(cli, run_copy, name):
    """It was taken for a checkpoint lying beside the run or inside it, to be copied into a
    folder of its own "to evaluate it there"."""
    path = run_copy / name
    path.parent.mkdir(exist_ok=True)
    if not path.exists():
        path.write_text("text\n")
    before = sorted(p.relative_to(run_copy) for p in run_copy.rglob("*"))
    result = cli("aegan.evaluate", f"run={path}", "device=cpu", "metrics=[reconstruction]")
    assert_one_error_line(result, f"{path}: not a readable checkpoint (not a file torch.save")
    assert sorted(p.relative_to(run_copy) for p in run_copy.rglob("*")) == before


def test_the_evaluations_own_seed_draws_other_noise_and_is_recorded(vae):
    """Every draw of an evaluation (the ELBO's z here) came from seed 0: nothing measured
    how much a figure moves with it, and seed=1 was refused with contradictory lines."""
    task, data = vae
    first = aegan.evaluate.evaluate_task(task, data, evaluate_cfg(metrics=["elbo"]))
    again = aegan.evaluate.evaluate_task(task, data, evaluate_cfg(metrics=["elbo"]))
    other = aegan.evaluate.evaluate_task(task, data, evaluate_cfg(metrics=["elbo"], seed=1))
    assert first == again and "eval/seed" not in first  # seed 0, as every earlier run
    assert other["eval/seed"] == 1.0 and other["test/neg_elbo"] != first["test/neg_elbo"]


def test_figures_of_another_evaluation_seed_replace_the_earlier_ones(cli, run_copy):
    from aegan.io.readback import read_json

    before = read_json(run_copy / "metrics.json")
    result = cli("aegan.evaluate", f"run={run_copy}", "device=cpu", "metrics=[pca]", "seed=3")
    assert result.returncode == 0, result.stderr[-2000:]
    after = read_json(run_copy / "metrics.json")
    assert after["eval/seed"] == 3.0 and "test/mse" not in after  # not of this measurement
    assert read_json(run_copy / "metrics.json.earlier") == before


@pytest.mark.parametrize(
    ("given", "message"),
    [(["seed=-1"], "seed=-1 is not allowed"),
     (['overrides=["seed=1"]'], "so seed would change nothing; the evaluation's own random "
                              "numbers: seed=... at the top level")],
)  # fmt: skip
def test_a_seed_the_evaluation_cannot_use_is_one_line(cli, run_copy, given, message):
    result = cli("aegan.evaluate", f"run={run_copy}", "device=cpu", *given)
    assert_one_error_line(result, message)


def test_an_evaluation_of_other_weights_is_named_in_a_short_line(run_copy, caplog):
    """An ``eval/step`` of 1e300 (a damaged or hand-edited file) was written out in 301
    digits; the evaluation's figures are still left out of ``Run.metrics``."""
    path = run_copy / "metrics.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "eval/step": 1e300}))
    with caplog.at_level(logging.WARNING):
        run = aegan.load_run(run_copy, device="cpu")
    assert "measured the weights of step 1e+300, not these of step" in caplog.text
    assert "test/mse" not in run.metrics and "val/mse" in run.metrics


def test_an_evaluation_logs_the_codes_of_the_weights_it_measured(cli, run_copy):
    """A stop in training's final evaluation ends the run before its projector codes; the
    evaluation that completes it left the projector empty."""
    tb = run_copy / "tb"
    (tb / "projector_config.pbtxt").unlink()
    for folder in [p for p in tb.iterdir() if p.is_dir() and p.name.isdigit()]:
        shutil.rmtree(folder)
    result = cli("aegan.evaluate", f"run={run_copy}", "device=cpu", "metrics=[reconstruction]")
    assert result.returncode == 0, result.stderr[-2000:]
    step = json.loads((run_copy / "metrics.json").read_text())["eval/step"]
    assert (tb / f"{int(step):05d}" / "test_codes" / "tensors.tsv").is_file()
    assert f"{int(step):05d}/test_codes" in (tb / "projector_config.pbtxt").read_text()
