"""Starting the GUI: QApplication, the main window, an optional checkpoint to open."""

from __future__ import annotations

import sys

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from app.ui.main_window import MainWindow


def create_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("genplay")
    app.setOrganizationName("genplay")
    from resources import ICON

    if ICON.exists():
        app.setWindowIcon(QIcon(str(ICON)))
    return app


def run_app(open_path: str | None = None, self_test: bool = False) -> int:
    app = create_app()
    window = MainWindow()
    window.show()
    if open_path:
        window.open_checkpoint(open_path)
    return app.exec()
