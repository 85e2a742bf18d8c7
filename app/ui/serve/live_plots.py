"""The Serve page's live plots over the last minute: throughput, latency percentiles, queue
depth against its size, batch sizes, and 429s and retries.

The plots are drawn from a ``ServeHistory`` on the page's poll timer, never per event; items
are cheap (thin cosmetic pens, no antialiasing, no mouse interaction), and each plot's ranges
are set before its data so a redraw paints once.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QWidget

from app.ui.serve.history import PERCENTILES, ServeHistory

TEXT_SIZE = "9pt"
BATCH_TITLE = "Batch sizes (newest batches)"
BLUE, RED, GREEN, ORANGE, GREY = "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#7f7f7f"


def _pen(colour: str, width: int = 1, dashed: bool = False) -> pg.QtGui.QPen:
    pen = pg.mkPen(colour, width=width, style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
    pen.setCosmetic(True)
    return pen


def _plot(name: str, title: str, left: str, bottom: str = "time (s)") -> pg.PlotWidget:
    plot = pg.PlotWidget()
    plot.setObjectName(name)
    plot.setBackground("w")
    plot.setTitle(title, size=TEXT_SIZE)
    plot.setLabel("left", left)
    plot.setLabel("bottom", bottom)
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    plot.enableAutoRange(False)
    plot.setMinimumSize(200, 140)
    return plot


def _legend(plot: pg.PlotWidget) -> None:
    legend = plot.addLegend(offset=(-4, 4), labelTextSize=TEXT_SIZE, verSpacing=-6)
    legend.setBrush(pg.mkBrush(255, 255, 255, 200))


def _top(*arrays: np.ndarray, floor: float = 1.0) -> float:
    """A y-range top a little above the largest finite value (at least ``floor``)."""
    finite = [a[np.isfinite(a)] for a in arrays if a.size]
    largest = max((float(a.max()) for a in finite if a.size), default=0.0)
    return max(floor, largest * 1.15)


class LivePlots(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.throughput = _plot("serveThroughputPlot", "Throughput: answers per second", "answers/s")
        self.answered = self.throughput.plot(pen=_pen(BLUE, 2))

        self.latency = _plot("serveLatencyPlot", "Latency of the load generator's requests", "ms")
        _legend(self.latency)
        self.percentile_curves = [
            self.latency.plot(pen=_pen(colour, 2 if p == 50 else 1), name=f"p{p}", connect="finite")
            for p, colour in zip(PERCENTILES, (BLUE, ORANGE, RED), strict=True)
        ]

        self.queue = _plot("serveQueuePlot", "Queue: requests waiting", "requests")
        self.queue_depth = self.queue.plot(pen=_pen(BLUE, 2), fillLevel=0, brush=(31, 119, 180, 60))
        label = {"position": 0.75, "color": RED, "anchors": [(0.5, 1), (0.5, 1)]}  # under the line
        self.queue_size = pg.InfiniteLine(0, angle=0, pen=_pen(RED, 1, dashed=True),
                                          label="queue size: full → 429", labelOpts=label)  # fmt: skip
        self.queue.addItem(self.queue_size)

        self.batches = _plot("serveBatchPlot", BATCH_TITLE, "batches", "requests per batch")
        self.batch_bars = pg.PlotDataItem(stepMode="center", fillLevel=0, brush=(44, 160, 44, 150),
                                          pen=_pen(GREEN))  # fmt: skip
        self.batches.addItem(self.batch_bars)
        label = {"position": 0.92, "color": RED, "anchors": [(1, 0.5), (1, 0.5)]}  # left of the line
        self.max_batch_line = pg.InfiniteLine(1, angle=90, pen=_pen(RED, 1, dashed=True),
                                              label="max batch", labelOpts=label)  # fmt: skip
        self.batches.addItem(self.max_batch_line)

        self.errors = _plot("serveErrorsPlot", "Rejected (429) and retried", "per second")
        _legend(self.errors)
        self.rejected = self.errors.plot(pen=_pen(RED, 2), name="429s/s")
        self.retried = self.errors.plot(pen=_pen(ORANGE, 2), name="retried batches/s")

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(4)
        for index, plot in enumerate(self.plots()):
            grid.addWidget(plot, index // 3, index % 3)

    def plots(self) -> tuple[pg.PlotWidget, ...]:
        return (self.throughput, self.latency, self.queue, self.batches, self.errors)

    def redraw(self, history: ServeHistory, max_batch: int) -> None:
        start = max(0.0, history.now - history.window_s)  # the first minute fills from the left
        end = start + history.window_s
        for plot in (self.throughput, self.latency, self.queue, self.errors):
            plot.setXRange(start, end, padding=0)

        t, answers = history.columns(history.throughput)
        self.throughput.setYRange(0, _top(answers), padding=0)
        self.answered.setData(t, answers)

        latency = history.columns(history.latency, 1 + len(PERCENTILES))
        self.latency.setYRange(0, _top(*latency[1:]), padding=0)
        for curve, values in zip(self.percentile_curves, latency[1:], strict=True):
            curve.setData(latency[0], values)

        t, depth, size = history.queue()
        self.queue.setYRange(0, _top(depth, size), padding=0)
        self.queue_depth.setData(t, depth)
        if size.size:
            self.queue_size.setValue(size[-1])

        self._draw_batches(np.asarray(history.batch_sizes, dtype=np.int64), max_batch, history.mean_batch)

        t, rejected = history.columns(history.rejections)
        t_retry, retried = history.columns(history.retry_rate)
        self.errors.setYRange(0, _top(rejected, retried), padding=0)
        self.rejected.setData(t, rejected)
        self.retried.setData(t_retry, retried)

    def _draw_batches(self, sizes: np.ndarray, max_batch: int, mean: float) -> None:
        high = max(max_batch, int(sizes.max()) if sizes.size else 1)
        counts = np.bincount(sizes, minlength=high + 1)[1:] if sizes.size else np.zeros(high)
        edges = np.arange(0.5, high + 1.0)  # one bar per size 1 … high
        self.batches.setXRange(0.5, high + 1.5, padding=0)  # room for the max-batch line's label
        self.batches.setYRange(0, _top(counts.astype(np.float64)), padding=0)
        self.batch_bars.setData(edges, counts)
        self.max_batch_line.setValue(max_batch)
        title = BATCH_TITLE if math.isnan(mean) else f"Batch sizes: mean {mean:.1f} (max {max_batch})"
        self.batches.setTitle(title, size=TEXT_SIZE)

    def clear(self) -> None:
        for curve in (self.answered, *self.percentile_curves, self.queue_depth, self.rejected,
                      self.retried, self.batch_bars):  # fmt: skip
            curve.setData([], [])

    def has_data(self) -> bool:
        """The throughput curve has points (the window is showing a live server)."""
        return self.answered.xData is not None and len(self.answered.xData) > 0
