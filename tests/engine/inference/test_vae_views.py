"""The VAE views' geometry: traversal codes, interpolation paths, PCA, manifold grids."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine.inference.vae_views import (
    data_ranges,
    interpolate,
    lerp,
    manifold_codes,
    most_active_dims,
    parse_dims,
    principal_plane,
    slerp,
    sweep_values,
    traversal_codes,
)


def test_sweep_values_span_minus_to_plus_limit():
    values = sweep_values(7, 3.0)
    assert values.tolist() == [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0]
    with pytest.raises(ValueError):
        sweep_values(1)


def test_traversal_codes_have_one_row_per_dimension_and_keep_the_base():
    base = np.arange(6, dtype=np.float32) / 10
    codes = traversal_codes(base, dims=[4, 1], columns=5, limit=2.0)
    assert codes.shape == (2 * 5, 6)
    grid = codes.reshape(2, 5, 6)  # (rows, columns, latent_dim)
    np.testing.assert_array_equal(grid[0, :, 4], [-2, -1, 0, 1, 2])
    np.testing.assert_array_equal(grid[1, :, 1], [-2, -1, 0, 1, 2])
    untouched = [d for d in range(6) if d != 4]
    np.testing.assert_array_equal(grid[0][:, untouched], np.repeat(base[None, untouched], 5, axis=0))
    with pytest.raises(ValueError, match="outside"):
        traversal_codes(base, dims=[6], columns=3)


def test_traversal_codes_can_sweep_each_row_over_its_own_range():
    rng = np.random.default_rng(1)
    mu = np.stack([rng.uniform(-1, 1, 1000), rng.uniform(0, 4, 1000)], axis=1)
    ranges = data_ranges(mu, [1, 0])
    assert ranges[0] == pytest.approx((0.08, 3.92), abs=0.1)  # 2nd and 98th percentiles
    assert ranges[1] == pytest.approx((-0.96, 0.96), abs=0.1)
    codes = traversal_codes(np.zeros(2), [1, 0], columns=3, ranges=ranges).reshape(2, 3, 2)
    np.testing.assert_allclose(codes[0, :, 1], np.linspace(*ranges[0], 3), rtol=1e-6)
    np.testing.assert_allclose(codes[1, :, 0], np.linspace(*ranges[1], 3), rtol=1e-6)
    with pytest.raises(ValueError, match="one"):
        traversal_codes(np.zeros(2), [1, 0], columns=3, ranges=ranges[:1])


def test_lerp_runs_straight_from_a_to_b():
    a, b = np.array([1.0, -2.0, 0.0]), np.array([3.0, 2.0, 4.0])
    path = lerp(a, b, 5)
    assert path.shape == (5, 3)
    np.testing.assert_allclose(path[0], a)
    np.testing.assert_allclose(path[-1], b)
    np.testing.assert_allclose(path[2], (a + b) / 2)
    np.testing.assert_allclose(np.diff(path, axis=0), np.repeat([(b - a) / 4], 4, axis=0), rtol=1e-6)


def test_slerp_follows_the_great_circle():
    a, b = np.array([2.0, 0.0, 0.0]), np.array([0.0, 2.0, 0.0])
    path = slerp(a, b, 9)
    np.testing.assert_allclose(path[0], a, atol=1e-6)
    np.testing.assert_allclose(path[-1], b, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 2.0, rtol=1e-6)  # equal norms stay on the sphere
    np.testing.assert_allclose(path[4], np.array([1.0, 1.0, 0.0]) * np.sqrt(2), rtol=1e-6)
    angles = np.arctan2(path[:, 1], path[:, 0])
    np.testing.assert_allclose(np.diff(angles), np.pi / 2 / 8, rtol=1e-5)  # constant angular speed
    # the straight line cuts inside the sphere
    assert np.linalg.norm(lerp(a, b, 9)[4]) < 2.0 - 0.5


def test_slerp_falls_back_to_lerp_for_parallel_or_zero_codes():
    a = np.array([1.0, 1.0])
    np.testing.assert_allclose(slerp(a, 3 * a, 4), lerp(a, 3 * a, 4))
    np.testing.assert_allclose(slerp(np.zeros(2), a, 4), lerp(np.zeros(2), a, 4))
    with pytest.raises(ValueError, match="unknown interpolation"):
        interpolate(a, a, 3, "cubic")
    np.testing.assert_allclose(interpolate(a, -a + 0.5, 3, "spherical"), slerp(a, -a + 0.5, 3))


def test_principal_plane_finds_the_directions_of_largest_variance():
    rng = np.random.default_rng(0)
    codes = np.zeros((2000, 5))
    codes[:, 3] = rng.normal(0, 3.0, 2000)  # the widest direction
    codes[:, 0] = rng.normal(0, 1.0, 2000)
    codes[:, 1] = rng.normal(0, 0.1, 2000)
    codes += np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    plane = principal_plane(codes)
    np.testing.assert_allclose(np.abs(plane.components[0]), [0, 0, 0, 1, 0], atol=0.02)
    np.testing.assert_allclose(np.abs(plane.components[1]), [1, 0, 0, 0, 0], atol=0.02)
    assert plane.explained[0] == pytest.approx(9 / 10.01, abs=0.03)
    np.testing.assert_allclose(plane.components @ plane.components.T, np.eye(2), atol=1e-9)
    coords = plane.project(codes)
    assert coords.shape == (2000, 2)
    np.testing.assert_allclose(coords.mean(axis=0), 0.0, atol=1e-4)
    # lifting plane coordinates and projecting them again gives them back
    lifted = plane.lift(np.array([[1.5, -0.5]]))
    np.testing.assert_allclose(plane.project(lifted), [[1.5, -0.5]], atol=1e-5)


def test_principal_plane_of_a_single_code_or_dimension():
    plane = principal_plane(np.array([[1.0, 2.0, 3.0]]))
    assert plane.project(np.array([[1.0, 2.0, 3.0]])).shape == (1, 2)
    one_dim = principal_plane(np.arange(10.0)[:, None])
    assert one_dim.components.shape == (2, 1)
    assert one_dim.explained[0] == pytest.approx(1.0)


def test_manifold_codes_put_the_highest_value_at_the_top_left_row():
    base = np.full(4, 0.5, dtype=np.float32)
    codes = manifold_codes(base, (2, 0), side=3, x_range=(-1.0, 1.0), y_range=(-2.0, 2.0))
    assert codes.shape == (9, 4)
    grid = codes.reshape(3, 3, 4)  # (rows, columns, latent_dim)
    np.testing.assert_array_equal(grid[0, :, 2], [-1, 0, 1])  # x grows to the right
    np.testing.assert_array_equal(grid[:, 0, 0], [2, 0, -2])  # y shrinks downwards
    np.testing.assert_array_equal(codes[:, [1, 3]], 0.5)


def test_most_active_dims_and_parse_dims():
    assert most_active_dims(np.array([0.0, 3.0, 0.1, 2.0, 5.0]), 3) == [1, 3, 4]
    assert parse_dims("0, 3, 5-7", 10) == [0, 3, 5, 6, 7]
    assert parse_dims("2,2,1", 3) == [2, 1]
    for bad in ("", "a", "10", "3-12"):
        with pytest.raises(ValueError):
            parse_dims(bad, 10)
