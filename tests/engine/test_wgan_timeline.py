"""The sample timeline (capped, evenly thinned) and the GIF / PNG-strip / 2-D frame exports."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from app.engine.animation import FAKE_COLOR, REAL_COLOR, colormap_lut, render_plane, save_gif, save_strip
from app.engine.timeline import Timeline


def test_timeline_keeps_at_most_its_cap_and_spreads_frames_over_the_whole_run():
    timeline = Timeline(max_frames=10)
    for step in range(1, 1001):
        timeline.add(step, f"frame {step}", nbytes=1)
        assert len(timeline) <= 10
    steps = timeline.steps
    assert steps[0] == 1 and steps[-1] == 1000  # the start and the newest always stay
    gaps = np.diff(steps[:-1])
    assert gaps.min() >= gaps.max() / 2  # evenly spread, not bunched at the end
    assert timeline.total_bytes == len(timeline)


def test_timeline_thins_when_the_byte_cap_is_reached():
    timeline = Timeline(max_frames=1000, max_bytes=100)
    for step in range(50):
        timeline.add(step, step, nbytes=10)
    assert timeline.total_bytes <= 100 and len(timeline) <= 10
    assert timeline.steps[-1] == 49


def test_same_step_replaces_and_an_earlier_step_starts_afresh():
    timeline = Timeline()
    timeline.add(5, "a", 1)
    timeline.add(5, "b", 1)  # e.g. a slow-motion action does not advance the step
    assert [f.item for f in timeline] == ["b"]
    timeline.add(7, "c", 1)
    timeline.add(2, "new run", 1)
    assert timeline.steps == [2] and timeline.total_bytes == 1


def test_render_plane_draws_the_heat_map_and_both_kinds_of_points():
    values = np.tile(np.linspace(0.0, 1.0, 50), (50, 1))  # D grows from left to right
    extent = (-1.0, 1.0, -1.0, 1.0)
    empty = render_plane(values, extent, size=100)
    lut = colormap_lut()
    assert empty.shape == (100, 100, 3) and empty.dtype == np.uint8
    assert tuple(empty[50, 0]) == tuple(lut[0]) and tuple(empty[50, -1]) == tuple(lut[-1])
    image = render_plane(values, extent, real=np.array([[-0.5, 0.5]]), fake=np.array([[0.5, -0.5]]), size=100)
    assert tuple(image[25, 25]) == REAL_COLOR  # (−0.5, 0.5): upper left, y grows upwards
    assert tuple(image[74, 74]) == FAKE_COLOR


def test_gif_and_strip_exports(tmp_path):
    frames = [Image.new("RGB", (20, 20), (i * 40, 0, 0)) for i in range(5)]
    gif = save_gif(frames, tmp_path / "run.gif")
    with Image.open(gif) as image:
        assert image.n_frames == 5 and image.info.get("loop") == 0
    strip = save_strip(frames, [f"step {i}" for i in range(5)], tmp_path / "strip.png", max_frames=3)
    with Image.open(strip) as image:
        assert image.width == 3 * (20 + 6) + 6  # three evenly spaced frames side by side
    with pytest.raises(ValueError, match="no frames"):
        save_gif([], tmp_path / "none.gif")
