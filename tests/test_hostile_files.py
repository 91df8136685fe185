"""Hostile files: a real checkpoint mutated (types changed, keys removed, code keys and
interpolations inserted at every nesting level, truncated, emptied, swapped between models,
NaN weights) is loaded, evaluated or resumed. Each ends in a working run or one line naming
the file, and no payload writes its sentinel."""

from __future__ import annotations

import copy
import json
import math
import os
import signal
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

import aegan.config
from aegan import load_run
from aegan.data.idx import write_idx
from aegan.engine.checkpoint import REQUIRED_KEYS
from aegan.engine.interrupt import StopRequest, stop_on_signals
from aegan.engine.state import Progress, checkpoint_state
from aegan.errors import USER_ERRORS, CheckpointError, ConfigError
from aegan.evaluate import evaluate_run
from aegan.files import atomic_save, write_json
from aegan.readback import read_json
from aegan.train import train
from conftest import TINY_GAN, built, compose_config

SENTINEL = Path(tempfile.gettempdir()) / f"aegan-hostile-files-{os.getpid()}" / "written"
CODE_KEYS = ["_target_", "_args_", "_partial_", "_recursive_", "_convert_"]
PAYLOADS = [
    {"_target_": "builtins.open", "file": str(SENTINEL), "mode": "w"},
    {
        "_target_": "pathlib.Path.touch",
        "_args_": [{"_target_": "pathlib.Path", "_args_": [str(SENTINEL)]}],
    },  # fmt: skip
    "builtins.open",
    f"${{oc.create:{{_target_: builtins.open, file: '{SENTINEL}', mode: w}}}}",
    "${oc.env:HOME}",
    "${..latent_dim}",
]
TINY_IDX = ["trainer.device=cpu", "trainer.cpu_threads=1", "data.val_size=64",
            "data.batch_size=32", "trainer.epochs=1", "logger.enabled=false",
            "logger.projector_samples=0", "evaluate.metrics=[reconstruction]"]  # fmt: skip


def tiny_idx_folder(folder: Path) -> Path:
    """Four IDX files of random 28x28 images: 320 to train on, 64 to test."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 320), ("t10k", 64)):
        write_idx(folder / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f"{split}-labels-idx1-ubyte", rng.integers(0, 10, n))
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """A trained tiny autoencoder run on tiny IDX files, its checkpoint, and a DCGAN's."""
    root = tmp_path_factory.mktemp("hostile")
    data = tiny_idx_folder(root / "idx")
    overrides = [*TINY_IDX, f"data.root={data}"]
    train(compose_config(overrides, root / "ae"))
    cfg, task, amp, _ = built([*TINY_GAN, f"data.root={data}"], root)
    record = {"config": OmegaConf.to_container(cfg, resolve=True),
              "choices": {"model": "dcgan", "data": "fashion_mnist"}}  # fmt: skip
    gan = {"format_version": 2, **checkpoint_state(task, amp, Progress(), record)}
    ae = torch.load(root / "ae" / "checkpoints" / "last.pt", weights_only=True)
    return {"root": root, "data": data, "overrides": overrides, "ae": ae, "dcgan": gan}


def saved(state, folder: Path, name: str = "last.pt") -> Path:
    path = folder / "checkpoints" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_save(state, path)
    return path


def loads_or_one_line(path: Path) -> str:
    """``load_run(path)``: "ok", or the one line of a user's error."""
    try:
        load_run(path, device="cpu")
        return "ok"
    except USER_ERRORS as err:
        assert "\n" not in str(err), err
        return str(err)
    finally:
        assert not SENTINEL.exists(), "a record ran code"


def config_paths(node, path=()) -> list[tuple]:
    """The path of every key in a nested config, at every nesting level."""
    out = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            out += config_paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += config_paths(value, (*path, index))
    return out


def mutate(state: dict, path: tuple, how: str, value) -> dict:
    state = copy.deepcopy(state)
    parent, node = node_at(state, path[:-1]) if path else None, node_at(state, path)
    if how == "insert" and isinstance(node, dict):
        node[value[0]] = value[1]
    elif parent is not None and how == "delete":
        del parent[path[-1]]
    elif parent is not None:
        parent[path[-1]] = value if how == "set" else value[1]
    return state


VALUES = st.one_of(
    st.sampled_from(PAYLOADS),
    st.sampled_from([None, True, -1, 0, 2**70, 1e308, math.nan, "", [], {}, [1, "x"], "abc"]),
    st.integers(), st.floats(), st.text(max_size=8),
)  # fmt: skip


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), how=st.sampled_from(["set", "insert", "delete", "code"]))
def test_a_mutated_record_loads_or_is_one_line(runs, tmp_path_factory, data, how):
    paths = config_paths(runs["ae"]["config"])
    path = data.draw(st.sampled_from(paths))
    value = data.draw(VALUES)
    if how in ("insert", "code"):  # a code key, or any key, holding a payload
        key = data.draw(st.sampled_from(CODE_KEYS)) if how == "code" else "extra"
        how, value = "insert", (key, data.draw(st.sampled_from(PAYLOADS)))
    state = mutate(runs["ae"], path, how, value)
    line = loads_or_one_line(saved(state, tmp_path_factory.mktemp("mutated")))
    if how == "insert" and value[0] in CODE_KEYS and isinstance(node_at(runs["ae"], path), dict):
        assert line != "ok", f"{path}: {value} was taken from a record"


def node_at(state: dict, path: tuple):
    node = state["config"]
    for key in path:
        node = node[key]
    return node


@pytest.mark.parametrize("key", sorted(REQUIRED_KEYS))
@pytest.mark.parametrize("how", ["missing", "wrong type"])
def test_a_checkpoint_missing_a_part_names_it(runs, tmp_path, key, how):
    state = copy.deepcopy(runs["ae"])
    if how == "missing":
        del state[key]
    else:
        state[key] = "text" if not isinstance(state[key], str) else 3
    line = loads_or_one_line(saved(state, tmp_path))
    assert str(tmp_path) in line and key in line


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(cut=st.floats(0, 0.999))
@example(cut=0.0).via("an empty file")
@example(cut=1e-6).via("cut inside the archive's first four bytes")
def test_a_truncated_checkpoint_is_one_line(runs, tmp_path_factory, cut):
    folder = tmp_path_factory.mktemp("cut")
    path = saved(runs["ae"], folder)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * cut)])
    assert "not a readable checkpoint" in loads_or_one_line(path)


FOREIGN = [
    (lambda s: [1, 2], "not an aegan checkpoint"),
    (lambda s: torch.zeros(3), "not an aegan checkpoint"),
    (lambda s: {**s, "format_version": 99}, "checkpoint format 99 is not supported"),
    (lambda s: {**s, "step": -5}, "a negative step"),
    (lambda s: {**s, "choices": {"model": "../../etc", "data": "mnist"}}, "not a config option"),
    (lambda s: {**s, "choices": {"model": "nope", "data": "mnist"}}, "choices say model=nope but"),
    (lambda s: {**s, "choices": {"model": "dcgan", "data": "fashion_mnist"}}, "config is of model=autoencoder"),
    (lambda s: poisoned(s, math.nan), "autoencoder weights are not finite"),
    (lambda s: poisoned(s, math.inf), "autoencoder weights are not finite"),
]  # fmt: skip


def poisoned(state: dict, value: float) -> dict:
    """``state`` with one weight of its network set to ``value``."""
    weights = state["networks"]["autoencoder"]
    name = next(k for k, v in weights.items() if v.is_floating_point())
    weights[name].view(-1)[0] = value
    return state


@pytest.mark.parametrize(("change", "message"), FOREIGN)
def test_a_foreign_checkpoint_is_one_line(runs, tmp_path, change, message):
    line = loads_or_one_line(saved(change(copy.deepcopy(runs["ae"])), tmp_path))
    assert message in line and str(tmp_path) in line, line


def test_an_empty_checkpoint_is_one_line(tmp_path):
    path = tmp_path / "checkpoints" / "last.pt"
    path.parent.mkdir()
    path.write_bytes(b"")
    assert "not a readable checkpoint" in loads_or_one_line(path)


def test_another_models_checkpoint_names_the_model_first(runs, tmp_path):
    """Resuming from it, or finding it with trainer.resume=auto, stops before any data."""
    gan = saved(runs["dcgan"], tmp_path / "gan")
    with pytest.raises(CheckpointError, match=r"a checkpoint of model=dcgan, not model=autoen"):
        train(compose_config([*runs["overrides"], f"trainer.resume={gan}"], tmp_path / "a"))
    saved(runs["dcgan"], tmp_path / "b")
    cfg = compose_config([*runs["overrides"], "trainer.resume=auto"], tmp_path / "b")
    with pytest.raises(ConfigError, match=r"^trainer.resume=auto: .* is a run of model=dcgan"):
        train(cfg)


def test_resume_auto_names_data_before_sizes_and_offers_no_override_that_fails(runs, tmp_path):
    saved(runs["ae"], tmp_path / "run")
    overrides = [
        *runs["overrides"],
        "trainer.resume=auto",
        "model.latent_dim=8",
        "data.val_size=32",
    ]
    with pytest.raises(ConfigError) as info:
        train(compose_config(overrides, tmp_path / "run"))
    line = str(info.value)
    assert line.index("data.val_size") < line.index("model.latent_dim")
    assert "to continue it anyway" not in line  # its weights would not fit


def test_a_payload_in_evaluate_overrides_is_the_users_and_still_one_line(runs, tmp_path):
    """The command line may name code (a researcher's own class); a bad one is one line."""
    run = runs["root"] / "ae"
    with pytest.raises(ConfigError, match=r"model.net._target_=nope.Nope: no module nope can be"):
        load_run(run, overrides=["model.net._target_=nope.Nope"])


def refuse_constant(name: str):
    raise AssertionError(f"a bare {name} in a result file")


def evaluate_cfg(run: Path):
    return aegan.config.compose_config(
        [f"run={run}", "checkpoint=last", "device=cpu", "metrics=[reconstruction]"],
        config_name="evaluate",
    )


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_evaluation_is_one_line_and_recorded(runs, tmp_path, signal_number):
    run = tmp_path / "run"
    saved(runs["ae"], run)
    write_json(run / "metrics.json", {"val/best_objective": 0.5})
    with stop_on_signals() as stop, pytest.raises(SystemExit) as info:
        os.kill(os.getpid(), signal_number)  # a real signal, to the real handler
        evaluate_run(evaluate_cfg(run), stop)
    assert info.value.code == 128 + signal_number
    stopped = read_json(run / "stopped.json")
    assert (
        stopped["phase"] == "evaluation" and stopped["signal"] == signal.Signals(signal_number).name
    )
    assert read_json(run / "metrics.json") == {"val/best_objective": 0.5}  # nothing half-merged
    evaluate_run(evaluate_cfg(run), StopRequest())  # evaluated again: the stop is cleared
    assert not (run / "stopped.json").exists() and "test/mse" in read_json(run / "metrics.json")


def test_a_stopped_evaluation_keeps_the_note_that_training_stopped(runs, tmp_path):
    """Training's stopped.json says the run is to be continued: an evaluation stopped, then
    finished, neither replaces nor clears it."""
    run = tmp_path / "run"
    saved(runs["ae"], run)
    note = {"signal": "SIGINT", "step": 3, "phase": "training", "message": "stopped"}
    write_json(run / "stopped.json", note)
    with stop_on_signals() as stop, pytest.raises(SystemExit):
        os.kill(os.getpid(), signal.SIGINT)
        evaluate_run(evaluate_cfg(run), stop)
    assert read_json(run / "stopped.json") == note
    evaluate_run(evaluate_cfg(run), StopRequest())
    assert read_json(run / "stopped.json") == note


@pytest.mark.parametrize(
    "content", [b"", b"NaN", b'{"test/mse": 0.', b"[" * 100_000, b'{"test/mse": 1e400}']
)
def test_a_broken_metrics_file_loses_nothing(runs, tmp_path, capsys, content):
    run = tmp_path / "run"
    saved(runs["ae"], run)
    (run / "metrics.json").write_bytes(content)
    (run / ".hydra").mkdir()  # a run folder's other files never choose code either
    (run / ".hydra" / "config.yaml").write_text(f"model:\n  _target_: builtins.open\n"
                                                f"  file: {SENTINEL}\n")  # fmt: skip
    (run / ".hydra" / "overrides.yaml").write_text("- model._target_=builtins.open\n")
    assert load_run(run, checkpoint="last", device="cpu").metrics == {}
    evaluate_run(evaluate_cfg(run), StopRequest())
    strict = json.loads((run / "metrics.json").read_text(), parse_constant=refuse_constant)
    assert isinstance(strict["test/mse"], float) and not SENTINEL.exists()
    capsys.readouterr()


RESUME_PARTS = [
    ("history", [{"val/mse": "abc"}]), ("optimizers", {"autoencoder": {}}),
    ("task", {"x": torch.zeros(2)}), ("rng", {"torch": torch.zeros(3)}), ("scaler", {"scale": "x"}),
]  # fmt: skip


def test_resuming_from_nan_weights_is_one_line(runs, tmp_path):
    path = saved(poisoned(copy.deepcopy(runs["ae"]), math.nan), tmp_path / "old")
    cfg = compose_config([*runs["overrides"], "trainer.epochs=2", f"trainer.resume={path}"],
                         tmp_path / "new")  # fmt: skip
    with pytest.raises(CheckpointError, match=r"autoencoder weights are not finite"):
        train(cfg)


@pytest.mark.parametrize(("key", "value"), RESUME_PARTS)
def test_resuming_a_damaged_checkpoint_trains_or_is_one_line(runs, tmp_path, key, value):
    path = saved({**runs["ae"], key: value}, tmp_path / "old")
    cfg = compose_config([*runs["overrides"], "trainer.epochs=2", "evaluate.at_end=false",
                          f"trainer.resume={path}"], tmp_path / "new")  # fmt: skip
    try:
        train(cfg)
    except USER_ERRORS as err:
        assert str(path) in str(err) and "\n" not in str(err), err


@pytest.mark.parametrize("value", [None, 3, ""])
def test_every_record_setting_of_the_wrong_kind_loads_or_is_one_line(runs, tmp_path, value):
    """The class the mutation test above samples, walked whole for three values: a setting
    a run's record holds is never used unchecked, and ``paths.data_dir`` not at all."""
    lines = {}
    for path in config_paths(runs["ae"]["config"])[1:]:
        folder = tmp_path / "_".join(map(str, path))
        lines[path] = loads_or_one_line(saved(mutate(runs["ae"], path, "set", value), folder))
    line = lines[("paths", "data_dir")]  # the reader's own: a damaged record's is named
    assert line == "ok" or (line.startswith(str(tmp_path)) and "paths.data_dir=" in line), line
