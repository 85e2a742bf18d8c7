"""The typed contract of trainer events: enums that read and serialise as their old strings."""

from __future__ import annotations

import json

import pytest

from app.engine.control import CommandKind, RunControl
from app.engine.events import (
    FinishedEvent,
    FinishReason,
    MetricsEvent,
    MetricsKind,
    NoticeEvent,
    NoticeLevel,
    ProgressEvent,
    RunState,
)


@pytest.mark.parametrize(
    ("reason", "failed"),
    [
        ("completed", False),
        ("stopped", False),
        ("early_stopped", False),
        ("error", True),
        ("non_finite", True),
    ],
)
def test_only_errors_and_non_finite_values_are_failures(reason, failed):
    event = FinishedEvent(3, reason, "m")
    assert event.reason is FinishReason(reason) and event.failed is failed


def test_events_take_the_old_strings_and_refuse_misspelt_ones():
    assert MetricsEvent(1, {}).kind is MetricsKind.TRAIN
    assert MetricsEvent(1, {}, "val").kind is MetricsKind.VAL
    assert NoticeEvent("hi", "warning").level is NoticeLevel.WARNING
    assert ProgressEvent(1, 2, 0.0, 0.0, "paused").state is RunState.PAUSED
    for make in (
        lambda: MetricsEvent(1, {}, "validation"),
        lambda: NoticeEvent("hi", "warn"),
        lambda: ProgressEvent(1, 2, 0.0, 0.0, "halted"),
        lambda: FinishedEvent(1, "done", "m"),
    ):
        with pytest.raises(ValueError):
            make()


def test_the_enums_are_the_same_text_in_json_and_comparisons():
    assert json.dumps({"state": RunState.RUNNING, "kind": MetricsKind.ACTION}) == (
        '{"state": "running", "kind": "action"}'
    )
    assert RunState.IDLE == "idle" and f"{FinishReason.EARLY_STOPPED}" == "early_stopped"


def test_commands_say_their_kind():
    control = RunControl(start_paused=True)
    control.request_action("critic")
    control.step_once()
    control.stop()
    kinds = []
    for _ in range(3):
        kinds.append(control.next_command(lambda work: None).kind)
        if kinds[-1] is CommandKind.STOP:
            break
    assert kinds == [CommandKind.STOP]  # a stop wins over queued work
    control = RunControl(start_paused=True)
    control.request_action("critic")
    control.step_once()
    first, second = (control.next_command(lambda work: None) for _ in range(2))
    assert (first.kind, first.action, second.kind) == (CommandKind.ACTION, "critic", CommandKind.STEP)
