"""First-run comforts: remembered settings, recent files, drag-and-drop, shortcuts, exports."""

from __future__ import annotations

import csv
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication

from app.ui.app_settings import AppSettings
from tests.ui.conftest import start_long_run, wait_idle


def _trained_file(qtbot, window, tmp_path):
    page = window.pages["vae"]
    page.form.set_values({"steps": 4, "batch_size": 16, "latent_dim": 2})
    page.start()
    wait_idle(qtbot, page)
    path = tmp_path / "small.safetensors"
    assert page.save_checkpoint_to(path)
    return path


def test_settings_round_trip(tmp_path):
    settings = AppSettings()
    settings.set_last_folder("checkpoints", tmp_path / "x.safetensors")
    for i in range(12):
        settings.add_recent_file(tmp_path / f"{i}.safetensors")
    settings.sync()
    again = AppSettings()
    assert again.last_folder("checkpoints") == str(tmp_path)
    recent = again.recent_files()
    assert len(recent) == 8 and recent[0].endswith("11.safetensors")


def test_geometry_is_remembered(qtbot, main_window):
    main_window.resize(640, 590)
    remembered = main_window.size()  # after the window's own minimum-size limits
    main_window.close()
    from app.ui.main_window import MainWindow

    again = MainWindow()
    qtbot.addWidget(again)
    assert again.size().height() == remembered.height()  # (the 800-px offscreen screen clamps widths)


def test_a_first_window_fits_the_screen_and_a_1366_by_768_laptop(qtbot, main_window):
    free = QApplication.primaryScreen().availableGeometry().size()
    first = main_window._first_size()
    assert first.width() <= free.width() and first.height() <= free.height()
    smallest = main_window.minimumSizeHint()  # what the layouts need: a laptop's free area
    assert smallest.width() <= 1366 and smallest.height() <= 768 - 40


def test_opened_files_become_recent(qtbot, main_window, tmp_path):
    path = _trained_file(qtbot, main_window, tmp_path)
    main_window.pages["vae"].new_model()
    assert main_window.open_checkpoint(path)
    main_window._fill_recent_menu()
    actions = main_window.recent_menu.actions()
    assert actions[0].text() == "small.safetensors"
    actions[0].trigger()
    assert main_window.pages["vae"].snapshot.step == 4


def test_drag_and_drop_opens_a_checkpoint(qtbot, main_window, tmp_path):
    path = _trained_file(qtbot, main_window, tmp_path)
    page = main_window.pages["vae"]
    page.new_model()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)  # fmt: skip
    main_window.dropEvent(event)
    assert page.snapshot is not None and page.snapshot.step == 4
    assert main_window.tabs.currentWidget() is page


def test_space_and_s_shortcuts(qtbot, main_window):
    page = main_window.pages["vae"]
    page.form.set_values({"steps": 100000, "batch_size": 16})
    main_window.activateWindow()
    main_window.shortcuts["start_pause"].activated.emit()
    qtbot.waitUntil(lambda: page.state == "running", timeout=20000)
    main_window.shortcuts["start_pause"].activated.emit()
    assert page.state == "paused"
    qtbot.waitUntil(lambda: page.thread.control.waiting, timeout=5000)
    step = page.thread.trainer.step
    main_window.shortcuts["step"].activated.emit()
    qtbot.waitUntil(lambda: page.thread.trainer.step == step + 1, timeout=5000)
    page.stop()
    wait_idle(qtbot, page)


def test_export_metrics_csv_and_plot_png(qtbot, main_window, tmp_path):
    page = main_window.pages["vae"]
    page.form.set_values({"steps": 10, "batch_size": 16, "val_every": 5})
    page.start()
    wait_idle(qtbot, page)
    exports = {label: fn for label, _suffix, fn in page.exports()}
    exports["Loss curves as CSV…"](tmp_path / "m.csv")
    rows = list(csv.reader(open(tmp_path / "m.csv", encoding="utf-8")))
    assert rows[0][:2] == ["step", "loss"] and len(rows) == 11
    assert rows[5][rows[0].index("val_loss")] != ""
    exports["Loss plot as PNG…"](tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 1000
    main_window._fill_export_menu()
    assert [a.text() for a in main_window.export_menu.actions()][:2] == list(exports)[:2]


def test_about_names_versions_and_device(qtbot, main_window):
    main_window.show_about()
    box = main_window.findChild(object, "aboutDialog")
    assert box is not None
    assert "PyTorch" in box.text() and "Device in use: cpu" in box.text()
    box.close()
    QApplication.processEvents()


def _save_through_the_dialog(main_window, monkeypatch, path):
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(path), ""))
    main_window.save_dialog()


def test_a_save_during_training_becomes_recent_only_once_written(qtbot, main_window, tmp_path, monkeypatch):
    page = main_window.pages["vae"]
    start_long_run(qtbot, page)
    path = tmp_path / "live.safetensors"
    on_disk_when_announced = []
    page.checkpointWritten.connect(lambda written: on_disk_when_announced.append(Path(written).is_file()))
    _save_through_the_dialog(main_window, monkeypatch, path)
    assert str(path) not in main_window.settings.recent_files()  # only queued for the trainer's thread
    assert page.bar.status.text() == "Saving live.safetensors at the next step…"
    qtbot.waitUntil(lambda: str(path) in main_window.settings.recent_files(), timeout=5000)
    assert on_disk_when_announced == [True]
    assert page.bar.status.text().startswith("Saved live.safetensors at step ")
    page.stop()
    wait_idle(qtbot, page)


def test_a_failed_save_during_training_says_why_and_adds_nothing(qtbot, main_window, tmp_path, monkeypatch):
    page = main_window.pages["vae"]
    start_long_run(qtbot, page)
    missing = tmp_path / "no-such-folder" / "lost.safetensors"
    _save_through_the_dialog(main_window, monkeypatch, missing)  # refused at once
    assert main_window.last_error.startswith("Cannot save lost.safetensors: the folder ")
    assert page.bar.status.text() == main_window.last_error and "#c62828" in page.bar.status.styleSheet()
    taken = tmp_path / "taken.safetensors"
    taken.mkdir()  # a folder of that name: the trainer's thread fails to write the file
    _save_through_the_dialog(main_window, monkeypatch, taken)
    qtbot.waitUntil(lambda: "taken.safetensors" in main_window.last_error, timeout=5000)
    assert page.bar.status.text() == main_window.last_error
    assert page.state == "running"  # the run goes on
    page.stop()
    wait_idle(qtbot, page)
    recent = main_window.settings.recent_files()
    assert str(missing) not in recent and str(taken) not in recent and taken.is_dir()


def test_every_export_with_nothing_to_show_is_refused_in_one_sentence(main_window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    refused = 0
    for family, page in main_window.pages.items():
        main_window.show_page(family)  # no model on any page yet
        for index, (label, suffix, export) in enumerate(page.exports()):
            if label.startswith("W1 vs JSD"):
                continue  # the lab is a worked example of its own: there is always something
            path = tmp_path / f"{family}-{index}.{suffix}"
            monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, p=path, **kwargs: (str(p), ""))
            main_window.last_error = ""
            main_window.export_dialog(label, suffix, export)
            assert not path.exists(), label
            assert main_window.last_error.startswith("There is no "), (label, main_window.last_error)
            assert main_window.last_error.count(". ") == 0, label  # one sentence
            refused += 1
    assert refused == 23  # 2 loss exports a page, 6 VAE views, 5 WGAN views (not the lab), 6 GPT ones


def test_file_menu_opens_every_shipped_model_including_the_shapes_wgan(qtbot, main_window):
    actions = {action.text(): action for action in main_window.shipped_menu.actions()}
    assert {"vae-shapes", "wgan-8gaussians", "wgan-shapes", "gpt-python-docs"} <= set(actions)
    actions["wgan-shapes"].trigger()
    page = main_window.pages["wgan"]
    assert main_window.tabs.currentWidget() is page
    assert page.loaded_checkpoint.path.name == "wgan-shapes.safetensors" and page.frame.is_image
