"""``shapes``: a dSprites-style dataset rendered on the fly, no files needed.

Binary images of a square, an ellipse or a heart with known ground-truth factors:
shape, scale, rotation and x/y position (each drawn uniformly from a small grid of
values, as in dSprites). The factors are returned as labels so a latent map can be
coloured by them and a traversal can be checked against them.
"""

from __future__ import annotations

import math

import numpy as np
import torch

SHAPE_NAMES = ["square", "ellipse", "heart"]
SCALES = np.linspace(0.5, 1.0, 6)
ROTATIONS = np.linspace(0.0, 2.0 * math.pi, 40, endpoint=False)
POSITIONS = 16  # distinct x and y positions, each in [0, 1]
FACTORS = ("shape", "scale", "rotation", "x", "y")


def _inside(shape_id: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Membership of object-frame points (u, v) in one kind of shape; v points up."""
    if shape_id == 0:  # square
        return (np.abs(u) <= 0.8) & (np.abs(v) <= 0.8)
    if shape_id == 1:  # ellipse with axes 1 and 0.55
        return u**2 + (v / 0.55) ** 2 <= 1.0
    hu, hv = u * 1.15, v * 1.15 + 0.15  # heart: (x² + y² − 1)³ − x²y³ ≤ 0
    return (hu**2 + hv**2 - 1.0) ** 3 - hu**2 * hv**3 <= 0.0


def render_shapes(
    shape: np.ndarray,
    scale: np.ndarray,
    rotation: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    size: int = 32,
) -> np.ndarray:
    """Render N objects → (N, size, size) float32 binary images. x, y in [0, 1] (y = 0 at top)."""
    radius = 0.22 * size  # pixels of an object at scale 1
    margin = radius * 1.05
    cx = margin + x * (size - 1 - 2 * margin)
    cy = margin + y * (size - 1 - 2 * margin)
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32)
    px = cols[None] - cx[:, None, None]  # (N, H, W) offsets from the centre
    py = cy[:, None, None] - rows[None]
    cos, sin = np.cos(rotation)[:, None, None], np.sin(rotation)[:, None, None]
    r = (radius * scale)[:, None, None]
    u = (cos * px + sin * py) / r  # rotate by −θ into the object's frame
    v = (-sin * px + cos * py) / r
    out = np.zeros(u.shape, dtype=np.float32)
    for shape_id in range(len(SHAPE_NAMES)):
        mask = shape == shape_id
        if mask.any():
            out[mask] = _inside(shape_id, u[mask], v[mask])
    return out


def sample_factors(count: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "shape": rng.integers(0, len(SHAPE_NAMES), count),
        "scale": SCALES[rng.integers(0, len(SCALES), count)],
        "rotation": ROTATIONS[rng.integers(0, len(ROTATIONS), count)],
        "x": rng.integers(0, POSITIONS, count) / (POSITIONS - 1),
        "y": rng.integers(0, POSITIONS, count) / (POSITIONS - 1),
    }


def make_shapes(
    count: int = 24000, size: int = 32, seed: int = 0, chunk: int = 4096
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``count`` images (count, 1, size, size) in {0, 1} and their factor labels."""
    factors = sample_factors(count, seed)
    images = np.empty((count, 1, size, size), dtype=np.float32)
    for start in range(0, count, chunk):
        part = slice(start, start + chunk)
        images[part, 0] = render_shapes(
            factors["shape"][part],
            factors["scale"][part],
            factors["rotation"][part],
            factors["x"][part],
            factors["y"][part],
            size,
        )
    labels = {
        "shape": torch.from_numpy(factors["shape"].astype(np.int64)),
        **{k: torch.from_numpy(factors[k].astype(np.float32)) for k in FACTORS[1:]},
    }
    return torch.from_numpy(images), labels
