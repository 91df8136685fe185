"""``aegan.engine.rng_state.seeded``: the draws of a metric or of the domain classifier
repeat whatever the caller drew before, and the caller's streams go on as if nothing drew;
no card but the one named is reseeded (``torch.manual_seed`` reseeds every card)."""

from __future__ import annotations

import pytest
import torch

from aegan.engine.rng_state import seeded
from aegan.metrics.classifier import train_classifier

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def test_the_cpu_stream_is_seeded_inside_and_given_back_after():
    torch.manual_seed(123)
    expected_after = torch.rand(3)
    torch.manual_seed(123)
    with seeded(7, torch.device("cpu")):
        inside = torch.rand(3)
    assert torch.equal(torch.rand(3), expected_after)
    assert torch.equal(inside, torch.rand(3, generator=torch.Generator().manual_seed(7)))


def test_training_the_domain_classifier_leaves_the_callers_stream_as_it_was():
    images = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(8) % 2
    torch.manual_seed(5)
    expected_after = torch.rand(3)
    torch.manual_seed(5)
    train_classifier(images, labels, num_classes=2, epochs=1, batch_size=4, progress=False)
    assert torch.equal(torch.rand(3), expected_after)


@needs_cuda
@pytest.mark.parametrize("name", ["cuda", "cuda:0"])  # "cuda" has no index: the current card
def test_only_the_named_card_is_seeded_and_every_card_given_back(name):
    states = torch.cuda.get_rng_state_all()
    with seeded(7, torch.device(name)):
        inside = torch.rand(3, device="cuda")
    assert all(
        torch.equal(a, b) for a, b in zip(torch.cuda.get_rng_state_all(), states, strict=True)
    )
    torch.cuda.default_generators[0].manual_seed(7)
    assert torch.equal(inside, torch.rand(3, device="cuda"))
    torch.cuda.set_rng_state_all(states)
