"""The main window: one tab per model family, File and Help menus, clean shutdown."""

from __future__ import annotations

import platform
import threading
from pathlib import Path

import torch
from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QTabWidget,
)

from app import __version__
from app.engine.checkpoint import CheckpointError, is_openable, read_checkpoint
from app.engine.data import load_dataset
from app.engine.devices import describe_device, resolve_device
from app.engine.errors import GenplayError
from app.engine.events import NoticeLevel, RunState
from app.ui.app_settings import AppSettings
from app.ui.pages import PAGES, page_class
from app.ui.pages.family_page import FamilyPage
from app.ui.pages.serve_page import ServePage
from app.ui.widgets.exports import NothingToExport
from app.ui.widgets.save_dialog import ask_export_path
from weights import shipped_checkpoints

CHECKPOINT_FILTER = "genplay checkpoints (*.safetensors);;All files (*)"
OPEN_FILTER = "Checkpoints and Hugging Face GPT-2 (*.safetensors config.json);;All files (*)"
PROGRESS_FROM_BYTES = 32 * 1024**2  # reading fewer bytes than this is too quick to need a dialog


class MainWindow(QMainWindow):
    checkpointOpened = Signal(str, str)  # family, path
    errorShown = Signal(str)
    _shippedDataReady = Signal(object)  # (plan, bundles), from the data-loading thread

    def __init__(self, settings: AppSettings | None = None) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("genplay — learn generative models by training them")
        self.settings = settings or AppSettings()
        self.setAcceptDrops(True)
        self.resize(self._first_size())
        geometry = self.settings.geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("familyTabs")
        self.tabs.setDocumentMode(True)
        self.pages: dict[str, FamilyPage] = {}
        for family in PAGES:
            page = page_class(family)(self)
            self.pages[family] = page
            self.tabs.addTab(page, page.title)
            page.checkpointWritten.connect(self._checkpoint_saved)
            page.saveFailed.connect(self.show_error)
        self.setCentralWidget(self.tabs)
        self.last_error = ""
        self._build_menus()
        self._build_shortcuts()
        self.serve_page = ServePage(self.pages, self)
        self.tabs.addTab(self.serve_page, ServePage.title)
        self.tabs.currentChanged.connect(self._enable_family_actions)
        self._shippedDataReady.connect(lambda payload: self._adopt_shipped(*payload))
        self.statusBar().showMessage("Ready.", 5000)  # transient: each page has its own status line

    # --- menus ------------------------------------------------------------------------------
    @staticmethod
    def _first_size() -> QSize:
        """1400×900, or the screen's free area where that is smaller (a 1366×768 laptop)."""
        wanted = QSize(1400, 900)
        screen = QGuiApplication.primaryScreen()
        return wanted if screen is None else wanted.boundedTo(screen.availableGeometry().size())

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_action = self._action("&Open checkpoint…", QKeySequence.StandardKey.Open, self.open_dialog)
        self.save_action = self._action("&Save checkpoint…", QKeySequence.StandardKey.Save, self.save_dialog)
        quit_action = self._action("&Quit", QKeySequence.StandardKey.Quit, self.close)
        file_menu.addAction(self.open_action)
        self.open_folder_action = self._action("Open GPT-2 &folder…", None, self.open_folder_dialog)
        self.open_folder_action.setToolTip(
            "A Hugging Face GPT-2 folder: config.json, model.safetensors, tokenizer.json (or vocab.json + "
            "merges.txt)"
        )
        file_menu.addAction(self.open_folder_action)
        self.shipped_menu = file_menu.addMenu("Open s&hipped model")
        self.shipped_menu.setObjectName("shippedMenu")
        for path in shipped_checkpoints():  # e.g. the shapes WGAN, which the first launch does not open
            action = self.shipped_menu.addAction(path.stem)
            action.setToolTip(str(path))
            action.triggered.connect(lambda _checked=False, p=path: self.open_checkpoint(p))
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.setObjectName("recentMenu")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addAction(self.save_action)
        file_menu.addSeparator()
        self.export_menu = file_menu.addMenu("&Export")
        self.export_menu.setObjectName("exportMenu")
        self.export_menu.aboutToShow.connect(self._fill_export_menu)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self._action("&Keyboard shortcuts", None, self.show_shortcuts))
        help_menu.addAction(self._action("&About genplay", None, self.show_about))

    def _build_shortcuts(self) -> None:
        """Space: start/pause; S: one step. Text fields keep their keys (Qt's shortcut override)."""
        self.shortcuts = {
            "start_pause": QShortcut(QKeySequence(Qt.Key.Key_Space), self, self.toggle_start_pause),
            "step": QShortcut(QKeySequence(Qt.Key.Key_S), self, lambda: self.current_page().step_once()),
        }

    def _enable_family_actions(self) -> None:
        """Save, Export and the training keys act on a family page; the Serve tab has none."""
        on_family = isinstance(self.tabs.currentWidget(), FamilyPage)
        for control in (self.save_action, self.export_menu.menuAction(), *self.shortcuts.values()):
            control.setEnabled(on_family)

    def toggle_start_pause(self) -> None:
        page = self.current_page()
        if page.state == RunState.RUNNING:
            page.pause()
        elif page.state in (RunState.IDLE, RunState.PAUSED):
            page.start()

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_files()
        if not recent:
            self.recent_menu.addAction("(no recent checkpoints)").setEnabled(False)
        for path in recent:
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_checkpoint(p))

    def _fill_export_menu(self) -> None:
        self.export_menu.clear()
        for label, suffix, export in self.current_page().exports():
            action = self.export_menu.addAction(label)
            action.triggered.connect(
                lambda _c=False, s=suffix, e=export, n=label: self.export_dialog(n, s, e)
            )

    def export_dialog(self, label: str, suffix: str, export) -> None:
        name = f"{self.current_page().family}-{label.split()[0].lower()}.{suffix}"
        path = ask_export_path(self, label.rstrip("…"), name, suffix)
        if path is None:
            return
        try:
            export(path)
        except NothingToExport as exc:
            self.show_error(str(exc))
            return
        except (OSError, ValueError) as exc:
            self.show_error(f"Could not export {Path(path).name}: {exc}")
            return
        self.statusBar().showMessage(f"Exported {path}", 5000)

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
        folder = self.settings.last_folder("checkpoints")
        path, _ = QFileDialog.getOpenFileName(self, "Open checkpoint", folder, OPEN_FILTER)
        if path:
            self.open_checkpoint(path)

    def open_folder_dialog(self) -> None:
        folder = self.settings.last_folder("checkpoints")
        path = QFileDialog.getExistingDirectory(self, "Open a Hugging Face GPT-2 folder", folder)
        if path:
            self.open_checkpoint(path)

    def open_checkpoint(self, path: str | Path) -> bool:
        """Validate and open ``path`` (a checkpoint, or a Hugging Face GPT-2 folder or one of its
        files) on the page of its family; errors are shown, nothing is lost."""
        dialog: QProgressDialog | None = None

        def progress(done: int, total: int) -> None:  # a large model's weights: show how far
            nonlocal dialog
            if total < PROGRESS_FROM_BYTES:
                return
            if dialog is None:
                dialog = QProgressDialog(f"Reading {Path(path).name}…", "", 0, 1000, self)
                dialog.setObjectName("openProgress")
                dialog.setCancelButton(None)
                dialog.setWindowModality(Qt.WindowModality.WindowModal)
                dialog.setMinimumDuration(0)
            dialog.setValue(int(1000 * done / max(1, total)))
            QApplication.processEvents()

        try:
            checkpoint = read_checkpoint(path, progress)
        except CheckpointError as exc:
            self.show_error(f"Could not open {Path(path).name}: {exc}")
            return False
        finally:
            if dialog is not None:
                dialog.close()
        page = self.pages.get(checkpoint.family)
        if page is None:
            self.show_error(f"{Path(path).name} holds a {checkpoint.family} model, which has no page yet.")
            return False
        if not page.open_checkpoint(checkpoint):
            self.show_error(f"{checkpoint.family.upper()} page is training; stop it before opening a file.")
            return False
        self.show_page(checkpoint.family)
        self.settings.add_recent_file(path)
        self.settings.set_last_folder("checkpoints", path)
        self.statusBar().showMessage(f"Opened {path}", 5000)
        self.checkpointOpened.emit(checkpoint.family, str(path))
        return True

    def open_shipped_weights(self, in_background: bool = True) -> None:
        """At first launch every page shows its pretrained model, so everything is alive.

        The datasets the views need (rendering ``shapes`` takes a second or two) load on a
        background thread first, so the window stays responsive meanwhile.
        """
        from weights import shipped_checkpoint

        plan = []
        for family, page in self.pages.items():
            path = shipped_checkpoint(family)
            if path is None or page.has_model() or page.is_active:
                continue
            try:
                plan.append((page, read_checkpoint(path)))
            except CheckpointError as exc:
                message = f"The shipped {family} model could not be opened: {exc}"
                page.show_message(message, NoticeLevel.WARNING)
        if not plan:
            return
        if not in_background:
            self._adopt_shipped(plan, {})
            return
        for page, _ in plan:
            page.show_message("Loading the shipped model…")
        sources = {page.family: checkpoint.data.spec for page, checkpoint in plan}

        def load_data() -> None:
            bundles = {}
            for family, source in sources.items():
                try:
                    bundles[family] = load_dataset(source, seed=0) if source else None
                except GenplayError:
                    bundles[family] = None  # the page reports it when it needs the data
            self._shippedDataReady.emit((plan, bundles))

        threading.Thread(target=load_data, name="genplay-warm-data", daemon=True).start()

    def _adopt_shipped(self, plan, bundles: dict) -> None:
        for page, checkpoint in plan:
            if page.has_model() or page.is_active:
                continue  # the user was quicker
            page.adopt_data(bundles.get(page.family))
            page.open_checkpoint(checkpoint)

    def save_dialog(self) -> None:
        page = self.current_page()
        folder = self.settings.last_folder("checkpoints")
        name = f"{page.family}.safetensors"
        path, _ = QFileDialog.getSaveFileName(
            self, "Save checkpoint", str(Path(folder) / name) if folder else name, CHECKPOINT_FILTER
        )
        if path:
            if not path.endswith(".safetensors"):
                path += ".safetensors"
            page.save_checkpoint_to(path)  # Open recent learns of it once it is written

    def _checkpoint_saved(self, path: str) -> None:
        """A checkpoint the user asked for is on disk (at once, or at a running trainer's next step)."""
        self.settings.add_recent_file(path)
        self.settings.set_last_folder("checkpoints", path)
        self.statusBar().showMessage(f"Saved {path}", 5000)

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

    def show_shortcuts(self) -> None:
        text = ("<table>"
                "<tr><td><b>Space</b></td><td>start / pause / resume training</td></tr>"
                "<tr><td><b>S</b></td><td>one training step</td></tr>"
                "<tr><td><b>Ctrl+O</b></td><td>open a checkpoint</td></tr>"
                "<tr><td><b>Ctrl+S</b></td><td>save the current model</td></tr>"
                "<tr><td><b>Ctrl+Q</b></td><td>quit</td></tr></table>"
                "<p>Drop a .safetensors file, or a Hugging Face GPT-2 folder, on the window to open "
                "it.</p>")  # fmt: skip
        box = QMessageBox(
            QMessageBox.Icon.NoIcon, "Keyboard shortcuts", text, QMessageBox.StandardButton.Ok, self
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # --- drag and drop ------------------------------------------------------------------------------
    @staticmethod
    def _dropped_checkpoint(event) -> str | None:
        mime = event.mimeData()
        if not mime.hasUrls():
            return None
        for url in mime.urls():
            if url.isLocalFile() and is_openable(Path(url.toLocalFile())):
                return url.toLocalFile()
        return None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if self._dropped_checkpoint(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        path = self._dropped_checkpoint(event)
        if path:
            event.acceptProposedAction()
            self.open_checkpoint(path)

    # --- closing --------------------------------------------------------------------------------
    def shutdown(self, timeout_ms: int = 2000) -> bool:
        ok = self.serve_page.shutdown()
        for page in self.pages.values():
            ok = page.shutdown(timeout_ms) and ok
        return ok

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.settings.set_geometry(self.saveGeometry())
        self.settings.sync()
        self.shutdown()
        event.accept()
