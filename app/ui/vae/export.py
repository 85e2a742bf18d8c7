"""Asking where to save a view's PNG export, and saying why it failed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QLabel, QWidget

from app.ui.widgets.save_dialog import ask_export_path


def export_with_dialog(parent: QWidget, title: str, default_name: str,
                       export: Callable[[str], Path], message: QLabel, ready: bool) -> None:  # fmt: skip
    """Ask for a .png path and call ``export(path)``; problems go to ``message``."""
    if not ready:
        message.setText("Nothing to export yet: train a model or open a checkpoint.")
        return
    path = ask_export_path(parent, title, default_name, "png")
    if path is None:
        return
    try:
        export(path)
        message.setText("")
    except OSError as exc:
        message.setText(f"Could not write {path}: {exc.strerror or exc}.")
