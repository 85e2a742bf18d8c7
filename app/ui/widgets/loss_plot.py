"""A live loss plot: buffered series, redrawn on a timer, with debiased EMA smoothing.

Each series keeps its raw points and, incrementally, its smoothed values

    s_t = α s_{t−1} + (1 − α) x_t,  s_0 = 0,   ŝ_t = s_t / (1 − α^t)

The division removes the start-up bias towards zero, so a constant series stays
constant. The raw curve is drawn faintly under the smoothed one. Histories are
thinned (every other old point dropped) once they pass ``MAX_POINTS``, so an
hour-long run cannot grow memory without bound.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QTextOption
from PySide6.QtWidgets import (
    QCheckBox,
    QGraphicsTextItem,
    QHBoxLayout,
    QLabel,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.engine.history import Curve

MAX_POINTS = 20_000
REDRAW_MS = 200  # at most 5 redraws a second
DRAW_BUDGET = 0.02  # and at most this share of the GUI thread's time spent drawing the plot
MAX_REDRAW_MS = 1000
EMPTY_HINT = "Press Start to train: a curve for every term appears here."
LEGEND_ROW = 4  # PlotItem's grid: 0 title, 1 top axis, 2 view, 3 bottom axis
LEGEND_TEXT_SIZE = "8pt"
LEGEND_SPACING = 10
LEGEND_SAMPLE_WIDTH = 20  # pyqtgraph's ItemSample
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def debiased_ema(values: np.ndarray, alpha: float) -> np.ndarray:
    """ŝ_t for every t (reference implementation; the plot updates incrementally)."""
    out = np.empty(len(values), dtype=np.float64)
    s = 0.0
    for t, x in enumerate(values, start=1):
        s = alpha * s + (1.0 - alpha) * x
        out[t - 1] = s / (1.0 - alpha**t) if alpha > 0 else x
    return out


@dataclass
class Series:
    """One metric's history in growable NumPy buffers (no per-redraw list conversion)."""

    key: str
    label: str
    color: str
    smoothed: bool = True  # False: sparse series (validation) drawn as raw points
    right_axis: bool = False
    ema: float = 0.0
    count: int = 0  # t in the EMA
    raw_item: pg.PlotDataItem | None = None
    smooth_item: pg.PlotDataItem | None = None
    _x: np.ndarray = field(default_factory=lambda: np.empty(256))
    _raw: np.ndarray = field(default_factory=lambda: np.empty(256))
    _smooth: np.ndarray = field(default_factory=lambda: np.empty(256))
    n: int = 0

    @property
    def steps(self) -> np.ndarray:
        return self._x[: self.n]

    @property
    def values(self) -> np.ndarray:
        return self._raw[: self.n]

    @property
    def smooth(self) -> np.ndarray:
        return self._smooth[: self.n]

    def add(self, step: float, value: float, alpha: float) -> None:
        if self.n == len(self._x):
            for name in ("_x", "_raw", "_smooth"):
                grown = np.empty(2 * self.n)
                grown[: self.n] = getattr(self, name)
                setattr(self, name, grown)
        self.count += 1
        if np.isfinite(value):
            self.ema = alpha * self.ema + (1.0 - alpha) * value
        self._x[self.n] = step
        self._raw[self.n] = value
        self._smooth[self.n] = self.ema / (1.0 - alpha**self.count) if alpha > 0 else value
        self.n += 1

    def recompute(self, alpha: float) -> None:
        self._smooth[: self.n] = debiased_ema(np.nan_to_num(self.values), alpha)
        self.count = self.n
        self.ema = float(self._smooth[self.n - 1]) * (1.0 - alpha**self.count) if self.n else 0.0

    def thin(self) -> None:
        """Drop every other point of the older half (keeps the shape, halves the cost)."""
        half = self.n // 2
        keep = np.concatenate([np.arange(0, half, 2), np.arange(half, self.n)])
        for name in ("_x", "_raw", "_smooth"):
            data = getattr(self, name)
            data[: len(keep)] = data[keep]
        self.n = len(keep)

    def reset(self) -> None:
        self.n, self.count, self.ema = 0, 0, 0.0


class _TimedPlotWidget(pg.PlotWidget):
    """A PlotWidget that remembers how long its latest paint took, for the redraw budget."""

    last_paint_s = 0.0

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        started = time.perf_counter()
        super().paintEvent(event)
        self.last_paint_s = time.perf_counter() - started


class LossPlot(QWidget):
    """Toolbar (smoothing slider, log-y) above a pyqtgraph PlotWidget named ``plot_name``."""

    def __init__(self, plot_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series: dict[str, Series] = {}
        self.alpha = 0.9
        self._dirty = False
        self.plot = _TimedPlotWidget()
        self.plot.setObjectName(plot_name)
        # no grid: pyqtgraph draws it with the axes, and it doubles the cost of every repaint
        self.plot.setLabel("bottom", "step")
        self.plot.setClipToView(True)
        self.plot.setDownsampling(auto=True, mode="peak")
        item = self.plot.getPlotItem()
        for name in ("left", "bottom", "right"):  # plain numbers: "300 (x0.001)" for 0.3 misleads
            item.getAxis(name).enableAutoSIPrefix(False)
        # the legend sits under the plot, in as many columns as fit its width: it never covers a
        # curve or the hint, and no entry is cut off however narrow the window
        self.legend = pg.LegendItem(horSpacing=LEGEND_SPACING, verSpacing=-4, labelTextSize=LEGEND_TEXT_SIZE)
        item.legend = self.legend  # as addLegend does: named curves join it as they are added
        self.legend.setMinimumWidth(0)  # its columns are fitted to the width; it never widens the plot
        item.layout.addItem(self.legend, LEGEND_ROW, 0, 1, 3)
        item.layout.setAlignment(self.legend, Qt.AlignmentFlag.AlignHCenter)
        item.vb.sigResized.connect(self._fit_legend)
        # the hint lives in the view's own pixels (not data coordinates): always centred and whole
        self.empty_hint = QGraphicsTextItem(EMPTY_HINT, item.vb)
        self.empty_hint.setDefaultTextColor(QColor("#777777"))
        self.empty_hint.document().setDefaultTextOption(QTextOption(Qt.AlignmentFlag.AlignCenter))
        item.vb.sigResized.connect(self._place_empty_hint)
        self._right_view: pg.ViewBox | None = None

        self.smoothing = QSlider(Qt.Orientation.Horizontal)
        self.smoothing.setObjectName(f"{plot_name}Smoothing")
        self.smoothing.setRange(0, 99)
        self.smoothing.setValue(int(self.alpha * 100))
        self.smoothing.setToolTip(
            "Exponential moving average weight α (debiased: ŝ_t = s_t / (1 − α^t)); 0 shows raw values."
        )
        self.smoothing.valueChanged.connect(self._smoothing_changed)
        self.smoothing_label = QLabel()
        self.log_y = QCheckBox("log y")
        self.log_y.setObjectName(f"{plot_name}LogY")
        self.log_y.setToolTip("Logarithmic y axis (only positive values can be shown)")
        self.log_y.toggled.connect(self._log_toggled)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(QLabel("Smoothing"))
        bar.addWidget(self.smoothing, 1)
        bar.addWidget(self.smoothing_label)
        bar.addSpacing(12)
        bar.addWidget(self.log_y)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.plot, 1)
        self._update_smoothing_label()

        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self._redraw_if_visible)
        self.timer.start()

    # --- series ---------------------------------------------------------------------------
    def add_series(self, key: str, label: str, smoothed: bool = True, right_axis: bool = False,
                   color: str | None = None) -> None:  # fmt: skip
        """A curve for metric ``key``; ``smoothed=False`` for sparse ones such as validation."""
        color = color or PALETTE[len(self.series) % len(PALETTE)]
        series = Series(key, label, color, smoothed, right_axis)
        raw_color = pg.mkColor(color)
        raw_color.setAlpha(60)
        raw_pen = pg.mkPen(raw_color, width=1)
        if smoothed:
            main = {"pen": pg.mkPen(color, width=2)}
        else:
            main = {"pen": pg.mkPen(color, width=2, style=Qt.PenStyle.DashLine), "symbol": "o",
                    "symbolSize": 6, "symbolBrush": color, "symbolPen": None}  # fmt: skip
        series.raw_item = pg.PlotDataItem(pen=raw_pen)
        series.smooth_item = pg.PlotDataItem(name=label, **main)
        if right_axis:
            view = self._right_axis_view()
            view.addItem(series.raw_item)
            view.addItem(series.smooth_item)
            self.legend.addItem(series.smooth_item, f"{label} (right axis)")
        else:
            self.plot.addItem(series.raw_item)
            self.plot.addItem(series.smooth_item)  # named: it joins the legend
        for item in (series.raw_item, series.smooth_item):
            item.setClipToView(True)
        # raw curves are faint context: subsampling draws them cheaply; the smoothed curves
        # keep their shape under averaging
        series.raw_item.setDownsampling(auto=True, method="subsample")
        series.smooth_item.setDownsampling(auto=True, method="mean")
        self.series[key] = series
        self._fit_legend()

    def _right_axis_view(self) -> pg.ViewBox:
        if self._right_view is None:
            item = self.plot.getPlotItem()
            self._right_view = pg.ViewBox()
            item.showAxis("right")
            item.scene().addItem(self._right_view)
            item.getAxis("right").linkToView(self._right_view)
            self._right_view.setXLink(item)

            def sync() -> None:
                self._right_view.setGeometry(item.vb.sceneBoundingRect())

            item.vb.sigResized.connect(sync)
            sync()
        return self._right_view

    def set_right_label(self, text: str) -> None:
        self._right_axis_view()
        self.plot.getPlotItem().setLabel("right", text)

    def append(self, step: float, metrics: dict[str, float]) -> None:
        """Buffer one step's metrics; the plot redraws on its timer."""
        for key, value in metrics.items():
            series = self.series.get(key)
            if series is not None:
                series.add(step, float(value), self.alpha)
                if len(series.steps) > MAX_POINTS:
                    series.thin()
                self._dirty = True

    def load_curves(self, curves: dict[str, Curve]) -> None:
        """Draw a checkpoint's history: each known series gets its curve's points, in step order;
        a run that continues appends after them."""
        for key, curve in curves.items():
            series = self.series.get(key)
            if series is None:
                continue
            for step, value in zip(curve.steps.tolist(), curve.values.tolist(), strict=True):
                series.add(step, value, self.alpha)
            while series.n > MAX_POINTS:
                series.thin()
            self._dirty = True
        self.redraw()

    def clear(self) -> None:
        """Forget every point and go back to the empty plot: the hint, and ranges of [0, 1]."""
        for series in self.series.values():
            series.reset()
        self._dirty = True
        self.redraw()
        for view, axes in ((self.plot.getPlotItem().vb, "xy"), (self._right_view, "y")):
            if view is None:
                continue
            if "x" in axes:
                view.setXRange(0.0, 1.0, padding=0.0)
            view.setYRange(0.0, 1.0, padding=0.0)
            view.enableAutoRange()  # the next points set the ranges again

    def has_data(self) -> bool:
        return any(series.n for series in self.series.values())

    def point_count(self, key: str) -> int:
        return self.series[key].n if key in self.series else 0

    def write_csv(self, path) -> None:
        """One row per step, one column per metric (empty where a metric has no value)."""
        keys = [k for k, series in self.series.items() if series.n]
        table: dict[float, dict[str, float]] = {}
        for key in keys:
            series = self.series[key]
            for step, value in zip(series.steps.tolist(), series.values.tolist(), strict=True):
                table.setdefault(step, {})[key] = value
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["step", *keys])
            for step in sorted(table):
                row = table[step]
                writer.writerow([int(step), *(float(row[k]) if k in row else "" for k in keys)])

    # --- legend and hint ---------------------------------------------------------------------
    def _fit_legend(self, *_args) -> None:
        """As many legend columns as fit the plot's width (entries fill the rows left to right)."""
        items = self.legend.items
        if not items:
            return
        available = self.plot.viewport().width() - 2 * LEGEND_SPACING  # not the item: it may overflow
        # an entry: sample, spacing, label, spacing (and a little slack for the label's margins)
        widths = [LEGEND_SAMPLE_WIDTH + label.preferredWidth() + 2 * LEGEND_SPACING + 4 for _, label in items]
        columns = 1
        for count in range(len(items), 1, -1):
            column_widths = [max(widths[c::count]) for c in range(count)]
            if sum(column_widths) <= available:
                columns = count
                break
        if columns != self.legend.columnCount:
            self.legend.setColumnCount(columns)

    def _place_empty_hint(self, *_args) -> None:
        rect = self.plot.getPlotItem().vb.rect()
        self.empty_hint.setTextWidth(max(60.0, rect.width() - 20.0))
        hint = self.empty_hint.boundingRect()
        self.empty_hint.setPos(rect.center().x() - hint.width() / 2, rect.center().y() - hint.height() / 2)

    # --- drawing ----------------------------------------------------------------------------
    def _redraw_if_visible(self) -> None:
        """Timer tick: redraw, and space the next tick by what the last redraw and paint cost.

        The GUI thread shares the interpreter lock with the trainer, so drawing is kept to a
        small budget: a plot that takes 7 ms to update and paint redraws about every 350 ms.
        The paint itself comes from the event loop, once (a forced repaint here would be
        followed by a second one for the scene's own queued update).
        """
        if not self.isVisible() or not self._dirty:  # a hidden tab does no drawing work
            return
        started = time.perf_counter()
        self.redraw()
        cost_ms = (time.perf_counter() - started + self.plot.last_paint_s) * 1000.0
        interval = min(MAX_REDRAW_MS, max(REDRAW_MS, int(cost_ms / DRAW_BUDGET)))
        self.timer.setInterval(interval)

    def redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self.empty_hint.setVisible(not self.has_data())
        for series in self.series.values():
            x, raw, smooth = series.steps, series.values, series.smooth
            if not series.smoothed:
                series.smooth_item.setData(x, raw, connect="finite")
                continue
            if self.alpha > 0:
                series.raw_item.setData(x, raw, connect="finite")
            else:
                series.raw_item.setData([], [])
            series.smooth_item.setData(x, smooth, connect="finite")
        # settle the auto-range now: left to the paint, the new range schedules a second paint
        for view in (self.plot.getPlotItem().vb, self._right_view):
            if view is not None:
                view.prepareForPaint()

    def _smoothing_changed(self, value: int) -> None:
        self.alpha = value / 100.0
        for series in self.series.values():
            series.recompute(self.alpha)
        self._update_smoothing_label()
        self._dirty = True
        self.redraw()

    def _update_smoothing_label(self) -> None:
        self.smoothing_label.setText(f"α = {self.alpha:.2f}")

    def _log_toggled(self, on: bool) -> None:
        self.plot.setLogMode(x=False, y=on)
        self._dirty = True
        self.redraw()
