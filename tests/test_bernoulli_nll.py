"""aegan.losses.bernoulli_nll against torch's BCE with logits: values and gradients."""

import torch
import torch.nn.functional as F

from aegan.losses import bernoulli_nll


def _logits_and_pixels(dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(8, 1, 28, 28, generator=g, dtype=dtype) * 6
    logits[0, 0, 0, :6] = torch.tensor([-200.0, -30.0, -17.0, 0.0, 17.0, 200.0])  # both tails
    x = torch.rand(8, 1, 28, 28, generator=g, dtype=dtype)
    x[1] = x[1].round()  # binary images too
    return logits, x


def test_it_is_the_summed_bce_with_logits_per_image_in_value_and_gradient():
    logits, x = _logits_and_pixels(torch.float32)
    mine = logits.clone().requires_grad_(True)
    theirs = logits.clone().requires_grad_(True)
    ours = bernoulli_nll(mine, x)
    reference = F.binary_cross_entropy_with_logits(theirs, x, reduction="none").flatten(1).sum(1)
    assert ours.shape == (8,)
    torch.testing.assert_close(ours, reference, rtol=1e-6, atol=1e-4)
    weights = torch.linspace(-1, 2, 8)  # a gradient per image, as a mean or an IWAE weight gives
    (ours * weights).sum().backward()
    (reference * weights).sum().backward()
    torch.testing.assert_close(mine.grad, theirs.grad, rtol=1e-5, atol=1e-7)


def test_float64_values_and_gradients_in_both_inputs():
    logits, x = _logits_and_pixels(torch.float64)
    reference = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    torch.testing.assert_close(bernoulli_nll(logits, x), reference, rtol=1e-12, atol=1e-10)
    small = (logits[:2, :, :3, :3].clone().requires_grad_(True), x[:2, :, :3, :3].clone())
    small[1].requires_grad_(True)
    assert torch.autograd.gradcheck(bernoulli_nll, small)
