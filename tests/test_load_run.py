"""``aegan.load_run`` gives back a trained autoencoder in one call."""

import pytest
import torch

import aegan


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
