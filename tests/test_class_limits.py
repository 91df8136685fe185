"""Data with one class (a flat image folder): the metrics that need class labels (a probe,
the domain classifier and everything measured in its features) report no figures there."""

from __future__ import annotations

import logging

import pytest
import torch
from test_split_limits import folder_run, image_folder, no_data_read  # noqa: F401

from aegan.errors import ConfigError
from aegan.metrics.choice import check_metrics
from aegan.metrics.evaluation import evaluate
from aegan.metrics.scope import Scope, Settings
from conftest import assert_one_error_line, synthetic_data


class Coder:
    """Codes are the first pixels; reconstructions are the images themselves."""

    metrics = ("reconstruction", "probe", "pca", "fd")
    latent_dim = 4

    def encode(self, x):
        return x.flatten(1)[:, : self.latent_dim]

    def reconstruct(self, x):
        return x

    def sample(self, count, generator):
        return torch.rand(count, 1, 28, 28, generator=generator)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model=aae", "evaluate.metrics=[probe]"],
         "evaluate.metrics=[probe]: data.root={root} (200 images) holds one class, and probe "
         "needs class labels"),
        (["model=infogan"],
         "evaluate.metrics=null: data.root={root} (200 images) holds one class, and all of "
         "InfoGanTask's final metrics (code_control, classifier, fd, kid, prdc, classes) need "
         "class labels"),
    ],
)  # fmt: skip
@pytest.mark.usefixtures("no_data_read")
def test_metrics_that_need_classes_are_refused_on_one_class(cli, tmp_path, overrides, message):
    root = image_folder(tmp_path / "flat", classes=1, per_class=200)
    result = cli("aegan.train", *folder_run(root, *overrides), f"hydra.run.dir={tmp_path}/run")
    assert_one_error_line(result, message.format(root=root))


def test_a_tasks_own_metrics_leave_out_those_that_need_classes_in_one_line(caplog):
    scope = Scope(Settings(), (1, 28, 28), 100, classes=1, origin="data.root=/x (9 images)")
    with caplog.at_level(logging.WARNING):
        assert check_metrics(Coder(), None, scope=scope) == ("reconstruction", "pca")
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("data.root=/x (9 images) holds one class, and probe, fd, "
                           "pca/probe_accuracy need class labels")  # fmt: skip
    with pytest.raises(ConfigError, match=r"evaluate.metrics=\[pca, fd\]: data.root=/x"):
        check_metrics(Coder(), ["pca", "fd"], scope=scope)
    two = Scope(Settings(), (1, 28, 28), 100, classes=2)
    assert check_metrics(Coder(), None, scope=two) == Coder.metrics


def test_one_class_data_gets_no_probe_figure():
    """The probe scored 1.0 on one class, and so did PCA's."""
    data = synthetic_data(300)
    data.classes, data.train_labels, data.test_labels = ("only",), data.train_labels * 0, \
        data.test_labels * 0  # fmt: skip
    figures = evaluate(Coder(), data, ["probe", "pca"], Settings(progress=False))
    assert set(figures) == {"pca/mse", "test/mse_over_pca"}


def test_a_label_prior_on_twelve_classes_stops_before_the_run_folder(cli, tmp_path):
    """Each class picks one of the AAE's 10 mixture components; a step on label 11 failed
    with an IndexError inside the prior."""
    root = image_folder(tmp_path / "twelve", classes=12, per_class=10)
    run = folder_run(root, "model=aae", "model.prior=mixture", "model.label_prior=true",
                     "evaluate.at_end=false")  # fmt: skip
    result = cli("aegan.train", *run, f"hydra.run.dir={tmp_path}/run")
    assert_one_error_line(result, "model.label_prior=true with model.prior=mixture is not "
                          f"allowed on data data.root={root} (120 images) with 12 classes")  # fmt: skip
    assert not (tmp_path / "run").exists()
