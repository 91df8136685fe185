"""Images smaller than the domain classifier can take (it halves them three times) are
refused, for each metric measured by it, before any is read: a run with data.image_size=6
trained and then ended 'final evaluation failed (ValueError: image_size 6 too small for 3
pooling blocks)'."""

from __future__ import annotations

import pytest
import torch

from aegan.errors import ConfigError
from aegan.metrics.choice import check_metrics
from aegan.metrics.classifier import DomainClassifier
from aegan.metrics.limits import SMALLEST_IMAGE
from aegan.metrics.scope import Scope, Settings


class Generates:
    def sample(self, count, generator):
        raise AssertionError("not computed by a check")

    def generate_with_code(self, value, count, generator):
        raise AssertionError("not computed by a check")


@pytest.mark.parametrize("name", ["classifier", "fd", "kid", "prdc", "classes", "code_control"])
def test_a_metric_of_the_domain_classifier_refuses_images_it_cannot_take(name):
    task = Generates()
    task.metrics = (name,)
    scope = Scope(Settings(), (1, 7, 7), 100, train_images=500, classes=3)
    with pytest.raises(ConfigError) as refused:
        check_metrics(task, None, scope=scope)
    assert str(refused.value) == (
        f"data.image_size=7 is too small for the final metric {name}: the domain classifier it "
        f"is measured by halves an image 3 times; use data.image_size >= 8, evaluate.metrics "
        f"without {name} or evaluate.at_end=false"
    )
    scope = Scope(Settings(), (1, 8, 8), 100, train_images=500, classes=3)
    assert check_metrics(task, None, scope=scope) == (name,)


def test_the_smallest_image_is_the_smallest_the_classifier_takes():
    classifier = DomainClassifier(image_size=SMALLEST_IMAGE).eval()
    assert classifier(torch.rand(2, 1, SMALLEST_IMAGE, SMALLEST_IMAGE)).shape == (2, 10)
    with pytest.raises(ValueError, match="too small"):
        DomainClassifier(image_size=SMALLEST_IMAGE - 1)
