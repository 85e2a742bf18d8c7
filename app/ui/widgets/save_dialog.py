"""Where to save an export: one dialog for every export (File → Export and the views' own
Export buttons) that opens in the folder the last export went to, remembered between launches."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from app.ui.app_settings import AppSettings

EXPORT_FOLDER = "export"  # the AppSettings folder kind every export shares


def ask_export_path(parent: QWidget | None, title: str, file_name: str, suffix: str) -> str | None:
    """The path the user chose for ``file_name``, ending in ``.suffix``; None when cancelled.

    The chosen folder is remembered at once, so the next export opens there even if this one
    is refused (the user still picked that folder)."""
    settings = AppSettings()
    folder = settings.last_folder(EXPORT_FOLDER)
    start = str(Path(folder) / file_name) if folder else file_name
    path, _ = QFileDialog.getSaveFileName(parent, title, start, f"{suffix.upper()} (*.{suffix})")
    if not path:
        return None
    if not path.lower().endswith(f".{suffix}"):
        path += f".{suffix}"
    settings.set_last_folder(EXPORT_FOLDER, path)
    return path
