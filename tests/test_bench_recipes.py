"""``aegan.bench experiment=X``: a recipe of the user's sets bench's own settings as it sets
a run's, its trainer settings are the ones timed and its task_name names the rows' folder;
conf/bench.yaml's values are the defaults under it, not over it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir

import aegan.bench as bench
from aegan.amp import Amp
from aegan.bench_plan import configurations
from conftest import CONF_DIR


def recipe(tmp_path, body: str, *overrides: str, hydra: bool = False):
    """conf/bench.yaml composed with ``experiment=mine``, a recipe of the user's: ``body``."""
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "mine.yaml").write_text(f"# @package _global_\n{body}")
    given = ["experiment=mine", f"hydra.searchpath=[file://{tmp_path}]", *overrides]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("bench", given, return_hydra_config=hydra)


def bench_keys() -> list[str]:
    """conf/bench.yaml's own settings: what a recipe may set for the benchmark."""
    own = yaml.safe_load((CONF_DIR / "bench.yaml").read_text())
    return [key for key in own if key != "defaults"]


@pytest.mark.parametrize("group", ["experiment", "hparams_search"])
def test_a_recipe_sets_bench_settings_over_bench_yaml(tmp_path, group):
    """steps=3 in an experiment was timed as bench.yaml's steps=100, without a word."""
    values = {key: f"recipe's {key}" for key in bench_keys()}
    assert {"steps", "warmup", "repeats", "variants", "precisions"} <= values.keys()
    (tmp_path / group).mkdir()
    body = yaml.safe_dump({**values, "seed": 5})
    (tmp_path / group / "mine.yaml").write_text(f"# @package _global_\n{body}")
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("bench", [f"{group}=mine", f"hydra.searchpath=[file://{tmp_path}]"])
        plain = compose("bench", [])
    assert {key: cfg[key] for key in values} == values
    assert cfg.seed == 5 and plain.task_name == "train"


def test_a_recipes_task_name_names_the_folder_of_its_rows(tmp_path):
    """task_name: my_study in a recipe was replaced by bench's own: the rows went to
    paths.log_dir/bench, with every other recipe's, as if it were not set."""
    cfg = recipe(tmp_path, "task_name: my_study\n", "paths.log_dir=/logs", hydra=True)
    assert cfg.task_name == "my_study"
    assert Path(cfg.hydra.run.dir).parent == Path("/logs/bench/my_study/runs")
    assert Path(cfg.hydra.sweep.dir).parent == Path("/logs/bench/my_study/multiruns")
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        plain = compose("bench", ["paths.log_dir=/logs"], return_hydra_config=True)
    assert Path(plain.hydra.run.dir).parent == Path("/logs/bench/train/runs")  # apart from runs
    assert Path(plain.hydra.sweep.dir).parent == Path("/logs/bench/train/multiruns")


def test_a_recipes_on_nonfinite_skip_is_timed(tmp_path, monkeypatch):
    """trainer.on_nonfinite: skip in a recipe makes aegan.train's step check every step's
    gradients (a unit GradScaler); bench timed the step without it, in silence."""
    made = []

    class Seen(Amp):  # the real Amp, each one the bench makes kept to be looked at
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(bench, "Amp", Seen)
    cfg = recipe(
        tmp_path, "trainer: {on_nonfinite: skip}\n", "trainer.device=cpu", "data.subset=256",
        "steps=2", "plain_steps=1", "warmup=1", "repeats=1", "threads=[1]",
        f"paths.data_dir={tmp_path / 'data'}",
    )  # fmt: skip
    (row,) = bench.benchmark(cfg)
    assert row["on_nonfinite"] == "skip" and "error" not in row
    assert [amp.scaler is not None for amp in made] == [True]  # the step skips as a run's


def test_a_recipe_s_speed_settings_are_timed_unless_a_list_names_others(tmp_path):
    """experiment=dcgan_fashion_mnist (bf16 where native, channels_last) was timed in fp32,
    channels first: bench.yaml's lists set every configuration's trainer settings."""
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "fast.yaml").write_text(
        "# @package _global_\ntrainer: {precision: bf16, channels_last: true, compile: default,"
        " compile_scope: step}\n"
    )
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        given = ["experiment=fast", f"hydra.searchpath=[file://{tmp_path}]", "threads=[1]"]
        cfg = compose("bench", given)
        listed = compose("bench", [*given, "channels_last=[false,null]"])
    timed = ["precision", "compile", "compile_scope", "channels_last"]
    rows = [[labels[key] for key in timed] for labels, _ in configurations(cfg)]
    assert rows == [["bf16", "default", "step", True]]
    rows = [[labels[key] for key in timed] for labels, _ in configurations(listed)]
    assert rows == [["bf16", "default", "step", False], ["bf16", "default", "step", True]]
