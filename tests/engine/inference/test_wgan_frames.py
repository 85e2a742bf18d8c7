"""WGAN frames from snapshots: samples of the fixed noise, the critic map, arrows, the view's extent."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.engine.events import ModelSnapshot
from app.engine.inference.wgan_frames import (
    FrameRenderer,
    WGANFrame,
    evolution_pictures,
    map_resolution,
    plane_extent,
    spread_out,
)
from models.wgan import WGAN, WGANConfig


def test_spread_out_keeps_one_point_per_cell():
    points = np.array([[0.1, 0.1], [0.12, 0.1], [0.9, 0.9], [5.0, 5.0]])
    chosen = spread_out(points, (0.0, 1.0, 0.0, 1.0), cells=2)
    assert sorted(chosen.tolist()) == [0, 2]


def test_frames_from_a_snapshot_match_the_model():
    config = WGANConfig(hidden_dims=(8, 8))
    model = WGAN(config).eval()
    snapshot = ModelSnapshot("wgan", config, model.state_dict(), step=7)
    noise = torch.randn(300, 2)
    frame = FrameRenderer().render(snapshot, noise, extent=(-1.0, 1.0, -2.0, 2.0))
    assert frame.step == 7 and frame.critic.shape == (100, 100)
    with torch.no_grad():
        assert np.allclose(frame.samples, model.sample(noise).numpy(), atol=1e-6)
        corner = model.critic(torch.tensor([[1.0, 2.0]])).item()  # last row, last column
    assert frame.critic[-1, -1] == pytest.approx(corner, abs=1e-5)
    assert np.isfinite(frame.gradients).all() and frame.gradients.shape == frame.arrow_starts.shape


def test_image_frames_hold_uint8_samples():
    config = WGANConfig(data_shape=(1, 8, 8), latent_dim=4, arch="conv", conv_channels=(4,))
    snapshot = ModelSnapshot("wgan", config, WGAN(config).state_dict(), step=1)
    frame = FrameRenderer().render(snapshot, torch.randn(6, 4))
    assert frame.is_image and frame.samples.dtype == np.uint8 and frame.samples.shape == (6, 1, 8, 8)
    assert frame.critic is None


def test_an_evolution_of_history_frames_and_a_full_grid_has_pictures_of_one_size():
    history = [WGANFrame(step, np.full((16, 1, 8, 8), 100 * step, np.uint8)) for step in range(3)]
    latest = WGANFrame(3, np.full((64, 1, 8, 8), 255, np.uint8))
    pictures = evolution_pictures([*history, latest])
    assert len({picture.size for picture in pictures}) == 1
    assert pictures[-1].size == evolution_pictures(history)[0].size  # two rows of 8, like the history's
    assert np.asarray(pictures[-1]).max() == 255 and np.asarray(pictures[1]).max() == 100


def test_the_map_stays_100_by_100_for_the_default_critic_and_coarsens_for_huge_ones():
    assert map_resolution(WGAN(WGANConfig()).critic) == 100
    assert 40 <= map_resolution(WGAN(WGANConfig(hidden_dims=(1024, 1024, 1024))).critic) < 100


def test_plane_extent_is_square_around_the_data():
    x0, x1, y0, y1 = plane_extent(np.random.default_rng(0).normal(size=(500, 2)) * [1.0, 0.2] + 3.0)
    assert x1 - x0 == pytest.approx(y1 - y0) and 2 < (x0 + x1) / 2 < 4
