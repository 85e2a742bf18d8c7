"""Pretrained checkpoints that ship with genplay (see weights/README.md for how each was made)."""

from __future__ import annotations

import sys
from pathlib import Path


def weights_dir() -> Path:
    """This folder, in a source tree, an installed package or a PyInstaller bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle and (Path(bundle) / "weights").is_dir():
        return Path(bundle) / "weights"
    return Path(__file__).resolve().parent


def shipped_checkpoints() -> list[Path]:
    """Every shipped checkpoint, by name (the File menu and the Serve page list them)."""
    return sorted(weights_dir().glob("*.safetensors"))


def shipped_checkpoint(family: str) -> Path | None:
    """The shipped checkpoint of ``family`` (``weights/<family>-*.safetensors``), if any."""
    matches = sorted(weights_dir().glob(f"{family}-*.safetensors"))
    return matches[0] if matches else None
