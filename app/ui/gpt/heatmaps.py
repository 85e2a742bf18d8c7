"""Heat maps of attention: one head with its characters on the axes, a grid of heads, entropy per head."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGraphicsRectItem, QWidget

from app.ui.gpt.palette import (
    ENTROPY,
    SELECTED_CELL_PEN,
    SELECTED_PEN,
    attention_rgba,
    display_char,
    readable_text_color,
    settle,
)

LABEL_STYLE = {"color": "#444", "font-size": "9pt"}
MIN_SPAN = 0.2


def _static_plot(plot: pg.PlotWidget) -> pg.ViewBox:
    """A plot that does not pan or zoom (a heat map, not a chart), rows top to bottom."""
    view = plot.getViewBox()
    view.invertY(True)
    view.setMouseEnabled(False, False)
    view.setMenuEnabled(False)
    plot.hideButtons()
    return view


def _char_ticks(chars: list[str], pixels: float, min_spacing: float = 13.0) -> list[list[tuple[float, str]]]:
    """Tick levels for characters along an axis ``pixels`` long: every one if there is room, else
    every k-th labelled and the rest as unlabelled minor ticks."""
    every = max(1, math.ceil(min_spacing / max(1.0, pixels / max(1, len(chars)))))
    major = [(i + 0.5, display_char(c)) for i, c in enumerate(chars) if i % every == 0]
    minor = [(i + 0.5, "") for i in range(len(chars)) if i % every]
    return [major, minor]


def _small_axes(plot: pg.PlotWidget) -> None:
    """Small tick labels on axes of a fixed size (changing labels must not trigger a re-layout)."""
    font = QFont()
    font.setPointSize(8)
    for name in ("left", "bottom", "top", "right"):  # hidden axes relabel themselves too
        plot.getAxis(name).setTickFont(font)
        plot.getAxis(name).enableAutoSIPrefix(False)
    plot.getAxis("left").setWidth(40)
    plot.getAxis("bottom").setHeight(36)


class AttentionHeatmap(pg.PlotWidget):
    """α of one head over a text: row i = query (the token being read), column j = key.

    Rows grow by one for each generated token. Hovering reports the cell; clicking a row
    selects that token, and its row is outlined.
    """

    cellHovered = Signal(int, int)  # query, key; (−1, −1) when the mouse leaves the map
    rowClicked = Signal(int)

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.view = _static_plot(self)
        self.view.setAspectLocked(True)
        _small_axes(self)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.addItem(self.image)
        self.setLabel("left", "query i (reading)", **LABEL_STYLE)
        self.setLabel("bottom", "key j (read)", **LABEL_STYLE)
        self.row_box = QGraphicsRectItem()
        self.row_box.setPen(SELECTED_PEN)
        self.row_box.setZValue(10)
        self.row_box.hide()
        self.addItem(self.row_box)
        self.values: np.ndarray | None = None  # the last α shown, (T, S)
        self.chars: list[str] = []
        self.scene().sigMouseMoved.connect(self._mouse_moved)
        self.scene().sigMouseClicked.connect(self._mouse_clicked)
        self._hovered = (-1, -1)
        self.setMinimumSize(160, 160)
        self.clear_map()

    @property
    def rows(self) -> int:
        return 0 if self.values is None else self.values.shape[0]

    def set_attention(
        self, alpha: np.ndarray, allowed: np.ndarray | None, chars: list[str], boost: bool = False
    ) -> None:
        """Show α (T, S) with the characters of the text along both axes."""
        T, S = alpha.shape
        resized = self.values is None or self.values.shape != alpha.shape
        self.values = alpha
        self.chars = list(chars)
        self.image.setImage(attention_rgba(alpha, allowed, boost), autoLevels=False)
        self._update_ticks()
        if resized:
            self.image.setRect(QRectF(0, 0, S, T))
            self.view.setRange(xRange=(0, S), yRange=(0, T), padding=0.02)
            settle(self.view)

    def _update_ticks(self) -> None:
        """Characters on both axes, as many as fit at the map's size on screen."""
        if getattr(self, "values", None) is None:  # (Qt resizes the view while it is being built)
            return
        T, S = self.values.shape
        side = min(self.view.width(), self.view.height()) or 300.0  # the map is square on screen
        keys = self.chars[-S:]
        longest = max((len(display_char(c)) for c in keys), default=1)  # BPE tokens are words
        spacing = max(13.0, 7.0 * longest + 4.0)  # labels side by side must not overlap
        self.getAxis("bottom").setTicks(_char_ticks(keys, side * S / max(S, T), spacing))
        self.getAxis("left").setTicks(_char_ticks(self.chars[-T:], side * T / max(S, T)))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._update_ticks()

    def clear_map(self) -> None:
        self.values = None
        self.image.clear()
        self.row_box.hide()
        self.getAxis("bottom").setTicks([[]])
        self.getAxis("left").setTicks([[]])

    def highlight_row(self, row: int | None) -> None:
        if row is None or self.values is None or not 0 <= row < self.rows:
            self.row_box.hide()
            return
        self.row_box.setRect(QRectF(0, row, self.values.shape[1], 1))
        self.row_box.show()

    def _cell_at(self, scene_pos: QPointF) -> tuple[int, int]:
        if self.values is None or not self.view.sceneBoundingRect().contains(scene_pos):
            return (-1, -1)
        point = self.view.mapSceneToView(scene_pos)
        i, j = math.floor(point.y()), math.floor(point.x())
        T, S = self.values.shape
        return (i, j) if 0 <= i < T and 0 <= j < S else (-1, -1)

    def _mouse_moved(self, scene_pos: QPointF) -> None:
        cell = self._cell_at(scene_pos)
        if cell != self._hovered:
            self._hovered = cell
            self.cellHovered.emit(*cell)

    def _mouse_clicked(self, event) -> None:
        i, _j = self._cell_at(event.scenePos())
        if i >= 0 and event.button() == Qt.MouseButton.LeftButton:
            self.rowClicked.emit(i)

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self._hovered != (-1, -1):
            self._hovered = (-1, -1)
            self.cellHovered.emit(-1, -1)
        super().leaveEvent(event)


class AttentionGrid(pg.GraphicsLayoutWidget):
    """Many small attention maps side by side (every head of a layer, or every layer × head)."""

    tileClicked = Signal(int)

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.ci.setContentsMargins(2, 2, 2, 2)
        self.ci.setSpacing(2)
        self.views: list[pg.ViewBox] = []
        self.images: list[pg.ImageItem] = []
        self.titles: list[pg.LabelItem] = []
        self._layout_key: tuple[int, int] | None = None
        self._shape: tuple[int, int] | None = None
        self.scene().sigMouseClicked.connect(self._mouse_clicked)
        self.setMinimumSize(160, 160)

    def _build(self, count: int, columns: int) -> None:
        self.ci.clear()
        self.views, self.images, self.titles = [], [], []
        for index in range(count):
            row, col = divmod(index, columns)
            title = pg.LabelItem("", size="8pt", color="#333")
            self.ci.addItem(title, row=2 * row, col=col)
            view = self.ci.addViewBox(row=2 * row + 1, col=col)
            view.setAspectLocked(True)
            view.invertY(True)
            view.setMouseEnabled(False, False)
            view.setMenuEnabled(False)
            image = pg.ImageItem(axisOrder="row-major")
            view.addItem(image)
            self.titles.append(title)
            self.views.append(view)
            self.images.append(image)
        self._layout_key = (count, columns)
        self._shape = None

    def set_tiles(
        self,
        maps: np.ndarray,
        allowed: np.ndarray | None,
        titles: list[str],
        columns: int,
        selected: int | None = None,
        dimmed: set[int] | frozenset[int] = frozenset(),
        boost: bool = False,
    ) -> None:
        """``maps`` (N, T, S): one tile each, ``columns`` per row; ``dimmed`` tiles are drawn faintly."""
        count = maps.shape[0]
        if self._layout_key != (count, columns):
            self._build(count, columns)
        T, S = maps.shape[1:]
        resized = self._shape != (T, S)
        self._shape = (T, S)
        for index in range(count):
            image = self.images[index]
            image.setImage(attention_rgba(maps[index], allowed, boost), autoLevels=False)
            image.setOpacity(0.25 if index in dimmed else 1.0)
            if resized:
                self.views[index].setRange(xRange=(0, S), yRange=(0, T), padding=0.02)
                settle(self.views[index])
            if self.titles[index].text != titles[index]:  # a new text re-lays out the grid
                self.titles[index].setText(titles[index])
            self.views[index].setBorder(SELECTED_PEN if index == selected else pg.mkPen("#bbb"))

    def clear_tiles(self) -> None:
        self.ci.clear()
        self.views, self.images, self.titles = [], [], []
        self._layout_key = self._shape = None

    def _mouse_clicked(self, event) -> None:
        for index, view in enumerate(self.views):
            if view.sceneBoundingRect().contains(event.scenePos()):
                self.tileClicked.emit(index)
                return


class EntropyMap(pg.PlotWidget):
    """Mean attention entropy of every head, layers down and heads across, values written in.

    Colours span the lowest to the highest value shown (pale = the head reads few characters,
    dark = it spreads its attention), so heads are easy to compare; the numbers are absolute.
    The span is at least ``MIN_SPAN`` of the largest value, so near-equal heads look alike.
    """

    cellClicked = Signal(int, int)  # layer, head

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.view = _static_plot(self)
        _small_axes(self)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.addItem(self.image)
        self.setLabel("left", "layer", **LABEL_STYLE)
        self.setLabel("bottom", "head", **LABEL_STYLE)
        self.box = QGraphicsRectItem()
        self.box.setPen(SELECTED_CELL_PEN)
        self.box.setZValue(10)
        self.addItem(self.box)
        self.labels: list[pg.TextItem] = []
        self.values: np.ndarray | None = None
        self.scene().sigMouseClicked.connect(self._mouse_clicked)
        self.setMinimumSize(140, 110)
        self.clear_map()

    def set_entropy(
        self,
        values: np.ndarray,
        selected: tuple[int, int] | None = None,
        dimmed: set[tuple[int, int]] | frozenset = frozenset(),
    ) -> None:
        """``values`` (L, H) in nats (or normalised); NaN where undefined."""
        L, H = values.shape
        resized = self.values is None or self.values.shape != values.shape
        if resized:
            for label in self.labels:
                self.removeItem(label)
            self.labels = []
            for layer in range(L):
                for head in range(H):
                    label = pg.TextItem("", color="#111", anchor=(0.5, 0.5))
                    label.setPos(head + 0.5, layer + 0.5)
                    self.addItem(label)
                    self.labels.append(label)
            self.getAxis("bottom").setTicks([[(h + 0.5, str(h + 1)) for h in range(H)]])
            self.getAxis("left").setTicks([[(layer + 0.5, str(layer + 1)) for layer in range(L)]])
            self.view.setRange(xRange=(0, H), yRange=(0, L), padding=0.02)
        self.values = values
        finite = values[np.isfinite(values)]
        high = float(finite.max()) if finite.size else 1.0
        # the colours span at least a fifth of the largest value, so that heads that differ by
        # a rounding error (all uniform at step 0, say) look alike rather than maximally apart
        low = min(float(finite.min()) if finite.size else 0.0, high - MIN_SPAN * abs(high))
        scaled = np.nan_to_num((values - low) / max(high - low, 1e-6), nan=0.0)
        rgba = ENTROPY.map(np.clip(scaled, 0, 1).ravel(), mode="byte").reshape(L, H, 4)
        for layer, head in dimmed:
            rgba[layer, head] = (235, 235, 235, 255)
        self.image.setImage(rgba, autoLevels=False)
        if resized:
            self.image.setRect(QRectF(0, 0, H, L))  # after setImage: the rect scales the image's size
        for index, label in enumerate(self.labels):
            layer, head = divmod(index, H)
            value = values[layer, head]
            text = "off" if (layer, head) in dimmed else ("–" if not np.isfinite(value) else f"{value:.2f}")
            label.setText(text)
            label.setColor(readable_text_color(rgba[layer, head]))
        if selected is None:
            self.box.hide()
        else:
            self.box.setRect(QRectF(selected[1], selected[0], 1, 1))
            self.box.show()

    def clear_map(self) -> None:
        self.image.clear()
        for label in self.labels:
            label.setText("")
        self.box.hide()
        for name in ("left", "bottom"):
            self.getAxis(name).setTicks([[]])
        self.values = None

    def _mouse_clicked(self, event) -> None:
        if self.values is None or not self.view.sceneBoundingRect().contains(event.scenePos()):
            return
        point = self.view.mapSceneToView(event.scenePos())
        layer, head = math.floor(point.y()), math.floor(point.x())
        L, H = self.values.shape
        if 0 <= layer < L and 0 <= head < H:
            self.cellClicked.emit(layer, head)
