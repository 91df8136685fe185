"""A setting that takes text (a path, a name, a choice) given what reads as a number that is
not finite (``data.root=nan``, ``paths.data_dir=inf``) is refused as text, with the quoting
that makes it text: ``data.root=nan`` was refused as "it must be a finite number"."""

from __future__ import annotations

import pytest

from aegan.cli.hydra_kinds import typed_hydra_value
from aegan.config import CONF_DIR, compose_config, validate_config
from aegan.errors import ConfigError
from aegan.settings.schema import reference

CHOICES = {"model": "vae", "data": "fashion_mnist"}
NULL_TEXT = ["data.root", "trainer.resume", "evaluate.inception_weights"]  # null in conf/


def text_settings(values: dict, prefix: str = "") -> list[str]:
    """Each dotted key of ``values`` (what conf/ holds) that holds text, but code keys."""
    found = []
    for key, value in values.items():
        if isinstance(value, dict):
            found += text_settings(value, f"{prefix}{key}.")
        elif isinstance(value, str) and not key.startswith("_") and "${.." not in value:
            found.append(f"{prefix}{key}")
    return found


TEXT = text_settings(reference(CONF_DIR, CHOICES)) + NULL_TEXT


def test_the_settings_that_take_text_are_found():
    assert {"task_name", "paths.data_dir", "trainer.device", "model.name"} <= set(TEXT)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
@pytest.mark.parametrize("key", TEXT)
def test_a_number_not_finite_is_refused_as_text(key, value):
    cfg = compose_config([f"model={CHOICES['model']}", f"{key}={value}"])
    with pytest.raises(ConfigError) as refused:
        validate_config(cfg, in_job=False, read_data=False)
    said = str(refused.value)
    assert said.startswith(f"{key}={value} is not allowed: it must be ")
    assert said.endswith(f" (quoted where it reads as a number: {key}='{value}')")


@pytest.mark.parametrize("value", ["nan", "-inf", "2026"])
@pytest.mark.parametrize("key", ["hydra.run.dir", "hydra.sweep.dir", "hydra.job.name"])
def test_hydras_text_settings_refuse_a_number_as_text(key, value):
    """Hydra's text type took them as text: ``hydra.run.dir=nan`` trained in ./nan,
    ``hydra.run.dir=1e3`` in ./1000.0."""
    said = typed_hydra_value([f"{key}={value}"])
    assert said == (
        f"{key}={value} is not allowed: it must be text (quoted where it reads as a number: "
        f"{key}='{value}')"
    )
