"""The "What am I looking at?" box beside the plots: the pipeline, part by part (always shown,
scrolling inside its own cell so it never pushes the plots off a small screen)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGroupBox, QLabel, QScrollArea, QVBoxLayout, QWidget

from app.ui.serve.texts import PIPELINE


class PipelineNote(QGroupBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("What am I looking at?", parent)
        self.setObjectName("servePipelineNote")
        self.text = QLabel(PIPELINE)
        self.text.setObjectName("servePipelineNoteText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.text.setContentsMargins(4, 2, 4, 2)
        area = QScrollArea()
        area.setWidget(self.text)
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setStyleSheet("QScrollArea, QLabel { background: #f5f7fa; }")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(area)
        self.setMinimumSize(200, 140)
