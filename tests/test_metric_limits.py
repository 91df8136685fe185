"""Each metric's own limits, refused before any data is read (SSIM's image size, the IWAE
bound's cost), the IWAE bound in bounded forward passes, and a stop signal that ends a metric
between two of them."""

from __future__ import annotations

import signal

import pytest
import torch

import aegan.metrics.definitions as definitions
from aegan.engine.interrupt import TrainingInterrupted, stop_on_signals
from aegan.errors import ConfigError
from aegan.evaluate import evaluate_task
from aegan.metrics.choice import check_metrics
from aegan.metrics.evaluation import Evaluation
from aegan.metrics.scope import Scope, Settings
from conftest import synthetic_data


class Bound:
    """A task with the IWAE bound's one capability; records the draws per forward pass."""

    metrics = ("iwae",)

    def __init__(self, after=None):
        self.draws: list[tuple[int, int]] = []  # (images, k) per call
        self.after = after  # called after each forward pass

    def log_importance_weights(self, x: torch.Tensor, k: int) -> torch.Tensor:
        self.draws.append((len(x), k))
        if self.after is not None:
            self.after()
        return torch.zeros(len(x), k, dtype=torch.float64)

    @property
    def forwards(self) -> int:
        return len(self.draws)


class Reconstructs:
    metrics = ("reconstruction",)

    def __init__(self, after=None):
        self.forwards = 0
        self.after = after  # called in each forward pass

    def reconstruct(self, x):
        self.forwards += 1
        try:  # as code that catches what it raises would (a cached classifier's load)
            if self.after is not None:
                self.after()
        except Exception:
            pass
        return x


def refusal(task, shape=(1, 28, 28), test_images=10000, key="evaluate.metrics", **settings):
    scope = Scope(Settings(**settings), shape, test_images, key=key)
    with pytest.raises(ConfigError) as refused:
        check_metrics(task, None, key=key, scope=scope)
    assert "\n" not in str(refused.value)
    return str(refused.value)


@pytest.mark.parametrize("side", [4, 8, 10])
def test_an_image_smaller_than_ssims_window_is_refused(side):
    message = refusal(Reconstructs(), shape=(3, side, side))
    assert message == (
        f"data.image_size={side} is too small for the reconstruction metric (SSIM's 11x11 "
        "window): use data.image_size >= 11, or evaluate.metrics without reconstruction"
    )
    assert "or metrics without" in refusal(Reconstructs(), shape=(3, side, side), key="metrics")


def test_the_smallest_image_ssim_can_measure_passes():
    scope = Scope(Settings(), (3, 11, 11), 10)
    assert check_metrics(Reconstructs(), None, scope=scope) == ("reconstruction",)


@pytest.mark.parametrize(
    ("settings", "test_images", "message"),
    [
        ({"iwae_samples": 10**6, "iwae_images": 10**7}, 10000,
         "evaluate.iwae_samples=1000000 x evaluate.iwae_images=10000000 (10000 test images) "
         "is 1e+10 decoder passes, more than the 1e+08 allowed"),
        ({"iwae_samples": 100000}, 10000, "evaluate.iwae_images=null (10000 test images)"),
        ({"iwae_samples": 10**6, "iwae_images": 101}, None, "(101 test images) is 1e+08"),
    ],
)  # fmt: skip
def test_an_iwae_bound_past_its_cost_names_both_settings(settings, test_images, message):
    assert message in refusal(Bound(), test_images=test_images, **settings)


@pytest.mark.parametrize("key", ["evaluate.metrics", "metrics"])
def test_more_iwae_images_than_the_test_split_has_is_refused(key):
    """They were cut to the test split in silence: the figure was on fewer images than asked."""
    assert refusal(Bound(), test_images=10000, key=key, iwae_images=10001) == (
        f"{key[: -len('metrics')]}iwae_images=10001 is more than the 10000 test images: use at "
        "most 10000" + (", or null for all of them" if key.startswith("evaluate.") else "")
    )  # aegan.evaluate's null is the run's own


@pytest.mark.parametrize(
    ("settings", "test_images"),
    [({}, 10000), ({"iwae_samples": 10**4}, 10000), ({"iwae_images": 10000}, 10000), ({"iwae_samples": 10**6}, 100),
     ({"iwae_samples": 10**6, "iwae_images": 100}, None), ({"iwae_samples": 10**6}, None)],
)  # fmt: skip
def test_an_iwae_bound_within_its_cost_passes(settings, test_images):
    check_metrics(Bound(), None, scope=Scope(Settings(**settings), (1, 28, 28), test_images))


def test_many_importance_samples_are_drawn_in_bounded_forward_passes(monkeypatch):
    monkeypatch.setattr(definitions, "IWAE_BATCH", 100)
    task = Bound()
    data = synthetic_data(64, (1, 4, 4))
    cfg = {"samples": 10, "cache_dir": "/nonexistent", "iwae_samples": 250, "iwae_images": 2}
    out = evaluate_task(task, data, _Config(cfg))
    assert task.draws == [(1, 100), (1, 100), (1, 50)] * 2  # each image's k in three draws
    assert out["test/iwae_k"] == 250 and out["test/iwae_images"] == 2


def sigterm() -> None:
    signal.raise_signal(signal.SIGTERM)


@pytest.mark.parametrize(("task_class", "shape"), [(Bound, (1, 4, 4)), (Reconstructs, (1, 28, 28))])
def test_a_stop_signal_ends_a_metric_between_its_forward_passes(monkeypatch, task_class, shape):
    """A signal waited for the metric in flight to end (the domain classifier's training, a
    long IWAE bound); one in the last metric was not acted on at all: the evaluation ended
    and wrote its figures. Code in the metric that catches Exception lets it through."""
    monkeypatch.setattr(definitions, "IWAE_BATCH", 10)
    task, data = task_class(after=sigterm), synthetic_data(64, shape)
    data.test_images = data.test_images.repeat(40, 1, 1, 1)  # reconstructed in three chunks
    cfg = {"samples": 10, "cache_dir": "/nonexistent", "iwae_samples": 10, "iwae_images": 64}
    state = torch.get_rng_state()
    with stop_on_signals() as stop, pytest.raises(TrainingInterrupted) as stopped:
        evaluate_task(task, data, _Config(cfg), stop=stop, run_dir="RUN")
    (name,) = task.metrics
    assert str(stopped.value) == (
        f"stopped by SIGTERM during the evaluation ({name}); the trained run is intact: "
        "evaluate it with python -m aegan.evaluate run=RUN"
    )
    assert stopped.value.exit_code == 143
    assert task.forwards == 1  # not one more
    assert torch.equal(torch.get_rng_state(), state)  # the caller's random stream restored


class _Config(dict):
    """``evaluate.*`` as a mapping with attribute access, as a DictConfig reads."""

    __getattr__ = dict.__getitem__


class Coder:
    """A task that encodes to 5 numbers and has no ``latent_dim``: the contract asks none."""

    def __init__(self, metrics=("pca",)):
        self.metrics = metrics

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)[:, :5] * 2


def test_a_tasks_own_metric_it_cannot_give_is_refused_before_training():
    """Listed in the task's own ``metrics``, 'prior_match' (codes and prior draws) passed
    every check and failed with an AttributeError after training."""
    with pytest.raises(ConfigError) as refused:
        check_metrics(Coder(("pca", "prior_match")), None)
    assert str(refused.value) == (
        "Coder.metrics: 'prior_match' needs a model that can posterior_codes and "
        "sample_prior, which Coder cannot (the methods posterior_codes(x, generator), "
        "sample_prior(n, generator): aegan.contract.CALLS)"
    )
    assert check_metrics(Coder(), None) == ("pca",)


def test_pca_takes_its_size_from_the_codes():
    """``pca`` read ``task.latent_dim``, which a task need not have: an AttributeError after
    training."""
    evaluation = Evaluation(Coder(), synthetic_data(), Settings(samples=100))
    mean, components = evaluation.pca
    assert components.shape[1] == 5 and evaluation.compute(["pca"])["pca/mse"] > 0


@pytest.mark.parametrize(
    ("names", "message"),
    [("pca", "names='pca' is not allowed: it must be a list of names"),
     (["pcaa"], "names: 'pcaa' is not a metric; choose from: reconstruction, probe, pca,"),
     (["fd"], "names: 'fd' needs a model that can sample, which Coder cannot; its metrics are: pca")],
)  # fmt: skip
def test_a_notebooks_metric_names_are_checked_as_a_runs_are(names, message):
    """``Evaluation.compute("pca")`` iterated the letters (KeyError: 'p'); a name the task
    cannot feed failed in an AttributeError from deep in the metric."""
    evaluation = Evaluation(Coder(), synthetic_data(), Settings(samples=100))
    with pytest.raises(ConfigError) as refused:
        evaluation.compute(names)
    assert str(refused.value).startswith(message)


@pytest.mark.parametrize(
    ("settings", "message"),
    [({"iwae_samples": 0}, "iwae_samples=0 is not allowed: it must be an integer in [1, 1000000]"),
     ({"iwae_images": 0}, "iwae_images=0 is not allowed: it must be an integer in [1, 10000000], or None for all"),
     ({"samples": -1}, "samples=-1 is not allowed: it must be an integer in [10, 10000000]"),
     ({"seed": 1.5}, "seed=1.5 is not allowed"),
     ({"iwae_samples": True}, "iwae_samples=true is not allowed")],
)  # fmt: skip
def test_a_notebooks_settings_are_held_to_evaluate_settings_ranges(settings, message):
    """``Settings(iwae_samples=0)`` was a ZeroDivisionError inside the bound; iwae_images=0 a
    reshape error; samples=-1 was taken without a word."""
    with pytest.raises(ConfigError) as refused:
        Settings(**settings)
    assert str(refused.value).startswith(message)
