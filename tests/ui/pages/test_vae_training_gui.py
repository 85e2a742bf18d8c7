"""Training from the GUI: the loss plot receives points; closing mid-run stops cleanly."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt

from tests.ui.conftest import wait_idle


def test_start_training_feeds_the_loss_plot(qtbot, main_window):
    page = main_window.pages["vae"]
    page.form.set_values({"steps": 60, "val_every": 30, "batch_size": 32})
    qtbot.mouseClick(page.bar.start_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, page)
    page.loss_plot.redraw()
    assert page.loss_plot.point_count("loss") == 60
    assert page.loss_plot.point_count("val_loss") == 2
    x, y = page.loss_plot.series["loss"].smooth_item.getData()
    assert len(x) > 0 and y[-1] < y[0]
    assert page.recon_grid.images is not None
    assert page.snapshot is not None and page.snapshot.step == 60
    assert "Finished 60 steps" in page.bar.status.text()


def test_pause_step_and_resume(qtbot, main_window):
    page = main_window.pages["vae"]
    page.form.set_values({"steps": 100000, "batch_size": 16, "val_every": 0})
    page.start()
    qtbot.waitUntil(lambda: page.state == "running" and page.loss_plot.point_count("loss") > 3, timeout=20000)
    page.pause()
    qtbot.waitUntil(lambda: page.thread.control.waiting, timeout=5000)
    trainer = page.thread.trainer
    before = trainer.step
    qtbot.waitUntil(lambda: page.loss_plot.point_count("loss") == before, timeout=5000)
    page.step_once()
    qtbot.waitUntil(lambda: page.loss_plot.point_count("loss") == before + 1, timeout=5000)
    qtbot.waitUntil(lambda: page.thread.control.waiting, timeout=5000)
    assert trainer.step == before + 1
    page.start()  # resume
    qtbot.waitUntil(lambda: page.loss_plot.point_count("loss") > before + 5, timeout=10000)
    page.stop()
    wait_idle(qtbot, page)
    assert "Stopped at step" in page.bar.status.text()


def test_closing_the_window_mid_training_stops_the_thread(qtbot, main_window):
    page = main_window.pages["vae"]
    page.form.set_values({"steps": 100000, "batch_size": 16})
    page.start()
    qtbot.waitUntil(lambda: page.state == "running", timeout=20000)
    thread = page.thread
    started = time.perf_counter()
    main_window.close()
    assert time.perf_counter() - started < 2.0
    assert thread.isFinished()
