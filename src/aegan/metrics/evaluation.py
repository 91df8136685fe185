"""What the final metrics of one task on one data set share, computed once when asked: the
reconstructions, the PCA basis, the domain classifier and the features and classes of
generated, real and floor images (the protocol: ``aegan.metrics.registry``)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import torch

from aegan.contract import checked_codes, checked_images
from aegan.data import normalize
from aegan.errors import NonFiniteError
from aegan.metrics.arguments import integer as checked_count
from aegan.metrics.choice import check_metrics
from aegan.metrics.classifier import extract_features, predict_classes
from aegan.metrics.classifier_cache import load_or_train_classifier
from aegan.metrics.reconstruction import fit_pca, linear_probe_accuracy
from aegan.metrics.registry import CHUNK, METRICS, measurable
from aegan.metrics.scope import Settings

log = logging.getLogger(__name__)
IMAGE_SETS = ("samples", "floor", "real")  # what features, classes and class_histogram take


def evaluate(task: Any, data: Any, names: Iterable[str], settings: Settings) -> dict[str, float]:
    """The metrics ``names`` of ``task`` on ``data``'s test split (``Evaluation.compute``)."""
    return Evaluation(task, data, settings).compute(names)


def check_image_set(which: Any) -> None:
    """One line unless ``which`` is in ``IMAGE_SETS``, before the classifier trains (a minute)."""
    if not (isinstance(which, str) and which in IMAGE_SETS):
        raise ValueError(f"which={which!r:.40}: choose one of {', '.join(IMAGE_SETS)}")


def check_arguments(data: Any, settings: Any) -> None:
    """One line unless ``data`` is a data set read (``ImageData``: ``Run.data``) and
    ``settings`` a ``Settings``: a dict of them failed on its first attribute read, deep in."""
    if not isinstance(settings, Settings):
        raise ValueError(
            f"settings of type {type(settings).__name__}: Evaluation takes "
            "aegan.metrics.scope.Settings (Settings(samples=5000), say; Settings(**a_dict))"
        )
    images, classes = getattr(data, "test_images", None), getattr(data, "classes", None)
    if not torch.is_tensor(images) or not isinstance(classes, (tuple, list)):
        raise ValueError(
            f"data of type {type(data).__name__}: Evaluation takes a data set read, "
            "aegan.data.ImageData (Run.data, aegan.data.load_data's)"
        )


@contextlib.contextmanager
def measuring(task: Any) -> Iterator[None]:
    """The task's networks in eval mode (BatchNorm's running statistics, no dropout), as
    training's end and ``load_run`` leave them, and afterwards every module in the mode it
    was: a task measured between training steps trains on as before."""
    networks = getattr(task, "networks", None)
    networks = networks.values() if isinstance(networks, dict) else ()
    modules = [m for net in networks if isinstance(net, torch.nn.Module) for m in net.modules()]
    modes = [module.training for module in modules]
    for module in modules:
        module.training = False
    try:
        yield
    finally:
        for module, mode in zip(modules, modes, strict=True):
            module.training = mode


class Evaluation:
    """What the metrics of one task on one data set share, each computed once when asked."""

    def __init__(self, task: Any, data: Any, settings: Settings) -> None:
        check_arguments(data, settings)
        self.task, self.data, self.settings = task, data, settings
        self.device = data.test_images.device
        self._computed: dict[str, torch.Tensor] = {}

    def compute(self, names: Iterable[str]) -> dict[str, float]:
        """The figures of the metrics ``names`` (checked first), sharing what they share."""
        if not isinstance(getattr(self.task, "metrics", None), (tuple, list)):
            raise ValueError(
                f"task of type {type(self.task).__name__}: Evaluation computes the metrics of "
                "a task (Run.task, aegan.tasks.build_task's)"
            )
        out: dict[str, float] = {}
        with measuring(self.task):
            for name in measurable(check_metrics(self.task, names, key="names"), self.data):
                out.update(METRICS[name].compute(self))
        return out

    @property
    def labelled(self) -> bool:
        """Whether the data has two or more classes to probe and classify."""
        return len(self.data.classes) >= 2

    @staticmethod
    def finite(values: torch.Tensor, what: str) -> torch.Tensor:
        """``values`` (one row per image), or ``NonFiniteError`` if any is NaN or inf: weights
        that are finite can still overflow, and a figure of NaN codes or images would be
        written as a number (a probe of NaN codes scores chance)."""
        bad = ~values.isfinite().reshape(len(values), -1).all(dim=1)
        if bad.any():
            raise NonFiniteError(
                f"the model's {what} are NaN or inf for {int(bad.sum())} of {len(values)} "
                "images: these weights cannot be evaluated"
            )
        return values

    def _map(
        self, fn: Callable[[torch.Tensor], torch.Tensor], images_u8: torch.Tensor, what: str,
        member: str | None = None,
    ) -> torch.Tensor:  # fmt: skip
        """``fn`` over [0, 1] float chunks of uint8 images, results (``what``: "codes") checked
        finite and concatenated on the CPU; ``member``: the task's method ``fn`` is, whose
        codes are checked as the contract says."""
        out = []
        for chunk in images_u8.split(CHUNK):
            result = fn(normalize(chunk.to(self.device), "unit"))
            if member is not None:
                result = checked_codes(self.task, member, result, len(chunk))
            out.append(result.float().cpu())
        return self.finite(torch.cat(out), what)

    @cached_property
    def reconstructions(self) -> torch.Tensor:  # (N, C, H, W) in [0, 1]
        return self._map(self._reconstructed, self.data.test_images, "reconstructions")

    def _reconstructed(self, images: torch.Tensor) -> torch.Tensor:
        return self.images("reconstruct", self.task.reconstruct(images), len(images))

    def images(self, member: str, images: Any, count: int) -> torch.Tensor:
        """The task's ``member``'s ``images``, checked to be ``count`` of the data's."""
        return checked_images(self.task, member, images, count, self.data.test_images.shape[1:])

    @cached_property
    def test_mse(self) -> float:
        test = normalize(self.data.test_images.cpu(), "unit").double()
        return (self.reconstructions.double() - test).square().mean().item()

    @cached_property
    def code_width(self) -> int:
        """The numbers in a code of the task's ``encode`` (no other attribute asked of it)."""
        return self._map(self.task.encode, self.data.test_images[:1], "codes", "encode").shape[1]

    @cached_property
    def pca(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, components) of the training images at the task's code size."""
        return fit_pca(self.data.train_images, dim=self.code_width)

    def probe(
        self, key: str, encode: Callable[[torch.Tensor], torch.Tensor],
        member: str | None = "encode",
    ) -> dict[str, float]:  # fmt: skip
        """``{key: linear probe accuracy}`` of codes from ``encode`` ([0, 1] images -> codes):
        the task's ``member``, or None (PCA's); nothing, said in one line, where the training
        codes it is fitted on hold one class (a probe of one class scores that class's share
        of the test images, and one code's spread is NaN)."""
        count = self.settings.probe_train
        labels = self.data.train_labels[:count]
        if len(labels.unique()) < 2:
            log.warning(
                "%s: the %d training images the probe is fitted on hold one class, so it "
                "measures nothing; it is left out (use more training images: data.subset)",
                key, len(labels),
            )  # fmt: skip
            return {}
        train_codes = self._map(encode, self.data.train_images[:count], "codes", member)
        test_codes = self._map(encode, self.data.test_images, "codes", member)
        return {key: linear_probe_accuracy(train_codes, labels, test_codes, self.data.test_labels)}

    # ---- generative: features of real, generated and held-out images -----------------

    @cached_property
    def count(self) -> int:
        """Images per set: generated, real test, held-out floor."""
        data = self.data
        return min(self.settings.samples, len(data.test_images), len(data.train_images) // 5)

    @cached_property
    def classifier(self) -> torch.nn.Module:
        data = self.data
        return load_or_train_classifier(
            data.name, data.train_images[self.count :].cpu(), data.train_labels[self.count :].cpu(),
            num_classes=len(data.classes), cache_dir=Path(self.settings.cache_dir).expanduser(),
            device=self.device, progress=self.settings.progress,
        )  # fmt: skip

    @cached_property
    def samples(self) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.settings.seed)
        samples = self.images("sample", self.task.sample(self.count, generator), self.count)
        samples = samples.float().cpu()  # (n, C, H, W) in [0, 1]
        return self.as_the_data_is(self.finite(samples, "samples"), generator)

    def as_the_data_is(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Generated [0, 1] images measured as the real ones are: under ``data.binarize``,
        Bernoulli draws of their pixels, since a grey image against binary test images in
        a classifier trained on binary ones scores the grey, not the model (a Bernoulli
        model's samples are its draws; its means are their probabilities)."""
        if not self.data.binarized:
            return images
        return torch.bernoulli(images.clamp(0, 1), generator=generator)

    @cached_property
    def real(self) -> torch.Tensor:
        return self.data.test_images[: self.count].cpu()

    @cached_property
    def floor(self) -> torch.Tensor:
        return self.data.train_images[: self.count].cpu()  # held out of the classifier's training

    def features(self, which: str) -> torch.Tensor:
        check_image_set(which)
        return self._cached(
            f"features/{which}", lambda: extract_features(self.classifier, getattr(self, which))
        )

    def class_histogram(self, which: str) -> torch.Tensor:
        """How many of the ``which`` images ("samples", "floor", "real") the domain classifier
        puts in each class: (num_classes,) counts."""
        return torch.bincount(self.classes(which), minlength=len(self.data.classes))

    def code_class_counts(self, per_value: int) -> torch.Tensor:
        """A categorical code's class histograms: (categories, num_classes) counts of the
        domain classifier's classes among ``per_value`` images generated at each code value."""
        per_value = checked_count(
            "per_value", per_value, low=1, meaning="images a value, an integer >= 1"
        )
        if not callable(getattr(self.task, "generate_with_code", None)):
            raise ValueError(
                f"{type(self.task).__name__} has no categorical code to count classes by: "
                "code_class_counts takes a model with one (InfoGAN's)"
            )

        def count() -> torch.Tensor:
            generator = torch.Generator().manual_seed(self.settings.seed)
            counts = torch.zeros(self.task.categories, len(self.data.classes), dtype=torch.long)
            for value in range(self.task.categories):
                images = self.task.generate_with_code(value, per_value, generator)
                images = self.images("generate_with_code", images, per_value).float().cpu()
                images = self.as_the_data_is(self.finite(images, "samples"), generator)
                counts[value] = torch.bincount(
                    predict_classes(self.classifier, images), minlength=counts.shape[1]
                )
            return counts

        return self._cached(f"code_classes/{per_value}", count)

    def classes(self, which: str) -> torch.Tensor:
        check_image_set(which)
        return self._cached(
            f"classes/{which}", lambda: predict_classes(self.classifier, getattr(self, which))
        )

    def _cached(self, key: str, make: Callable[[], torch.Tensor]) -> torch.Tensor:
        if key not in self._computed:
            with measuring(self.task):  # also where a notebook asks for features or classes
                self._computed[key] = make()
        return self._computed[key]

    def generative(self, fn: Callable[[torch.Tensor, torch.Tensor], dict[str, float]]):
        """``fn(real features, other features)`` for the samples (``gen/``) and the floor."""
        real = self.features("real")
        out = {}
        for prefix, which in (("gen", "samples"), ("floor", "floor")):
            out.update({f"{prefix}/{k}": v for k, v in fn(real, self.features(which)).items()})
        return out
