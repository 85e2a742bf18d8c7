"""The WGAN page's pieces: contours, arrows, hovering the critic map, the W1 lab's formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from app.engine.events import ModelSnapshot
from app.engine.inference.wgan_frames import FrameRenderer
from app.ui.wgan.contours import contour_segments
from app.ui.wgan.critic_map import CriticMapView, arrow_segments
from app.ui.wgan.w1_lab import point_mass_gradients, point_mass_jsd, point_mass_w1
from models.wgan import WGAN, WGANConfig


def test_contours_of_a_cone_are_circles():
    axis = np.linspace(-2, 2, 101)
    xs, ys = np.meshgrid(axis, axis)
    segments = contour_segments(np.hypot(xs, ys), np.array([0.5, 1.0]))
    x, y = -2 + segments[:, 0] * 0.04, -2 + segments[:, 1] * 0.04  # grid index → coordinate
    radius = np.hypot(x, y)
    assert len(segments) % 2 == 0 and len(segments) > 100
    assert np.all(np.minimum(abs(radius - 0.5), abs(radius - 1.0)) < 1e-3)


def test_a_saddle_cell_gets_two_segments_and_a_flat_grid_none():
    saddle = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert contour_segments(saddle, np.array([0.5])).shape == (4, 2)
    assert contour_segments(np.zeros((5, 5)), np.array([0.5])).shape == (0, 2)


def test_arrows_point_along_the_gradient_and_the_longest_has_the_given_length():
    starts = np.array([[0.0, 0.0], [1.0, 1.0]])
    vectors = np.array([[2.0, 0.0], [0.0, 1.0]])
    segments = arrow_segments(starts, vectors, length=0.5).reshape(2, 6, 2)
    assert np.allclose(segments[0, 1], [0.5, 0.0]) and np.allclose(segments[1, 1], [1.0, 1.25])


def test_hovering_reads_the_critic_value(qtbot):
    view = CriticMapView()
    qtbot.addWidget(view)
    config = WGANConfig(hidden_dims=(8,))
    snapshot = ModelSnapshot("wgan", config, WGAN(config).state_dict(), step=0)
    frame = FrameRenderer().render(snapshot, torch.randn(50, 2), extent=(0.0, 1.0, 0.0, 1.0))
    view.show_frame(frame)
    assert view.value_at(1.0, 0.0) == pytest.approx(float(frame.critic[0, -1]))
    assert view.value_at(5.0, 5.0) is None


def test_w1_lab_formulas():
    assert point_mass_jsd(0.0) == 0.0
    for theta in (-1.7, 0.01, 2.0):
        assert point_mass_jsd(theta) == pytest.approx(math.log(2.0))
        assert point_mass_w1(theta) == pytest.approx(abs(theta))
        assert point_mass_gradients(theta) == (0.0, math.copysign(1.0, theta))


def test_a_gan_frame_shows_d_as_a_probability_and_the_generators_own_push(qtbot):
    config = WGANConfig(hidden_dims=(8,), gan_loss="minimax")
    torch.manual_seed(0)
    model = WGAN(config)
    snapshot = ModelSnapshot("wgan", config, model.state_dict(), step=3)
    frame = FrameRenderer(resolution=5, adaptive=False).render(snapshot, torch.randn(50, 2),
                                                               extent=(0.0, 1.0, 0.0, 1.0))  # fmt: skip
    logit = model.critic(torch.tensor([[1.0, 0.0]])).item()  # the grid's row 0 (y = 0), last column
    assert frame.probability and frame.critic[0, -1] == pytest.approx(1 / (1 + math.exp(-logit)), rel=1e-5)
    # minimax: −∇ₓ log(1 − D(x)) = D(x)·∇ₓℓ(x), by hand with autograd on ℓ alone
    x = torch.from_numpy(frame.arrow_starts).requires_grad_(True)
    scores = model.critic(x)
    (grad_logit,) = torch.autograd.grad(scores.sum(), x)
    expected = torch.sigmoid(scores.detach())[:, None] * grad_logit
    assert np.allclose(frame.gradients, expected.numpy(), atol=1e-6)
    view = CriticMapView()
    qtbot.addWidget(view)
    view.show_frame(frame)
    assert view.colorbar.levels() == (0.0, 1.0) and "P(real)" in view.plot.titleLabel.text
    assert view.colorbar.getAxis("left").labelText == "D(x) = P(real)"
