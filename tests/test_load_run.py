"""``aegan.load_run`` gives back a trained run in one call, as it trained."""

import logging
import os
import shutil
import sys
from pathlib import Path

import pytest
import torch

import aegan
from aegan.engine import load_checkpoint
from aegan.errors import CheckpointError, ConfigError, DataNotFoundError
from aegan.train import train
from conftest import TINY_AE

SMALL_VAE_GAN = ["model=vae_gan", "model.decoder.channels=[64,32,32]",
                 "model.encoder.channels=[32,64]", "model.discriminator.channels=[32,64]"]  # fmt: skip


def test_load_run_autoencoder(trained_ae_run):
    run = aegan.load_run(trained_ae_run, checkpoint="last")
    assert run.config.model.name == run.task.name == "autoencoder"
    assert run.metrics["test/mse"] == pytest.approx(run.metrics["val/mse"], rel=0.05)
    assert run.epoch == 1 and run.step == len(run.data.train_images) // run.config.data.batch_size
    images = run.data.test_images[:8]  # uint8 (8, 1, 28, 28)
    codes = run.encode(images)
    assert codes.shape == (8, 32)
    recon = run.reconstruct(images)
    assert recon.shape == (8, 1, 28, 28) and recon.min() >= 0 and recon.max() <= 1
    # the loaded weights are the trained ones: the reconstruction error matches the run's own figure
    x = run.data.test_images.float() / 255
    mse = ((run.reconstruct(run.data.test_images) - x) ** 2).mean().item()
    assert mse == pytest.approx(run.metrics["test/mse"], rel=1e-4)
    path = run.interpolate(run.data.test_images[0], run.data.test_images[1], steps=5)
    assert path.shape == (5, 1, 28, 28)
    assert torch.allclose(path[0], recon[0], atol=1e-5)
    assert len(run.history) == 1
    with pytest.raises(AttributeError, match="its model, autoencoder, cannot sample"):
        run.sample(4)


def test_a_loaded_runs_history_is_read_with_its_weights_once(trained_ae_run, tmp_path, monkeypatch):
    """Run.history read the whole checkpoint a second time, from whatever file was there by
    then (a run still training saves last.pt anew): now it is the loaded file's, read once."""
    import aegan.engine.checkpoint as checkpoint

    expected = load_checkpoint(trained_ae_run / "checkpoints" / "last.pt")["history"]
    run_dir = tmp_path / "run"
    shutil.copytree(trained_ae_run, run_dir)
    reads, read = [], checkpoint.load_torch_file
    monkeypatch.setattr(checkpoint, "load_torch_file",
                        lambda path, **kwargs: (reads.append(path), read(path, **kwargs))[1])  # fmt: skip
    run = aegan.load_run(run_dir)
    last = run_dir / "checkpoints" / "last.pt"
    last.unlink()
    last.write_text("a newer save, still being written")
    assert run.history == run.history == expected and len(expected) == run.epoch == 1
    assert [Path(path).name for path in reads] == ["last.pt"]


def test_load_run_names_a_missing_run(tmp_path):
    from aegan.errors import CheckpointError

    with pytest.raises(CheckpointError, match="no checkpoint"):
        aegan.load_run(tmp_path / "nope")


def test_a_loaded_run_takes_codes_of_any_real_dtype(trained_ae_run):
    """Integer or float64 codes are the same values: the model gets them as float32."""
    run = aegan.load_run(trained_ae_run, checkpoint="last")
    codes = run.encode(run.data.test_images[:2])
    assert torch.equal(run.decode(codes.double()), run.decode(codes))
    assert run.decode(torch.zeros(2, 32, dtype=torch.long)).shape == (2, 1, 28, 28)


def test_a_loaded_run_takes_numpy_arrays_as_the_tensors_they_hold(trained_ae_run):
    run = aegan.load_run(trained_ae_run, checkpoint="last")
    images = run.data.test_images[:2]
    codes = run.encode(images.numpy())
    assert torch.equal(codes, run.encode(images))
    assert torch.equal(run.decode(codes.numpy()), run.decode(codes))
    path = run.interpolate(images[0].numpy(), images[1].numpy(), steps=3)
    assert torch.equal(path, run.interpolate(images[0], images[1], steps=3))


def test_a_run_from_before_a_model_setting_loads_and_resumes_as_it_trained(make_cfg, monkeypatch):
    """A VAE-GAN recorded before ``model.ema_decay`` existed holds no average: conf/'s 0.999
    builds one. Loaded, a model setting the record lacks is left to the task's default,
    which keeps what the code did then; resumed (the command's settings), the refusal names
    the setting and the value that resumes it, before any data is read."""
    tiny = [*[o for o in TINY_AE if not o.startswith("evaluate")], "evaluate.at_end=false",
            *SMALL_VAE_GAN, "data.subset=128", "data.val_size=200", "logger.enabled=false"]  # fmt: skip
    cfg = make_cfg(*tiny, "~model.ema_decay")  # the record of a run from before the setting
    train(cfg)
    last = cfg.paths.output_dir + "/checkpoints/last.pt"
    assert "ema_decay" not in load_checkpoint(last)["config"]["model"]
    run = aegan.load_run(cfg.paths.output_dir, checkpoint="last")
    assert run.task.ema is None and "autoencoder_ema" not in run.task.networks
    with pytest.raises(
        ConfigError,
        match=r"^overrides=\['model.ema_decay=0.5'\] build .*this "
        "model has autoencoder_ema, decoder",
    ):  # the user's, named as theirs
        aegan.load_run(cfg.paths.output_dir, overrides=["model.ema_decay=0.5"])
    with monkeypatch.context() as patched, pytest.raises(CheckpointError) as refused:
        patched.setattr(sys.modules["aegan.train"], "load_data", None)  # not read
        train(make_cfg(*tiny, f"trainer.resume={last}", run="again"))
    assert str(refused.value).endswith(
        "the run's record has no model.ema_decay, added since it trained; resume with "
        "model.ema_decay=null to build the model it trained"
    ), refused.value
    steps = load_checkpoint(last)["step"]
    resumed = make_cfg(*tiny, f"trainer.resume={last}", "model.ema_decay=null", "trainer.epochs=2",
                       run="resumed")  # fmt: skip
    assert train(resumed)["train/steps"] == 2 * steps


def test_load_run_says_what_is_wrong_with_its_arguments(trained_ae_run, tmp_path, caplog):
    """overrides=None was a TypeError; a text file named .pt read "(101)"; a damaged
    metrics.json was dropped without a word."""
    with pytest.raises(aegan.errors.ConfigError, match="overrides=null is not allowed"):
        aegan.load_run(trained_ae_run, overrides=None)
    with pytest.raises(aegan.errors.ConfigError, match="path='' is not allowed"):
        aegan.load_run("")  # read as the current directory: "no checkpoint at ."
    (tmp_path / "x.pt").write_text("not weights\n")
    with pytest.raises(
        CheckpointError, match=r"not a readable checkpoint \(not a file torch.save writes"
    ):
        aegan.load_run(tmp_path / "x.pt")
    run = tmp_path / "run"
    shutil.copytree(trained_ae_run, run)
    (run / "metrics.json").write_text("{broken")
    assert aegan.load_run(run).metrics == {}
    assert any("Run.metrics is empty" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "make, reason",
    [(os.mkfifo, "a FIFO, not a regular file"), (Path.mkdir, "a folder, not a regular file")],
)
def test_a_metrics_json_that_is_no_file_is_said(trained_ae_run, tmp_path, caplog, make, reason):
    """A FIFO or folder in metrics.json's place read as a run that wrote no figures."""
    run = tmp_path / "run"
    shutil.copytree(trained_ae_run, run)
    (run / "metrics.json").unlink()
    make(run / "metrics.json")
    assert aegan.load_run(run).metrics == {}
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [
        f"{run / 'metrics.json'}: not readable as JSON ({reason}); Run.metrics is empty"
    ]


def test_a_data_dir_that_is_not_there_is_refused_unless_a_download_goes_there(
    trained_ae_run, tmp_path, monkeypatch
):
    """A typo in data_dir was passed over without a word: the data was read from the run's
    own folder or the Debian package's. Asked to download, the download goes there."""
    typo = tmp_path / "typo"
    with pytest.raises(ConfigError, match=f"^data_dir={typo} does not exist; name a folder"):
        aegan.load_run(trained_ae_run, data_dir=typo)
    with pytest.raises(ConfigError, match="^data_dir=/nonexistent/typo does not exist"):
        aegan.load_run(trained_ae_run, data_dir="/nonexistent/typo")
    import aegan.data.sources as sources

    tried = []
    monkeypatch.setattr(sources, "DEBIAN_FASHION_MNIST", tmp_path / "no_package")
    monkeypatch.setattr(sources, "_try_apt_install", lambda name: "not here")
    monkeypatch.setattr(sources, "_try_torchvision_download", lambda *args: tried.append(args))
    with pytest.raises(DataNotFoundError, match=f"torchvision download into {typo}"):
        aegan.load_run(trained_ae_run, data_dir=typo, overrides=["data.download=true"])
    assert tried == [("FashionMNIST", typo)]


def test_a_run_from_before_a_model_setting_goes_on_with_resume_auto(cli, tmp_path):
    """A requeued job (the same command, ``trainer.resume=auto``) on a run recorded before
    ``model.ema_decay`` existed was refused for "other settings (model.ema_decay=None
    there, 0.999 here)", with no way on but ``~model.ema_decay``: the setting is now left
    to the task's default, as the run trained and as ``load_run`` rebuilds it."""
    run = tmp_path / "run"
    tiny = [*[o for o in TINY_AE if not o.startswith("evaluate")], "evaluate.at_end=false",
            *SMALL_VAE_GAN, "data.subset=128", "data.val_size=200", "logger.enabled=false",
            f"hydra.run.dir={run}"]  # fmt: skip
    first = cli("aegan.train", *tiny, "~model.ema_decay")
    assert first.returncode == 0, first.stderr[-2000:]
    steps = load_checkpoint(run / "checkpoints" / "last.pt")["step"]
    again = cli("aegan.train", *tiny, "trainer.epochs=2", "trainer.resume=auto")
    assert again.returncode == 0, again.stderr[-2000:]
    assert ("trainer.resume=auto: model.ema_decay is not in the run's record (added since it "
            "trained): left to the task's default, as it trained") in again.stdout  # fmt: skip
    state = load_checkpoint(run / "checkpoints" / "last.pt")
    assert state["step"] == 2 * steps and "autoencoder_ema" not in state["networks"]
    assert "ema_decay" not in state["config"]["model"]
    given = cli("aegan.train", *tiny, "trainer.epochs=3", "trainer.resume=auto",
                "model.ema_decay=0.5")  # the user's own value: another run  # fmt: skip
    assert given.returncode == 2
    assert "was trained with other settings (model.ema_decay=unset there, 0.5 here)" in given.stderr
