"""The geometry behind the VAE page's views: codes to decode and planes to look through.

Qt-free and model-free (numpy in, numpy out), so every view's maths is tested headless:

- traversal:      row r sets z_{d_r} to each of ``columns`` values in [−L, L] (or in the range
                  the data's codes μ_{d_r} span), the rest = base
- interpolation:  linear  z_t = (1 − t) z_a + t z_b
                  sphere  z_t = sin((1 − t)θ)/sin θ · z_a + sin(tθ)/sin θ · z_b,  cos θ = ẑ_a · ẑ_b
- latent map:     the first two principal components of μ (SVD of the centred codes)
- manifold:       a side × side grid over two dimensions (row 0 at the top = the highest value)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

TRAVERSAL_LIMIT = 3.0  # ±3 prior standard deviations hold 99.7 % of p(z_i)


def sweep_values(columns: int, limit: float = TRAVERSAL_LIMIT) -> np.ndarray:
    """The values a traversal column sets: ``columns`` evenly spaced in [−limit, limit]."""
    if columns < 2:
        raise ValueError("a traversal needs at least 2 columns")
    return np.linspace(-limit, limit, columns, dtype=np.float32)


def traversal_codes(
    base: np.ndarray,
    dims: Sequence[int],
    columns: int,
    limit: float = TRAVERSAL_LIMIT,
    ranges: Sequence[tuple[float, float]] | None = None,
) -> np.ndarray:
    """Codes of a traversal grid, row-major: (len(dims) · columns, latent_dim).

    Row r keeps ``base`` except dimension ``dims[r]``, which sweeps ``sweep_values(columns, limit)``
    or, with ``ranges``, ``columns`` evenly spaced values from ``ranges[r][0]`` to ``ranges[r][1]``.
    """
    base = np.asarray(base, dtype=np.float32).reshape(-1)
    for d in dims:
        if not 0 <= d < base.size:
            raise ValueError(f"dimension {d} is outside 0…{base.size - 1}")
    if ranges is not None and len(ranges) != len(dims):
        raise ValueError("give one (low, high) range per traversed dimension")
    values = sweep_values(columns, limit)
    codes = np.repeat(base[None, :], len(dims) * columns, axis=0)
    for row, d in enumerate(dims):
        if ranges is not None:
            values = np.linspace(ranges[row][0], ranges[row][1], columns, dtype=np.float32)
        codes[row * columns : (row + 1) * columns, d] = values
    return codes


def data_ranges(
    mu: np.ndarray, dims: Sequence[int], low_percent: float = 2.0, high_percent: float = 98.0
) -> list[tuple[float, float]]:
    """Where the codes of real data lie along each dimension: percentiles of μ_d over a dataset.

    A β-VAE's codes often fill much less than ±3 (small σ, KL_i of a few nats), so a sweep over
    the prior's ±3 leaves the data and decodes nonsense; this range stays on it.
    """
    mu = np.asarray(mu, dtype=np.float64)
    return [
        (float(np.percentile(mu[:, d], low_percent)), float(np.percentile(mu[:, d], high_percent)))
        for d in dims
    ]


def _path_times(steps: int) -> np.ndarray:
    if steps < 2:
        raise ValueError("an interpolation needs at least 2 steps")
    return np.linspace(0.0, 1.0, steps)


def lerp(z_a: np.ndarray, z_b: np.ndarray, steps: int) -> np.ndarray:
    """Linear path (steps, latent_dim): z_t = (1 − t) z_a + t z_b."""
    z_a = np.asarray(z_a, dtype=np.float64).reshape(-1)
    z_b = np.asarray(z_b, dtype=np.float64).reshape(-1)
    t = _path_times(steps)[:, None]
    return ((1.0 - t) * z_a + t * z_b).astype(np.float32)


def slerp(z_a: np.ndarray, z_b: np.ndarray, steps: int) -> np.ndarray:
    """Spherical path (steps, latent_dim) along the great circle between the directions of
    z_a and z_b (norms blend too); falls back to ``lerp`` when they are (anti)parallel."""
    z_a = np.asarray(z_a, dtype=np.float64).reshape(-1)
    z_b = np.asarray(z_b, dtype=np.float64).reshape(-1)
    norm_a, norm_b = np.linalg.norm(z_a), np.linalg.norm(z_b)
    if norm_a < 1e-8 or norm_b < 1e-8:
        return lerp(z_a, z_b, steps)
    cos_theta = float(np.clip(np.dot(z_a / norm_a, z_b / norm_b), -1.0, 1.0))
    theta = np.arccos(cos_theta)
    sin_theta = np.sin(theta)
    if sin_theta < 1e-6:
        return lerp(z_a, z_b, steps)
    t = _path_times(steps)[:, None]
    path = (np.sin((1.0 - t) * theta) * z_a + np.sin(t * theta) * z_b) / sin_theta
    return path.astype(np.float32)


INTERPOLATIONS = {"linear": lerp, "spherical": slerp}


def interpolate(z_a: np.ndarray, z_b: np.ndarray, steps: int, method: str = "linear") -> np.ndarray:
    if method not in INTERPOLATIONS:
        raise ValueError(f"unknown interpolation '{method}'; choose linear or spherical")
    return INTERPOLATIONS[method](z_a, z_b, steps)


@dataclass
class PrincipalPlane:
    """The plane of the first two principal components of a set of codes."""

    mean: np.ndarray  # (latent_dim,)
    components: np.ndarray  # (2, latent_dim), orthonormal rows
    explained: np.ndarray  # (2,): fraction of the total variance along each

    def project(self, codes: np.ndarray) -> np.ndarray:
        """(N, latent_dim) → (N, 2) coordinates in the plane."""
        return ((np.asarray(codes, dtype=np.float64) - self.mean) @ self.components.T).astype(np.float32)

    def lift(self, coords: np.ndarray) -> np.ndarray:
        """(N, 2) plane coordinates → (N, latent_dim) codes: mean + c₁ v₁ + c₂ v₂."""
        coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
        return (self.mean + coords @ self.components).astype(np.float32)


def principal_plane(codes: np.ndarray) -> PrincipalPlane:
    """PCA of ``codes`` (N, latent_dim): eigenvectors of their d × d covariance (cheap for big N;
    1-D codes get a zero second axis)."""
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2 or codes.shape[0] < 1:
        raise ValueError("PCA needs a non-empty (N, latent_dim) array")
    d = codes.shape[1]
    mean = codes.mean(axis=0)
    centred = codes - mean
    # (d, d) scatter matrix; einsum, not ``@``: a threaded BLAS beside torch's OpenMP threads can
    # take ~100 ms for this tiny product on a busy machine, and it runs on the GUI thread
    scatter = np.einsum("ni,nj->ij", centred, centred)
    variance, vectors = np.linalg.eigh(scatter)  # ascending eigenvalues
    order = np.argsort(variance)[::-1]
    variance = np.clip(variance[order], 0.0, None)
    components = np.zeros((2, d))
    k = min(2, d)
    components[:k] = vectors[:, order[:k]].T
    # a sign convention so the plane does not flip between refreshes: largest entry positive
    for row in components:
        if row[np.argmax(np.abs(row))] < 0:
            row *= -1.0
    total = variance.sum()
    explained = np.zeros(2)
    if total > 0:
        explained[:k] = variance[:k] / total
    return PrincipalPlane(mean, components, explained)


def manifold_codes(
    base: np.ndarray, dims: tuple[int, int], side: int, x_range: tuple[float, float],
    y_range: tuple[float, float],
) -> np.ndarray:  # fmt: skip
    """Codes of a side × side grid over dimensions (i, j), row-major: (side², latent_dim).

    Column c sets z_i to the c-th value of x_range (left → right); row r sets z_j to the r-th
    value of y_range from the top (high → low), so tiling the decoded images row by row gives
    a picture whose axes match a plot with z_j pointing up.
    """
    if side < 2:
        raise ValueError("a manifold grid needs at least 2 images per side")
    i, j = dims
    base = np.asarray(base, dtype=np.float32).reshape(-1)
    xs = np.linspace(x_range[0], x_range[1], side, dtype=np.float32)
    ys = np.linspace(y_range[1], y_range[0], side, dtype=np.float32)
    codes = np.repeat(base[None, :], side * side, axis=0)
    grid_y, grid_x = np.meshgrid(ys, xs, indexing="ij")
    codes[:, i] = grid_x.reshape(-1)
    codes[:, j] = grid_y.reshape(-1)
    return codes


def most_active_dims(kl_per_dim: np.ndarray, count: int) -> list[int]:
    """The ``count`` dimensions with the largest KL, in index order."""
    kl = np.asarray(kl_per_dim, dtype=np.float64)
    order = np.argsort(-kl, kind="stable")[: max(0, count)]
    return sorted(int(i) for i in order)


def parse_dims(text: str, latent_dim: int) -> list[int]:
    """ "0, 3, 5-7" → [0, 3, 5, 6, 7]; raises ValueError with a short reason."""
    dims: list[int] = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        low, sep, high = part.partition("-")
        try:
            first, last = (int(low), int(high)) if sep else (int(part), int(part))
        except ValueError:
            raise ValueError(f"'{part}' is not a dimension number or range like 2-5") from None
        for d in range(first, last + 1):
            if not 0 <= d < latent_dim:
                raise ValueError(f"dimension {d} is outside 0…{latent_dim - 1}")
            if d not in dims:
                dims.append(d)
    if not dims:
        raise ValueError("list at least one dimension, e.g. 0,3,5")
    return dims
