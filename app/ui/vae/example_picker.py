"""Choosing one validation image: an index, a "random" button and a thumbnail of the choice."""

from __future__ import annotations

import numpy as np
import torch
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSpinBox, QWidget

THUMB_PX = 48


def image_pixmap(image: np.ndarray, size: int) -> QPixmap:
    """(C, H, W) in [0, 1] → a QPixmap scaled (nearest) to ``size`` pixels on its long side."""
    array = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
    array = (array * 255.0 + 0.5).astype(np.uint8)
    if array.shape[0] == 1:
        gray = np.ascontiguousarray(array[0])
        qimage = QImage(
            gray.data, gray.shape[1], gray.shape[0], gray.strides[0], QImage.Format.Format_Grayscale8
        )
    else:
        rgb = np.ascontiguousarray(array[:3].transpose(1, 2, 0))
        qimage = QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0], QImage.Format.Format_RGB888)
    pixmap = QPixmap.fromImage(qimage.copy())  # copy: the numpy buffer is temporary
    return pixmap.scaled(
        size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
    )


class ExamplePicker(QWidget):
    """``exampleChanged(index)`` when the user picks another validation image."""

    exampleChanged = Signal(int)

    def __init__(self, name: str, label: str, seed: int = 0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.images: torch.Tensor | None = None
        self._rng = np.random.default_rng(seed)  # GUI-side choice; never the global RNG
        self.spin = QSpinBox()
        self.spin.setObjectName(f"{name}Index")
        self.spin.setRange(0, 0)
        self.spin.setToolTip("Index of the validation image")
        self.spin.valueChanged.connect(self._changed)
        self.random_button = QPushButton("Random")
        self.random_button.setObjectName(f"{name}Random")
        self.random_button.setToolTip("Pick a validation image at random")
        self.random_button.clicked.connect(self.pick_random)
        self.thumb = QLabel()
        self.thumb.setFixedSize(THUMB_PX, THUMB_PX)
        self.thumb.setStyleSheet("QLabel { background: #333; }")
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel(label))
        layout.addWidget(self.spin)
        layout.addWidget(self.random_button)
        layout.addWidget(self.thumb)
        layout.addStretch(1)
        self.set_images(None)

    def set_images(self, images: torch.Tensor | None) -> None:
        """The validation images to choose from (N, C, H, W), or None when there are none."""
        self.images = images
        count = 0 if images is None else len(images)
        self.spin.blockSignals(True)
        self.spin.setRange(0, max(0, count - 1))
        self.spin.blockSignals(False)
        for widget in (self.spin, self.random_button):
            widget.setEnabled(count > 0)
        self._show_thumb()

    def index(self) -> int:
        return self.spin.value()

    def set_index(self, index: int) -> None:
        self.spin.setValue(index)

    def image(self) -> torch.Tensor | None:
        if self.images is None or len(self.images) == 0:
            return None
        return self.images[self.index()]

    def pick_random(self) -> None:
        if self.images is not None and len(self.images) > 0:
            self.spin.setValue(int(self._rng.integers(len(self.images))))

    def _changed(self, index: int) -> None:
        self._show_thumb()
        self.exampleChanged.emit(index)

    def _show_thumb(self) -> None:
        image = self.image()
        if image is None:
            self.thumb.clear()
            return
        self.thumb.setPixmap(image_pixmap(image.numpy(), THUMB_PX))
