"""The 2-D toy sets: documented shapes and statistics, seeded, registered as built-ins."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from app.engine.data import BUILTIN_DATASETS, load_dataset
from app.engine.data.toy2d import TOY_SETS, mode_coverage

N = 4000


def sample(name: str, seed: int = 0, n: int = N) -> np.ndarray:
    points = TOY_SETS[name].sample(n, torch.Generator().manual_seed(seed))
    assert points.dtype == torch.float32 and tuple(points.shape) == (n, 2)
    return points.numpy().astype(np.float64)


@pytest.mark.parametrize("name", list(TOY_SETS))
def test_each_set_is_registered_seeded_and_finite(name):
    assert BUILTIN_DATASETS[name].kind == "points"
    bundle = load_dataset(name, seed=3)
    assert bundle.kind == "points" and bundle.item_shape == (2,) and bundle.sampler is not None
    assert bundle.train.shape == (20_000, 2) and bundle.val.shape == (2_000, 2)
    assert np.array_equal(sample(name, seed=5), sample(name, seed=5))
    assert not np.array_equal(sample(name, seed=5), sample(name, seed=6))
    assert np.isfinite(sample(name)).all()


@pytest.mark.parametrize(
    ("name", "modes", "spacing"), [("8gaussians", 8, None), ("25gaussians", 25, 2 / 2.828)]
)
def test_gaussian_mixtures_have_their_modes_and_spread(name, modes, spacing):
    toy = TOY_SETS[name]
    centers = toy.centers().numpy()
    assert centers.shape == (modes, 2)
    if spacing is None:  # 8 modes on a circle of radius 2 / 1.414
        assert np.allclose(np.linalg.norm(centers, axis=1), 2 / 1.414, atol=1e-5)
    else:  # a 5 × 5 grid with this spacing
        assert np.allclose(np.unique(np.round(centers[:, 0], 5)), np.arange(-2, 3) * spacing, atol=1e-5)
    points = sample(name)
    cover = mode_coverage(points, centers, radius=4 * toy.mode_std)
    assert cover.modes_hit == modes and cover.near_share > 0.99
    share = cover.counts / cover.counts.sum()
    assert share.min() > 0.5 / modes and share.max() < 1.5 / modes  # modes equally likely
    nearest = centers[np.argmin(np.linalg.norm(points[:, None] - centers[None], axis=2), axis=1)]
    assert np.std(points - nearest) == pytest.approx(toy.mode_std, rel=0.1)


def test_swissroll_is_a_spiral_within_radius_two():
    points = sample("swissroll")
    radius = np.linalg.norm(points, axis=1)
    assert 0.4 < radius.min() and radius.max() < 2.2  # t ∈ [1.5π, 4.5π], / 7.5, noise 0.25/7.5
    # on the spiral (t cos t, t sin t) / 7.5 the angle is t itself, and t = 7.5 · radius
    angle = np.arctan2(points[:, 1], points[:, 0])
    t = 7.5 * radius
    assert np.mean(np.cos(angle - t)) > 0.9
    assert 1.5 * math.pi - 1 < t.min() and t.max() < 4.5 * math.pi + 1


def test_moons_are_two_half_circles_of_radius_one():
    points = sample("moons") + np.array([0.5, 0.25])  # undo the centring
    upper = np.abs(np.linalg.norm(points, axis=1) - 1.0) < 0.2
    lower = np.abs(np.linalg.norm(points - np.array([1.0, 0.5]), axis=1) - 1.0) < 0.2
    assert (upper | lower).mean() > 0.99
    assert 0.4 < upper.mean() < 0.6 + 0.1  # a few points near both circles count twice
    assert abs(points.mean(axis=0) - np.array([0.5, 0.25])).max() < 0.05


def test_ring_has_radius_one_and_a_half_and_no_preferred_angle():
    points = sample("ring")
    radius = np.linalg.norm(points, axis=1)
    assert radius.mean() == pytest.approx(1.5, abs=0.01)
    assert radius.std() == pytest.approx(0.05, rel=0.1)
    angles = np.arctan2(points[:, 1], points[:, 0])
    counts, _ = np.histogram(angles, bins=8, range=(-math.pi, math.pi))
    assert counts.min() > 0.8 * N / 8


def test_checkerboard_fills_only_the_dark_squares():
    points = sample("checkerboard")
    assert points.min() >= -2.0 and points.max() <= 2.0
    parity = (np.floor(points[:, 0]) + np.floor(points[:, 1])) % 2
    assert (parity == 0).all()
    squares = np.unique(np.floor(points).astype(int), axis=0)
    assert len(squares) == 8


def test_mode_coverage_counts_hits_and_near_share():
    centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    points = np.array([[0.0, 0.05]] * 50 + [[10.0, 0.0]] * 49 + [[5.0, 5.0]])
    cover = mode_coverage(points, centers, radius=0.1, min_share=0.01)
    assert cover.modes_hit == 2 and cover.modes == 3
    assert cover.near_share == pytest.approx(0.99)
    assert cover.counts.tolist() == [50, 49, 0]
