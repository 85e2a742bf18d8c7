"""A tiled grid of images in a plot whose axis ticks label the rows and the columns."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from app.engine.images import tile_images

PAD = 2  # pixels between tiles, as in the PNG exports


class LabelledGridPlot(pg.PlotWidget):
    """``set_grid(images, columns, row_labels, column_labels)``; row 0 at the top."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setMouseEnabled(False, False)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.getPlotItem().invertY(True)
        self.getPlotItem().getViewBox().sigResized.connect(self._fit)
        self.image_item = pg.ImageItem()
        self.addItem(self.image_item)
        self.images: np.ndarray | None = None
        self.columns = 0
        self.row_labels: list[str] = []
        self.column_labels: list[str] = []
        # column labels on top: the grid hugs the top-left corner, so they sit right above it
        self.getPlotItem().showAxis("top")
        self.getPlotItem().hideAxis("bottom")
        for axis in ("left", "top"):
            self.getAxis(axis).setPen(pg.mkPen(None))
            self.getAxis(axis).setTextPen("k")

    def set_grid(self, images: np.ndarray, columns: int, row_labels: list[str] | None = None,
                 column_labels: list[str] | None = None) -> None:  # fmt: skip
        self.images = np.asarray(images, dtype=np.float32)
        self.columns = columns
        self.row_labels = list(row_labels or [])
        self.column_labels = list(column_labels or [])
        picture = tile_images(self.images, columns, pad=PAD)
        if picture.shape[2] == 1:
            picture = picture[:, :, 0]
        self.image_item.setImage(picture, levels=(0.0, 1.0), autoLevels=False)
        _, _, h, w = self.images.shape
        rows = int(np.ceil(len(self.images) / columns))
        left = [(PAD + r * (h + PAD) + h / 2, t) for r, t in enumerate(self.row_labels[:rows])]
        top = [(PAD + c * (w + PAD) + w / 2, t) for c, t in enumerate(self.column_labels[:columns])]
        self.getAxis("left").setTicks([left, []])
        self.getAxis("top").setTicks([top, []])
        self.getAxis("left").setStyle(showValues=bool(left))
        self.getAxis("top").setStyle(showValues=bool(top))
        self._fit()

    def _fit(self) -> None:
        """Square pixels, the grid in the top-left corner so the labels sit right beside it."""
        if self.images is None:
            return
        view = self.getPlotItem().getViewBox()
        width_px, height_px = view.width(), view.height()
        height, width = self.image_item.image.shape[:2]
        if width_px <= 0 or height_px <= 0:
            return
        scale = min(width_px / width, height_px / height)  # screen pixels per image pixel
        view.setRange(xRange=(0, width_px / scale), yRange=(0, height_px / scale), padding=0)

    def clear_grid(self) -> None:
        self.images = None
        self.image_item.clear()
        self.getAxis("left").setTicks([[], []])
        self.getAxis("top").setTicks([[], []])
