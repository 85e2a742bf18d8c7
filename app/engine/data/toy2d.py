"""2-D toy distributions, generated on the fly (no files), for GANs you can watch.

Each set is a ``sampler(n, generator) → (n, 2)`` float32 tensor; ``load_toy`` wraps one in a
kind "points" DataBundle with a fixed train/validation sample and the sampler for fresh
batches. The first three follow the WGAN-GP paper's toy experiments (Gulrajani et al.,
2017, ``gan_toy.py``):

- ``8gaussians``: 8 Gaussians (σ = 0.02) on a circle of radius 2, everything divided by 1.414,
  so the modes sit at radius √2 ≈ 1.414 with σ ≈ 0.0141.
- ``25gaussians``: a 5×5 grid of Gaussians (σ = 0.05) at spacing 2, divided by 2.828: modes at
  spacing ≈ 0.707 in [−1.414, 1.414]², σ ≈ 0.0177.
- ``swissroll``: sklearn's swiss roll (t ∈ [1.5π, 4.5π], noise 0.25) in the x–z plane, / 7.5.

and three more shapes that show other failure modes:

- ``moons``: two interleaving half circles of radius 1 (noise σ = 0.05), centred on 0.
- ``ring``: a continuous circle of radius 1.5 (radial noise σ = 0.05): no modes to collapse to.
- ``checkerboard``: uniform on the 8 dark squares of a 4×4 board over [−2, 2]².
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from app.engine.data.bundle import DataBundle
from app.engine.data.info import DataKind

TRAIN_POINTS = 20_000  # the fixed sample kept as ``train`` (fresh batches come from the sampler)
VAL_POINTS = 2_000

Sampler = Callable[[int, torch.Generator], torch.Tensor]


def _randn(n: int, generator: torch.Generator) -> torch.Tensor:
    return torch.randn(n, 2, generator=generator)


def _rand(n: int, generator: torch.Generator, d: int = 1) -> torch.Tensor:
    return torch.rand(n, d, generator=generator)


def _choose(centers: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    return centers[torch.randint(len(centers), (n,), generator=generator)]  # (n, 2)


# --- the WGAN-GP paper's three ---------------------------------------------------------------
EIGHT_SCALE, EIGHT_STD, EIGHT_DIVISOR = 2.0, 0.02, 1.414
GRID_SPACING, GRID_STD, GRID_DIVISOR = 2.0, 0.05, 2.828


def eight_gaussians_centers() -> torch.Tensor:
    angles = torch.arange(8, dtype=torch.float64) * (math.pi / 4)  # 0°, 45°, …, 315°
    unit = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    return (unit * EIGHT_SCALE / EIGHT_DIVISOR).float()  # (8, 2), radius ≈ 1.414


def twenty_five_gaussians_centers() -> torch.Tensor:
    ticks = torch.arange(-2, 3, dtype=torch.float64) * GRID_SPACING
    xs, ys = torch.meshgrid(ticks, ticks, indexing="ij")
    return (torch.stack([xs.flatten(), ys.flatten()], dim=1) / GRID_DIVISOR).float()  # (25, 2)


def sample_8gaussians(n: int, generator: torch.Generator) -> torch.Tensor:
    centers = eight_gaussians_centers()
    return _choose(centers, n, generator) + _randn(n, generator) * (EIGHT_STD / EIGHT_DIVISOR)


def sample_25gaussians(n: int, generator: torch.Generator) -> torch.Tensor:
    centers = twenty_five_gaussians_centers()
    return _choose(centers, n, generator) + _randn(n, generator) * (GRID_STD / GRID_DIVISOR)


def sample_swissroll(n: int, generator: torch.Generator) -> torch.Tensor:
    t = 1.5 * math.pi * (1.0 + 2.0 * _rand(n, generator))  # (n, 1), t ∈ [1.5π, 4.5π]
    roll = torch.cat([t * torch.cos(t), t * torch.sin(t)], dim=1)  # sklearn's x and z
    return (roll + 0.25 * _randn(n, generator)) / 7.5


# --- three more ----------------------------------------------------------------------------------
MOONS_NOISE = 0.05
RING_RADIUS, RING_NOISE = 1.5, 0.05


def sample_moons(n: int, generator: torch.Generator) -> torch.Tensor:
    theta = math.pi * _rand(n, generator)  # (n, 1), θ ∈ [0, π]
    upper = torch.cat([torch.cos(theta), torch.sin(theta)], dim=1)  # the outer half circle
    lower = torch.cat([1.0 - torch.cos(theta), 0.5 - torch.sin(theta)], dim=1)  # the inner one
    which = torch.randint(2, (n, 1), generator=generator).bool()
    points = torch.where(which, lower, upper) - torch.tensor([0.5, 0.25])  # centre on 0
    return points + MOONS_NOISE * _randn(n, generator)


def sample_ring(n: int, generator: torch.Generator) -> torch.Tensor:
    theta = 2.0 * math.pi * _rand(n, generator)
    radius = RING_RADIUS + RING_NOISE * torch.randn(n, 1, generator=generator)
    return torch.cat([radius * torch.cos(theta), radius * torch.sin(theta)], dim=1)


def sample_checkerboard(n: int, generator: torch.Generator) -> torch.Tensor:
    """x uniform in [−2, 2); y in the dark unit squares of that column (floor(x) + floor(y) even)."""
    x = 4.0 * _rand(n, generator) - 2.0
    row = 2.0 * torch.randint(2, (n, 1), generator=generator).float() - 2.0  # −2 or 0
    y = row + _rand(n, generator) + torch.remainder(torch.floor(x), 2.0)  # shift odd columns up
    return torch.cat([x, y], dim=1)


@dataclass(frozen=True)
class ToySet:
    sample: Sampler
    description: str
    centers: Callable[[], torch.Tensor] | None = None  # mixture modes, where there are any
    mode_std: float = 0.0  # each mode's standard deviation


TOY_SETS: dict[str, ToySet] = {
    "8gaussians": ToySet(sample_8gaussians, "8 Gaussians on a circle (WGAN-GP paper toy)",
                         eight_gaussians_centers, EIGHT_STD / EIGHT_DIVISOR),
    "25gaussians": ToySet(sample_25gaussians, "5×5 grid of Gaussians (WGAN-GP paper toy)",
                          twenty_five_gaussians_centers, GRID_STD / GRID_DIVISOR),
    "swissroll": ToySet(sample_swissroll, "swiss roll spiral (WGAN-GP paper toy)"),
    "moons": ToySet(sample_moons, "two interleaving half circles"),
    "ring": ToySet(sample_ring, "a thin circle of radius 1.5"),
    "checkerboard": ToySet(sample_checkerboard, "uniform on the dark squares of a 4×4 board"),
}  # fmt: skip


def load_toy(name: str, seed: int = 0) -> DataBundle:
    """A toy set as a kind "points" bundle: fixed train/val samples plus the sampler."""
    toy = TOY_SETS[name]
    generator = torch.Generator().manual_seed(seed)
    return DataBundle(
        name=name,
        kind=DataKind.POINTS,
        train=toy.sample(TRAIN_POINTS, generator),
        val=toy.sample(VAL_POINTS, generator),
        sampler=toy.sample,
        source=name,
    )


@dataclass(frozen=True)
class ModeCoverage:
    modes_hit: int  # modes holding at least ``min_share`` of the samples within ``radius``
    modes: int
    near_share: float  # fraction of samples within ``radius`` of some mode
    radius: float
    counts: np.ndarray  # samples within ``radius`` of each mode


def mode_coverage(points: np.ndarray, centers: np.ndarray, radius: float,
                  min_share: float = 0.01) -> ModeCoverage:  # fmt: skip
    """How many modes the samples reach, and how many samples are close to a mode.

    A sample is *near* a mode when it lies within ``radius`` of its nearest centre (3σ is the
    usual choice); a mode is *hit* when at least ``min_share`` of all samples are near it.
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    centers = np.asarray(centers, dtype=np.float64)
    distances = np.linalg.norm(points[:, None, :] - centers[None, :, :], axis=2)  # (N, modes)
    nearest = distances.argmin(axis=1)
    near = distances[np.arange(len(points)), nearest] <= radius
    counts = np.bincount(nearest[near], minlength=len(centers))
    hit = int((counts >= max(1.0, min_share * len(points))).sum())
    share = float(near.mean()) if len(points) else 0.0
    return ModeCoverage(hit, len(centers), share, radius, counts)
