"""One guarded optimiser update: backward, clip, check for NaN/Inf, step.

The finiteness checks come *before* ``optimizer.step()``, so a bad batch never
writes NaN into the weights: the run stops with the model as it was.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from app.engine.errors import TrainingError
from app.engine.precision import scaler_of


class NonFiniteError(TrainingError):
    """A loss or gradient became NaN or infinite."""


def check_finite(name: str, value: float, step: int) -> None:
    if not math.isfinite(value):
        kind = "NaN" if value != value else "infinite"
        raise NonFiniteError(
            f"Training stopped at step {step}: {name} became {kind}; the weights were left as they "
            f"were before this step. Try a lower learning rate or gradient clipping.",
            step=step,
        )


def guarded_update(
    loss: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    params: Iterable[torch.nn.Parameter],
    *,
    step: int,
    grad_clip: float = 0.0,
    loss_name: str = "loss",
) -> float:
    """Minimise ``loss`` by one step of ``optimizer``; returns the gradient norm before clipping.

    In fp16 (the optimiser has a gradient scaler) the loss is scaled for backward and the
    gradients unscaled before clipping; a step whose gradients overflowed is skipped, as the
    scaler shrinks its scale, and reports a gradient norm of 0."""
    check_finite(loss_name, loss.item(), step)
    scaler = scaler_of(optimizer)
    optimizer.zero_grad(set_to_none=True)
    (scaler.scale(loss) if scaler is not None else loss).backward()
    if scaler is not None:
        scaler.unscale_(optimizer)
    params = [p for p in params if p.grad is not None]
    if grad_clip > 0:
        norm = float(torch.nn.utils.clip_grad_norm_(params, grad_clip))
    else:
        norm = float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params])))
    if scaler is not None:
        scaler.step(optimizer)  # skipped when the scaled gradients overflowed
        scaler.update()
        return norm if math.isfinite(norm) else 0.0
    check_finite(f"the gradient norm of the {loss_name}", norm, step)
    optimizer.step()
    return norm
