"""Exporting how a run evolved: animated GIFs and PNG strips (Pillow), and 2-D frames as pictures.

``render_plane`` rasterises a critic's values over the plane, with the real and generated
points on top, into an RGB array without any GUI toolkit, so the CLI, tests and the app all
make the same pictures.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

# the critic map's colours, low → high D(x): shared with the app's heat map
CRITIC_COLORS: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (0.0, (38, 70, 128)),  # low D: "looks generated"
    (0.5, (236, 236, 230)),
    (1.0, (184, 110, 24)),  # high D: "looks real"
)
REAL_COLOR = (20, 20, 20)
CONTOUR_LEVELS = 9  # lines of equal critic value between its minimum and maximum
FAKE_COLOR = (220, 30, 60)


def colormap_lut(stops=CRITIC_COLORS, size: int = 256) -> np.ndarray:
    """(size, 3) uint8 lookup table interpolating the colour stops."""
    positions = np.array([p for p, _ in stops])
    colours = np.array([c for _, c in stops], dtype=np.float64)
    x = np.linspace(0.0, 1.0, size)
    return np.stack([np.interp(x, positions, colours[:, i]) for i in range(3)], axis=1).astype(np.uint8)


def _to_pixels(points: np.ndarray, extent: tuple[float, float, float, float], size: int) -> np.ndarray:
    x0, x1, y0, y1 = extent
    cols = (np.asarray(points[:, 0]) - x0) / (x1 - x0) * (size - 1)
    rows = (y1 - np.asarray(points[:, 1])) / (y1 - y0) * (size - 1)  # y grows upwards
    return np.stack([rows, cols], axis=1).round().astype(np.int64)


def _splat(image: np.ndarray, pixels: np.ndarray, colour: tuple[int, int, int], radius: int) -> None:
    size_y, size_x = image.shape[:2]
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if dx * dx + dy * dy > radius * radius + radius:
                continue
            r, c = pixels[:, 0] + dy, pixels[:, 1] + dx
            inside = (r >= 0) & (r < size_y) & (c >= 0) & (c < size_x)
            image[r[inside], c[inside]] = colour


def render_plane(values: np.ndarray, extent: tuple[float, float, float, float],
                 real: np.ndarray | None = None, fake: np.ndarray | None = None,
                 size: int = 320) -> np.ndarray:  # fmt: skip
    """Critic values (R, R) on ``extent`` = (x0, x1, y0, y1), row 0 at y0 → (size, size, 3) uint8."""
    values = np.asarray(values, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) / (high - low) if high > low else np.full_like(values, 0.5)
    lut = colormap_lut()
    heat = lut[np.clip((scaled * 255).astype(np.int64), 0, 255)]  # (R, R, 3), row 0 at y0
    rows = np.linspace(len(values) - 1, 0, size).round().astype(np.int64)  # flip: y1 at the top
    cols = np.linspace(0, values.shape[1] - 1, size).round().astype(np.int64)
    image = heat[rows][:, cols].copy()
    # contour lines: where the band floor(levels · scaled) changes between neighbouring pixels
    band = np.floor(scaled[rows][:, cols] * (CONTOUR_LEVELS + 1))
    edge = np.zeros(band.shape, dtype=bool)
    edge[:, 1:] |= band[:, 1:] != band[:, :-1]
    edge[1:, :] |= band[1:, :] != band[:-1, :]
    image[edge] = (image[edge] * 0.55).astype(np.uint8)
    if fake is not None and len(fake):
        _splat(image, _to_pixels(fake, extent, size), FAKE_COLOR, 1)
    if real is not None and len(real):  # on top, as in the app
        _splat(image, _to_pixels(real, extent, size), REAL_COLOR, 1)
    return image


def _pick(count: int, wanted: int) -> list[int]:
    if count <= wanted:
        return list(range(count))
    return sorted({int(round(i)) for i in np.linspace(0, count - 1, wanted)})


def save_gif(frames: Sequence[Image.Image], path: str | Path, frame_ms: int = 120,
             hold_last_ms: int = 1500) -> Path:  # fmt: skip
    """An animated GIF that loops forever, lingering on the last frame."""
    if not frames:
        raise ValueError("there are no frames to export yet")
    path = Path(path)
    durations = [frame_ms] * (len(frames) - 1) + [hold_last_ms]
    frames[0].save(path, format="GIF", save_all=True, append_images=list(frames[1:]),
                   duration=durations, loop=0, optimize=False)  # fmt: skip
    return path


def save_strip(frames: Sequence[Image.Image], labels: Sequence[str], path: str | Path,
               max_frames: int = 8, gap: int = 6) -> Path:  # fmt: skip
    """Up to ``max_frames`` evenly spaced frames side by side, each labelled underneath."""
    if not frames:
        raise ValueError("there are no frames to export yet")
    chosen = _pick(len(frames), max_frames)
    width = max(frames[i].width for i in chosen)
    height = max(frames[i].height for i in chosen)
    label_height = 18
    strip = Image.new("RGB", (len(chosen) * (width + gap) + gap, height + label_height + 2 * gap), "white")
    draw = ImageDraw.Draw(strip)
    for slot, index in enumerate(chosen):
        x = gap + slot * (width + gap)
        strip.paste(frames[index].convert("RGB"), (x, gap))
        draw.text((x + 2, gap + height + 3), labels[index], fill=(30, 30, 30))
    strip.save(Path(path), format="PNG")
    return Path(path)
