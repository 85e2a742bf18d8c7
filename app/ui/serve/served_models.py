"""What to serve: a family page's current model, a shipped checkpoint or a file, several at once.

A page's model is written to a checkpoint only when the server starts, so the server gets the
weights the page shows at that moment (a training run's newest snapshot, or its opened file).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.engine.checkpoint import CheckpointError, read_checkpoint, save_checkpoint
from app.engine.data.info import DataInfo
from app.engine.serve.api import Endpoint, ModelSpec
from app.engine.serve.requests import ENDPOINT_FAMILIES
from app.engine.tasks import TASKS
from app.ui.pages.family_page import FamilyPage
from weights import shipped_checkpoint, shipped_checkpoints


def endpoints_of(family: str) -> tuple[Endpoint, ...]:
    """The requests a model of ``family`` answers (the load generator only sends these)."""
    return tuple(endpoint for endpoint, families in ENDPOINT_FAMILIES.items() if family in families)


CHECKPOINT_FILTER = "genplay checkpoints (*.safetensors);;All files (*)"


@dataclass(frozen=True)
class ServedModel:
    """One row of the list: a file on disk, or (``page`` set) a family page's current weights."""

    name: str
    family: str
    path: Path | None = None
    page: FamilyPage | None = None

    def describe(self) -> str:
        """A short line for the list (the tooltip has the whole path)."""
        where = "the page's current weights" if self.page else self.path.name
        return f"{self.name} — {self.family.upper()}, {where}"

    def source(self) -> str:
        return f"the {self.page.title} page's current model" if self.page else str(self.path)


def write_page_model(page: FamilyPage, folder: Path) -> Path:
    """The page's current weights (its newest snapshot) as a checkpoint in ``folder``."""
    snapshot = page.snapshot
    if snapshot is None:
        raise CheckpointError(f"The {page.title} page has no model yet: train one or open a checkpoint.")
    opened = page.loaded_checkpoint
    if page.trainer is not None:
        data = page.trainer.task.data.describe()
    else:
        data = opened.data if opened is not None else DataInfo()
    tokenizer = snapshot.extras.get("tokenizer")  # a snapshot of an opened file has none
    if tokenizer is None and opened is not None:
        tokenizer = opened.tokenizer
    return save_checkpoint(
        folder / f"{page.family}-page.safetensors",
        family=snapshot.family,
        config=snapshot.config,
        tensors=snapshot.tensors,
        step=snapshot.step,
        data=data,
        tokenizer=tokenizer,
    )


class ServedModelsList(QWidget):
    """The models the next Start serves; ``changed`` when the list (and so the families) change."""

    changed = Signal()
    failed = Signal(str)  # one sentence: a bad file, a name already served

    def __init__(self, pages: dict[str, FamilyPage], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pages = pages
        self.models: list[ServedModel] = []
        self.list = QListWidget()
        self.list.setObjectName("serveModelsList")
        self.list.setMaximumHeight(84)
        page_button = self._menu_button("Page model", "servePageModelButton",
                                        "Serve a family page's current weights")  # fmt: skip
        for family, page in pages.items():
            page_button.menu().addAction(page.title, lambda f=family: self.add_page_model(f))
        shipped_button = self._menu_button("Shipped", "serveShippedButton", "Serve a file from weights/")
        for path in shipped_checkpoints():
            shipped_button.menu().addAction(path.stem, lambda p=path: self.add_file(p))
        file_button = QPushButton("File…")
        file_button.setObjectName("serveFileButton")
        file_button.setToolTip("Serve a checkpoint file")
        file_button.clicked.connect(self.choose_file)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setObjectName("serveRemoveModelButton")
        self.remove_button.clicked.connect(self.remove_selected)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        self.buttons = (page_button, shipped_button, file_button, self.remove_button)
        for button in self.buttons:
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        self._temp: tempfile.TemporaryDirectory | None = None

    def _menu_button(self, text: str, name: str, tip: str) -> QToolButton:
        button = QToolButton()
        button.setObjectName(name)
        button.setText(text)
        button.setToolTip(tip)
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        button.setMenu(QMenu(button))
        return button

    def add_shipped_defaults(self) -> None:
        """One shipped checkpoint per family, so Start serves something at once."""
        for family in TASKS:
            path = shipped_checkpoint(family)
            if path is not None:
                self.add_file(path)

    # --- adding and removing ---------------------------------------------------------------
    def add_file(self, path: str | Path) -> bool:
        path = Path(path)
        try:
            checkpoint = read_checkpoint(path)  # validated now, so a bad file is said at once
        except CheckpointError as exc:
            self.failed.emit(f"Cannot serve {path.name}: {exc}")
            return False
        return self._add(ServedModel(path.stem, checkpoint.family, path=path))

    def add_page_model(self, family: str) -> bool:
        page = self.pages[family]
        if page.snapshot is None:
            self.failed.emit(f"The {page.title} page has no model yet: train one or open a checkpoint.")
            return False
        return self._add(ServedModel(f"{family}-page", family, page=page))

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Serve a checkpoint", "", CHECKPOINT_FILTER)
        if path:
            self.add_file(path)

    def _add(self, model: ServedModel) -> bool:
        if any(m.name == model.name for m in self.models):
            self.failed.emit(f"A model named {model.name} is already in the list.")
            return False
        self.models.append(model)
        item = QListWidgetItem(model.describe())
        item.setToolTip(model.source())
        self.list.addItem(item)
        self.changed.emit()
        return True

    def remove_selected(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.models):
            del self.models[row]
            self.list.takeItem(row)
            self.changed.emit()

    def set_editable(self, editable: bool) -> None:
        """The list is fixed while a server runs (it serves what it started with)."""
        for button in self.buttons:
            button.setEnabled(editable)

    # --- what the server gets --------------------------------------------------------------
    def families(self) -> set[str]:
        return {m.family for m in self.models}

    def specs(self) -> tuple[ModelSpec, ...]:
        """The list as ModelSpecs; page models are written to temporary checkpoints first."""
        if not self.models:
            raise CheckpointError("Add a model to serve first.")
        self.discard_temporary_files()
        self._temp = tempfile.TemporaryDirectory(prefix="genplay-serve-")
        folder = Path(self._temp.name)
        specs = []
        for model in self.models:
            path = write_page_model(model.page, folder) if model.page is not None else model.path
            specs.append(ModelSpec(model.name, path))
        return tuple(specs)

    def discard_temporary_files(self) -> None:
        if self._temp is not None:
            self._temp.cleanup()
            self._temp = None
