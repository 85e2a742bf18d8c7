"""Mixed precision for training: autocast around the forward pass, a loss scaler for fp16.

    fp32  every operation in float32 (the default, and the reference the others are checked against)
    bf16  matrix products and convolutions in bfloat16 under ``torch.autocast``; same exponent
          range as float32, so no loss scaling
    fp16  the same in float16, whose small range needs a gradient scaler: the loss is multiplied
          before backward, the gradients divided again before the step, and a step whose
          gradients overflowed is skipped while the scale shrinks (PyTorch's AMP recipe)

The weights, the optimiser moments and the checkpoints stay float32 in every case.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Literal

import torch

Precision = Literal["fp32", "bf16", "fp16"]
PRECISIONS: tuple[Precision, ...] = ("fp32", "bf16", "fp16")
AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}

# the fp16 scaler of each optimiser; guarded_update asks for it (absent: no scaling)
_scalers: weakref.WeakKeyDictionary[torch.optim.Optimizer, torch.amp.GradScaler] = weakref.WeakKeyDictionary()


def autocast(precision: Precision, device: torch.device) -> contextlib.AbstractContextManager:
    """The autocast region a forward pass runs in (nothing for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=AUTOCAST_DTYPES[precision])


def attach_scalers(
    optimizers: list[torch.optim.Optimizer], precision: Precision, device: torch.device
) -> None:
    """Give each optimiser its own gradient scaler for fp16 (removed again for bf16 and fp32)."""
    for optimizer in optimizers:
        if precision == "fp16":
            if optimizer not in _scalers:
                _scalers[optimizer] = torch.amp.GradScaler(device.type)
        else:
            _scalers.pop(optimizer, None)


def scaler_of(optimizer: torch.optim.Optimizer) -> torch.amp.GradScaler | None:
    return _scalers.get(optimizer)
