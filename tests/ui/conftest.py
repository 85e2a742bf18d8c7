"""GUI fixtures: a main window whose VAE page trains on a small dataset quickly."""

from __future__ import annotations

import dataclasses
import gc

import pytest

FULL_COLLECTION_EVERY = 10  # a full collection costs ~0.2 s with torch loaded; young ones ~ms
_gui_tests_run = 0


@pytest.fixture(autouse=True)
def garbage_collected_on_the_gui_thread():
    """Python's cyclic collector runs on whichever thread allocates when it is due: during a
    test, that may be a trainer thread, which then deletes the Qt widgets of an earlier test
    while the GUI thread deletes others, and the two deadlock (each holds what the other waits
    for: a Qt connection lock and the GIL). So no automatic collection during a GUI test; the
    young generations are collected after each, here on the GUI thread (as the app does on a
    timer), and everything every few tests."""
    global _gui_tests_run
    gc.disable()
    yield
    _gui_tests_run += 1
    gc.collect(2 if _gui_tests_run % FULL_COLLECTION_EVERY == 0 else 1)
    gc.enable()


@pytest.fixture
def main_window(qtbot, monkeypatch):
    from app.engine import data as data_module
    from app.ui.main_window import MainWindow

    real_shapes = data_module.BUILTIN_DATASETS["shapes"]
    small = dataclasses.replace(real_shapes, load=lambda seed: data_module.load_shapes(seed, count=600))
    monkeypatch.setitem(data_module.BUILTIN_DATASETS, "shapes", small)
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    yield window
    assert window.shutdown(3000)


def wait_idle(qtbot, page, timeout=20000):
    qtbot.waitUntil(lambda: page.thread is None and page.state == "idle", timeout=timeout)


def start_long_run(qtbot, page):
    """Start a run far longer than any test (small batches, no validation) and wait until it runs."""
    page.form.set_values({"steps": 100000, "batch_size": 16, "val_every": 0})
    page.start()
    qtbot.waitUntil(lambda: page.state == "running", timeout=20000)


def train_briefly(qtbot, page, steps: int):
    """Train ``steps`` steps from the GUI (small batches, no validation) and wait for the end."""
    page.form.set_values({"steps": steps, "batch_size": 16, "val_every": 0})
    page.start()
    wait_idle(qtbot, page)
