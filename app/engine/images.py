"""Image arrays → PNG grids (Pillow), shared by the CLI and the GUI's exports."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image


def tile_images(
    images: np.ndarray, columns: int | None = None, pad: int = 2, background: float = 0.2
) -> np.ndarray:
    """(N, C, H, W) in [0, 1] → (rows·(H+pad)+pad, cols·(W+pad)+pad, C) float image."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[:, None]
    n, c, h, w = images.shape
    columns = columns or max(1, int(math.ceil(math.sqrt(n))))
    rows = max(1, int(math.ceil(n / columns)))
    grid = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, c), background, np.float32)
    for i in range(n):
        r, col = divmod(i, columns)
        y, x = pad + r * (h + pad), pad + col * (w + pad)
        grid[y : y + h, x : x + w] = images[i].transpose(1, 2, 0)
    return grid


def to_pil(image: np.ndarray, scale: int = 1) -> Image.Image:
    """(H, W, C) or (H, W) float in [0, 1] → a Pillow image, enlarged ``scale`` times."""
    array = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    pil = Image.fromarray((array * 255.0 + 0.5).astype(np.uint8))
    if scale > 1:
        pil = pil.resize((pil.width * scale, pil.height * scale), Image.Resampling.NEAREST)
    return pil


def save_png_grid(images: np.ndarray, path: str | Path, columns: int | None = None, scale: int = 2) -> Path:
    path = Path(path)
    to_pil(tile_images(images, columns), scale).save(path, format="PNG")
    return path
