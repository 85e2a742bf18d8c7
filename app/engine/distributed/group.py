"""The process group of a torchrun launch: set up from torchrun's environment, torn down always.

torchrun (``--standalone`` on one machine, or ``--rdzv-endpoint`` across machines) starts
the processes and sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; this
module only joins them: gloo on CPU, NCCL on CUDA, as PyTorch's DDP recipe does. Every
collective is bounded by a timeout, so a rank that dies or stalls makes the others fail
with a clear message instead of waiting forever (gloo also notices a closed connection at
once).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import torch
import torch.distributed as dist

from app.engine.distributed.ranks import SINGLE, RankInfo, current_rank

TIMEOUT_ENV = "GENPLAY_DIST_TIMEOUT"  # seconds a collective may wait for the other ranks
DEFAULT_TIMEOUT_S = 300.0


def world_size_from_env() -> int:
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def local_rank_from_env() -> int:
    try:
        return int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError:
        return 0


def rank_from_env() -> RankInfo:
    """This process's place as torchrun announced it (when the group itself may be broken)."""
    try:
        rank = int(os.environ.get("RANK", "0"))
    except ValueError:
        rank = 0
    return RankInfo(rank, world_size_from_env(), local_rank_from_env())


def timeout_from_env() -> timedelta:
    try:
        seconds = float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT_S))
    except ValueError:
        seconds = DEFAULT_TIMEOUT_S
    return timedelta(seconds=max(1.0, seconds))


def backend_for(device_name: str) -> str:
    """NCCL when the ranks train on CUDA GPUs, gloo otherwise (CPU)."""
    name = (device_name or "auto").lower()
    wants_cuda = name.startswith("cuda") or (name == "auto" and torch.cuda.is_available())
    return "nccl" if wants_cuda and dist.is_nccl_available() else "gloo"


def lost_peer_message(rank: RankInfo, reason: str) -> str:
    """What a rank says when the run failed under it: its place, the reason, and why it stops."""
    return (
        f"rank {rank.rank} of {rank.world_size}: {reason} The processes of a distributed run train in "
        "lockstep, so when one stops (killed, out of memory or its own error) the others stop too; "
        "resume from the last checkpoint."
    )


class RankFailed(Exception):
    """Raised inside ``process_group`` by a rank whose run failed: it leaves the group at once
    (no barrier: the others may be stuck in a step it will never join) with ``exit_code``."""

    def __init__(self, exit_code: int) -> None:
        super().__init__(exit_code)
        self.exit_code = exit_code


@contextmanager
def process_group(device_name: str = "auto") -> Iterator[RankInfo]:
    """Join torchrun's process group for the duration of the block; yields this rank's place.

    Outside torchrun (WORLD_SIZE unset or 1) this is a no-op yielding rank 0 of 1. A group that
    the caller already set up is used and left for the caller to tear down."""
    if dist.is_initialized():
        yield current_rank()
        return
    if world_size_from_env() <= 1:
        yield SINGLE
        return
    backend = backend_for(device_name)
    if backend == "nccl":
        torch.cuda.set_device(local_rank_from_env())  # "cuda" then means this rank's own GPU
    dist.init_process_group(backend=backend, timeout=timeout_from_env())
    clean = False
    try:
        yield current_rank()
        clean = True
    finally:
        tear_down(clean)


def tear_down(clean: bool) -> None:
    """Leave the group: after a clean run wait for every rank first (rank 0 may still be writing
    the checkpoint); after a failure leave at once, the others may be gone."""
    if not dist.is_initialized():
        return
    try:
        if clean:
            dist.barrier()
    except RuntimeError:
        pass  # a rank already gone: nothing left to wait for
    finally:
        dist.destroy_process_group()


def average_over_ranks(metrics: dict[str, float], rank: RankInfo) -> dict[str, float]:
    """Each metric averaged over the ranks (equal batches: the global batch's value)."""
    if not rank.distributed or not metrics:
        return metrics
    keys = sorted(metrics)
    values = torch.tensor([float(metrics[k]) for k in keys], dtype=torch.float64)
    if dist.get_backend() == "nccl":
        values = values.cuda()
    dist.all_reduce(values)
    values = (values / rank.world_size).cpu()
    return {k: float(v) for k, v in zip(keys, values, strict=True)}
