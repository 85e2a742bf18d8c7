"""The training bar reads the typed run contract: states, finish reasons and notice levels."""

from __future__ import annotations

import pytest

from app.engine.events import FinishReason, NoticeLevel, ProgressEvent, RunState
from app.ui.widgets.training_bar import TrainingBar


@pytest.fixture
def bar(qtbot):
    widget = TrainingBar("test", ["shapes"], "shapes")
    qtbot.addWidget(widget)
    return widget


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        (FinishReason.COMPLETED, "finished"),
        (FinishReason.STOPPED, "stopped"),
        (FinishReason.EARLY_STOPPED, "stopped early"),
        (FinishReason.ERROR, "failed"),
        (FinishReason.NON_FINITE, "failed (NaN/Inf)"),
    ],
)
def test_each_finish_reason_has_its_words(bar, reason, words):
    bar.show_finished(30, 60, reason)
    assert bar.progress.format() == f"step 30 — {words}" and bar.progress.value() == 50


def test_buttons_follow_the_run_state(bar):
    enabled = {}
    for state in RunState:
        bar.set_state(state)
        enabled[state] = [b.isEnabled() for b in (bar.start_button, bar.pause_button, bar.step_button,
                                                   bar.stop_button, bar.new_button)]  # fmt: skip
    assert enabled == {
        RunState.IDLE: [True, False, True, False, True],
        RunState.STARTING: [False, False, False, True, False],
        RunState.RUNNING: [False, True, False, True, False],
        RunState.PAUSED: [True, False, True, True, False],
    }
    assert bar.start_button.text() == "Resume"
    bar.show_progress(ProgressEvent(5, 10, 0.0, float("nan"), RunState.PAUSED))
    assert bar.progress.format() == "step 5/10 — paused"


def test_a_status_level_that_does_not_exist_is_refused(bar):
    bar.set_status("careful", NoticeLevel.WARNING)
    assert "#8a6d00" in bar.status.styleSheet()
    bar.set_status("fine", "info")  # the old strings still read
    assert bar.status.styleSheet() == ""
    with pytest.raises(ValueError):
        bar.set_status("?", "loud")
