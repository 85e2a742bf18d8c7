"""Learning-rate schedules as a multiplier of the base learning rate at each step."""

from __future__ import annotations

import math
from typing import Literal, get_args

Schedule = Literal["constant", "cosine", "warmup_cosine"]
SCHEDULES: tuple[str, ...] = get_args(Schedule)


def lr_factor(
    schedule: str, step: int, total_steps: int, warmup_steps: int = 0, min_ratio: float = 0.0
) -> float:
    """Multiplier for the base LR before update ``step`` (0-based) of ``total_steps``.

    constant:       1
    cosine:         r + (1 − r) · ½ (1 + cos(π · t / T))        r = min_ratio
    warmup_cosine:  (step + 1) / W for the first W steps, then cosine over the remaining steps
    """
    if schedule == "constant":
        return 1.0
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule '{schedule}'; choose one of {', '.join(SCHEDULES)}")
    warmup = warmup_steps if schedule == "warmup_cosine" else 0
    if step < warmup:
        return (step + 1) / warmup
    span = max(1, total_steps - warmup)
    progress = min(1.0, (step - warmup) / span)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))
