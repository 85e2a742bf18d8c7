"""One slider per latent dimension (−3…+3), each labelled with its KL so active ones stand out.

The widget keeps the exact code as floats: sliders move in steps of 0.01, but a code set
from outside (an encoded μ, a clicked point) is kept unrounded, so decoding it gives
exactly the reconstruction of μ. Dragging slider i changes only z_i.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QScrollArea, QSlider, QVBoxLayout, QWidget

from app.engine.inference.vae_views import TRAVERSAL_LIMIT

TICKS_PER_UNIT = 100  # slider resolution: 0.01
ACTIVE_KL = 0.1  # nats; below this a dimension carries (almost) nothing about x
ACTIVE_STYLE = "color: #0b4f9c; font-weight: bold;"
COLLAPSED_STYLE = "color: #9aa3ad;"


class LatentSliders(QWidget):
    """Sliders ``vaeLatentSlider0…`` inside a scroll area; ``codeChanged`` after every change."""

    codeChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("vaeLatentSliders")
        self._code = np.zeros(0, dtype=np.float32)
        self.sliders: list[QSlider] = []
        self.value_labels: list[QLabel] = []
        self.kl_labels: list[QLabel] = []
        self.kl: np.ndarray | None = None
        self.rows = QWidget()
        self.grid = QGridLayout(self.rows)
        self.grid.setContentsMargins(4, 4, 4, 4)
        self.grid.setVerticalSpacing(2)
        self.grid.setColumnStretch(1, 1)
        self.scroll = QScrollArea()
        self.scroll.setObjectName("vaeLatentSlidersScroll")
        self.scroll.setWidget(self.rows)
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.empty = QLabel("Train a model or open a checkpoint to get a latent space.")
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet(COLLAPSED_STYLE)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.empty)
        layout.addWidget(self.scroll, 1)
        self.scroll.hide()

    # --- size ---------------------------------------------------------------------------------
    @property
    def latent_dim(self) -> int:
        return len(self.sliders)

    def set_latent_dim(self, latent_dim: int) -> None:
        """Rebuild the rows for ``latent_dim`` dimensions (0 shows the empty hint); code → 0."""
        if latent_dim == self.latent_dim:
            self.reset()
            return
        while self.grid.count():
            widget = self.grid.takeAt(0).widget()
            if widget is not None:
                # detached at once: deleteLater alone leaves the old row drawn (a stray slider
                # over the new rows) until the event loop gets round to deleting it
                widget.hide()
                widget.setParent(None)
                widget.deleteLater()
        self.sliders, self.value_labels, self.kl_labels = [], [], []
        limit = int(TRAVERSAL_LIMIT * TICKS_PER_UNIT)
        for i in range(latent_dim):
            name = QLabel(f"z<sub>{i}</sub>")
            name.setTextFormat(Qt.TextFormat.RichText)
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setObjectName(f"vaeLatentSlider{i}")
            slider.setRange(-limit, limit)
            slider.setSingleStep(5)
            slider.setPageStep(50)
            slider.setMinimumWidth(90)
            slider.valueChanged.connect(lambda value, dim=i: self._slider_moved(dim, value))
            value = QLabel("+0.00")
            value.setMinimumWidth(42)
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            kl = QLabel("KL —")
            kl.setObjectName(f"vaeLatentKl{i}")
            kl.setMinimumWidth(72)
            self.grid.addWidget(name, i, 0)
            self.grid.addWidget(slider, i, 1)
            self.grid.addWidget(value, i, 2)
            self.grid.addWidget(kl, i, 3)
            self.sliders.append(slider)
            self.value_labels.append(value)
            self.kl_labels.append(kl)
        for row in range(self.grid.rowCount()):
            self.grid.setRowStretch(row, 0)
        self.grid.setRowStretch(latent_dim, 1)  # rows stay compact at the top
        self._code = np.zeros(latent_dim, dtype=np.float32)
        self.scroll.setVisible(latent_dim > 0)
        self.empty.setVisible(latent_dim == 0)
        if self.kl is not None and len(self.kl) == latent_dim:
            self.set_kl(self.kl)
        self.codeChanged.emit()

    # --- the code -----------------------------------------------------------------------------
    def code(self) -> np.ndarray:
        return self._code.copy()

    def set_code(self, code: np.ndarray) -> None:
        """Set every dimension at once (kept exact; sliders show it clamped to ±3)."""
        code = np.asarray(code, dtype=np.float32).reshape(-1)
        if code.size != self.latent_dim:
            raise ValueError(f"a code for this model has {self.latent_dim} numbers, not {code.size}")
        self._code = code.copy()
        for i, slider in enumerate(self.sliders):
            slider.blockSignals(True)
            slider.setValue(int(round(float(code[i]) * TICKS_PER_UNIT)))
            slider.blockSignals(False)
            self._show_value(i)
        self.codeChanged.emit()

    def reset(self) -> None:
        self.set_code(np.zeros(self.latent_dim, dtype=np.float32))

    def _slider_moved(self, dim: int, value: int) -> None:
        self._code[dim] = value / TICKS_PER_UNIT
        self._show_value(dim)
        self.codeChanged.emit()

    def _show_value(self, dim: int) -> None:
        value = float(self._code[dim])
        self.value_labels[dim].setText(f"{value:+.2f}")

    # --- KL labels ------------------------------------------------------------------------------
    def set_kl(self, kl_per_dim: np.ndarray | None) -> None:
        """Label each slider with KL_i; active dimensions bold, collapsed ones grey."""
        self.kl = None if kl_per_dim is None else np.asarray(kl_per_dim, dtype=np.float64)
        for i, label in enumerate(self.kl_labels):
            if self.kl is None or i >= len(self.kl):
                label.setText("KL —")
                label.setStyleSheet("")
                label.setToolTip("")
                continue
            value = float(self.kl[i])
            active = value >= ACTIVE_KL
            label.setText(f"KL {value:.2f}")
            style = ACTIVE_STYLE if active else COLLAPSED_STYLE
            if label.styleSheet() != style:  # restyling is costly; only when a dimension flips
                label.setStyleSheet(style)
            state = "in use" if active else "collapsed to the prior: the decoder ignores it"
            label.setToolTip(f"KL(q(z_{i}|x) ‖ N(0,1)) = {value:.3f} nats — {state}")

    def active_dims(self) -> list[int]:
        if self.kl is None:
            return []
        return [i for i, v in enumerate(self.kl) if v >= ACTIVE_KL]
