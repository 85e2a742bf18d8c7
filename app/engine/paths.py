"""Per-user folders (platformdirs gives each OS its conventional place).

``GENPLAY_HOME`` overrides all of them (tests and portable installs use it).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "genplay"


def _override(sub: str) -> Path | None:
    home = os.environ.get("GENPLAY_HOME")
    return Path(home) / sub if home else None


def cache_dir() -> Path:
    """Downloaded datasets and other things that can be fetched again."""
    path = _override("cache") or Path(platformdirs.user_cache_dir(APP_NAME))
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """Autosaved checkpoints and other things the user would miss."""
    path = _override("data") or Path(platformdirs.user_data_dir(APP_NAME))
    path.mkdir(parents=True, exist_ok=True)
    return path


def autosave_dir() -> Path:
    path = data_dir() / "autosave"
    path.mkdir(parents=True, exist_ok=True)
    return path
