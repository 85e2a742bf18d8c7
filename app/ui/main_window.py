"""The main window: one tab per model family, File and Help menus, clean shutdown."""

from __future__ import annotations

import platform
from pathlib import Path

import torch
from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QTabWidget

from app import __version__
from app.engine.checkpoint import CheckpointError, read_checkpoint
from app.engine.devices import describe_device, resolve_device
from app.ui.pages import PAGES, page_class
from app.ui.pages.family_page import FamilyPage

CHECKPOINT_FILTER = "genplay checkpoints (*.safetensors);;All files (*)"


class MainWindow(QMainWindow):
    checkpointOpened = Signal(str, str)  # family, path
    errorShown = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("genplay — learn generative models by training them")
        self.resize(1400, 900)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("familyTabs")
        self.tabs.setDocumentMode(True)
        self.pages: dict[str, FamilyPage] = {}
        for family in PAGES:
            page = page_class(family)(self)
            self.pages[family] = page
            self.tabs.addTab(page, page.title)
        self.setCentralWidget(self.tabs)
        self.last_error = ""
        self._build_menus()
        self.statusBar().showMessage("Ready.")

    # --- menus ------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_action = self._action("&Open checkpoint…", QKeySequence.StandardKey.Open, self.open_dialog)
        self.save_action = self._action("&Save checkpoint…", QKeySequence.StandardKey.Save, self.save_dialog)
        quit_action = self._action("&Quit", QKeySequence.StandardKey.Quit, self.close)
        file_menu.addAction(self.open_action)
        file_menu.addAction(self.save_action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self._action("&About genplay", None, self.show_about))

    def _action(self, text: str, shortcut, slot) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        return action

    # --- pages ------------------------------------------------------------------------------
    def current_page(self) -> FamilyPage:
        return self.tabs.currentWidget()

    def show_page(self, family: str) -> FamilyPage:
        page = self.pages[family]
        self.tabs.setCurrentWidget(page)
        return page

    # --- opening and saving ---------------------------------------------------------------------
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open checkpoint", "", CHECKPOINT_FILTER)
        if path:
            self.open_checkpoint(path)

    def open_checkpoint(self, path: str | Path) -> bool:
        """Validate and open ``path`` on the page of its family; errors are shown, nothing is lost."""
        try:
            checkpoint = read_checkpoint(path)
        except CheckpointError as exc:
            self.show_error(f"Could not open {Path(path).name}: {exc}")
            return False
        page = self.pages.get(checkpoint.family)
        if page is None:
            self.show_error(f"{Path(path).name} holds a {checkpoint.family} model, which has no page yet.")
            return False
        if not page.open_checkpoint(checkpoint):
            self.show_error(f"{checkpoint.family.upper()} page is training; stop it before opening a file.")
            return False
        self.show_page(checkpoint.family)
        self.statusBar().showMessage(f"Opened {path}", 5000)
        self.checkpointOpened.emit(checkpoint.family, str(path))
        return True

    def save_dialog(self) -> None:
        page = self.current_page()
        path, _ = QFileDialog.getSaveFileName(
            self, "Save checkpoint", f"{page.family}.safetensors", CHECKPOINT_FILTER
        )
        if path:
            if not path.endswith(".safetensors"):
                path += ".safetensors"
            page.save_checkpoint_to(path)

    def show_error(self, message: str) -> None:
        """Tell the user without blocking: a window-modal box plus the status bar."""
        self.last_error = message
        self.statusBar().showMessage(message, 10000)
        box = QMessageBox(QMessageBox.Icon.Warning, "genplay", message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setObjectName("errorDialog")
        box.open()
        self.errorShown.emit(message)

    def show_about(self) -> None:
        try:
            device = describe_device(resolve_device("auto"))
        except Exception:  # noqa: BLE001 - About must always open
            device = "unknown"
        text = (
            f"<b>genplay {__version__}</b><br>Train VAEs, WGAN-GPs and small GPTs live, and look inside."
            f"<br><br>Python {platform.python_version()} · PyTorch {torch.__version__} · "
            f"PySide6 {pyside_version}<br>Device in use: {device}"
        )
        box = QMessageBox(
            QMessageBox.Icon.Information, "About genplay", text, QMessageBox.StandardButton.Ok, self
        )
        box.setObjectName("aboutDialog")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # --- closing --------------------------------------------------------------------------------
    def shutdown(self, timeout_ms: int = 2000) -> bool:
        ok = True
        for page in self.pages.values():
            ok = page.shutdown(timeout_ms) and ok
        return ok

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.shutdown()
        event.accept()
