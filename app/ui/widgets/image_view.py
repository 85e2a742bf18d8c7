"""Showing images and tiled image grids with pyqtgraph (no axes, square pixels)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from app.engine.images import tile_images


class ImagePanel(pg.GraphicsLayoutWidget):
    """One ImageItem in a locked-aspect view; ``set_image`` takes (H, W) or (H, W, C) in [0, 1]."""

    def __init__(self, name: str, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.ci.setContentsMargins(2, 2, 2, 2)
        if title:
            self.addLabel(title, row=0, col=0)
        self.view = self.addViewBox(row=1, col=0)
        self.view.setAspectLocked(True)
        self.view.invertY(True)
        self.view.setMouseEnabled(False, False)
        self.view.setMenuEnabled(False)
        self.image_item = pg.ImageItem()
        self.view.addItem(self.image_item)
        self.image: np.ndarray | None = None
        self.setMinimumSize(120, 120)

    def set_image(self, image: np.ndarray) -> None:
        image = np.asarray(image, dtype=np.float32)
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[:, :, 0]
        self.image = image
        self.image_item.setImage(image, levels=(0.0, 1.0), autoLevels=False)
        self.view.autoRange(padding=0.0)

    def clear_image(self) -> None:
        self.image = None
        self.image_item.clear()


class ImageGrid(ImagePanel):
    """A tiled grid of images: ``set_images((N, C, H, W), columns)``."""

    def __init__(self, name: str, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(name, title, parent)
        self.images: np.ndarray | None = None

    def set_images(self, images: np.ndarray, columns: int | None = None) -> None:
        self.images = np.asarray(images)
        self.set_image(tile_images(self.images, columns))

    def clear_image(self) -> None:
        """Show nothing, and forget the images too (exports read ``images``)."""
        super().clear_image()
        self.images = None
