"""A tiny trained run and its checkpoints to damage: payloads that would run code if a record
chose it, a sentinel file that shows whether one did, and the one line a load of a damaged run
must give."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf

from aegan import load_run
from aegan.data.idx import write_idx
from aegan.engine.state import Progress, checkpoint_state
from aegan.errors import USER_ERRORS
from aegan.io.files import atomic_save
from aegan.train import train
from conftest import SENTINEL_DIR, TINY_GAN, built, compose_config

SENTINEL = SENTINEL_DIR / "record-written"

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


def trained_runs(tmp_path_factory) -> dict:
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


def node_at(state: dict, path: tuple):
    node = state["config"]
    for key in path:
        node = node[key]
    return node
