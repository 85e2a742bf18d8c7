"""The rank-aware batch source: every rank draws the global batch and keeps its own slice.

One process with batch size N·b and N processes with b each then see the same examples in
the same order: rank r's b examples of a step are exactly the r-th slice of the 1-process
batch of that step. Drawing the global batch costs each rank N times the indexing of its
own share; the data already sit in memory, and the bit-for-bit match is what makes a
distributed run reproduce (and resume into) a single-process one.

The state (generator and position) is the global source's own, so a checkpoint's sidecar
does not depend on the number of processes: ``--resume`` works with any ``--nproc``.
"""

from __future__ import annotations

from typing import Any

import torch

from app.engine.distributed.ranks import RankInfo


class RankSlicedBatches:
    def __init__(self, source: Any, rank: RankInfo) -> None:
        self.source = source  # draws global batches (size: the per-rank batch × world size)
        self.rank = rank

    def next(self) -> Any:
        batch = self.source.next()
        if isinstance(batch, tuple):
            return tuple(self.rank.local_slice(t) for t in batch)
        return self.rank.local_slice(batch)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.source.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.source.load_state_dict(state)

    def __getattr__(self, name: str) -> Any:  # epoch, batches_per_epoch, …: the global source's
        if name == "source":
            raise AttributeError(name)
        return getattr(self.source, name)


def rank_batches(source: Any, rank: RankInfo) -> Any:
    """``source`` as this rank sees it (itself outside a distributed run)."""
    return RankSlicedBatches(source, rank) if rank.distributed else source
