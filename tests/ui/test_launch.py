"""The app's start-up: cyclic garbage is collected on the GUI thread only."""

from __future__ import annotations

import gc
import threading

from PySide6.QtWidgets import QApplication

from app.ui.launch import create_app


def test_cyclic_garbage_waits_for_the_gui_thread(qtbot):
    gc.enable()  # as in a fresh process (the GUI fixtures switch it off around each test)
    existing = QApplication.instance()
    if existing is not None:
        existing.garbage_collector = None
    app = create_app()
    collector = app.garbage_collector
    try:
        assert not gc.isenabled()  # no automatic collection on whichever thread allocates
        assert collector.timer.isActive()
        assert create_app().garbage_collector is collector  # installed once

        collected_on = []

        class Cycle:
            def __del__(self):
                collected_on.append(threading.current_thread() is threading.main_thread())

        def make_garbage_on_a_worker():
            for _ in range(5000):  # far past the gen-0 threshold of automatic collection
                a, b = Cycle(), Cycle()
                a.other, b.other = b, a

        worker = threading.Thread(target=make_garbage_on_a_worker)
        worker.start()
        worker.join()
        assert collected_on == []  # nothing was collected on the worker
        collector.check()  # what the timer runs on the GUI thread
        assert len(collected_on) == 10000 and all(collected_on)
    finally:
        collector.timer.stop()
        app.garbage_collector = None
        gc.enable()
