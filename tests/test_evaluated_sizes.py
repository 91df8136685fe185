"""The sizes an evaluation records (``eval/samples``) and warns of are those of the metrics
it computes: on data of one class the sample metrics are left out, and so are their count
and the warning that it was capped."""

from __future__ import annotations

import dataclasses
import logging

from omegaconf import OmegaConf

import aegan.evaluate
from conftest import built, synthetic_data


def evaluate_cfg(**settings):
    defaults = {"metrics": None, "samples": 10000, "cache_dir": "unused", "iwae_samples": 2,
                "iwae_images": None, "inception_weights": None}  # fmt: skip
    return OmegaConf.create({**defaults, **settings})


def test_sample_metrics_left_out_on_one_class_record_no_sample_count(tmp_path, caplog):
    _, task, _, _ = built(["model=vae", "model.latent_dim=4", "model.hidden_dims=[16]"], tmp_path)
    task.train(False)
    data = synthetic_data(256)
    one_class = dataclasses.replace(data, train_labels=data.train_labels * 0,
                                     test_labels=data.test_labels * 0, classes=("all",))  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="aegan.evaluate"):
        out = aegan.evaluate.evaluate_task(task, one_class, evaluate_cfg(metrics=["elbo", "fd"]))
    assert "gen/fd" not in out and "eval/samples" not in out and "test/neg_elbo" in out
    assert not [r.getMessage() for r in caplog.records if "samples=" in r.getMessage()]
