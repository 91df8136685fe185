"""A second Ctrl-C stops a run at once, in a step, a save or the final evaluation: its line
says what is kept and how to go on, as the first one's does, and aegan.summarize lists it;
an evaluation too."""

import shutil
import signal
from contextlib import contextmanager
from pathlib import Path

from command_signals import signal_at_call
from resume_checks import last_state
from torch.nn.modules.module import register_module_forward_hook

import aegan
from aegan.engine.interrupt import TrainingInterrupted
from aegan.io.readback import read_json
from aegan.models import DenseAutoencoder
from aegan.signals.starting_signals import AFTER_TRAINING
from aegan.train import train
from conftest import RESUME, TINY_AE

TWO_EPOCHS = [*TINY_AE, "trainer.epochs=2"]  # 31 steps an epoch


@contextmanager
def two_ctrl_c_when(condition):
    """Ctrl-C twice in a row in the autoencoder's first forward pass where ``condition(module)``."""
    fired = False

    def hook(module, args, output):
        nonlocal fired
        if isinstance(module, DenseAutoencoder) and not fired and condition(module):
            fired = True
            signal.raise_signal(signal.SIGINT)  # a stop after the step, as asked once
            signal.raise_signal(signal.SIGINT)  # and again: at once

    handle = register_module_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


def stopped_at_once(cfg) -> TrainingInterrupted:
    """What ``train(cfg)`` raised: a KeyboardInterrupt too, so that the test fails, not pytest."""
    try:
        train(cfg)
    except BaseException as err:  # noqa: BLE001 -- what a second Ctrl-C raised is the question
        assert isinstance(err, TrainingInterrupted), f"{type(err).__name__}: {err}"
        return err
    raise AssertionError("the run was not stopped")


def training_forwards_after(count: int):
    seen = 0

    def condition(module) -> bool:
        nonlocal seen
        seen += module.training
        return module.training and seen > count

    return condition


def test_a_second_ctrl_c_mid_epoch_names_the_last_checkpoint_and_how_to_continue(make_cfg):
    cfg = make_cfg(*TWO_EPOCHS)
    run_dir = Path(cfg.paths.output_dir)
    with two_ctrl_c_when(training_forwards_after(40)):  # in step 41: epoch 1 is saved
        err = stopped_at_once(cfg)
    line = str(err)
    assert line.startswith("stopped at once by a second SIGINT") and "\n" not in line
    assert f"the last good checkpoint is {run_dir / 'checkpoints' / 'last.pt'}" in line
    assert f"trainer.resume={run_dir} hydra.run.dir={run_dir}" in line
    assert (err.exit_code, err.step, err.phase) == (130, 31, "training")
    assert last_state(run_dir)["step"] == 31  # the end of epoch 1, loadable
    stopped = read_json(run_dir / "stopped.json")  # aegan.summarize's note: a job to resume
    assert (stopped["signal"], stopped["step"], stopped["phase"]) == ("SIGINT", 31, "training")


def test_a_second_ctrl_c_in_the_first_step_says_nothing_was_saved(make_cfg):
    cfg = make_cfg(*TWO_EPOCHS)
    with two_ctrl_c_when(training_forwards_after(0)):
        line = str(stopped_at_once(cfg))
    assert "no checkpoint was written yet: run the same command again" in line
    assert "trainer.resume" not in line


def test_a_second_ctrl_c_in_the_final_evaluation_says_the_run_is_intact(make_cfg):
    cfg = make_cfg(*TINY_AE, "evaluate.at_end=true", "evaluate.metrics=[reconstruction]")
    run_dir = Path(cfg.paths.output_dir)
    with two_ctrl_c_when(lambda module: (run_dir / "evaluating.json").exists()):
        err = stopped_at_once(cfg)
    assert (
        f"the trained run is intact: evaluate it with python -m aegan.evaluate run={run_dir}"
        in (str(err))
    )
    assert (err.step, err.phase) == (31, "evaluation")
    assert last_state(run_dir)["step"] == 31
    assert read_json(run_dir / "metrics.json")["train/steps"] == 31


def test_a_second_ctrl_c_is_one_line_at_the_command_line(tmp_path, cli):
    run_dir = tmp_path / "run"
    with two_ctrl_c_when(training_forwards_after(40)):
        result = cli("aegan.train", *TWO_EPOCHS, f"hydra.run.dir={run_dir}")
    output = result.stdout + result.stderr
    assert result.returncode == -signal.SIGINT and "Traceback" not in output, output[-2000:]
    (line,) = [line for line in output.splitlines() if "second SIGINT" in line]
    assert f"trainer.resume={run_dir} hydra.run.dir={run_dir}" in line
    assert f"stopped by SIGINT {AFTER_TRAINING}" not in output  # the line of a Ctrl-C unhandled
    aegan.load_run(run_dir)  # what the line says is kept loads


def test_a_second_ctrl_c_as_a_resume_loads_leaves_the_trained_run_as_it_was(make_cfg, monkeypatch):
    """Before its resume began the folder was not this run's: the stop wrote stopped.json
    there (a finished run listed as stopped at step 0), and its line spoke of steps lost."""
    import aegan.engine.loop as loop

    cfg = make_cfg(*RESUME)
    train(cfg)
    run_dir = Path(cfg.paths.output_dir)
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    restore = loop.restore

    def restore_twice_stopped(*args, **kwargs):
        signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGINT)
        return restore(*args, **kwargs)

    monkeypatch.setattr(loop, "restore", restore_twice_stopped)
    resumed = make_cfg(*RESUME, "trainer.epochs=2", "trainer.resume=auto")
    try:  # as the command in a trained run's folder calls it
        train(resumed, on_resume=lambda: None)
    except BaseException as err:  # noqa: BLE001 -- what a second Ctrl-C raised is the question
        assert isinstance(err, TrainingInterrupted), f"{type(err).__name__}: {err}"
        assert str(err) == (
            "stopped by SIGINT before the first step, while setting up; nothing was trained "
            "or saved: run the same command again"
        )
        assert err.exit_code == 130
    else:
        raise AssertionError("the resume was not stopped")
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before


def test_a_second_ctrl_c_as_evaluate_reads_the_run_names_what_the_evaluation_keeps(
    cli, tmp_path, trained_ae_run
):
    """Its line was every command's: "a checkpoint already written is kept"."""
    run = tmp_path / "run"
    shutil.copytree(trained_ae_run, run)
    metrics = (run / "metrics.json").read_bytes()
    with signal_at_call(signal.SIGINT, "load_run", times=2):
        result = cli("aegan.evaluate", f"run={run}", "device=cpu")
    assert result.returncode == -signal.SIGINT, result.stderr[-2000:]
    assert result.stderr == (
        "error: stopped by SIGINT after the evaluation began; the run's metrics.json is whole, "
        "as it was or as written\n"
    )
    assert (run / "metrics.json").read_bytes() == metrics
