"""Hostile settings: every key of the composed config, for every model, gets wrong kinds,
out-of-range and extreme values and code payloads; each ends in ``ConfigError`` (one line)
before any work, or passes, and no payload ever writes its sentinel file."""

from __future__ import annotations

import re
import warnings
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf, open_dict

import aegan.config
from aegan.config import validate_config
from aegan.errors import USER_ERRORS, ConfigError
from aegan.settings.schema_ties import TIE, tie_target
from conftest import REPO, SENTINEL_DIR

MODELS = sorted(path.stem for path in (REPO / "conf" / "model").glob("*.yaml"))
CODE_KEYS = ("_target_", "_partial_", "_recursive_", "_args_", "_convert_")
SENTINEL = SENTINEL_DIR / "config-written"


def payloads(sentinel: Path) -> list:
    """Values that write ``sentinel`` if anything instantiates or resolves them."""
    return [
        {"_target_": "builtins.open", "file": str(sentinel), "mode": "w"},
        {
            "_target_": "pathlib.Path.touch",
            "_args_": [{"_target_": "pathlib.Path", "_args_": [str(sentinel)]}],
        },  # fmt: skip
        f"${{oc.create:{{_target_: builtins.open, file: '{sentinel}', mode: w}}}}",
        # escaped to be text, which hydra.utils.instantiate resolved again and ran
        f"\\${{oc.create:{{_target_: builtins.open, file: '{sentinel}', mode: w}}}}",
    ]


@cache
def base(model: str):
    cfg = aegan.config.compose_config([f"model={model}", "trainer.device=cpu"])
    with open_dict(cfg):
        cfg.paths.output_dir = str(
            SENTINEL_DIR / "run"
        )  # never made: validate_config writes nothing
    return cfg


@cache
def keys(model: str) -> tuple[str, ...]:
    """Every leaf key of the composed config but Hydra's own code keys (the command line's
    to choose); the engine's keys once, with the first model."""
    out = []

    def walk(node, prefix):
        for key in node:
            child = node._get_node(key)
            if OmegaConf.is_dict(child) and not child._is_interpolation():
                walk(child, f"{prefix}{key}.")
            elif key not in CODE_KEYS:
                out.append(f"{prefix}{key}")

    walk(base(model), "")
    return tuple(k for k in out if model == MODELS[0] or k.startswith("model."))


ALL_KEYS = [(model, key) for model in MODELS for key in keys(model)]


def outcome(model: str, key: str, value) -> str:
    """Set ``key`` to ``value`` as an override would; "refused" or "ok", nothing else."""
    cfg = base(model).copy()
    try:
        with open_dict(cfg):
            OmegaConf.update(cfg, key, value, merge=False)
    except Exception:  # a typed key refusing the value on assignment: Hydra's one line
        return "refused"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            validate_config(cfg)
        except USER_ERRORS as err:  # ConfigError, or CheckpointError for trainer.resume
            assert "\n" not in str(err), err
            assert not caught, f"{key}={value!r}: {caught[0].message} before the refusal"
            return "refused"
        finally:
            assert not SENTINEL.exists(), f"{key}={value!r} ran code"
    return "ok"


def test_every_key_refuses_code_where_a_plain_value_belongs():
    """A payload at each key of each model (each in turn): refused, never run."""
    assert len(ALL_KEYS) > 150
    for i, (model, key) in enumerate(ALL_KEYS):
        payload = payloads(SENTINEL)[i % len(payloads(SENTINEL))]
        assert outcome(model, key, payload) == "refused", (key, payload)


HOSTILE = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([-1, 0, 2**31, 2**63, 2**64, -(2**63) - 1, 10**12]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e308, -0.0, 1e-320]),
    st.text(max_size=12),
    st.sampled_from(
        [
            "${oc.env:HOME}",
            "${..latent_dim}",
            "${nope}",
            "${oc.decode:'[1'}",
            "???",
            "",
            "null",
            "1e400",
        ]
    ),  # fmt: skip
    st.booleans(),
    st.none(),
    st.lists(st.one_of(st.integers(-5, 2**40), st.floats(), st.text(max_size=3)), max_size=4),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(where=st.sampled_from(ALL_KEYS), value=HOSTILE)
@example(where=("aae", "task_name"), value={"\n": 0})  # a mapping's key was shown unquoted
@example(where=("aae", "model.net"), value={"\n": 0})
def test_generated_values_at_every_key_are_refused_in_one_line_or_pass(where, value):
    model, key = where
    outcome(model, key, value)


ZERO_WIDTHS = [
    ("aae", "model.discriminator.hidden_dims", [0], "model.discriminator.hidden_dims[0]=0"),
    ("bigan", "model.discriminator.z_hidden", 0, "model.discriminator.z_hidden=0"),
    ("dcgan", "model.generator.channels", [256, 0, 128], "model.generator.channels[1]=0"),
    ("vae_gan", "model.encoder.channels", [64, 0], "model.encoder.channels[1]=0"),
]


@pytest.mark.parametrize(("model", "key", "value", "setting"), ZERO_WIDTHS)
def test_a_layer_of_width_zero_names_its_setting(model, key, value, setting):
    """Sizes inside a network's section are checked by name before torch sees them: the line
    names the setting, without torch's zero-element warning before it."""
    cfg = base(model).copy()
    with open_dict(cfg):
        OmegaConf.update(cfg, key, value, merge=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ConfigError, match=re.escape(f"{setting} is not allowed: it must be")):
            validate_config(cfg)
    assert not caught, caught[0].message


@pytest.mark.parametrize("key", ["model.loss", "model.latent_dim", "data.name", "trainer.device"])
def test_a_huge_value_is_shown_cut_short(key):
    """The line names the setting and the start of the value, not all 10^6 characters of it."""
    cfg = base("autoencoder").copy()
    with open_dict(cfg):
        OmegaConf.update(cfg, key, "x" * 10**6, merge=False)
    with pytest.raises(USER_ERRORS) as refused:
        validate_config(cfg)
    assert str(refused.value).startswith(f"{key}='xxx") and len(str(refused.value)) < 400


def ties(model: str) -> list[tuple[str, str]]:
    """(key, the key it reads) of each tie in conf/model/MODEL.yaml (``${..latent_dim}``)."""
    found = []

    def walk(node, prefix):
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            elif isinstance(value, str) and (tie := TIE.fullmatch(value)):
                found.append((f"{prefix}{key}", tie_target(f"{prefix}{key}", tie)))

    walk(
        OmegaConf.to_container(OmegaConf.load(REPO / "conf" / "model" / f"{model}.yaml")), "model."
    )
    return found


@pytest.mark.parametrize(
    ("model", "target"), sorted({(m, target) for m in MODELS for _, target in ties(m)})
)
def test_deleting_a_key_another_is_set_from_names_it(model, target):
    """``~model.latent_dim``: the task's constructor failed on "Interpolation key
    'latent_dim' not found", naming neither key."""
    cfg = base(model).copy()
    parent, _, name = target.rpartition(".")
    with open_dict(cfg):
        OmegaConf.select(cfg, parent).pop(name)
    with pytest.raises(ConfigError) as refused:
        validate_config(cfg)
    readers = [key for key, read in ties(model) if read == target]
    assert str(refused.value) in [
        f"{target} is not set (deleted with ~{target}?); conf/ sets {key} from it: give it a "
        f"value ({target}=...) instead"
        for key in readers
    ]


def other_kind(value):
    """A value of another kind that Python holds equal to ``value`` (0 for false, 32.0 for
    32); None where there is none."""
    if isinstance(value, bool):
        return int(value)
    return float(value) if isinstance(value, int) else None


EQUAL_OTHER_KIND = sorted(
    (model, key, target)
    for model in MODELS
    for key, target in ties(model)
    if other_kind(OmegaConf.select(base(model), target)) is not None
)


@pytest.mark.parametrize(("model", "key", "target"), EQUAL_OTHER_KIND)
def test_a_tied_key_set_to_its_value_of_another_kind_is_refused(model, key, target):
    """The tie's check compared values alone: model.discriminator.spectral_norm=0 (a switch
    tied to model.spectral_norm=false) and model.net.latent_dim=32.0 passed."""
    cfg = base(model).copy()
    given = other_kind(OmegaConf.select(cfg, target))
    with open_dict(cfg):
        OmegaConf.update(cfg, key, given, merge=False)
    with pytest.raises(ConfigError) as refused:
        validate_config(cfg)
    assert str(refused.value).startswith(f"{key}={given!r} is not allowed: conf/ sets it from ")


@pytest.mark.parametrize("model", ["autoencoder", "dcgan"])
def test_text_escaped_from_interpolation_is_not_read_again(model):
    """``+model.net.foo='\\${oc.create:{_target_: builtins.open, ...}}'``: resolved once
    to text, ``hydra.utils.instantiate`` resolved it again and opened the file, before the
    network refused a setting it does not take."""
    net = "model.net" if model == "autoencoder" else "model.generator"
    assert outcome(model, f"{net}.foo", payloads(SENTINEL)[-1]) == "refused"
