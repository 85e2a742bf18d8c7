"""KL per latent dimension as bars: posterior collapse shows as bars at zero."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from app.ui.vae.latent_sliders import ACTIVE_KL

ACTIVE_BRUSH = pg.mkBrush("#1f77b4")
COLLAPSED_BRUSH = pg.mkBrush("#b8c0c8")


class KlBars(pg.PlotWidget):
    """``show_kl(KL_i)`` draws one bar per dimension; ``set_floor(λ)`` marks the free-bits floor."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("vaeKlBars")
        self.setLabel("bottom", "latent dimension i")
        self.setLabel("left", "KL_i (nats)")
        self.setMouseEnabled(False, False)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=ACTIVE_BRUSH)
        self.addItem(self.bars)
        dashes = pg.mkPen("#d62728", width=1.5, style=Qt.PenStyle.DashLine)
        self.floor_line = pg.InfiniteLine(angle=0, pen=dashes)
        self.floor_line.setZValue(10)  # above the bars
        self.floor_line.hide()
        self.addItem(self.floor_line)
        self.values: np.ndarray | None = None
        self.floor = 0.0
        self.step: int | None = None
        self._title()

    def show_kl(self, kl_per_dim: np.ndarray, step: int | None = None) -> None:
        self.values = np.asarray(kl_per_dim, dtype=np.float64).copy()
        self.step = step
        x = np.arange(len(self.values))
        brushes = [ACTIVE_BRUSH if v >= ACTIVE_KL else COLLAPSED_BRUSH for v in self.values]
        self.bars.setOpts(x=x, height=self.values, width=0.8, brushes=brushes)
        self.setXRange(-0.6, max(1, len(x)) - 0.4, padding=0)
        top = max(0.1, float(self.values.max()) if len(self.values) else 0.0, self.floor) * 1.1
        self.setYRange(0, top, padding=0)
        self._title()

    def set_floor(self, free_bits: float) -> None:
        if float(free_bits) == self.floor:
            return
        self.floor = float(free_bits)
        self.floor_line.setValue(self.floor)
        self.floor_line.setVisible(self.floor > 0)
        if self.values is not None:
            self.show_kl(self.values, self.step)
        else:
            self._title()

    def clear_kl(self) -> None:
        self.values = None
        self.step = None
        self.bars.setOpts(x=[], height=[], brushes=None)
        self._title()

    def _title(self) -> None:
        # the title stays short (a title wider than the plot pushes the bars out of the widget);
        # the step and the free-bits note go under the axis, where their length costs nothing
        if self.values is None:
            self.setTitle("KL per dimension", size="10pt")
            self.setLabel("bottom", "latent dimension i")
            return
        active = int((self.values >= ACTIVE_KL).sum())
        total, count = self.values.sum(), len(self.values)
        self.setTitle(f"KL per dimension: Σ = {total:.2f} nats, {active}/{count} in use", size="10pt")
        axis = "latent dimension i"
        if self.step is not None:
            axis += f" · step {self.step:,}"
        if self.floor > 0:
            axis += f" · red dashes: free bits λ = {self.floor:g}"
        self.setLabel("bottom", axis)
