"""Resume, SIGKILL, Ctrl-C / SIGTERM and trainer.resume=auto, compared by value.

Every run that was stopped and resumed must end with the training state of one that was
not: the weights, the optimizer, scaler and task state, the RNG, step, epoch, validation
history and best objective of ``last.pt`` bitwise (``assert_same_training_state``), and the
same final metrics. Interruptions happen at known steps (a forward hook counts the
training forward passes), so a resume always has steps left to train.
"""

import json
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from torch.nn.modules.module import register_module_forward_hook

from aegan.engine import load_checkpoint
from aegan.engine.interrupt import TrainingInterrupted
from aegan.errors import ConfigError
from aegan.models import DenseAutoencoder
from aegan.train import train
from conftest import REPO, TINY_AE, TINY_GAN, assert_same


def networks(state: dict) -> dict[str, dict[str, torch.Tensor]]:
    """A checkpoint's weights by network name: the one line that knows where they are kept."""
    return state["networks"]


# where the run was written, how it was started; the log window a stop leaves open (its
# steps' sums and time) that a save at the same step by a run that went on has logged
NOT_TRAINING_STATE = {"config", "scalar_window"}


def assert_same_training_state(a: dict, b: dict) -> None:
    """Two checkpoints hold the same training state: everything but ``NOT_TRAINING_STATE``."""
    assert a.keys() == b.keys()
    for key in sorted(a.keys() - NOT_TRAINING_STATE):
        assert_same(a[key], b[key], key)


def assert_weights_differ(a: dict, b: dict) -> None:
    """The resume had work to do: the comparisons above could fail."""
    assert any(
        not torch.equal(value, networks(b)[name][key])
        for name, weights in networks(a).items()
        for key, value in weights.items()
    )


def last_state(run_dir: str | Path, name: str = "last.pt") -> dict:
    return load_checkpoint(Path(run_dir) / "checkpoints" / name)


def metrics_of(run_dir: str | Path) -> dict[str, float]:
    return json.loads((Path(run_dir) / "metrics.json").read_text())


@contextmanager
def signal_in_training_forward(signal_number: int, forward: int):
    """Raise ``signal_number`` in this process during the autoencoder's ``forward``-th
    (0-based) training forward pass, that is inside step ``forward + 1``."""
    count = 0

    def hook(module, args, output):
        nonlocal count
        if isinstance(module, DenseAutoencoder) and module.training:
            if count == forward:
                signal.raise_signal(signal_number)
            count += 1

    handle = register_module_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


# ``python signal_at.py SIGNAL N [aegan.train arguments]``: the command line of aegan.train,
# which sends itself SIGNAL during the N-th (0-based) training forward pass of the autoencoder
SIGNAL_AT = """\
import os, signal, sys
from torch.nn.modules.module import register_module_forward_hook
from aegan.models import DenseAutoencoder
from aegan.train import main

sig, at = signal.Signals[sys.argv.pop(1)], int(sys.argv.pop(1))
count = 0

def hook(module, args, output):
    global count
    if isinstance(module, DenseAutoencoder) and module.training:
        if count == at:
            os.kill(os.getpid(), sig)
        count += 1

register_module_forward_hook(hook)
main()
"""


def signal_at(tmp_path: Path, signal_name: str, forward: int) -> list[str]:
    script = tmp_path / "signal_at.py"
    script.write_text(SIGNAL_AT)
    return [sys.executable, str(script), signal_name, str(forward)]


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


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_matches(tmp_path):
    """A real training process killed with SIGKILL inside step 18 (checkpoints every 7
    steps: last.pt holds step 14, mid-epoch) and resumed in its run dir ends bitwise where
    an uninterrupted run does; its last.pt at the kill is that run's step 14."""
    overrides = [*TINY_AE, "data.subset=1500", "trainer.epochs=2",  # 23 steps per epoch
                 "trainer.checkpoint_every_steps=7", "trainer.keep_checkpoints=100",
                 f"paths.data_dir={tmp_path / 'data'}"]  # fmt: skip
    train_cli = [sys.executable, "-m", "aegan.train"]
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    runs = [  # side by side: each keeps to one thread
        subprocess.Popen([*command, *overrides, f"hydra.run.dir={run_dir}"], cwd=REPO,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for command, run_dir in ((train_cli, straight), (signal_at(tmp_path, "SIGKILL", 17), killed))
    ]  # fmt: skip
    try:
        (_, straight_err), (_, killed_err) = (run.communicate(timeout=300) for run in runs)
    finally:  # on a timeout or an error, none is left running
        for run in runs:
            if run.poll() is None:
                run.kill()
    assert runs[0].returncode == 0, straight_err[-3000:]
    assert runs[1].returncode == -signal.SIGKILL, killed_err[-3000:]

    at_kill = last_state(killed)
    assert (at_kill["step"], at_kill["epoch"], at_kill["batch"]) == (14, 0, 14)
    final = last_state(straight)
    assert at_kill["step"] < final["step"] == 46  # the resume below has 32 steps to train
    assert_same_training_state(last_state(straight, "step-00000014.pt"), at_kill)

    subprocess.run(
        [*train_cli, *overrides, f"hydra.run.dir={killed}", f"trainer.resume={killed}"],
        cwd=REPO, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    resumed = last_state(killed)
    assert_weights_differ(at_kill, resumed)
    assert_same_training_state(final, resumed)
    assert metrics_of(killed) == metrics_of(straight)


@pytest.mark.parametrize(
    ("signal_number", "at_step", "where"),
    [
        (signal.SIGINT, 40, r"at step 41 \(epoch 2/2, batch 10/31\);"),  # mid-epoch
        (signal.SIGTERM, 30, r"at step 31 \(end of epoch 1/2\);"),  # the epoch's last step
    ],
)
def test_stop_signal_saves_the_step_in_flight_and_resume_matches(
    make_cfg, signal_number, at_step, where
):
    """Ctrl-C or SIGTERM during a step: that step finishes and is saved (the uninterrupted
    run's state at that step), and a resume in the same folder ends bitwise where an
    uninterrupted run does (31 steps per epoch)."""
    common = [*TINY_AE, "trainer.epochs=2"]
    straight = make_cfg(*common, f"trainer.checkpoint_every_steps={at_step + 1}",
                        "trainer.keep_checkpoints=100", run="straight")  # fmt: skip
    straight_metrics = train(straight)

    stopped = make_cfg(*common, run="stopped")
    # Python's own handler, or SIG_IGN where the tests were started in the background
    handler_before = signal.getsignal(signal.SIGINT)
    with (
        signal_in_training_forward(signal_number, at_step),
        pytest.raises(TrainingInterrupted, match=where) as raised,
    ):
        train(stopped)
    assert raised.value.exit_code == 128 + signal_number
    assert signal.getsignal(signal.SIGINT) is handler_before  # handlers restored
    run_dir = Path(stopped.paths.output_dir)
    at_stop = last_state(run_dir)
    assert at_stop["step"] == at_step + 1 < 62
    assert_same_training_state(last_state(straight.paths.output_dir, f"step-{at_step + 1:08d}.pt"),
                               at_stop)  # fmt: skip
    stop_record = json.loads((run_dir / "stopped.json").read_text())
    assert stop_record["step"] == at_step + 1
    assert stop_record["signal"] == signal.Signals(signal_number).name

    resumed_metrics = train(make_cfg(*common, f"trainer.resume={run_dir}", run="stopped"))
    assert not (run_dir / "stopped.json").exists()  # finished now
    assert_weights_differ(at_stop, last_state(run_dir))
    assert_same_training_state(last_state(straight.paths.output_dir), last_state(run_dir))
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
    the checkpoints trained past it are kept beside the branch's."""
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

    events = EventAccumulator(str(run_dir / "tb")).Reload()
    steps = [event.step for event in events.Scalars("train/loss")]
    flushes = sorted([*range(5, 62, 5), 31, 62])  # every 5 steps and at each epoch's end
    assert steps == flushes


def test_a_branch_resumed_in_the_run_folder_keeps_the_pictures_and_record_past_it(cli, tmp_path):
    """Resumed from its first epoch with another loss, the branch wrote its epoch-2 samples
    over the first trajectory's and its record over the one that trained them: only the
    checkpoints were kept."""
    run = tmp_path / "run"
    common = [*TINY_GAN, "data.subset=256", "model.fd_samples=200", "data.val_size=200",
              "trainer.epochs=2", f"hydra.run.dir={run}"]  # fmt: skip
    assert cli("aegan.train", *common).returncode == 0
    first = {path: (run / path).read_bytes()
             for path in ("samples/epoch-0002.png", ".hydra/overrides.yaml")}  # fmt: skip
    hparams = {str(p.relative_to(run)): p.read_bytes()
               for p in (run / "tb" / "hparams").rglob("*") if p.is_file()}  # fmt: skip
    start = f"trainer.resume={run / 'checkpoints' / 'step-00000004.pt'}"
    result = cli("aegan.train", *common, start, "model.loss=lsgan")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "model.loss=lsgan" in (run / ".hydra" / "overrides.yaml").read_text()
    kept = run / "checkpoints" / "past-step-4"
    assert {path: (kept / path).read_bytes() for path in first} == first
    assert hparams and {path: (kept / path).read_bytes() for path in hparams} == hparams
    assert (kept / "last.pt").is_file() and not (kept / "samples" / "epoch-0001.png").exists()
    assert sorted(p.name for p in (run / "samples").iterdir()) == [
        "epoch-0001.png",
        "epoch-0002.png",
    ]  # the branch's own, the first trajectory's moved: no second copy of them kept aside


@pytest.mark.slow
def test_ctrl_c_to_a_sweep_saves_the_job_and_ends_the_sweep(tmp_path):
    """Ctrl-C inside step 21 of a sweep's first job: it saves that step, the sweep ends;
    the same sweep again with trainer.resume=auto finishes it, and the interrupted job ends
    bitwise where the other job, never interrupted, does (the swept setting,
    trainer.keep_checkpoints, does not change what is trained)."""
    sweep_dir = tmp_path / "sweep"
    overrides = ["-m", *TINY_AE, "data.subset=1000", "trainer.epochs=2",  # 15 steps per epoch
                 "trainer.keep_checkpoints=2,3",
                 f"hydra.sweep.dir={sweep_dir}", f"paths.data_dir={tmp_path / 'data'}"]  # fmt: skip
    process = subprocess.run(
        [*signal_at(tmp_path, "SIGINT", 20), *overrides],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    output = process.stdout + process.stderr
    assert process.returncode == 130, output[-2000:]
    assert "Traceback" not in output
    (line,) = [line for line in output.splitlines() if "stopped by SIGINT" in line]
    assert "at step 21 (epoch 2/2, batch 6/15)" in line
    run_dir, other_dir = sweep_dir / "0", sweep_dir / "1"
    at_stop = last_state(run_dir)
    assert at_stop["step"] == 21
    assert f"trainer.resume={run_dir} hydra.run.dir={run_dir} (sweep job 0:" in line
    assert "keep_checkpoints=2" in line
    assert not other_dir.exists()  # the sweep ended with the job
    from aegan.sweep_reader import read_sweep

    job, never = read_sweep(sweep_dir)  # the grid's second job never started
    assert job["status"] == "stopped" and "at step 21 (" in job["error"]
    assert (never["job"], never["status"], never["trainer.keep_checkpoints"]) == (
        "1", "not started", 3)  # fmt: skip

    # as the line says: the same sweep again, with trainer.resume=auto
    assert f"hydra.sweep.dir={sweep_dir} trainer.resume=auto" in line
    subprocess.run(
        [sys.executable, "-m", "aegan.train", *overrides, "trainer.resume=auto"],
        cwd=REPO, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    assert [job["status"] for job in read_sweep(sweep_dir)] == ["ok", "ok"]
    assert_weights_differ(at_stop, last_state(run_dir))
    assert_same_training_state(last_state(other_dir), last_state(run_dir))
    assert metrics_of(run_dir) == metrics_of(other_dir)
