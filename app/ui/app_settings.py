"""What the app remembers between launches (QSettings): geometry, folders, recent files.

``GENPLAY_HOME`` (tests, portable installs) keeps the settings in an INI file there.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 8


def open_settings() -> QSettings:
    home = os.environ.get("GENPLAY_HOME")
    if home:
        return QSettings(str(Path(home) / "settings.ini"), QSettings.Format.IniFormat)
    return QSettings("genplay", "genplay")


class AppSettings:
    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store or open_settings()

    # geometry -----------------------------------------------------------------------------
    def geometry(self) -> QByteArray | None:
        value = self.store.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_geometry(self, geometry: QByteArray) -> None:
        self.store.setValue("window/geometry", geometry)

    # folders --------------------------------------------------------------------------------
    def last_folder(self, kind: str) -> str:
        folder = self.store.value(f"folders/{kind}", "")
        return folder if isinstance(folder, str) and Path(folder).is_dir() else ""

    def set_last_folder(self, kind: str, path: str | Path) -> None:
        path = Path(path)
        self.store.setValue(f"folders/{kind}", str(path if path.is_dir() else path.parent))

    # recent checkpoints ----------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        value = self.store.value("recent/checkpoints", [])
        if isinstance(value, str):
            value = [value]
        return [v for v in (value or []) if isinstance(v, str)][:MAX_RECENT]

    def add_recent_file(self, path: str | Path) -> list[str]:
        path = str(Path(path).resolve())
        recent = [path] + [p for p in self.recent_files() if p != path]
        self.store.setValue("recent/checkpoints", recent[:MAX_RECENT])
        return recent[:MAX_RECENT]

    def remove_recent_file(self, path: str) -> None:
        self.store.setValue("recent/checkpoints", [p for p in self.recent_files() if p != path])

    def sync(self) -> None:
        self.store.sync()
