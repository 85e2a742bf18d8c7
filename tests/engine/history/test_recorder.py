"""The history recorder: bounded in points and bytes, thinned evenly, continued on resume."""

from __future__ import annotations

import numpy as np

from app.engine.checkpoint.history import history_nbytes
from app.engine.events import MetricsKind
from app.engine.history import HistoryRecorder
from app.engine.inference.wgan_frames import WGANFrame


def test_curves_keep_at_most_max_points_spread_evenly_over_the_whole_run():
    recorder = HistoryRecorder(max_points=100, max_bytes=2_000_000)
    for step in range(1, 10_001):
        recorder.add_metrics(step, {"loss": 1.0 / step}, MetricsKind.TRAIN)
        if step % 500 == 0:
            recorder.add_metrics(step, {"val_loss": 2.0 / step}, MetricsKind.VAL)
    curve = recorder.history().curves["loss"]
    assert 50 <= len(curve) <= 100
    assert curve.steps[0] == 1 and curve.steps[-1] == 10_000  # the first and the newest stay
    gaps = np.diff(curve.steps[:-1])  # the newest may sit closer than the gap to the one before
    assert gaps.max() <= 2 * gaps.min()  # evenly spaced: no part of the run is crowded
    assert curve.values[-1] == 1.0 / 10_000
    assert len(recorder.history().curves["val_loss"]) == 20  # sparse curves keep every point


def test_the_byte_budget_bounds_what_the_checkpoint_stores():
    budget = 60_000
    recorder = HistoryRecorder(max_points=2000, max_bytes=budget)
    alpha = np.full((2, 2, 16, 16), 0.25, dtype=np.float16)  # 2 KB a capture
    for step in range(0, 3000):
        recorder.add_metrics(step, {"loss": 1.0, "lr": 0.1, "grad_norm": 2.0}, MetricsKind.TRAIN)
        if step % 5 == 0:
            recorder.add_attention(step, "x" * 16, [], alpha)
        if step % 50 == 0:
            recorder.add_sample(step, "sample " * 20)
    history = recorder.history()
    assert history_nbytes(history) <= budget + 1000  # + the metadata's JSON keys
    assert history.probe.steps[0] == 0 and history.probe.steps[-1] == 2995
    assert len(history.probe.steps) >= 10 and history.samples[-1].step == 2950


def test_no_budget_records_nothing_and_actions_are_not_steps():
    recorder = HistoryRecorder(max_bytes=0)
    recorder.add_metrics(1, {"loss": 1.0}, MetricsKind.TRAIN)
    assert recorder.history().empty and not recorder.due(1)
    recorder = HistoryRecorder()
    recorder.add_metrics(1, {"critic_loss": 1.0}, MetricsKind.ACTION)
    recorder.add_metrics(2, {"loss": float("nan")}, MetricsKind.TRAIN)
    assert recorder.history().empty


def test_family_records_are_due_every_few_steps_then_less_often_as_they_thin():
    recorder = HistoryRecorder(max_points=10, max_bytes=2_000_000, every=5)
    recorded = []
    for step in range(0, 400):
        if recorder.due(step):
            recorder.add_kl(step, np.array([step, 0.0]))
            recorder.mark_recorded(step)
            recorded.append(step)
    assert recorded[:3] == [0, 5, 10]
    assert len(recorder.history().kl.steps) <= 10
    assert np.diff(recorded)[-1] > 5  # the gap grew with the thinning


def test_continuing_a_history_extends_it_and_a_new_probe_text_restarts_the_replay():
    first = HistoryRecorder()
    first.add_metrics(10, {"loss": 3.0}, MetricsKind.TRAIN)
    frame = WGANFrame(10, np.zeros((4, 2), np.float32), np.ones((5, 5), np.float32), (-1.0, 1.0, -2.0, 2.0))
    first.add_frame(frame)
    first.add_attention(10, "ab", [], np.ones((1, 1, 2, 2), np.float32))
    resumed = HistoryRecorder(every=10)
    resumed.continue_from(first.history())
    assert not resumed.due(19) and resumed.due(20)  # the records go on from the last one kept
    resumed.add_metrics(20, {"loss": 2.0}, MetricsKind.TRAIN)
    resumed.add_frame(WGANFrame(20, np.ones((4, 2), np.float32), np.ones((5, 5), np.float32), frame.extent))
    history = resumed.history()
    assert history.curves["loss"].steps.tolist() == [10, 20]
    assert history.curves["loss"].values.tolist() == [3.0, 2.0]
    assert history.frames.steps.tolist() == [10, 20] and history.frames.extents[0].tolist() == [-1, 1, -2, 2]
    resumed.add_attention(30, "abc", [], np.ones((1, 1, 3, 3), np.float32))
    assert history.probe.steps.tolist() == [10] and resumed.history().probe.steps.tolist() == [30]
