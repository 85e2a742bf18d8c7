"""Labelled grids (PNG pictures of image grids with row and column labels)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from app.engine.labelled_grid import labelled_grid_image, save_labelled_grid


def test_labelled_grid_png_has_room_for_labels(tmp_path):
    images = np.random.default_rng(0).random((6, 1, 10, 10)).astype(np.float32)
    plain = labelled_grid_image(images, 3, scale=2)
    assert plain.size == ((3 * 12 + 2) * 2, (2 * 12 + 2) * 2)
    path = save_labelled_grid(
        tmp_path / "grid.png", images, 3, row_labels=["z0 · KL 1.00", "z7"],
        column_labels=["−1.0", "+0.0", "+1.0"], title="traversal",
    )  # fmt: skip
    with Image.open(path) as saved:
        assert saved.width > plain.width and saved.height > plain.height
        assert saved.mode == "RGB"
