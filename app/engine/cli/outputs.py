"""Where ``genplay train`` writes, checked before any training so a bad path costs nothing."""

from __future__ import annotations

import os
from pathlib import Path

from app.engine.errors import ConfigError
from weights import weights_dir


def is_shipped(path: Path) -> bool:
    """True for a path inside the folder of checkpoints that ship with genplay."""
    return path.resolve().is_relative_to(weights_dir().resolve())


def checkpoint_target(out: str | None, resume: str | None, default: str | None = None) -> Path:
    """The checkpoint a run saves to: ``--out``, else the resumed file itself, else ``default``.

    A shipped checkpoint is never overwritten (it may sit in a read-only install folder).
    """
    if out is None and resume is not None and is_shipped(Path(resume)):
        raise ConfigError(
            f"{resume} ships with genplay and is never overwritten; "
            "pass --out FILE.safetensors to say where the continued run goes."
        )
    path = Path(out or resume or default)
    if is_shipped(path):
        raise ConfigError(f"{path} is in genplay's shipped weights folder; pass --out with a path elsewhere.")
    check_writable(path, "the checkpoint")
    return path


def check_writable(path: Path, what: str) -> None:
    """Raise ConfigError unless ``path`` names a file in an existing, writable folder."""
    folder = path.parent
    if path.is_dir():
        raise ConfigError(f"cannot write {what} to {path}: it is a folder, not a file.")
    if not folder.is_dir():
        raise ConfigError(f"cannot write {what} to {path}: the folder {folder} does not exist.")
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"cannot write {what} to {path}: the folder {folder} is not writable.")
