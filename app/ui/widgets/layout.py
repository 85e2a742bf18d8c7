"""Small builders for nested Qt layouts, so a view's layout reads as one tree.

A part is a widget, a layout, a text (becomes a QLabel), an int (spacing in pixels),
``STRETCH`` (a stretch) or ``(widget, stretch)``.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QBoxLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

STRETCH = object()


def _fill(layout: QBoxLayout, parts: tuple[Any, ...]) -> QBoxLayout:
    layout.setContentsMargins(0, 0, 0, 0)
    for part in parts:
        if part is STRETCH:
            layout.addStretch(1)
        elif isinstance(part, tuple):
            layout.addWidget(part[0], part[1])
        elif isinstance(part, QLayout):
            layout.addLayout(part)
        elif isinstance(part, str):
            layout.addWidget(QLabel(part))
        elif isinstance(part, int):
            layout.addSpacing(part)
        else:
            layout.addWidget(part)
    return layout


def row(*parts: Any) -> QHBoxLayout:
    return _fill(QHBoxLayout(), parts)


def column(*parts: Any) -> QWidget:
    """A widget holding ``parts`` top to bottom, without margins."""
    widget = QWidget()
    _fill(QVBoxLayout(widget), parts)
    return widget


def split(orientation: Qt.Orientation, sizes: list[int], *widgets: QWidget) -> QSplitter:
    splitter = QSplitter(orientation)
    for widget in widgets:
        splitter.addWidget(widget)
    splitter.setSizes(sizes)
    return splitter


def across(sizes: list[int], *widgets: QWidget) -> QSplitter:
    return split(Qt.Orientation.Horizontal, sizes, *widgets)


def down(sizes: list[int], *widgets: QWidget) -> QSplitter:
    return split(Qt.Orientation.Vertical, sizes, *widgets)


def scrolled(widget: QWidget) -> QScrollArea:
    """``widget`` filling a frameless scroll area (scroll bars only below its minimum size)."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    return area
