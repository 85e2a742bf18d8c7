"""What a training step calls: each of a task's entry points, wrapped for the run's setup.

A task names the modules (and methods) its training step runs — the VAE's and the GPT's
``loss``, the WGAN's critic and generator. For a run that needs it, each is wrapped, inside
out, in:

    autocast      the forward in bf16 / fp16 (``precision``)
    DDP           gradients averaged over the ranks during backward (a torchrun launch)
    torch.compile the forward compiled (``compile``)

The task's own ``model`` is never wrapped: its state dict, snapshots and checkpoints keep
the plain keys (no ``module.`` or ``_orig_mod.`` prefixes), so a file written by a
distributed, compiled or mixed-precision run is an ordinary genplay checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils._pytree import tree_map

from app.engine.distributed.ranks import RankInfo
from app.engine.precision import Precision, autocast

COMPILE_BACKEND = "inductor"  # torch.compile's default; tests may use "eager" for speed


@dataclass(frozen=True)
class EntryPoint:
    module: nn.Module  # the module whose parameters the call trains
    method: str = "forward"
    # False for a module differentiated twice (the WGAN-GP critic: its gradient penalty needs
    # create_graph), which torch.compile cannot do; it then runs uncompiled
    compilable: bool = True


class MethodCall(nn.Module):
    """``module.method(...)`` as this module's forward, under the run's autocast: DDP and
    torch.compile wrap a module's forward, and the step may call another method (``loss``)."""

    def __init__(self, module: nn.Module, method: str, precision: Precision, device: torch.device) -> None:
        super().__init__()
        self.module = module
        self.method = method
        self.precision = precision
        self.device = device

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        with autocast(self.precision, self.device):
            out = getattr(self.module, self.method)(*args, **kwargs)
        # back to float32 at the boundary: what the step does next outside autocast (the WGAN's
        # unwrapped critic on G(z), a loss's arithmetic) then sees float32 as with fp32
        return tree_map(_as_float32, out) if self.precision != "fp32" else out


def _as_float32(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.dtype in (torch.bfloat16, torch.float16):
        return value.float()
    return value


def wrapped_entries(
    entries: dict[str, EntryPoint],
    *,
    rank: RankInfo,
    precision: Precision,
    compile: bool,
    device: torch.device,
) -> dict[str, Callable[..., Any]]:
    """role → the callable a training step uses; empty when nothing needs wrapping (the
    step then calls the modules themselves)."""
    if not rank.distributed and precision == "fp32" and not compile:
        return {}
    out: dict[str, Callable[..., Any]] = {}
    for role, entry in entries.items():
        call: nn.Module = MethodCall(entry.module, entry.method, precision, device)
        if rank.distributed:
            # broadcasts rank 0's parameters and buffers: every rank starts from the same weights
            gpu = [device.index if device.index is not None else rank.local_rank]
            call = DistributedDataParallel(call, device_ids=gpu if device.type == "cuda" else None)
        if compile and entry.compilable:
            call = torch.compile(call, backend=COMPILE_BACKEND)
        out[role] = call
    return out
