"""Environment variables that choose where a run computes, holding what their runtimes do not
read: one line naming the variable, not a run on other threads or the CPU without a word."""

from __future__ import annotations

import pytest
import torch

from aegan.engine.device import resolve_device
from aegan.errors import ConfigError


@pytest.mark.parametrize("variable", ["OMP_NUM_THREADS", "MKL_NUM_THREADS"])
@pytest.mark.parametrize("value", ["0", "abc", "-1", "2.5", "²", "4,0"])
def test_a_thread_count_that_is_no_positive_integer_is_one_line(monkeypatch, variable, value):
    """MKL took abc for one thread, OpenMP for every core, both without a line of aegan's."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as info:
        resolve_device("cpu")
    assert str(info.value) == (
        f"{variable}={value!r} is not allowed: it must be a positive integer (threads per "
        "process), or unset"
    )


@pytest.mark.parametrize("value", ["1", " 4 ", "4,2", "", "08"])
def test_thread_counts_openmp_reads_are_taken(monkeypatch, value):
    monkeypatch.setenv("OMP_NUM_THREADS", value)
    monkeypatch.setenv("MKL_NUM_THREADS", value)
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA here was read before the variable")
@pytest.mark.parametrize("device", ["auto", "cuda"])
@pytest.mark.parametrize("value", ["garbage", "gpu0,1", "cuda:0"])
def test_visible_devices_that_name_no_gpu_are_one_line(monkeypatch, device, value):
    """CUDA reads the variable up to its first entry that is no GPU: every GPU hidden, and
    trainer.device=auto trained on the CPU."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", value)
    with pytest.raises(ConfigError) as info:
        resolve_device(device)
    assert str(info.value) == (
        f"CUDA_VISIBLE_DEVICES={value!r} is not allowed with trainer.device={device}: its "
        "first entry names no GPU (an index, GPU-UUID or MIG-UUID), so CUDA sees none; fix or "
        "unset it, or use trainer.device=cpu"
    )


@pytest.mark.parametrize("value", ["garbage", "0", "-1", "", "GPU-8f1e2a3b"])
def test_visible_devices_do_not_matter_on_the_cpu(monkeypatch, value):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", value)
    assert resolve_device("cpu") == torch.device("cpu")
    if value != "garbage" and not torch.cuda.is_available():  # hidden on purpose, or no GPU
        assert resolve_device("auto") == torch.device("cpu")
