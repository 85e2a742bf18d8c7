"""Head ablation switches: one toggle per layer and head; a head switched off outputs zeros."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

STYLE = (
    "QToolButton { background: #f0f0f0; color: #999; border: 1px solid #ccc; border-radius: 3px;"
    " padding: 2px 6px; }"
    "QToolButton:checked { background: #c6dbef; color: #08306b; border: 1px solid #6baed6; }"
)


class HeadToggles(QWidget):
    """A grid of toggles, layers down and heads across; ``gatesChanged`` sends (L, H) of 1/0."""

    gatesChanged = Signal(object)  # np.ndarray (n_layer, n_head)

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.buttons: list[list[QToolButton]] = []
        self.grid = QGridLayout()
        self.grid.setSpacing(2)
        self.all_on = QPushButton("All on")
        self.all_on.setObjectName(f"{name}AllOn")
        self.all_on.setToolTip("Switch every head back on")
        self.all_on.clicked.connect(self.reset)
        title = QLabel("Heads on/off (ablation)")
        title.setToolTip(
            "Switch a head off to zero its output (its slice of the input to W_O). The next-character "
            "probabilities and everything written afterwards change at once."
        )
        top = QHBoxLayout()
        top.addWidget(title, 1)
        top.addWidget(self.all_on)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(self.grid)
        self.setStyleSheet(STYLE)

    def set_shape(self, n_layer: int, n_head: int) -> None:
        """Rebuild for a model of this shape (every head on); no signal."""
        if len(self.buttons) == n_layer and all(len(row) == n_head for row in self.buttons):
            return
        for row in self.buttons:
            for button in row:
                button.setParent(None)  # gone at once, not drawn over the new grid until deleted
                button.deleteLater()
        self.buttons = []
        for layer in range(n_layer):
            row = []
            for head in range(n_head):
                button = QToolButton()
                button.setText(f"L{layer + 1}·H{head + 1}")
                button.setObjectName(f"{self.objectName()}L{layer}H{head}")
                button.setCheckable(True)
                button.setChecked(True)
                button.setToolTip(f"layer {layer + 1}, head {head + 1}: on (click to switch it off)")
                button.toggled.connect(self._toggled)
                self.grid.addWidget(button, layer, head)
                row.append(button)
            self.buttons.append(row)

    def gates(self) -> np.ndarray:
        return np.array([[1.0 if b.isChecked() else 0.0 for b in row] for row in self.buttons], np.float32)

    def off_heads(self) -> set[tuple[int, int]]:
        return {(l, h) for l, row in enumerate(self.buttons) for h, b in enumerate(row) if not b.isChecked()}

    def set_head(self, layer: int, head: int, on: bool) -> None:
        self.buttons[layer][head].setChecked(on)

    def reset(self) -> None:
        changed = False
        for row in self.buttons:
            for button in row:
                if not button.isChecked():
                    button.blockSignals(True)
                    button.setChecked(True)
                    button.blockSignals(False)
                    changed = True
        if changed:
            self._toggled()

    def _toggled(self, *_args) -> None:
        for layer, row in enumerate(self.buttons):
            for head, button in enumerate(row):
                on = button.isChecked()
                font = button.font()
                font.setStrikeOut(not on)
                button.setFont(font)
                state = "on" if on else "off: its output is zeroed"
                button.setToolTip(f"layer {layer + 1}, head {head + 1}: {state} (click to switch)")
        self.gatesChanged.emit(self.gates())
