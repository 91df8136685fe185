"""What each rank draws, in one process: disjoint shards of one permutation that together are
one process's batches of twice the size, and a random stream of its own that a resume derives
again."""

import torch

from aegan.data import DeviceBatches
from aegan.engine.device import seed_rank_stream


def test_ranks_draw_disjoint_shards_of_the_same_permutation():
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1)
    shards = [
        torch.cat([b.flatten() for b in DeviceBatches(images, batch_size=1, seed=3, rank=r,
                                                      world_size=2).epoch(0)])
        for r in (0, 1)
    ]  # fmt: skip
    assert len(shards[0]) == len(shards[1]) == 5
    assert set(shards[0].tolist()).isdisjoint(shards[1].tolist())


def test_the_ranks_batches_together_are_one_process_batch_of_twice_the_size():
    """What makes 2 ranks at batch B train as 1 process at 2B (tested below end to end)."""
    images = torch.arange(40, dtype=torch.uint8).view(40, 1, 1, 1)

    def batches(batch_size, rank=0, world_size=1):
        sampler = DeviceBatches(images, batch_size=batch_size, seed=3, rank=rank,
                                world_size=world_size)  # fmt: skip
        return [sorted(b.flatten().tolist()) for b in sampler.epoch(1)]

    single = batches(8)
    ranks = [batches(4, rank=r, world_size=2) for r in (0, 1)]
    assert len(single) == len(ranks[0]) == len(ranks[1]) == 5
    assert [sorted(a + b) for a, b in zip(*ranks, strict=True)] == single


def test_each_rank_has_a_stream_of_its_own_that_a_resume_derives_again():
    """(seed, step, rank) -> the stream: other ranks draw otherwise, the same rank at the
    same step draws the same (a resume from that step's checkpoint goes on as it was)."""
    draws = {}
    for rank in (0, 1, 0):
        seed_rank_stream(7, 120, rank)
        draws.setdefault(rank, []).append(torch.randn(4))
    assert torch.equal(draws[0][0], draws[0][1])
    assert not torch.equal(draws[0][0], draws[1][0])
    seed_rank_stream(7, 121, 0)
    assert not torch.equal(torch.randn(4), draws[0][0])
