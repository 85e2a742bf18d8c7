"""The logit lens view: a layers × positions grid of what the model would predict next if it
stopped after each layer, following the text as the model writes it (the maths is
``app.engine.inference.logit_lens``; this only draws)."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.engine.inference.logit_lens import LensGrid
from app.ui.gpt.palette import BLUES_LUT, display_char
from app.ui.vae.explain import ExplainNote
from app.ui.widgets.layout import STRETCH, row

MODES = ("top token and its p", "rank of the chosen token")
DEFAULT_COLUMNS = 8  # what fits the tab at 1366 × 768
NOTE = (
    "<b>If the model stopped after layer ℓ, what would it write next?</b> Each row takes the "
    "residual stream h<sub>ℓ</sub> at every position and applies the model's own last step to it, "
    "the final LayerNorm and the unembedding: p<sub>ℓ</sub> = softmax(LN<sub>f</sub>(h<sub>ℓ</sub>) "
    "W<sub>out</sub><sup>T</sup>). The top row is the real output; the bottom row (emb) reads the token "
    "and position embeddings alone, before any attention (with tied embeddings it mostly predicts "
    "the token it reads). Columns are the last positions of the "
    "text: each cell shows the token that layer ranks first and its probability (dark = confident), "
    "or, in the second mode, the rank (#1 = top) of the token finally chosen there — the next "
    "token of the text, or at the last position the output's top pick. Watch a guess form: "
    "in a trained model the chosen token climbs to #1 layer by layer. Hover a cell for both."
)


def _colour(value: float) -> QColor:
    """BLUES at ``value`` in [0, 1] (white → dark blue)."""
    r, g, b, _ = BLUES_LUT[int(round(255 * min(1.0, max(0.0, value))))]
    return QColor(int(r), int(g), int(b))


def rank_strength(rank: int, vocab: int) -> float:
    """1 for rank 1, falling with log rank to 0 at the vocabulary's last place."""
    return 1.0 - math.log(rank) / math.log(max(2, vocab))


class LogitLensView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("gptLogitLens")
        self.mode = QComboBox()
        self.mode.setObjectName("gptLensMode")
        self.mode.addItems(MODES)
        self.mode.setToolTip("What each cell shows")
        self.columns = QSpinBox()
        self.columns.setObjectName("gptLensColumns")
        self.columns.setRange(2, 64)
        self.columns.setValue(DEFAULT_COLUMNS)
        self.columns.setToolTip("How many of the text's last positions the grid shows")
        self.table = QTableWidget()
        self.table.setObjectName("gptLensTable")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setWordWrap(False)
        columns = self.table.horizontalHeader()
        columns.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)  # fill the tab; scroll beyond it
        columns.setMinimumSectionSize(40)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMouseTracking(True)
        self.info = QLabel("The lens follows the text while the model writes.")
        self.info.setObjectName("gptLensInfo")
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.note = ExplainNote("gptLogitLensNote", "the logit lens", NOTE)
        self.grid: LensGrid | None = None
        self.table.cellEntered.connect(self._cell_entered)
        self.mode.currentIndexChanged.connect(self._redraw)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(row("Cells", self.mode, 8, "positions", self.columns, STRETCH))
        layout.addWidget(self.table, 1)
        layout.addWidget(self.info)
        layout.addWidget(self.note)

    def shows_rank(self) -> bool:
        return self.mode.currentIndex() == 1

    def set_grid(self, grid: LensGrid, inputs: list[str], pieces, first_position: int) -> None:
        """Show ``grid`` for positions first_position … (``inputs``: the token read at each)."""
        self.grid, self._inputs, self._pieces, self._first = grid, inputs, pieces, first_position
        self._redraw()

    def clear_grid(self) -> None:
        self.grid = None
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)

    def _redraw(self, *_args) -> None:
        grid = self.grid
        if grid is None:
            return
        layers, T = grid.top_ids.shape
        table = self.table
        table.setUpdatesEnabled(False)
        table.setRowCount(layers)
        table.setColumnCount(T)
        table.setHorizontalHeaderLabels(
            [f"{display_char(text)}\n@{self._first + t}" for t, text in enumerate(self._inputs)]
        )
        names = ["emb", *(f"L{i}" for i in range(1, layers))]
        names[-1] += " (out)"
        table.setVerticalHeaderLabels(list(reversed(names)))  # the output on top, as layers stack
        rank_mode = self.shows_rank()
        vocab = len(self._pieces)
        for layer in range(layers):
            r = layers - 1 - layer
            for t in range(T):
                if rank_mode:
                    rank = int(grid.chosen_ranks[layer, t])
                    text = f"#{rank:,}\n{grid.chosen_probs[layer, t]:.2f}"
                    strength = rank_strength(rank, vocab)
                else:
                    top = display_char(self._pieces[grid.top_ids[layer, t]])
                    text = f"{top}\n{grid.top_probs[layer, t]:.2f}"
                    strength = float(grid.top_probs[layer, t])
                item = table.item(r, t)
                if item is None:
                    item = QTableWidgetItem()
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                    table.setItem(r, t, item)
                item.setText(text)
                shade = 0.85 * strength  # the darkest blue would hide the text
                item.setBackground(QBrush(_colour(shade)))
                item.setForeground(QBrush(QColor("white" if shade > 0.55 else "black")))
                item.setToolTip(self._describe(layer, t))
        table.setUpdatesEnabled(True)
        if T:
            table.scrollToItem(table.item(0, T - 1))  # the newest position in view

    def _describe(self, layer: int, t: int) -> str:
        grid = self.grid
        top = display_char(self._pieces[grid.top_ids[layer, t]])
        chosen = display_char(self._pieces[grid.chosen[t]])
        where = "the embeddings" if layer == 0 else f"layer {layer}"
        return (
            f"after {where}, at position {self._first + t} (reading ‘{display_char(self._inputs[t])}’): "
            f"top ‘{top}’ p = {grid.top_probs[layer, t]:.3f}; chosen ‘{chosen}’ is "
            f"#{grid.chosen_ranks[layer, t]:,} with p = {grid.chosen_probs[layer, t]:.3f}"
        )

    def _cell_entered(self, r: int, t: int) -> None:
        if self.grid is not None and 0 <= r < self.grid.top_ids.shape[0]:
            self.info.setText(self._describe(self.grid.top_ids.shape[0] - 1 - r, t))

    def top_tokens(self) -> np.ndarray | None:
        """(layers, T) token ids the grid shows as top (for tests and exports)."""
        return None if self.grid is None else self.grid.top_ids
