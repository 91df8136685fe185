"""Every config composes and builds, on every data set it can take."""

from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig, OmegaConf
from PIL import Image

from aegan.amp import Amp, emulated_bf16, resolve_precision
from aegan.config import validate_config
from aegan.engine.checkpoint import load_checkpoint
from aegan.errors import ConfigError
from aegan.tasks import build_task
from aegan.train import train
from conftest import CONF_DIR, CPU, TINY_AE, compose_config

MODELS = sorted(p.stem for p in (CONF_DIR / "model").glob("*.yaml"))
DATASETS = sorted(p.stem for p in (CONF_DIR / "data").glob("*.yaml"))
EXPERIMENTS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))


def small_images(folder: Path) -> Path:
    """1600 1x1 PNGs in two classes, as the sample metrics' classifier needs."""
    for i in range(1600):
        (folder / str(i % 2)).mkdir(parents=True, exist_ok=True)
        Image.new("L", (1, 1), i % 256).save(folder / str(i % 2) / f"{i}.png")
    return folder


@pytest.mark.parametrize("data", DATASETS)
@pytest.mark.parametrize("model", MODELS)
def test_model_and_data_configs_build(model, data, tmp_path: Path):
    overrides = [f"model={model}", f"data={data}", "trainer.device=cpu"]
    if data == "image_folder":  # read before the run: 1600 images fill its splits
        overrides += [f"data.root={small_images(tmp_path / 'images')}"]
    cfg = compose_config(overrides, tmp_path)
    assert cfg.model.name == model and cfg.data.name == data
    validate_config(cfg, read_data=False)  # the task built on the meta device, every setting
    # checked; the data, found nowhere here, would be fetched (tests/test_cifar10_files.py)
    shape = (
        cfg.data.get("channels", 3),
        cfg.data.get("image_size", 32),
        cfg.data.get("image_size", 32),
    )
    shape = {"fashion_mnist": (1, 28, 28), "mnist": (1, 28, 28)}.get(data, shape)
    task = build_task(cfg.model, shape, torch.device("meta"))
    assert task.name == model and task.objective and task.networks and task.optimizers


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiments_build(experiment, tmp_path: Path):
    cfg = compose_config([f"experiment={experiment}", "trainer.device=cpu"], tmp_path)
    validate_config(cfg, read_data=False)  # as above: no data fetched
    assert cfg.model.name in experiment


def _leaves(node, prefix: str = ""):
    """``(dotted key, value)`` of every value a config file sets, its defaults list aside."""
    for key, value in node.items():
        if key == "defaults":
            continue
        if isinstance(value, DictConfig):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_value_a_recipe_sets_is_the_composed_one(experiment, tmp_path: Path):
    """The entry config's own values came after the recipe's, so a recipe's ``evaluate.*``
    (or ``seed``) was silently the entry config's."""
    recipe = OmegaConf.load(CONF_DIR / "experiment" / f"{experiment}.yaml")
    cfg = compose_config([f"experiment={experiment}"], tmp_path)
    for key, value in _leaves(recipe):
        assert OmegaConf.select(cfg, key) == value, key


def test_autoencoder_config_builds_the_article_network(tmp_path: Path):
    cfg = compose_config([], tmp_path)
    task = build_task(cfg.model, (1, 28, 28), CPU)
    optimizer = task.optimizers["optimizer"]
    assert isinstance(optimizer, torch.optim.Adam)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-3)
    assert task.net.latent_dim == 32
    sizes = [tuple(p.shape) for p in task.net.parameters()]
    assert sizes == [(64, 784), (64,), (32, 64), (32,), (32, 32), (32,), (64, 32), (64,),
                     (784, 64), (784,)]  # the article's 784-64-32 / 32-32-64-784  # fmt: skip
    assert task.net(torch.rand(2, 1, 28, 28)).shape == (2, 1, 28, 28)


def test_unknown_key_is_rejected(tmp_path: Path):
    with pytest.raises(
        ConfigError, match="^trainer.epochz is not a setting; did you mean trainer.epochs"
    ):
        compose_config(["trainer.epochz=3"], tmp_path)


@pytest.mark.parametrize("group", ["model", "data", "logger"])
def test_a_deleted_config_group_is_named_with_its_options(group, tmp_path: Path):
    cfg = compose_config([f"~{group}"], tmp_path)  # Hydra composes without it
    options = sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))
    with pytest.raises(ConfigError, match=f"{group} is not set .* one of: {', '.join(options)}$"):
        validate_config(cfg)


def test_an_unset_value_is_named_before_anything_runs(tmp_path: Path):
    cfg = compose_config(["data=image_folder"], tmp_path)  # data.root: ???
    with pytest.raises(ConfigError, match=r"^data.root is not set: add data.root=\.\.\. to"):
        validate_config(cfg)


def test_auto_precision_is_bf16_only_where_the_device_has_it_natively(tmp_path: Path):
    """``trainer.precision=auto``, the recipes' setting: bf16 emulated on a CPU with AVX2
    only trained the DCGAN 14x slower than fp32. A run records what ran, not ``auto``."""
    native = "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"
    assert Amp("auto", CPU).precision == resolve_precision("auto", CPU) == native
    assert Amp("auto", torch.device("meta")).precision == "bf16"  # a config checked alone
    assert resolve_precision("fp16", CPU) == "fp16"  # a value given is kept (and refused)
    cfg = compose_config([*TINY_AE, "trainer.precision=auto", "data.subset=500"], tmp_path)
    train(cfg)
    state = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    assert state["config"]["trainer"]["precision"] == native


def test_bf16_asked_for_on_a_cpu_without_it_is_warned_of(monkeypatch):
    """An explicit bf16 runs as asked, told that it is emulated: several times slower."""
    for native in (True, False):
        monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda n=native: n)
        warning = emulated_bf16("bf16", CPU)
        assert (warning is None) == native
    assert warning.startswith("trainer.precision=bf16: this CPU has no native bf16")
    assert emulated_bf16("fp32", CPU) is emulated_bf16("bf16", torch.device("meta")) is None
