"""The training step never waits for the device: scalars stay on it and are read in one go
every ``logger.log_every_steps`` steps (a dispatch-mode check on the CPU, CUDA's sync debug
mode on a GPU)."""

from __future__ import annotations

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from aegan.engine.scalars import StepAccumulator
from conftest import TINY_AE, TINY_GAN, built, synthetic_data

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


class HostSyncDetector(TorchDispatchMode):
    """Records ops that make the host wait for the device on CUDA: reading a value
    (``.item()``, ``bool()``, ``.tolist()``) or producing a data-dependent shape."""

    SYNCING = {"aten::_local_scalar_dense", "aten::is_nonzero", "aten::equal", "aten::nonzero",
               "aten::masked_select", "aten::_unique2", "aten::unique_consecutive",
               "aten::unique_dim", "aten::repeat_interleave"}  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func._schema.name
        bool_index = name in ("aten::index", "aten::index_put_", "aten::index_put") and any(
            isinstance(t, torch.Tensor) and t.dtype == torch.bool
            for t in (args[1] if len(args) > 1 and isinstance(args[1], (list, tuple)) else [])
        )
        if name in self.SYNCING or bool_index:
            self.found.append(name)
        return func(*args, **(kwargs or {}))


def test_the_detector_sees_a_host_read():
    with HostSyncDetector() as detector:
        torch.ones(2).sum().item()
        torch.ones(2)[torch.tensor([True, False])]
    assert detector.found == ["aten::_local_scalar_dense", "aten::index"]


@pytest.mark.parametrize(
    "model",
    [
        TINY_AE,
        [*TINY_AE, "trainer.on_nonfinite=skip"],
        TINY_GAN,
        [*TINY_GAN, "trainer.channels_last=true", "trainer.on_nonfinite=skip"],
        [*TINY_GAN, "model.loss=wgan_gp", "model.n_critic=2"],
        [*TINY_GAN, "model.loss=hinge", "model.r1_gamma=1", "trainer.precision=fp32"],
    ],
    ids=["ae", "ae_skip", "gan", "gan_channels_last_skip", "gan_wgan_gp", "gan_hinge_r1"],
)
def test_training_step_never_waits_for_the_device(model, tmp_path, one_thread):
    _, _, _, step = built(model, tmp_path)
    data = synthetic_data()
    stats = StepAccumulator()
    stats.add(step(data.train_images[:64]), 0)  # optimizer state is created at the first step
    with HostSyncDetector() as detector:
        for i in range(1, 3):
            stats.add(step(data.train_images[64 * i : 64 * (i + 1)]), i)
    assert detector.found == []
    means, bad, _ = stats.read()  # the one sync, every logger.log_every_steps steps
    assert bad == 0 and len(means) >= 1


def test_scalars_are_buffered_and_read_in_one_go():
    stats = StepAccumulator()
    stats.ROWS = 3  # a new device buffer every 3 steps
    for step in range(7):
        loss = torch.tensor(float("nan") if step in (4, 5) else step, dtype=torch.float32)
        stats.add({"train/loss": loss, "train/other": torch.tensor(1.0)}, step)
    means, bad, first_bad = stats.read()
    assert (bad, first_bad) == (2, 4)
    assert means == {"train/loss": (0 + 1 + 2 + 3 + 6) / 7, "train/other": 5 / 7}
    assert stats.read() == ({}, 0, -1)


def test_scalars_with_new_keys_or_a_gap_in_steps_are_folded_first():
    stats = StepAccumulator()
    stats.add({"a": torch.tensor(1.0)}, 0)
    stats.add({"a": torch.tensor(3.0), "b": torch.tensor(float("inf"))}, 1)  # new keys
    stats.add({"a": torch.tensor(5.0), "b": torch.tensor(2.0)}, 7)  # a gap: steps 2-6
    means, bad, first_bad = stats.read()
    assert (bad, first_bad) == (1, 1)  # the step numbers survive both folds
    assert means == {"a": (1 + 5) / 3, "b": 2 / 3}


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
@pytest.mark.parametrize("model", ["ae", "gan"])
def test_gpu_training_step_never_syncs(model, precision, tmp_path):
    cuda = torch.device("cuda")
    overrides = (TINY_AE if model == "ae" else TINY_GAN) + [
        "trainer.device=cuda", f"trainer.precision={precision}", "trainer.channels_last=true"]  # fmt: skip
    _, _, _, step = built(overrides, tmp_path, cuda)
    data = synthetic_data().to(cuda)
    stats = StepAccumulator()
    for i in range(2):  # lazy state (optimizer, cuDNN plans) before the check
        stats.add(step(data.train_images[64 * i : 64 * (i + 1)]), i)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")  # any op that makes the host wait raises
    try:
        for i in range(2, 4):
            stats.add(step(data.train_images[64 * (i - 2) : 64 * (i - 1)]), i)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    means, bad, _ = stats.read()
    assert bad == 0 and all(v == v for v in means.values())


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("model", ["ae", "ae_step", "gan"])
def test_gpu_cuda_graphs_with_batchnorm_and_plain_checkpoints(model, tmp_path):
    from torch._dynamo.utils import counters

    cuda = torch.device("cuda")
    scope = ["trainer.compile_scope=step"] if model == "ae_step" else []
    overrides = (TINY_GAN if model == "gan" else TINY_AE + scope) + [
        "trainer.device=cuda", "trainer.precision=bf16", "trainer.channels_last=true",
        "trainer.compile=reduce-overhead"]  # fmt: skip
    counters.clear()
    _, task, _, step = built(overrides, tmp_path, cuda)
    assert torch.backends.cudnn.benchmark
    data = synthetic_data().to(cuda)
    first = next(iter(task.networks.values()))
    before = {k: v.clone() for k, v in first.named_buffers()}
    stats = StepAccumulator()
    for i in range(4):
        stats.add(step(data.train_images[64 * (i % 4) : 64 * (i % 4 + 1)]), i)
    means, bad, _ = stats.read()
    assert bad == 0 and all(v == v for v in means.values())
    assert counters["inductor"]["cudagraph_skips"] == 0, dict(counters["inductor"])
    if model == "gan":  # BatchNorm running statistics move inside the captured graphs
        after = dict(first.named_buffers())
        assert any(not torch.equal(before[k], after[k]) for k in before if "running_mean" in k)
    assert not any("_orig_mod" in k for n in task.networks.values() for k in n.state_dict())
