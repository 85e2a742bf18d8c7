"""Starting the GUI: QApplication, the main window, an optional checkpoint to open, and the
``--self-test`` that checks every family and shipped checkpoint offscreen."""

from __future__ import annotations

import os
import sys
import time

STARTED = time.perf_counter()


def _quiet_qt_messages() -> None:
    """Drop one harmless warning the offscreen platform prints for every window."""
    from PySide6.QtCore import qInstallMessageHandler

    def handler(mode, context, message: str) -> None:
        if "propagateSizeHints" not in message:
            sys.stderr.write(message + "\n")

    qInstallMessageHandler(handler)


def _collect_garbage_on_the_gui_thread(app) -> None:
    """Python's cyclic collector runs on whichever thread allocates when it is due; run on the
    training thread, it can delete Qt objects there while the GUI thread deletes others, and
    the two deadlock or crash. pyqtgraph's collector turns automatic collection off and
    collects on a GUI-thread timer instead (once a second, the generations that are due)."""
    if getattr(app, "garbage_collector", None) is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        app.garbage_collector = GarbageCollector(interval=1.0)


def create_app(argv: list[str] | None = None):
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    _quiet_qt_messages()
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("genplay")
    app.setOrganizationName("genplay")
    _collect_garbage_on_the_gui_thread(app)
    from resources import ICON

    if ICON.exists():
        app.setWindowIcon(QIcon(str(ICON)))
    return app


def run_app(open_path: str | None = None, self_test: bool = False) -> int:
    if self_test:
        return run_self_test()
    from app.ui.display_check import display_problem

    problem = display_problem()
    if problem:  # Qt would abort with a page of text that names no fix
        print(f"genplay: {problem}", file=sys.stderr)
        return 1
    from PySide6.QtCore import QTimer

    from app.ui.main_window import MainWindow

    app = create_app()
    window = MainWindow()
    window.show()
    if os.environ.get("GENPLAY_REPORT_STARTUP"):
        print(f"window shown {time.perf_counter() - STARTED:.2f} s after launch", file=sys.stderr)

    def after_show() -> None:
        window.open_shipped_weights()
        if open_path:
            window.open_checkpoint(open_path)

    QTimer.singleShot(0, after_show)
    return app.exec()


def run_self_test() -> int:
    """Headless checks, then the window offscreen with each shipped checkpoint opened."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from app.engine.self_test import run_self_test as engine_checks

    print("genplay self-test")
    problems = engine_checks()
    try:
        from app.ui.main_window import MainWindow
        from weights import shipped_checkpoint

        app = create_app()
        window = MainWindow()
        window.show()
        app.processEvents()
        for family, page in window.pages.items():
            path = shipped_checkpoint(family)
            if path is None:
                continue
            if not window.open_checkpoint(path) or page.snapshot is None:
                problems.append(f"{family}: the window could not open {path.name}: {window.last_error}")
            else:
                print(f"  {family}: {path.name} opens on the {page.title} page")
            app.processEvents()
        window.close()
    except Exception as exc:  # noqa: BLE001
        problems.append(f"window: {type(exc).__name__}: {exc}")
    if problems:
        print("self-test FAILED: " + "; ".join(problems), file=sys.stderr)
        return 1
    print("self-test passed")
    return 0
