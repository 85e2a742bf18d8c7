"""Histogram of ‖∇x̂ D(x̂)‖₂ at the interpolates x̂ of the latest critic update (target: 1).

With the gradient penalty the bars gather around 1; with weight clipping they sit far
below it (the critic is squeezed); with spectral normalisation (each layer divided by its
operator norm, convolutions included) they stay at or below 1 — a bound, not a target: the
bars may sit well below it. For the original GAN's losses the norms are those of the
discriminator's logit ℓ (D = sigmoid(ℓ)), which nothing constrains: there is no target line.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

BINS = 40
TITLE = "‖∇D‖₂ at interpolates αx + (1 − α)G(z)"
LOGIT_TITLE = "‖∇ℓ‖₂ (D's logit) at αx + (1 − α)G(z)"
TIP = (
    "Gradient penalty: the bars gather around the target 1. Weight clipping: far below it. Spectral "
    "normalisation: at most 1 everywhere (each layer, convolutions included, is divided by its operator "
    "norm), a bound and not a target, so the bars may sit well below 1."
)
LOGIT_TIP = "The original GAN's discriminator D = sigmoid(ℓ): nothing constrains ‖∇ℓ‖, so there is no target."


class GradNormHistogram(pg.PlotWidget):
    def __init__(self, name: str = "wganGradNormHist", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setBackground("w")
        self.setTitle(TITLE, size="10pt")
        self.setLabel("bottom", "gradient norm")
        self.setLabel("left", "examples")
        self.setMenuEnabled(False)
        self.showGrid(x=True, y=True, alpha=0.2)
        self.bars = pg.PlotDataItem(stepMode="center", fillLevel=0, brush=(31, 119, 180, 150),
                                    pen=pg.mkPen(31, 119, 180))  # fmt: skip
        self.addItem(self.bars)
        pen = pg.mkPen((200, 30, 30), width=2, style=Qt.PenStyle.DashLine)
        label = {"position": 0.92, "color": (200, 30, 30)}
        self.target = pg.InfiniteLine(1.0, angle=90, pen=pen, label="target 1", labelOpts=label)
        self.addItem(self.target)
        self.norms: np.ndarray | None = None
        self.title = TITLE
        self.setToolTip(TIP)
        self.setMinimumHeight(150)

    def set_logit_norms(self, logit: bool) -> None:
        """True for the original GAN's losses: the norms are of D's logit, with no target of 1."""
        self.title = LOGIT_TITLE if logit else TITLE
        self.setToolTip(LOGIT_TIP if logit else TIP)
        self.target.setVisible(not logit)
        if self.norms is None:
            self.setTitle(self.title, size="10pt")

    def set_norms(self, norms: np.ndarray) -> None:
        norms = np.asarray(norms, dtype=np.float64)
        norms = norms[np.isfinite(norms)]
        if norms.size == 0:
            return
        self.norms = norms
        high = max(2.0, float(np.percentile(norms, 99.5)) * 1.05)
        counts, edges = np.histogram(norms, bins=BINS, range=(0.0, high))
        self.bars.setData(edges, counts)
        self.setXRange(0.0, high, padding=0.02)
        self.setYRange(0.0, max(1, int(counts.max())) * 1.1, padding=0)
        self.setTitle(f"{self.title}: mean {norms.mean():.2f}, std {norms.std():.2f}", size="10pt")

    def clear_norms(self) -> None:
        self.norms = None
        self.bars.setData([], [])
        self.setTitle(self.title, size="10pt")
