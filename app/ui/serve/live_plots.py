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
NICE_STEPS = (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)
BATCH_TITLE = "Batch sizes (newest batches)"
BLUE, RED, GREEN, ORANGE, GREY = "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#7f7f7f"


def _pen(colour: str, dashed: bool = False) -> pg.QtGui.QPen:
    """A one-pixel cosmetic pen: wider lines and fills cost the GUI thread several times more."""
    pen = pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
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
    plot.getAxis("left").enableAutoSIPrefix(False)  # counts stay counts, not "(x0.001)"
    plot.setMinimumSize(200, 140)
    return plot


def _legend(plot: pg.PlotWidget) -> None:
    legend = plot.addLegend(offset=(-4, 4), labelTextSize=TEXT_SIZE, verSpacing=-6)
    legend.setBrush(pg.mkBrush(255, 255, 255, 200))


def _top(*arrays: np.ndarray, floor: float = 1.0) -> float:
    """A y-range top above the largest finite value, rounded up to a step × 10ⁿ: it changes
    only now and then, so the axis is not re-laid out at every redraw."""
    finite = [a[np.isfinite(a)] for a in arrays if a.size]
    largest = max((float(a.max()) for a in finite if a.size), default=0.0) * 1.1
    if largest <= floor:
        return floor
    scale = 10 ** math.floor(math.log10(largest))
    return next(step * scale for step in NICE_STEPS if step * scale >= largest)


def _set_top(plot: pg.PlotWidget, top: float) -> None:
    if plot.viewRange()[1] != [0, top]:
        plot.setYRange(0, top, padding=0)


class LivePlots(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.throughput = _plot("serveThroughputPlot", "Throughput: answers per second", "answers/s")
        self.answered = self.throughput.plot(pen=_pen(BLUE))

        self.latency = _plot("serveLatencyPlot", "Latency of the load generator's requests", "ms")
        _legend(self.latency)
        self.percentile_curves = [
            self.latency.plot(pen=_pen(colour), name=f"p{p}", connect="finite")
            for p, colour in zip(PERCENTILES, (BLUE, ORANGE, RED), strict=True)
        ]

        self.queue = _plot("serveQueuePlot", "Queue: requests waiting", "requests")
        self.queue_depth = self.queue.plot(pen=_pen(BLUE))
        label = {"position": 0.75, "color": RED, "anchors": [(0.5, 1), (0.5, 1)]}  # under the line
        self.queue_size = pg.InfiniteLine(0, angle=0, pen=_pen(RED, dashed=True),
                                          label="queue size: full → 429", labelOpts=label)  # fmt: skip
        self.queue.addItem(self.queue_size)

        self.batches = _plot("serveBatchPlot", BATCH_TITLE, "batches", "requests per batch")
        self.batch_bars = pg.PlotDataItem(stepMode="center", fillLevel=0, brush=(44, 160, 44, 150),
                                          pen=_pen(GREEN))  # fmt: skip
        self.batches.addItem(self.batch_bars)
        label = {"position": 0.92, "color": RED, "anchors": [(1, 0.5), (1, 0.5)]}  # left of the line
        self.max_batch_line = pg.InfiniteLine(1, angle=90, pen=_pen(RED, dashed=True),
                                              label="max batch", labelOpts=label)  # fmt: skip
        self.batches.addItem(self.max_batch_line)

        self.errors = _plot("serveErrorsPlot", "Rejected (429) and retried", "per second")
        _legend(self.errors)
        self.rejected = self.errors.plot(pen=_pen(RED), name="429s/s")
        self.retried = self.errors.plot(pen=_pen(ORANGE), name="retried batches/s")

        self._batches_drawn: tuple = ((), 0)
        self._batch_title = BATCH_TITLE
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(4)
        for index, plot in enumerate(self.plots()):
            grid.addWidget(plot, index // 3, index % 3)

    def show_limits(self, max_batch: int, queue_size: int, window_s: float) -> None:
        """Before any server runs: the axes a server with these settings will fill, the queue's
        size and the largest batch already drawn where they will be."""
        for plot in (self.throughput, self.latency, self.queue, self.errors):
            plot.setXRange(0, window_s, padding=0)
        _set_top(self.queue, _top(np.array([float(queue_size)])))
        self.queue_size.setValue(queue_size)
        self._draw_batches(np.zeros(0, dtype=np.int64), max_batch, math.nan)
        self._batches_drawn = ((), max_batch)
        self.batches.setYRange(0, 1, padding=0)  # no batch yet: the bars' empty base on the axis

    def plots(self) -> tuple[pg.PlotWidget, ...]:
        return (self.throughput, self.latency, self.queue, self.batches, self.errors)

    def redraw(self, history: ServeHistory, max_batch: int) -> None:
        start = max(0.0, history.now - history.window_s)  # the first minute fills from the left
        end = start + history.window_s
        for plot in (self.throughput, self.latency, self.queue, self.errors):
            plot.setXRange(start, end, padding=0)

        t, answers = history.columns(history.throughput)
        _set_top(self.throughput, _top(answers))
        self.answered.setData(t, answers)

        latency = history.columns(history.latency, 1 + len(PERCENTILES))
        _set_top(self.latency, _top(*latency[1:]))
        for curve, values in zip(self.percentile_curves, latency[1:], strict=True):
            curve.setData(latency[0], values)

        t, depth, size = history.queue()
        _set_top(self.queue, _top(depth, size))
        self.queue_depth.setData(t, depth)
        if size.size:
            self.queue_size.setValue(size[-1])

        if (history.batch_sizes, max_batch) != self._batches_drawn:  # only when new batches ran
            self._batches_drawn = (history.batch_sizes, max_batch)
            self._draw_batches(np.asarray(history.batch_sizes, dtype=np.int64), max_batch, history.mean_batch)

        t, rejected = history.columns(history.rejections)
        t_retry, retried = history.columns(history.retry_rate)
        _set_top(self.errors, _top(rejected, retried))
        self.rejected.setData(t, rejected)
        self.retried.setData(t_retry, retried)

    def _draw_batches(self, sizes: np.ndarray, max_batch: int, mean: float) -> None:
        high = max(max_batch, int(sizes.max()) if sizes.size else 1)
        counts = np.bincount(sizes, minlength=high + 1)[1:] if sizes.size else np.zeros(high)
        edges = np.arange(0.5, high + 1.0)  # one bar per size 1 … high
        self.batches.setXRange(0.5, high + 1.5, padding=0)  # room for the max-batch line's label
        _set_top(self.batches, _top(counts.astype(np.float64)))
        self.batch_bars.setData(edges, counts)
        self.max_batch_line.setValue(max_batch)
        title = BATCH_TITLE if math.isnan(mean) else f"Batch sizes: mean {mean:.1f} (max {max_batch})"
        if title != self._batch_title:
            self._batch_title = title
            self.batches.setTitle(title, size=TEXT_SIZE)

    def clear(self) -> None:
        for curve in (self.answered, *self.percentile_curves, self.queue_depth, self.rejected,
                      self.retried, self.batch_bars):  # fmt: skip
            curve.setData([], [])
        self._batches_drawn = ((), 0)

    def has_data(self) -> bool:
        """The throughput curve has points (the window is showing a live server)."""
        return self.answered.xData is not None and len(self.answered.xData) > 0
