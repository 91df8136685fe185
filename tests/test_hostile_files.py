"""Hostile files: a real checkpoint mutated (types changed, keys removed, code keys and
interpolations inserted at every nesting level, truncated, emptied, swapped between models,
NaN weights) is loaded, evaluated or resumed. Each ends in a working run or one line naming
the file, and no payload writes its sentinel."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from hostile_runs import (
    CODE_KEYS,
    PAYLOADS,
    config_paths,
    loads_or_one_line,
    mutate,
    node_at,
    saved,
    trained_runs,
)
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from aegan.engine.checkpoint import REQUIRED_KEYS
from aegan.errors import USER_ERRORS, CheckpointError, ConfigError
from aegan.train import train
from conftest import compose_config


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    return trained_runs(tmp_path_factory)


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
