"""Charts under the generated text: next-token candidates, surprisal and entropy, per-token head entropy."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QWidget

from app.engine.inference.gpt_views import top_candidates
from app.ui.gpt.palette import display_char, settle

LABEL_STYLE = {"color": "#444", "font-size": "9pt"}
SHOWN_TOKENS = 200  # the surprisal line scrolls: readable, and its cost stays bounded
MODEL_BRUSH = pg.mkBrush(158, 202, 225)
SAMPLING_BRUSH = pg.mkBrush(33, 113, 181)


def _key(*entries: tuple[str, str]) -> str:
    """A one-line colour key for a chart's title (a legend box would hide the data)."""
    return "&nbsp;&nbsp;&nbsp;".join(f"<span style='color:{c}'>━ {text}</span>" for c, text in entries)


def _quiet_plot(plot: pg.PlotWidget) -> None:
    """A chart that updates every generated token: fixed ranges set by the code and fixed axis
    sizes, so an update repaints once instead of once more after an automatic re-layout."""
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.getViewBox().setMouseEnabled(False, False)
    plot.disableAutoRange()
    font = QFont()
    font.setPointSize(8)
    for name in ("left", "bottom", "top", "right"):  # hidden axes relabel themselves too
        axis = plot.getAxis(name)
        axis.setTickFont(font)
        axis.enableAutoSIPrefix(False)
    plot.getAxis("left").setWidth(44)
    plot.getAxis("bottom").setHeight(34)


def _fit(plot: pg.PlotWidget, x: np.ndarray, *ys: np.ndarray) -> None:
    """Show all of x and the finite values of ys (from 0 up)."""
    if len(x) == 0:
        return
    values = np.concatenate([y[np.isfinite(y)] for y in ys]) if ys else np.zeros(0)
    top = float(values.max()) if values.size else 1.0
    plot.setXRange(float(x[0]) - 0.5, float(x[-1]) + 0.5, padding=0)
    plot.setYRange(0.0, max(top * 1.08, 0.1), padding=0)
    settle(plot.getViewBox())


class TopKBars(pg.PlotWidget):
    """The most likely next characters: the model's p (light) and what is sampled from (dark)."""

    def __init__(self, name: str, parent: QWidget | None = None, count: int = 10) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.count = count
        _quiet_plot(self)
        self.setLabel("left", "probability", **LABEL_STYLE)
        self.model_bars = pg.BarGraphItem(x=[], height=[], width=0.38, brush=MODEL_BRUSH, pen=None)
        self.sampling_bars = pg.BarGraphItem(x=[], height=[], width=0.38, brush=SAMPLING_BRUSH, pen=None)
        self.addItem(self.model_bars)
        self.addItem(self.sampling_bars)
        key = _key(("#9ecae1", "model p (T = 1)"), ("#2171b5", "sampled from (after T, top-k, top-p)"))
        self.setTitle(key, size="8pt")
        self.setYRange(0, 1.0, padding=0)
        self.candidates: list[tuple[str, float, float]] = []  # (char, model p, sampling p), best first
        self.setMinimumHeight(120)

    def set_distribution(self, model_p: np.ndarray, sampling_p: np.ndarray, chars: tuple[str, ...]) -> None:
        order = top_candidates(model_p, self.count)
        x = np.arange(len(order), dtype=float)
        self.candidates = [(chars[i], float(model_p[i]), float(sampling_p[i])) for i in order]
        self.model_bars.setOpts(x=x - 0.2, height=model_p[order], width=0.38)
        self.sampling_bars.setOpts(x=x + 0.2, height=sampling_p[order], width=0.38)
        ticks = [(i, f"{display_char(chars[t])}\n{model_p[t]:.2f}") for i, t in enumerate(order)]
        self.getAxis("bottom").setTicks([ticks])
        self.setXRange(-0.6, len(order) - 0.4, padding=0)
        top = float(max(model_p[order].max(initial=0), sampling_p[order].max(initial=0)))
        self.setYRange(0, max(0.05, min(1.0, top * 1.15)), padding=0)
        settle(self.getViewBox())

    def clear_bars(self) -> None:
        self.candidates = []
        self.model_bars.setOpts(x=[], height=[])
        self.sampling_bars.setOpts(x=[], height=[])
        self.getAxis("bottom").setTicks([[]])


class SurprisalPlot(pg.PlotWidget):
    """Per generated token: its surprisal −log p and the entropy H of the distribution it came from.

    On average surprisal equals entropy (E[−log p] = H): spikes above the entropy line are the
    characters the model did not expect.
    """

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        _quiet_plot(self)
        self.setLabel("left", "nats", **LABEL_STYLE)
        self.setLabel("bottom", "position in the text", **LABEL_STYLE)
        self.set_unit("character")
        self.surprisal = self.plot(
            [], [], pen=pg.mkPen("#e6550d", width=1), symbol="o", symbolSize=4,
            symbolBrush="#e6550d", symbolPen=None,
        )  # fmt: skip
        self.entropy = self.plot([], [], pen=pg.mkPen("#3182bd", width=1))
        self.marker = pg.InfiniteLine(angle=90, pen=pg.mkPen("#888", style=Qt.PenStyle.DashLine))
        self.marker.hide()
        self.addItem(self.marker)
        self.setMinimumHeight(110)

    def set_unit(self, unit: str) -> None:
        """Name what the model writes in the key: "character", or "token" for a BPE model."""
        key = _key(("#e6550d", f"surprisal −log p({unit})"), ("#3182bd", "entropy H of its distribution"))
        self.setTitle(key, size="8pt")

    def set_series(self, positions: np.ndarray, surprisal: np.ndarray, entropy: np.ndarray) -> None:
        """One point per written token; the newest ``SHOWN_TOKENS`` are shown."""
        positions, surprisal, entropy = (a[-SHOWN_TOKENS:] for a in (positions, surprisal, entropy))
        finite = np.where(np.isfinite(surprisal), surprisal, np.nan)
        self.surprisal.setData(positions, finite, connect="finite")
        self.entropy.setData(positions, entropy)
        _fit(self, positions, finite, entropy)

    def mark(self, position: int | None) -> None:
        if position is None:
            self.marker.hide()
        else:
            self.marker.setValue(position)
            self.marker.show()

    @property
    def point_count(self) -> int:
        x, _y = self.surprisal.getData()
        return 0 if x is None else len(x)


class EntropyLine(pg.PlotWidget):
    """H(α_i) of the selected head for each query i, with the ceiling log n_i of a uniform row."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        _quiet_plot(self)
        self.setLabel("bottom", "query i", **LABEL_STYLE)
        key = _key(("#a63603", "H(α_i) of the selected head"), ("#999", "log n_i: uniform over n_i keys"))
        self.setTitle(key, size="8pt")
        self.normalised = False
        self.setLabel("left", "nats", **LABEL_STYLE)
        self.line = self.plot([], [], pen=pg.mkPen("#a63603", width=1))
        self.ceiling = self.plot([], [], pen=pg.mkPen("#999", width=1, style=Qt.PenStyle.DashLine))
        self.setMinimumHeight(100)

    def set_entropy(self, entropy: np.ndarray, ceiling: np.ndarray | None, normalised: bool) -> None:
        x = np.arange(len(entropy))
        self.line.setData(x, entropy, connect="finite")
        if ceiling is None:
            self.ceiling.setData([], [])
            _fit(self, x, entropy, np.ones(1) if normalised else np.zeros(0))
        else:
            self.ceiling.setData(x, ceiling)
            _fit(self, x, entropy, ceiling)
        if normalised != self.normalised:  # a new label re-lays out the plot: only on a change
            self.normalised = normalised
            self.setLabel("left", "H / log n_i" if normalised else "nats", **LABEL_STYLE)
