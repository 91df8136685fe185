"""What a VAE run shows in TensorBoard each epoch: its reconstructions, prior samples, the
traversal of its two most used latent dimensions (one series, whichever they are, named in
the Text tab) and the KL per dimension."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from aegan.train import train
from conftest import TINY_AE

TINY_VAE = [o for o in TINY_AE if not o.startswith("evaluate")] + [
    "model=vae",
    "evaluate.at_end=false",
    "data.subset=640",
    "trainer.epochs=3",
]


@pytest.mark.parametrize("latent_dim", [32, 1])  # a code of one: a row; it had none
def test_each_epoch_shows_one_traversal_series_and_names_its_dimensions(make_cfg, latent_dim):
    cfg = make_cfg(*TINY_VAE, f"model.latent_dim={latent_dim}")
    train(cfg)
    every = {"images": 0, "histograms": 0, "tensors": 0}  # 0: keep them all
    events = EventAccumulator(str(Path(cfg.paths.output_dir) / "tb"), size_guidance=every)
    events.Reload()
    steps = [10, 20, 30]  # 10 steps an epoch
    for tag in ("val/reconstructions", "samples/prior", "samples/traversal"):
        assert [image.step for image in events.Images(tag)] == steps, tag
    assert not [tag for tag in events.Tags()["images"] if tag.startswith("samples/traversal_")]
    assert [h.step for h in events.Histograms("val/kl_per_dim")] == steps
    named = events.Tensors("samples/traversal/text_summary")
    assert [event.step for event in named] == steps
    for event in named:
        text = event.tensor_proto.string_val[0].decode()
        if latent_dim == 1:
            assert text == "columns: z0"
            continue
        rows, columns = re.fullmatch(r"rows: z(\d+), columns: z(\d+)", text).groups()
        assert rows != columns and {int(rows), int(columns)} <= set(range(32)), text
