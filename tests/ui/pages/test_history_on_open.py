"""Opening a checkpoint shows how it learned: the curves as they were, the GPT's attention
replayable from step 0 with its samples, the WGAN timeline scrubbable and exportable as a GIF,
the VAE's KL per dimension over the steps; a continued run extends the curves."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt

from app.engine.checkpoint import read_checkpoint
from app.engine.inference.wgan_frames import WGANFrame
from app.ui.vae.explain import ExplainNote
from app.ui.vae.kl_history import KlHistoryMap
from tests.ui.conftest import wait_idle


def test_a_vae_checkpoint_shows_its_curves_and_kl_map_and_a_continued_run_extends_them(
    qtbot, main_window, history_files
):
    page = main_window.show_page("vae")
    assert main_window.open_checkpoint(history_files["vae"])
    loss = page.loss_plot.series["loss"]
    assert loss.steps.tolist() == list(range(1, 21))  # drawn as it was, not "Press Start"
    assert page.loss_plot.point_count("val_loss") == 2
    kl_map = page.findChild(KlHistoryMap, "vaeKlHistoryMap")
    page.show_view(kl_map.parentWidget())
    qtbot.waitUntil(lambda: kl_map.column_count() > 0)
    assert kl_map.records.steps[0] == 0 and kl_map.records.steps[-1] == 20
    assert kl_map.image.image.shape[0] == 3  # one row per latent dimension
    assert "/3 in use now" in kl_map.plot.titleLabel.text
    assert page.findChild(ExplainNote, "vaeKlHistoryNote") is not None  # "What am I looking at?"
    page.form.set_values({"steps": 4})  # four more
    page.start()
    wait_idle(qtbot, page)
    assert loss.steps.tolist() == list(range(1, 25))  # continued from where the curve ended
    assert kl_map.records.steps[-1] == 24 and kl_map.records.steps[0] == 0


def test_a_gpt_checkpoint_replays_its_attention_from_step_0_and_lists_its_samples(
    qtbot, main_window, history_files
):
    page = main_window.show_page("gpt")
    assert main_window.open_checkpoint(history_files["gpt"])
    probe = page.probe
    assert [step for step, _alpha in probe.history] == [0, 5, 10, 15, 20]
    assert probe.scrubber.maximum() == 4 and probe.scrubber.value() == 4  # the opened weights first
    qtbot.mouseClick(probe.play_button, Qt.MouseButton.LeftButton)  # Replay starts at step 0 …
    assert probe.step_label.text().startswith("step 0 ")
    qtbot.waitUntil(lambda: not probe.play_button.isChecked(), timeout=5000)  # … and plays to the end
    assert probe.step_label.text().startswith("step 20 ")
    listed = [page.sample_select.itemText(i) for i in range(page.sample_select.count())]
    assert listed == ["step 20", "step 10"]  # the newest first, as while training
    assert page.sample_text.toPlainText() == read_checkpoint(history_files["gpt"]).history.samples[-1].text
    assert page.loss_plot.point_count("loss") == 20


def test_a_wgan_checkpoint_has_its_timeline_to_scrub_and_export_as_a_gif(
    qtbot, main_window, history_files, tmp_path
):
    page = main_window.show_page("wgan")
    assert main_window.open_checkpoint(history_files["wgan"])
    bar = page.timeline_bar
    assert bar.timeline.steps == list(range(0, 21))  # the opened weights' own frame is the last
    assert bar.live.isChecked()
    bar.slider.setValue(0)
    assert page.frame.step == 0 and not bar.live.isChecked()
    assert "step 0 of 20" in bar.label.text()
    written = page.export_gif(tmp_path / "evolution.gif")
    with Image.open(written) as gif:
        assert gif.format == "GIF" and gif.n_frames == 21


def test_an_image_frame_from_the_history_says_it_holds_the_first_samples_of_the_grid(qtbot, main_window):
    page = main_window.show_page("wgan")
    bar = page.timeline_bar
    bar.load_history([WGANFrame(step, np.zeros((16, 1, 8, 8), np.uint8)) for step in (0, 5)])
    bar.add(WGANFrame(10, np.zeros((64, 1, 8, 8), np.uint8)))
    title = page.sample_grid.ci.getItem(0, 0).text
    assert "step 10" in title and "history" not in title
    bar.slider.setValue(1)
    assert "step 5 (history: the first 16 of 64)" in page.sample_grid.ci.getItem(0, 0).text
