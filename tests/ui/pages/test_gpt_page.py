"""The GPT page: writing token by token, attention views, head ablation, KV cache, live training views."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from app.engine.checkpoint import read_checkpoint
from app.engine.data.text import text_bundle
from app.engine.inference.visuals import TextSample
from app.engine.setup import build_configs, create_task
from app.engine.trainer import Trainer
from app.ui.widgets.exports import NothingToExport
from tests.ui.conftest import wait_idle

TEXT = (
    "The cat sat on the mat. The dog sat on the log. A bird sang in the tree, and the cat "
    "looked up at the bird.\n"
) * 30
TINY_MODEL = {"n_layer": 2, "n_head": 2, "d_model": 16, "block_size": 16}


@pytest.fixture
def gpt_page(main_window, monkeypatch):
    from app.engine import data as data_module

    small = data_module.BuiltinDataset(
        "text", lambda seed: text_bundle(TEXT, "python-docs", "python-docs"), ""
    )
    monkeypatch.setitem(data_module.BUILTIN_DATASETS, "python-docs", small)
    return main_window.show_page("gpt")


@pytest.fixture
def checkpoint(tmp_path):
    data = text_bundle(TEXT, "cats", "cats")
    model_config, hparams, train = build_configs("gpt", data, {**TINY_MODEL, "batch_size": 8, "lr": 1e-2})
    trainer = Trainer(create_task("gpt", data, model_config, hparams, train))
    trainer.run(until=40)
    return trainer.save(tmp_path / "cats.safetensors")


@pytest.fixture
def panel(main_window, gpt_page, checkpoint):
    assert main_window.open_checkpoint(checkpoint)
    assert gpt_page.views.currentWidget() is gpt_page.generation_tab
    return gpt_page.generation


def test_one_generation_step_adds_one_row_and_one_character(qtbot, panel):
    panel.prompt.setPlainText("The cat")
    qtbot.mouseClick(panel.step_button, Qt.MouseButton.LeftButton)
    assert panel.text.token_count == 8 and panel.heatmap.rows == 8
    for expected in (9, 10, 11):
        qtbot.mouseClick(panel.step_button, Qt.MouseButton.LeftButton)
        assert panel.text.token_count == expected
        assert panel.heatmap.rows == expected
        assert panel.heatmap.values.shape == (expected, expected)
    assert panel.surprisal.point_count == 4
    assert len(panel.top_k_bars.candidates) == 10
    assert panel.text.text_of_tokens().startswith("The cat")
    grid_maps = [image.image for image in panel.head_grid.images]
    assert len(grid_maps) == 2 and grid_maps[0].shape[:2] == (11, 11)
    assert "chars/s" in panel.rate_label.text()


def test_play_writes_until_paused(qtbot, panel):
    panel.speed.setValue(panel.speed.maximum())
    qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.written >= 5, timeout=5000)
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    written = panel.written
    qtbot.wait(100)  # checks that nothing happens: no character after the pause
    assert panel.written == written and not panel.timer.isActive()
    assert panel.generate_button.text() == "Continue"


def test_switching_a_head_off_changes_the_next_character_odds(qtbot, panel):
    panel.temperature.setValue(0.0)
    panel.step_once()
    before = list(panel.top_k_bars.candidates)
    panel.toggles.buttons[0][1].click()
    after = list(panel.top_k_bars.candidates)
    assert after != before
    assert panel.head_grid.images[1].opacity() < 1.0
    panel.head_tabs.setCurrentIndex(1)  # the entropy map is drawn when its tab is shown
    assert panel.entropy_map.labels[1].textItem.toPlainText() == "off"
    panel.toggles.all_on.click()
    restored = panel.top_k_bars.candidates
    assert [c[0] for c in restored] == [c[0] for c in before]
    assert [c[1] for c in restored] == pytest.approx([c[1] for c in before], abs=1e-6)


def test_kv_cache_changes_the_speed_not_the_text(qtbot, panel):
    panel.temperature.setValue(0.0)  # greedy: the text depends on the model alone
    texts = []
    for cache in (True, False):
        panel.kv_cache.setChecked(cache)
        panel.restart()
        for _ in range(30):  # past the 16-character window, so it shifts
            panel.step_once()
        texts.append(panel.text.text_of_tokens())
        assert f"KV cache {'on' if cache else 'off'}" in panel.rate_label.text()
        assert "context is full" in panel.message.text()
        cursor = panel.text.textCursor()
        cursor.setPosition(1)
        assert cursor.charFormat().foreground().color().name() == "#9a9a9a"  # outside the window
    assert texts[0] == texts[1]


def test_unknown_prompt_characters_are_replaced_visibly(qtbot, panel):
    panel.prompt.setPlainText("Thé cät")
    panel.step_once()
    assert "'é'" in panel.message.text() and "'ä'" in panel.message.text()
    r = panel.tokenizer.replacement
    assert panel.text.text_of_tokens().startswith(f"Th{r} c{r}t")
    cursor = panel.text.textCursor()
    cursor.setPosition(3)
    assert cursor.charFormat().fontStrikeOut()


def test_an_empty_prompt_starts_from_a_line_break(qtbot, panel):
    panel.prompt.setPlainText("")
    panel.step_once()
    assert panel.text.chars[0] == "\n" and panel.written == 1  # the start token genplay sample uses
    assert panel.message.text() == ""


def test_hovering_a_token_shows_what_it_reads(qtbot, panel):
    for _ in range(5):
        panel.step_once()
    panel.text.tokenHovered.emit(6)
    assert panel.text.extraSelections()
    assert panel.heatmap.row_box.isVisible() and panel.heatmap.row_box.rect().top() == 6
    assert "reads most" in panel.attention_info.text()
    panel.heatmap.cellHovered.emit(6, 2)
    assert "α =" in panel.attention_info.text()
    panel.text.tokenHovered.emit(-1)
    panel.heatmap.cellHovered.emit(-1, -1)
    assert not panel.text.extraSelections()


def test_training_feeds_curves_samples_and_the_probe_scrubber(qtbot, gpt_page, tmp_path):
    gpt_page.form.set_values({**TINY_MODEL, "steps": 40, "batch_size": 8, "val_every": 20,
                              "capture_every": 10, "sample_every": 20, "sample_length": 30})  # fmt: skip
    qtbot.mouseClick(gpt_page.bar.start_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, gpt_page)
    gpt_page.loss_plot.redraw()
    assert gpt_page.loss_plot.point_count("loss") == 40
    assert gpt_page.loss_plot.point_count("val_perplexity") == 2
    steps = [step for step, _ in gpt_page.probe.history]
    assert steps[0] == 0 and {10, 20, 30, 40} <= set(steps)
    probe = gpt_page.probe
    assert probe.scrubber.maximum() == len(steps) - 1
    probe.scrubber.setValue(0)
    assert "step 0" in probe.step_label.text()
    assert len(probe.grid.images) == 2 * 2 and probe.map.rows == 16
    assert gpt_page.sample_select.count() >= 2 and gpt_page.sample_text.toPlainText()
    assert "nats/char" in gpt_page.readout.text()
    panel = gpt_page.generation
    assert panel.pending is not None and panel.pending[0].step == 40  # hidden: nothing rebuilt yet
    gpt_page.views.setCurrentWidget(gpt_page.generation_tab)
    assert panel.model is not None and panel.model_step == 40
    assert panel.heatmap.rows == len(panel.prompt_text())  # the prompt is read with the newest weights
    # after the run, the model can be saved (the finished thread's signals are gone)
    path = tmp_path / "after.safetensors"
    assert gpt_page.save_checkpoint_to(path)
    model = read_checkpoint(path).build_model()
    assert model.lm_head.weight is model.tok_emb.weight


def test_an_opened_model_shows_its_probe_attention(gpt_page, panel):
    # its history's capture of step 0 (capture_every is 50), then the weights as opened
    assert [step for step, _ in gpt_page.probe.history] == [0, 40]
    assert gpt_page.probe.map.rows == 16 and "step 40" in gpt_page.probe.step_label.text()


def test_stable_object_names_and_the_prompt_is_read_as_it_is_typed(qtbot, main_window, panel):
    names = ("gptStartButton", "gptPauseButton", "gptStepButton", "gptStopButton", "gptLossPlot",
             "gptPrompt", "gptGenerateButton", "gptGenStepButton", "gptOutputText", "gptAttentionMap",
             "gptHeadGrid", "gptEntropyMap", "gptTopKBars", "gptLayerSelect", "gptHeadSelect")  # fmt: skip
    for name in names:
        assert main_window.findChild(QWidget, name) is not None, name
    panel.prompt.setPlainText("The dog sat")
    qtbot.waitUntil(lambda: panel.heatmap.rows == len("The dog sat"), timeout=3000)
    assert panel.text.text_of_tokens() == "The dog sat" and panel.written == 0


def test_file_export_writes_text_and_pictures(qtbot, main_window, gpt_page, panel, tmp_path):
    panel.prompt.setPlainText("The cat")
    for _ in range(4):
        qtbot.mouseClick(panel.step_button, Qt.MouseButton.LeftButton)
    written, refused = {}, {}
    for index, (label, suffix, export) in enumerate(gpt_page.exports()):
        path = tmp_path / f"e{index}.{suffix}"
        try:
            export(path)
        except NothingToExport as exc:
            refused[label] = str(exc)
            assert not path.exists()
            continue
        written[label] = path
    # an opened checkpoint brings its loss curves (its history); its 40 steps wrote no sample
    assert set(refused) == {"Training samples as TXT…"}
    assert written["Loss curves as CSV…"].read_text(encoding="utf-8").count("\n") == 41  # header + 40 steps
    assert refused["Training samples as TXT…"].startswith("There is no training sample to export yet: ")
    assert written["Generated text as TXT…"].read_text(encoding="utf-8").startswith("The cat")
    for label, path in written.items():
        if path.suffix == ".png":
            assert path.stat().st_size > 500, label


def test_generated_text_is_exported_as_the_model_read_it(qtbot, gpt_page, panel, tmp_path):
    panel.prompt.setPlainText("The cat\nsat é")  # a line break, and a character the model never saw
    qtbot.waitUntil(lambda: panel.session_prompt == "The cat\nsat é", timeout=3000)
    for _ in range(30):
        panel.step_once()
    exports = {label: export for label, _suffix, export in gpt_page.exports()}
    path = tmp_path / "generated.txt"
    exports["Generated text as TXT…"](path)
    text = path.read_bytes().decode("utf-8")
    replacement = panel.tokenizer.replacement
    assert text == panel.tokenizer.decode(panel.session.ids) and len(text) == len("The cat\nsat é") + 30
    assert text.startswith(f"The cat\nsat {replacement}") and "↵" not in text and "⇥" not in text
    assert "↵" in panel.text.toPlainText()  # what the view shows is not what is exported


def test_every_training_sample_is_exported_under_its_step(gpt_page, tmp_path):
    exports = {label: export for label, _suffix, export in gpt_page.exports()}
    with pytest.raises(NothingToExport):
        exports["Training samples as TXT…"](tmp_path / "none.txt")
    for step, text in ((200, "first\nsample"), (400, "second"), (600, "third")):
        gpt_page.add_sample(TextSample(step, text))
    gpt_page.sample_select.setCurrentIndex(1)  # whichever sample is shown, all are exported
    path = tmp_path / "samples.txt"
    exports["Training samples as TXT…"](path)
    assert path.read_text(encoding="utf-8") == (
        "=== step 200 ===\nfirst\nsample\n\n=== step 400 ===\nsecond\n\n=== step 600 ===\nthird\n"
    )


def test_closing_the_window_while_generating_and_training_exits_cleanly(qtbot, main_window, gpt_page, panel):
    import threading
    import time

    baseline = threading.active_count()
    qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.text.token_count > 9, timeout=5000)
    gpt_page.form.set_values({**TINY_MODEL, "steps": 100000, "batch_size": 4})
    gpt_page.bar.dataset.setCurrentText("python-docs")
    gpt_page.start()
    qtbot.waitUntil(lambda: gpt_page.state != "starting", timeout=20000)
    assert gpt_page.state == "running", gpt_page.bar.status.text()
    started = time.perf_counter()
    main_window.close()
    assert time.perf_counter() - started < 2.0
    assert not panel.timer.isActive()
    written = panel.text.token_count
    qtbot.wait(100)  # checks that nothing happens: no token after closing
    assert panel.text.token_count == written
    assert gpt_page.thread is None and threading.active_count() <= baseline
