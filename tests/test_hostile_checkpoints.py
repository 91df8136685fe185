"""A checkpoint made by hand, part by part: every part is checked before torch or a task
reads it, and a run folder holding a trained run is never trained over."""

from __future__ import annotations

import copy
import hashlib
import logging
import re
import shutil
import warnings
from pathlib import Path

import pytest
import torch
from hostile_state import changed, saved

from aegan import load_run
from aegan.engine.state import Progress, checkpoint_state, restore
from aegan.errors import USER_ERRORS, CheckpointError, ConfigError
from aegan.train import train
from conftest import RESUME, TINY_AE, assert_one_error_line, built, compose_config

MOMENT = "optimizers.optimizer.state.0.exp_avg"
BAD_OPTIMIZER_STATES = [  # a fused Adam given a moment of another size writes past its end
    (MOMENT, torch.zeros(3), "has shape (3,)"),
    (MOMENT, lambda t: torch.full_like(t, float("nan")), "holds NaN or inf"),
    (MOMENT, lambda t: t.double(), None),  # cast to the parameter's dtype by torch: harmless
    (MOMENT, lambda t: t.long(), "is not a floating-point tensor"),
    ("optimizers.optimizer.state.0.step", torch.tensor(-4.0), "holds -4"),
    ("optimizers.optimizer.state.0.step", "abc", "is not a floating-point tensor"),
    ("optimizers.optimizer.state.99", {}, "belongs to no parameter"),
    ("optimizers.optimizer.state.0", {}, "0 has no exp_avg, exp_avg_sq, step, which Adam keeps"),
    ("optimizers.optimizer.state.3", {"step": torch.tensor(3.0)}, "3 has no exp_avg, exp_avg_sq,"),
    ("optimizers.optimizer.param_groups", [], "parameter groups are not this model's"),
]


@pytest.mark.parametrize(("where", "value", "message"), BAD_OPTIMIZER_STATES)
def test_a_damaged_optimizer_state_is_one_line_before_any_step(ae, tmp_path, where, value, message):
    path = saved(changed(ae[1], where, value), tmp_path / "old")
    cfg = compose_config([*RESUME, "trainer.epochs=2", "evaluate.at_end=false",
                          f"trainer.resume={path}"], tmp_path / "new")  # fmt: skip
    if message is None:
        train(cfg)
        return
    with pytest.raises(CheckpointError) as refused:
        train(cfg)
    assert message in str(refused.value) and str(path) in str(refused.value)
    assert "\n" not in str(refused.value) and not (tmp_path / "new" / "metrics.json").exists()


@pytest.mark.parametrize("lr", [-1.0, "abc", 1e30])
def test_the_optimizer_settings_are_the_configs_not_the_files(ae, tmp_path, lr):
    state = changed(ae[1], "optimizers.optimizer.param_groups.0.lr", lr)
    path = saved(state, tmp_path / "old")
    cfg = compose_config([*RESUME, "trainer.epochs=2", "evaluate.at_end=false",
                          f"trainer.resume={path}"], tmp_path / "new")  # fmt: skip
    train(cfg)
    resumed = torch.load(tmp_path / "new" / "checkpoints" / "last.pt", weights_only=True)
    assert resumed["optimizers"]["optimizer"]["param_groups"][0]["lr"] == cfg.model.optimizer.lr


BAD_WEIGHTS = [
    (lambda w: dict(enumerate(w.values())), "weights are not a state_dict of tensors"),
    (lambda w: {k: v.to(torch.complex64) for k, v in w.items()}, "complex64 tensor"),
    (lambda w: {k: v.to_sparse() if v.dim() == 2 else v for k, v in w.items()}, "sparse_coo"),
    (lambda w: {k: v.double() for k, v in w.items()}, "torch.float64"),
]


@pytest.mark.parametrize(("change", "message"), BAD_WEIGHTS)
def test_weights_of_another_kind_are_one_line(ae, tmp_path, change, message):
    state = changed(ae[1], "networks.autoencoder", change)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch's warnings about such tensors come before no line
        line = refusal(saved(state, tmp_path))
    assert message in line, line


def deep(levels: int) -> list:
    nested: list = []
    for _ in range(levels):
        nested = [nested]
    return nested


BAD_RECORDS = [
    ("format_version", torch.tensor([2, 2]), "checkpoint format tensor([2, 2]) is not"),
    ("format_version", 1.5, "checkpoint format 1.5 is not supported"),
    ("config.model.extra", deep(3000), "nested deeper than 32"),
    ("config.model.hidden_dims", ["x"] * 300_000, "too many values"),
    ("config.model.loss", "m" * 50_000_000, "50000000 characters long"),
    ("history", [{"val/mse": 0.1, "epoch": 1}], "which no validation in history measured"),
    ("history", [{"val/mse": 0.1}] * 10, "history has 10 entries at epoch 1"),
]


@pytest.mark.parametrize(("where", "value", "message"), BAD_RECORDS)
def test_a_record_out_of_shape_is_one_line_at_once(ae, tmp_path, where, value, message):
    line = refusal(saved(changed(ae[1], where, value), tmp_path))
    assert (line == "ok") if message is None else (message in line), line[:300]
    assert len(line) < 600


def test_a_format_1_checkpoint_out_of_shape_is_one_line(ae, tmp_path):
    state = {**copy.deepcopy(ae[1]), "format_version": 1, "modules": 5}
    assert "not a usable format-1 checkpoint" in refusal(saved(state, tmp_path))


def refusal(path: Path) -> str:
    """``load_run(path)``: "ok", or its one line."""
    try:
        load_run(path, device="cpu")
        return "ok"
    except USER_ERRORS as err:
        assert "\n" not in str(err)
        return str(err)


@pytest.mark.parametrize(
    ("value", "message"),
    [(torch.zeros(3), "fixed_noise is torch.float32 (3,)"), (-1, "steps is -1"),
     (2**70, "not a count"), ("7", "steps is '7'")],
)  # fmt: skip
def test_a_tasks_state_is_checked_against_what_it_saves(tmp_path, value, message):
    _, task, amp, _ = built([*TINY_AE, "model=vae"], tmp_path)
    state = checkpoint_state(task, amp, Progress(), {"config": {}, "choices": {}})
    key = "fixed_noise" if torch.is_tensor(value) else "steps"
    state["task"][key] = value
    with pytest.raises(CheckpointError, match=re.escape(message)):
        restore(task, amp, state, path=tmp_path / "x.pt")


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "tb" not in p.parts}  # fmt: skip


def test_a_run_folder_holding_a_run_is_never_trained_over(ae, tmp_path):
    run = tmp_path / "run"
    train(compose_config(RESUME, run))
    before = digest(run)
    with pytest.raises(ConfigError, match=r"already holds a trained run \(checkpoints/"):
        train(compose_config([*RESUME, "model.latent_dim=8"], run))
    other = saved(ae[1], tmp_path / "other")
    with pytest.raises(ConfigError, match="trainer.resume=auto"):
        train(compose_config([*RESUME, f"trainer.resume={other}"], run))
    assert digest(run) == before
    train(compose_config([*RESUME, "trainer.epochs=2", "trainer.resume=auto"], run))
    assert digest(run)["checkpoints/last.pt"] != before["checkpoints/last.pt"]


def test_a_refused_command_leaves_the_runs_record_alone(cli, tmp_path):
    run = tmp_path / "run"
    command = ["aegan.train", *RESUME, f"hydra.run.dir={run}"]
    first = cli(*command)
    assert first.returncode == 0, first.stderr[-2000:]
    record = (run / ".hydra" / "overrides.yaml").read_text()
    assert "data.subset=640" in record and (run / ".hydra" / "config.yaml").is_file()
    for extra in (["model.latent_dim=8"], ["model.latent_dim=8", "trainer.resume=auto"]):
        refused = cli(*command, *extra)
        assert refused.returncode == 2, refused.stderr[-2000:]
        assert (run / ".hydra" / "overrides.yaml").read_text() == record
    resumed = cli(*command, "trainer.epochs=2", "trainer.resume=auto")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "trainer.epochs=2" in (run / ".hydra" / "overrides.yaml").read_text()


@pytest.mark.parametrize(
    ("metrics", "what"), [("[probe]", "codes"), ("[reconstruction]", "reconstructions")]
)
def test_weights_whose_outputs_overflow_give_no_figures(ae, cli, tmp_path, metrics, what):
    """Finite weights, NaN outputs: the probe scored chance (0.1) into metrics.json, the
    reconstruction metrics stopped in a traceback."""
    run = tmp_path / "run"
    shutil.copytree(ae[0], run)
    overflowing = copy.deepcopy(ae[1])
    weights = overflowing["networks"]["autoencoder"]
    first = next(k for k, v in weights.items() if v.dim() == 2)
    weights[first].fill_(3e38)  # inf after the first layer, inf - inf = NaN after the second
    path = saved(overflowing, run)
    before = (run / "metrics.json").read_bytes()
    result = cli("aegan.evaluate", f"run={run}", f"metrics={metrics}")
    assert_one_error_line(result, f"{path}: the model's {what} are NaN or inf for ")
    assert (run / "metrics.json").read_bytes() == before  # no figure written


def test_a_record_value_the_model_refuses_names_the_file(ae, tmp_path):
    path = saved(changed(ae[1], "config.model.loss", "nope"), tmp_path)
    line = refusal(path)
    assert line.startswith(f"{path}: model.loss='nope'"), line


def test_a_position_past_the_end_of_an_epoch_is_one_line(ae, tmp_path):
    path = saved(changed(ae[1], "batch", 10**9), tmp_path / "old")
    cfg = compose_config([*RESUME, "trainer.epochs=2", f"trainer.resume={path}"], tmp_path / "new")
    with pytest.raises(CheckpointError, match="it stopped at batch 1000000000 of an epoch"):
        train(cfg)


@pytest.mark.parametrize(("name", "make"), [("tb", Path.touch), (".hydra", Path.touch),
                                            ("metrics.json", Path.mkdir)])  # fmt: skip
def test_a_run_folder_with_a_file_where_a_folder_goes_is_one_line(cli, tmp_path, name, make):
    run = tmp_path / "run"
    run.mkdir()
    make(run / name)
    refused = cli("aegan.train", *RESUME, f"hydra.run.dir={run}")
    output = (refused.stdout + refused.stderr).strip()
    assert refused.returncode == 2 and f"{run / name} is " in output, output[-2000:]
    assert "where a run keeps" in output
    assert "Traceback" not in output and not (run / "checkpoints" / "last.pt").exists()


def test_a_trained_run_whose_record_is_a_folder_is_refused_untouched(ae, cli, tmp_path):
    """A folder in config.yaml's place failed the resume as it wrote its record, and the
    trained run was then listed as failed (failed.json)."""
    run = tmp_path / "run"
    shutil.copytree(ae[0], run)
    (run / ".hydra" / "config.yaml").mkdir(parents=True)
    before = digest(run)
    more = ["trainer.resume=auto", "trainer.epochs=2"]
    refused = cli("aegan.train", *RESUME, *more, f"hydra.run.dir={run}")
    assert_one_error_line(refused, f"{run / '.hydra' / 'config.yaml'} is a folder, where a run")
    assert digest(run) == before and not (run / "failed.json").exists()  # train.log too


def test_an_explicit_resume_says_another_seed_is_not_used(ae, tmp_path, caplog):
    """The checkpoint's random state goes on: ``seed=3`` changed nothing, without a word."""
    more = ["trainer.epochs=2", f"trainer.resume={ae[0]}"]
    with caplog.at_level(logging.WARNING, logger="aegan"):
        train(compose_config([*RESUME, *more, "seed=3"], tmp_path / "other-seed"))
    assert (f"seed=3 is not used: a resumed run goes on with the random state of "
            f"{ae[0] / 'checkpoints' / 'last.pt'} (trained with seed=0)") in caplog.text  # fmt: skip
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="aegan"):
        train(compose_config([*RESUME, *more], tmp_path / "same-seed"))
    assert "is not used" not in caplog.text


def test_an_explicit_resume_shows_a_saved_seed_of_any_kind_briefly(ae, tmp_path, caplog):
    """The saved seed is the file's to say: 9,000 characters with a line break in them were
    written into the log as they were."""
    path = saved(changed(ae[1], "config.seed", "9" * 9000 + "\nfake log line"), tmp_path / "long")
    more = ["trainer.epochs=2", f"trainer.resume={path}"]
    with caplog.at_level(logging.WARNING, logger="aegan"):
        train(compose_config([*RESUME, *more], tmp_path / "resumed"))
    (line,) = [r.getMessage() for r in caplog.records if "is not used" in r.getMessage()]
    assert line.endswith("(trained with seed='" + "9" * 39 + ")")
    assert "\n" not in line and len(line) < 300
