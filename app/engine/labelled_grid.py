"""A tiled image grid with row and column labels, as a Pillow image or PNG (Qt-free).

Used for the exports of the VAE page's traversal and interpolation grids: the labels say
which latent dimension each row moves and which value each column sets.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from app.engine.images import tile_images, to_pil

FONT_PX = 14
MARGIN = 6


# Pillow's built-in font has no −, →, μ or σ: prefer a system font that has them, else spell them out
UNICODE_FONTS = ("DejaVuSans.ttf", "Arial Unicode.ttf", "arial.ttf", "segoeui.ttf")
ASCII_FALLBACK = str.maketrans({"−": "-", "→": "->", "μ": "mu", "σ": "sigma", "·": "."})


def _font(size: int) -> tuple[ImageFont.ImageFont | ImageFont.FreeTypeFont, bool]:
    """(font, whether it has the maths symbols)."""
    for name in UNICODE_FONTS:
        try:
            return ImageFont.truetype(name, size), True
        except OSError:
            continue
    try:
        return ImageFont.load_default(size=size), False
    except (TypeError, OSError, ImportError):  # Pillow without FreeType: the bitmap font
        return ImageFont.load_default(), False


def labelled_grid_image(
    images: np.ndarray,
    columns: int,
    row_labels: list[str] | None = None,
    column_labels: list[str] | None = None,
    scale: int = 3,
    pad: int = 2,
    title: str = "",
) -> Image.Image:
    """(N, C, H, W) in [0, 1] tiled ``columns`` wide, enlarged ``scale`` times, with labels."""
    images = np.asarray(images, dtype=np.float32)
    grid = to_pil(tile_images(images, columns, pad=pad), scale).convert("RGB")
    _, _, h, w = images.shape
    font, has_symbols = _font(FONT_PX)
    if not has_symbols:
        title = title.translate(ASCII_FALLBACK)
        row_labels = [t.translate(ASCII_FALLBACK) for t in row_labels or []]
        column_labels = [t.translate(ASCII_FALLBACK) for t in column_labels or []]
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))

    def text_size(text: str) -> tuple[int, int]:
        left, top, right, bottom = probe.textbbox((0, 0), text, font=font)
        return right - left, bottom - top

    left = max((text_size(t)[0] for t in row_labels or []), default=0)
    left = left + 2 * MARGIN if row_labels else 0
    top = FONT_PX + 2 * MARGIN if column_labels else 0
    title_h = FONT_PX + 2 * MARGIN if title else 0
    canvas = Image.new("RGB", (left + grid.width, title_h + top + grid.height), "white")
    canvas.paste(grid, (left, title_h + top))
    draw = ImageDraw.Draw(canvas)
    if title:
        draw.text((MARGIN, MARGIN), title, fill="black", font=font)
    cell_w, cell_h = (w + pad) * scale, (h + pad) * scale
    for c, text in enumerate(column_labels or []):
        tw, _ = text_size(text)
        x = left + pad * scale + c * cell_w + (w * scale - tw) // 2
        draw.text((x, title_h + MARGIN), text, fill="black", font=font)
    for r, text in enumerate(row_labels or []):
        tw, th = text_size(text)
        y = title_h + top + pad * scale + r * cell_h + (h * scale - th) // 2
        draw.text((left - MARGIN - tw, y), text, fill="black", font=font)
    return canvas


def save_labelled_grid(path: str | Path, images: np.ndarray, columns: int, **labels) -> Path:
    """Write ``labelled_grid_image(images, columns, **labels)`` as a PNG."""
    path = Path(path)
    labelled_grid_image(images, columns, **labels).save(path, format="PNG")
    return path
