"""Rank slices (no processes needed): rank r of N keeps the r-th slice of the global batch."""

from __future__ import annotations

import torch

from app.engine.data.batches import ShuffledBatches
from app.engine.distributed import SINGLE, RankInfo
from app.engine.distributed.sampler import RankSlicedBatches, rank_batches
from app.engine.distributed.writers import WriterPolicy


def test_the_slices_of_all_ranks_are_the_single_process_batch_in_order():
    data = torch.arange(40.0)[:, None]
    whole = ShuffledBatches(data, 12, torch.device("cpu"), seed=5)
    ranks = [
        RankSlicedBatches(ShuffledBatches(data, 12, torch.device("cpu"), seed=5), RankInfo(r, 3))
        for r in range(3)
    ]
    for _ in range(7):  # across an epoch boundary (3 batches of 12 per epoch of 40)
        expected = whole.next()
        parts = [source.next() for source in ranks]
        assert [len(p) for p in parts] == [4, 4, 4]
        assert torch.equal(torch.cat(parts), expected)
    # the state is the global source's: a run resumed with another number of processes continues it
    assert torch.equal(ranks[1].state_dict()["position"], whole.state_dict()["position"])


def test_tuples_are_sliced_alike_and_one_process_is_left_alone():
    x, y = torch.arange(8), torch.arange(8) * 10

    class Pairs:
        def next(self):
            return x, y

    got_x, got_y = RankSlicedBatches(Pairs(), RankInfo(1, 2)).next()
    assert got_x.tolist() == [4, 5, 6, 7] and got_y.tolist() == [40, 50, 60, 70]
    source = Pairs()
    assert rank_batches(source, SINGLE) is source


def test_only_rank_0_writes():
    assert WriterPolicy(RankInfo(0, 2)).path("a.safetensors") == "a.safetensors"
    assert WriterPolicy(RankInfo(1, 2)).path("a.safetensors") is None
    assert WriterPolicy(RankInfo(1, 2)).quiet(False) and not WriterPolicy(SINGLE).quiet(False)
