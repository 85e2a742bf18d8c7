"""Which process of a distributed run this is: its rank among ``world_size`` processes.

torchrun tells every process its place through the environment (RANK, WORLD_SIZE,
LOCAL_RANK); once the process group is up, ``current_rank()`` reads it from there. A
process outside any group (the GUI, plain ``genplay train``) is rank 0 of 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class RankInfo:
    rank: int = 0  # this process's place, 0 … world_size − 1
    world_size: int = 1  # processes training the one model together
    local_rank: int = 0  # its place on this machine (which GPU it uses)

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_writer(self) -> bool:
        """Only rank 0 writes checkpoints, the metrics file and the progress bar."""
        return self.rank == 0

    def local_slice(self, whole: torch.Tensor) -> torch.Tensor:
        """This rank's equal share of a tensor drawn for the whole global batch (dim 0).

        Rank r of N keeps rows [r·n/N, (r+1)·n/N): the slices of all ranks, in rank order,
        are exactly the tensor one process would have used for the global batch."""
        if not self.distributed:
            return whole
        share = len(whole) // self.world_size
        return whole[self.rank * share : (self.rank + 1) * share]


SINGLE = RankInfo()


def current_rank() -> RankInfo:
    """This process's place in the running process group (rank 0 of 1 outside any)."""
    if not (dist.is_available() and dist.is_initialized()):
        return SINGLE
    from app.engine.distributed.group import local_rank_from_env

    return RankInfo(dist.get_rank(), dist.get_world_size(), local_rank_from_env())
