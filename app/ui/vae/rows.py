"""A row of controls from a short description: widgets, "text" labels, spacing and stretch."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

STRETCH = None  # a part that takes the free space


def control_row(*parts: QWidget | str | int | None) -> QHBoxLayout:
    """``control_row(QLabel, "Steps", spin, 12, STRETCH, button)``: str → label, int → spacing."""
    row = QHBoxLayout()
    for part in parts:
        if part is STRETCH:
            row.addStretch(1)
        elif isinstance(part, str):
            row.addWidget(QLabel(part))
        elif isinstance(part, int):
            row.addSpacing(part)
        else:
            row.addWidget(part)
    return row
