"""aegan.engine.distributed with two real gloo ranks: this process is rank 0, a spawned one
rank 1. After each backward pass ``GradientAverager`` leaves every rank with the gradient
of the mean loss over both ranks' data, which is what one process computes on the whole
batch; ``init_distributed`` joins the group from torchrun's variables and ``main_first``
lets rank 0 go first."""

from __future__ import annotations

import multiprocessing
import os
import socket
import threading
import time
from pathlib import Path

import torch
from torch import nn

from aegan.engine.distributed import (
    Distributed,
    GradientAverager,
    backend_for,
    init_distributed,
    rank_device,
    shutdown_distributed,
    world_size,
)

BATCH = 6  # per rank


def networks() -> tuple[nn.Module, nn.Module]:
    """The same two networks on every rank: a weight matrix and a bias each."""
    torch.manual_seed(0)
    return nn.Linear(3, 4), nn.Linear(4, 2)


def data(rank: int) -> torch.Tensor:
    return torch.randn(2 * BATCH, 3, generator=torch.Generator().manual_seed(1))[
        rank * BATCH : (rank + 1) * BATCH
    ]


def grads(*modules: nn.Module) -> list[torch.Tensor | None]:
    return [None if p.grad is None else p.grad.clone() for m in modules for p in m.parameters()]


def ranks_scenario(rank: int, folder: Path) -> dict[str, list]:
    """What both ranks run, in the same order; returns the gradients seen at each point."""
    dist = init_distributed("cpu")
    seen: dict[str, list] = {
        "ranks": [dist.rank, dist.world_size, world_size(), dist.is_main, str(dist.device),
                  torch.distributed.get_backend()]
    }  # fmt: skip
    with dist.main_first():  # rank 0 writes, then rank 1 reads what it wrote
        marker = folder / "first"
        seen["first"] = [marker.exists()]
        marker.write_text(str(rank))
    first, second = networks()
    average = GradientAverager([*first.parameters(), *second.parameters()], dist.world_size)
    x = data(rank)

    # one backward over both networks
    second(first(x)).pow(2).mean().backward()
    average()
    seen["both"] = grads(first, second)
    average()  # nothing new since: no collective, no change
    seen["again"] = grads(first, second)

    # a second backward into the same gradients, then one that reaches only `second`
    second(first(x)).sum().backward()
    average()
    seen["accumulated"] = grads(first, second)
    first.zero_grad(set_to_none=True)
    second.zero_grad(set_to_none=True)
    second(first(x).detach()).abs().sum().backward()
    average()
    seen["second_only"] = grads(first, second)
    shutdown_distributed()
    return seen


def rank_1(folder: Path, port: int) -> None:
    """The spawned rank: exits when its parent does, so a failing test leaves nothing behind."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
    os.environ.update(RANK="1", LOCAL_RANK="1", WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))  # fmt: skip
    torch.save(ranks_scenario(1, folder), folder / "rank1.pt")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_process_reference() -> dict[str, list]:
    """The same steps in one process on both ranks' data: the mean loss over 2 * BATCH."""
    first, second = networks()
    x = torch.cat([data(0), data(1)])
    seen = {}
    second(first(x)).pow(2).mean().backward()
    seen["both"] = grads(first, second)
    # sum over a rank's batch, averaged over ranks: half the sum over both
    (second(first(x)).sum() / 2).backward()
    seen["accumulated"] = grads(first, second)
    first.zero_grad(set_to_none=True)
    second.zero_grad(set_to_none=True)
    (second(first(x).detach()).abs().sum() / 2).backward()
    seen["second_only"] = grads(first, second)
    return seen


def assert_close_lists(a: list, b: list, where: str) -> None:
    assert len(a) == len(b), where
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if x is None or y is None:
            assert x is None and y is None, f"{where}[{i}]"
        else:
            torch.testing.assert_close(x, y, msg=f"{where}[{i}]")


def test_two_gloo_ranks_average_each_backward_to_the_one_process_gradient(tmp_path, monkeypatch):
    port = free_port()
    child = multiprocessing.get_context("spawn").Process(target=rank_1, args=(tmp_path, port))
    child.start()
    try:
        monkeypatch.delenv("LOCAL_RANK", raising=False)  # 0 when torchrun leaves it out
        for key, value in dict(RANK="0", WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
                               MASTER_PORT=str(port)).items():  # fmt: skip
            monkeypatch.setenv(key, value)
        mine = ranks_scenario(0, tmp_path)
        child.join(timeout=120)
        assert child.exitcode == 0
    finally:
        if child.is_alive():
            child.kill()
    theirs = torch.load(tmp_path / "rank1.pt", weights_only=True)

    assert mine["ranks"] == [0, 2, 2, True, "cpu", "gloo"]
    assert theirs["ranks"] == [1, 2, 2, False, "cpu", "gloo"]
    assert mine["first"] == [False] and theirs["first"] == [True]
    assert (tmp_path / "first").read_text() == "1"  # rank 1 wrote last
    reference = one_process_reference()
    for key in ("both", "accumulated", "second_only"):
        assert_close_lists(mine[key], reference[key], key)
        assert_close_lists(theirs[key], mine[key], f"rank 1 {key}")
    assert_close_lists(mine["again"], mine["both"], "again")
    # the ranks' own gradients differ: without the average the comparison would fail
    first, second = networks()
    second(first(data(0))).pow(2).mean().backward()
    assert not torch.allclose(grads(first, second)[0], reference["both"][0])


def test_without_torchrun_it_is_one_process_on_the_named_device(monkeypatch):
    for key in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(key, raising=False)
    assert world_size() == 1
    assert init_distributed("cpu") == Distributed(0, 1, torch.device("cpu"))
    single = Distributed(0, 1, torch.device("cpu"))
    with single.main_first():  # no group, no barrier
        pass
    assert single.is_main and not Distributed(1, 2, torch.device("cpu")).is_main


def test_on_cuda_each_rank_takes_its_local_gpu_and_nccl():
    """Device objects need no GPU: the mapping is checked on any machine."""
    assert rank_device(torch.device("cuda"), 1) == torch.device("cuda", 1)
    assert rank_device(torch.device("cuda", 0), 3) == torch.device("cuda", 3)
    assert rank_device(torch.device("cpu"), 1) == torch.device("cpu")
    assert backend_for(torch.device("cuda", 1)) == "nccl"
    assert backend_for(torch.device("cpu")) == "gloo"
