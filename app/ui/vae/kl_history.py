"""KL per latent dimension over the steps, as a heat map: dimensions switching on during KL
warm-up and others collapsing to the prior read as rows lighting up or fading out."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from app.engine.history import KLHistory
from app.engine.timeline import Timeline
from app.ui.vae.latent_sliders import ACTIVE_KL

COLUMNS = 400  # the map resamples the records onto this many evenly spaced steps
MAX_RECORDS = 2000  # records kept (thinned evenly beyond this)
EMPTY_TITLE = "KL per dimension over the steps: train, or open a checkpoint that kept its history"


def resample(steps: np.ndarray, values: np.ndarray, columns: int = COLUMNS) -> tuple[np.ndarray, np.ndarray]:
    """(C,) evenly spaced steps from the first record to the last, and (C, D) the values of the
    latest record at or before each (records thinned over a run are not evenly spaced)."""
    grid = np.linspace(steps[0], steps[-1], min(columns, max(2, len(steps)))) if len(steps) > 1 else steps
    index = np.clip(np.searchsorted(steps, grid, side="right") - 1, 0, len(steps) - 1)
    return grid, values[index]


class KlHistoryMap(pg.GraphicsLayoutWidget):
    """``set_history`` (an opened checkpoint) and ``add`` (a training run) fill it; x is the step,
    y the dimension, the colour KL_i in nats."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("vaeKlHistoryMap")
        self.setMinimumHeight(220)
        self.records: Timeline[np.ndarray] = Timeline(MAX_RECORDS, 64 << 20)
        self.plot = self.addPlot(row=0, col=0)
        self.plot.setLabel("bottom", "training step")
        self.plot.setLabel("left", "latent dimension i")
        self.plot.setMouseEnabled(x=True, y=False)  # wheel-zoom into the first steps, where warm-up acts
        self.plot.getViewBox().setLimits(minXRange=2)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=pg.colormap.get("viridis"),
                                        label="KL_i (nats)", interactive=False, width=12)  # fmt: skip
        self.colorbar.setImageItem(self.image, insert_in=self.plot)
        dashes = pg.mkPen("#ff7f0e", width=1.5, style=Qt.PenStyle.DashLine)
        self.warmup_line = pg.InfiniteLine(angle=90, pen=dashes)  # where β reaches its full value
        self.warmup_line.hide()
        self.plot.addItem(self.warmup_line)
        self.labels: list[pg.TextItem] = []
        self.warmup_steps = 0
        self._dirty = False
        self.plot.setTitle(EMPTY_TITLE, size="9pt")

    # --- data -----------------------------------------------------------------------------
    def set_history(self, kl: KLHistory | None) -> None:
        self.records.clear()
        if kl is not None:
            for step, values in zip(kl.steps.tolist(), kl.values, strict=True):
                self.records.add(step, np.asarray(values, dtype=np.float32), values.nbytes)
        self.redraw()

    def add(self, step: int, kl_per_dim: np.ndarray) -> None:
        """One more record from a run (a step before the latest starts a new story)."""
        values = np.asarray(kl_per_dim, dtype=np.float32)
        if len(self.records) and self.records[-1].item.shape != values.shape:
            self.records.clear()
        self.records.add(step, values, values.nbytes)
        self._dirty = True
        if self.isVisible():
            self.redraw()

    def clear_history(self) -> None:
        self.records.clear()
        self.redraw()

    def set_warmup(self, steps: int) -> None:
        self.warmup_steps = int(steps)
        self._place_warmup()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override: catch up when shown
        super().showEvent(event)
        if self._dirty:
            self.redraw()

    # --- drawing --------------------------------------------------------------------------
    def redraw(self) -> None:
        self._dirty = False
        for label in self.labels:
            self.plot.removeItem(label)
        self.labels = []
        if not len(self.records):
            self.image.clear()
            self.plot.setTitle(EMPTY_TITLE, size="9pt")
            self.warmup_line.hide()
            return
        steps = np.asarray(self.records.steps, dtype=np.float64)
        values = np.stack([frame.item for frame in self.records])  # (N, D)
        grid, columns = resample(steps, values)
        top = max(float(values.max()), ACTIVE_KL)
        self.image.setImage(columns.T, levels=(0.0, top))  # rows: dimensions, columns: steps
        first, last = float(grid[0]), float(grid[-1])
        width = max(last - first, 1.0)
        dims = values.shape[1]
        self.image.setRect(first, -0.5, width, dims)
        self.colorbar.setLevels((0.0, top))
        self.plot.setXRange(first, first + width, padding=0)
        self.plot.setYRange(-0.5, dims - 0.5, padding=0)
        self.plot.getAxis("left").setTicks([[(i, str(i)) for i in range(dims)]])
        latest = values[-1]
        for i, value in enumerate(latest):
            label = pg.TextItem(f"{value:.2f}", color="w" if value < 0.6 * top else "k", anchor=(1, 0.5))
            label.setPos(first + width, i)
            self.plot.addItem(label)
            self.labels.append(label)
        active = int((latest >= ACTIVE_KL).sum())
        self.plot.setTitle(
            f"KL per dimension over steps {int(steps[0]):,}–{int(steps[-1]):,} "
            f"({len(steps)} records): {active}/{dims} in use now",
            size="9pt",
        )
        self._place_warmup()

    def _place_warmup(self) -> None:
        steps = self.records.steps
        inside = bool(steps) and self.warmup_steps > 0 and steps[0] < self.warmup_steps <= steps[-1]
        if inside:
            self.warmup_line.setValue(self.warmup_steps)
        self.warmup_line.setVisible(inside)

    def column_count(self) -> int:
        """Steps drawn (for tests): the image's columns."""
        image = self.image.image
        return 0 if image is None else int(image.shape[1])
