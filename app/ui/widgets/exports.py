"""Exports that refuse, in one sentence, when there is nothing to export (never a blank file)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QWidget


class NothingToExport(ValueError):
    """An export that has nothing to write; its text is one sentence for the user."""


NO_MODEL_HINT = "train a model or open a checkpoint first"
LOSS_HINT = "the curves are drawn while a model trains (an opened checkpoint brings none)"


def check_exportable(ready: bool, what: str, hint: str = NO_MODEL_HINT) -> None:
    """Refuse an export of ``what`` (e.g. "latent map") with one sentence unless ``ready``."""
    if not ready:
        raise NothingToExport(f"There is no {what} to export yet: {hint}.")


def export_widget_png(widget: QWidget, path: str | Path, ready: bool = True, what: str = "picture",
                      hint: str = NO_MODEL_HINT) -> None:  # fmt: skip
    """Save what ``widget`` shows as a PNG, at its on-screen size; refused unless ``ready``
    (the view shows something), so no blank picture is ever written."""
    check_exportable(ready, what, hint)
    if not widget.grab().save(str(path), "PNG"):
        raise OSError(f"could not write {Path(path).name}")
