"""Resume at an epoch's end, mid-epoch, with trainer.resume=auto and in its own run folder,
compared by value (the stops by a signal: ``test_resume_signals.py``).

Every run that was stopped and resumed must end with the training state of one that was
not: the weights, the optimizer, scaler and task state, the RNG, step, epoch, validation
history and best objective of ``last.pt`` bitwise (``assert_same_training_state``), and the
same final metrics.
"""

from pathlib import Path

import pytest
from resume_checks import assert_same_training_state, assert_weights_differ, last_state, networks

from aegan.engine import load_checkpoint
from aegan.errors import ConfigError
from aegan.train import train
from conftest import TINY_AE, TINY_GAN


def test_resume_at_an_epoch_end_matches_an_uninterrupted_run(make_cfg):
    common = [*TINY_AE, "data.subset=1000"]  # 15 steps per epoch
    straight = make_cfg(*common, "trainer.epochs=2", run="straight")
    straight_metrics = train(straight)
    interrupted = make_cfg(*common, "trainer.epochs=1", run="interrupted")
    train(interrupted)
    resumed = make_cfg(
        *common, "trainer.epochs=2", f"trainer.resume={interrupted.paths.output_dir}", run="resumed"
    )
    resumed_metrics = train(resumed)

    start = last_state(interrupted.paths.output_dir)
    end = last_state(resumed.paths.output_dir)
    assert start["step"] == 15 and end["step"] == 30
    assert_weights_differ(start, end)
    assert_same_training_state(last_state(straight.paths.output_dir), end)
    assert resumed_metrics == straight_metrics


def test_resume_auto_starts_then_continues_its_own_run_and_refuses_another(make_cfg):
    """trainer.resume=auto, as a requeued job runs it: from scratch in an empty run dir,
    from the run dir's own last.pt later (ending bitwise where one run does), and never
    from a checkpoint trained with other settings."""
    common = [*TINY_AE, "data.subset=1000"]
    straight = make_cfg(*common, "trainer.epochs=2", run="straight")
    straight_metrics = train(straight)
    train(make_cfg(*common, "trainer.epochs=1", "trainer.resume=auto", run="requeued"))
    requeued = make_cfg(*common, "trainer.epochs=2", "trainer.resume=auto", run="requeued")
    run_dir = Path(requeued.paths.output_dir)
    first_epoch = last_state(run_dir)
    assert first_epoch["epoch"] == 1
    requeued_metrics = train(requeued)
    assert last_state(run_dir)["epoch"] == 2
    assert_weights_differ(first_epoch, last_state(run_dir))
    assert_same_training_state(last_state(straight.paths.output_dir), last_state(run_dir))
    assert requeued_metrics == straight_metrics

    other = make_cfg(*common, "trainer.epochs=3", "trainer.resume=auto", "model.latent_dim=16",
                     run="requeued")  # fmt: skip
    with pytest.raises(ConfigError, match=r"model.latent_dim=32 there, 16 here"):
        train(other)


@pytest.mark.slow
def test_gan_resume_mid_epoch_matches(make_cfg):
    """Dropout masks and z come from the restored RNG state, Adam, EMA and the fixed noise
    from the checkpoint: a GAN resumed from a mid-epoch checkpoint (step 3 of 4) ends
    exactly where an uninterrupted one does."""
    common = [*TINY_GAN, "data.subset=256", "data.val_size=200", "model.fd_samples=200",
              "trainer.epochs=2", "trainer.checkpoint_every_steps=3",
              "trainer.keep_checkpoints=100"]  # fmt: skip
    straight = make_cfg(*common, run="straight")
    straight_metrics = train(straight)
    mid_epoch = Path(straight.paths.output_dir) / "checkpoints" / "step-00000003.pt"
    resumed = make_cfg(*common, f"trainer.resume={mid_epoch}", run="resumed")
    resumed_metrics = train(resumed)

    start, end = load_checkpoint(mid_epoch), last_state(resumed.paths.output_dir)
    assert (start["epoch"], start["batch"], end["step"]) == (0, 3, 2 * (256 // 64))
    assert {"generator", "discriminator", "generator_ema"} <= networks(end).keys()
    assert_weights_differ(start, end)
    assert_same_training_state(last_state(straight.paths.output_dir), end)
    assert resumed_metrics == straight_metrics


def test_resume_in_the_same_run_dir_replaces_the_curves_after_the_checkpoint(make_cfg):
    """Resumed in place from an earlier checkpoint (as after a SIGKILL), TensorBoard shows
    each step once: the steps logged after the checkpoint are purged, then logged again;
    the checkpoints trained past it, and its curves, are kept beside the branch's."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    common = [*TINY_AE, "trainer.epochs=2", "logger.log_every_steps=5"]
    cfg = make_cfg(*common)
    train(cfg)
    run_dir = Path(cfg.paths.output_dir)
    first_epoch = run_dir / "checkpoints" / "step-00000031.pt"  # 31 steps per epoch
    trained_past = {p.name: p.read_bytes() for p in (run_dir / "checkpoints").glob("*.pt")
                    if p.name not in ("step-00000031.pt", "best.pt")}  # fmt: skip
    train(make_cfg(*common, f"trainer.resume={first_epoch}"))  # the same run dir
    # the branch's saves replace last.pt and step-62: the first trajectory's are kept
    kept = run_dir / "checkpoints" / "past-step-31"
    assert sorted(trained_past) == ["last.pt", "step-00000062.pt"]
    assert all((kept / name).read_bytes() == data for name, data in trained_past.items())

    flushes = sorted([*range(5, 62, 5), 31, 62])  # every 5 steps and at each epoch's end
    for tb in (run_dir / "tb", kept / "tb"):  # the branch's curves; the first trajectory's
        events = EventAccumulator(str(tb)).Reload()
        assert [event.step for event in events.Scalars("train/loss")] == flushes, tb


def test_a_branch_resumed_in_the_run_folder_keeps_the_pictures_and_record_past_it(cli, tmp_path):
    """Resumed from its first epoch with another learning rate, the branch wrote its epoch-2
    samples over the first trajectory's and its record over the one that trained them: only
    the checkpoints were kept."""
    run = tmp_path / "run"
    common = [*TINY_GAN, "data.subset=256", "model.fd_samples=200", "data.val_size=200",
              "trainer.epochs=2", f"hydra.run.dir={run}"]  # fmt: skip
    assert cli("aegan.train", *common).returncode == 0
    first = {path: (run / path).read_bytes()
             for path in ("samples/epoch-0002.png", ".hydra/overrides.yaml")}  # fmt: skip
    hparams = {str(p.relative_to(run)): p.read_bytes()
               for p in (run / "tb" / "hparams").rglob("*") if p.is_file()}  # fmt: skip
    start = f"trainer.resume={run / 'checkpoints' / 'step-00000004.pt'}"
    result = cli("aegan.train", *common, start, "model.g_optimizer.lr=1e-4")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "model.g_optimizer.lr=1e-4" in (run / ".hydra" / "overrides.yaml").read_text()
    kept = run / "checkpoints" / "past-step-4"
    assert {path: (kept / path).read_bytes() for path in first} == first
    assert hparams and {path: (kept / path).read_bytes() for path in hparams} == hparams
    assert (kept / "last.pt").is_file() and not (kept / "samples" / "epoch-0001.png").exists()
    assert sorted(p.name for p in (run / "samples").iterdir()) == [
        "epoch-0001.png",
        "epoch-0002.png",
    ]  # the branch's own, the first trajectory's moved: no second copy of them kept aside
