"""A Hugging Face GPT-2 on the GPT page: tokens (not characters) on every axis, the logit lens
following the text live, and Start refused with one sentence."""

from __future__ import annotations

from PySide6.QtCore import Qt


def test_a_gpt2_folder_writes_token_by_token_with_the_lens_live(qtbot, main_window, tiny_gpt2):
    folder, _reference = tiny_gpt2
    assert main_window.open_checkpoint(folder)
    page = main_window.show_page("gpt")
    panel = page.generation
    assert page.views.currentWidget() is page.generation_tab
    assert not page.views.isTabEnabled(page.views.indexOf(page.probe_tab))  # no training story
    panel.head_tabs.setCurrentWidget(panel.lens)
    panel.prompt.setPlainText("The cat sat on")
    qtbot.mouseClick(panel.step_button, Qt.MouseButton.LeftButton)
    prompt_ids = panel.tokenizer.encode("The cat sat on")
    count = len(prompt_ids) + 1
    assert panel.text.token_count == count == panel.heatmap.rows  # one row per BPE token
    assert panel.heatmap.chars[:2] == [panel.tokenizer.pieces[i] for i in prompt_ids[:2]]
    assert any(len(label) > 1 for label in panel.heatmap.chars)  # whole tokens, not characters
    assert "ms/token" in panel.rate_label.text() and panel.top_k_title.text().startswith("Next token")
    assert "p(token)" in panel.surprisal.plotItem.titleLabel.text  # not p(character)
    lens = panel.lens
    assert lens.objectName() == "gptLogitLens" and lens.isVisible()
    table = lens.table
    assert table.rowCount() == 3 and table.columnCount() == count  # emb, L1, L2 × positions
    assert table.verticalHeaderItem(0).text() == "L2 (out)"
    assert table.horizontalHeaderItem(1).text().startswith("␣")  # ' cat' read as a token: '␣cat'
    out_row_top = lens.grid.top_ids[-1, -1]
    assert int(panel.session.next_distribution().argmax()) == out_row_top  # the output row is the model's
    qtbot.mouseClick(panel.step_button, Qt.MouseButton.LeftButton)
    assert table.columnCount() == count + 1  # live: the new position appears
    written = panel.session.ids[-1]
    assert lens.grid.chosen[-2] == written  # the previous position's chosen token is now the written one
    lens.mode.setCurrentIndex(1)
    assert table.item(0, count - 1).text().startswith("#")
    page.start()
    assert "trains only character-level GPTs" in page.bar.status.text()
    assert page.state.value == "idle" and page.thread is None
