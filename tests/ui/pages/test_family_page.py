"""The page machinery: validation beside fields, live settings, open/save, bad files."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QScrollArea

from app.engine.checkpoint import read_checkpoint
from tests.ui.conftest import start_long_run, train_briefly, wait_idle


def test_invalid_fields_show_a_reason_and_block_start(qtbot, main_window):
    page = main_window.pages["vae"]
    lr = page.form.editors["lr"]
    lr.setText("-0.1")
    assert "at least" in page.form.error_text("lr")
    page.form.editors["batch_size"].setText("zero")
    assert page.form.error_text("batch_size") == "enter a whole number"
    page.start()
    assert page.thread is None and page.state == "idle"
    assert "Cannot start" in page.bar.status.text()
    lr.setText("0.002")
    assert page.form.error_text("lr") == ""


def test_learning_rate_edited_while_paused_applies_without_losing_the_run(qtbot, main_window):
    page = main_window.pages["vae"]
    page.form.set_values({"steps": 100000, "batch_size": 16, "val_every": 0})
    page.start()
    qtbot.waitUntil(lambda: page.state == "running" and page.loss_plot.point_count("loss") > 2, timeout=20000)
    page.pause()
    qtbot.waitUntil(lambda: page.thread.control.waiting, timeout=5000)
    trainer = page.thread.trainer
    page.form.editors["lr"].setText("0.0005")
    page.form.editors["beta"].setText("3")
    page.step_once()
    qtbot.waitUntil(
        lambda: trainer.task.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.0005), timeout=5000
    )
    assert trainer.task.hparams.beta == 3.0
    assert page.thread.trainer is trainer  # same run, not restarted
    page.stop()
    wait_idle(qtbot, page)


def test_save_then_open_round_trip(qtbot, main_window, tmp_path):
    page = main_window.pages["vae"]
    page.form.set_values({"steps": 20, "batch_size": 16, "latent_dim": 3})
    page.start()
    wait_idle(qtbot, page)
    path = tmp_path / "mine.safetensors"
    assert page.save_checkpoint_to(path)
    assert read_checkpoint(path).step == 20
    page.new_model()
    assert page.snapshot is None
    assert main_window.open_checkpoint(path)
    assert page.snapshot is not None and page.snapshot.step == 20
    assert page.form.value("latent_dim") == 3
    assert main_window.tabs.currentWidget() is page


def test_saving_during_a_run_happens_on_the_trainer_thread(qtbot, main_window, tmp_path):
    page = main_window.pages["vae"]
    page.form.set_values({"steps": 100000, "batch_size": 16})
    page.start()
    qtbot.waitUntil(lambda: page.state == "running", timeout=20000)
    path = tmp_path / "live.safetensors"
    page.save_checkpoint_to(path)
    qtbot.waitUntil(lambda: "Saved live.safetensors" in page.bar.status.text(), timeout=5000)
    assert read_checkpoint(path).step > 0
    page.stop()
    wait_idle(qtbot, page)


def test_a_bad_file_is_refused_and_the_model_is_kept(qtbot, main_window, tmp_path):
    page = main_window.pages["vae"]
    page.form.set_values({"steps": 5, "batch_size": 16})
    qtbot.mouseClick(page.bar.start_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, page)
    kept = page.snapshot
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 3)
    assert not main_window.open_checkpoint(bad)
    assert "too short" in main_window.last_error
    assert page.snapshot is kept


def test_failure_in_setup_is_reported_and_the_page_stays_usable(qtbot, main_window):
    page = main_window.pages["vae"]
    page.bar.dataset.setCurrentText("/no/such/folder")
    page.start()
    wait_idle(qtbot, page)
    assert "does not exist" in page.bar.status.text() or "neither" in page.bar.status.text()
    page.bar.dataset.setCurrentText("shapes")
    page.form.set_values({"steps": 3, "batch_size": 16})
    page.start()
    wait_idle(qtbot, page)
    assert "Finished 3 steps" in page.bar.status.text()


@pytest.mark.parametrize(
    "family, dataset, sentence",
    [
        ("vae", "8gaussians", "The VAE trains on images; '8gaussians' is 2-D points."),
        ("vae", "python-docs", "The VAE trains on images; 'python-docs' is text."),
        ("gpt", "shapes", "The GPT trains on text; 'shapes' is images."),
    ],
)
def test_data_of_a_kind_the_family_cannot_train_is_named_at_once(main_window, family, dataset, sentence):
    page = main_window.show_page(family)
    fitting = page.bar.dataset.currentText()
    page.bar.dataset.setCurrentText(dataset)
    assert page.bar.status.text() == sentence and "#8a6d00" in page.bar.status.styleSheet()
    page.bar.dataset.setCurrentText(fitting)
    assert page.bar.status.text() == "Ready."  # the warning goes once the choice fits


def test_the_status_line_follows_pause_and_resume(qtbot, main_window):
    page = main_window.pages["vae"]
    start_long_run(qtbot, page)
    qtbot.waitUntil(lambda: page.bar.status.text() == "Training…", timeout=5000)
    page.pause()
    qtbot.waitUntil(lambda: page.thread.control.waiting, timeout=5000)
    step = page.thread.trainer.step
    qtbot.waitUntil(lambda: page.bar.status.text() == f"Paused at step {step:,}.", timeout=5000)
    page.start()  # resume
    assert page.state == "running" and page.bar.status.text() == "Training…"
    page.stop()
    wait_idle(qtbot, page)
    assert page.bar.status.text().startswith("Stopped at step")


def test_a_run_begun_with_one_step_says_paused_then_training(qtbot, main_window):
    page = main_window.pages["vae"]
    page.form.set_values({"steps": 100000, "batch_size": 16, "val_every": 0})
    page.step_once()  # from idle: the run starts paused after one step
    qtbot.waitUntil(lambda: page.bar.status.text() == "Paused at step 1.", timeout=20000)
    assert page.state == "paused" and page.bar.start_button.isEnabled()
    shown: list[str] = []  # the progress bar's text after each report
    show_progress = page.bar.show_progress
    page.bar.show_progress = lambda event: (show_progress(event), shown.append(page.bar.progress.format()))
    page.start()
    assert page.state == "running" and page.bar.pause_button.isEnabled()
    assert page.bar.status.text() == "Training…"
    qtbot.waitUntil(lambda: len(shown) >= 2, timeout=5000)  # progress reports keep coming while it runs
    assert page.bar.status.text() == "Training…" and not any("paused" in text for text in shown), shown
    page.stop()
    wait_idle(qtbot, page)


def test_opening_a_checkpoint_replaces_the_progress_of_the_run_before(qtbot, main_window, tmp_path):
    page = main_window.pages["vae"]
    train_briefly(qtbot, page, 4)
    path = tmp_path / "four.safetensors"
    assert page.save_checkpoint_to(path)
    train_briefly(qtbot, page, 3)
    assert page.bar.progress.format() == "step 7 — finished"
    assert main_window.open_checkpoint(path)
    assert page.bar.progress.format() == "idle · step 4" and page.bar.progress.value() == 0
    page.new_model()
    assert page.bar.progress.format() == "idle"


def test_shutting_down_mid_run_ends_the_sessions_run(qtbot, main_window):
    page = main_window.pages["vae"]
    start_long_run(qtbot, page)
    qtbot.waitUntil(lambda: page.thread.trainer is not None and page.thread.trainer.step > 0, timeout=5000)
    assert page.shutdown(5000) and not page.session.active
    assert page.session.trainer.step > 0  # the run's trainer is kept, as after a finished run
    page.new_model()  # a session left inside the run would refuse this
    assert page.session.trainer is None


@pytest.mark.parametrize("family", ["vae", "wgan"])
def test_the_settings_panel_is_wide_enough_for_its_form_and_a_vertical_scroll_bar(qtbot, main_window, family):
    areas = main_window.pages[family].findChildren(QScrollArea)
    panels = [area for area in areas if area.maximumWidth() == 380]
    assert len(panels) == 1
    panel = panels[0]
    needed = panel.widget().minimumSizeHint().width() + panel.verticalScrollBar().sizeHint().width()
    assert panel.minimumWidth() >= needed  # else a horizontal bar appears under the form
