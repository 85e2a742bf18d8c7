"""The Serve page's rolling history: rates over the last second, latency percentiles, the window."""

from __future__ import annotations

import math

import pytest

from app.engine.serve.api import LoadStats, ServerStats
from app.ui.serve.history import ServeHistory


def server_at(t: float, ok: int = 0, too_many: int = 0, retries: int = 0, depth: int = 0) -> ServerStats:
    return ServerStats(time_s=100.0 + t, ready=True, unready_reason=None, queue_depth=depth,
                       queue_size=64, workers=(), responses_by_status={200: ok, 429: too_many},
                       retries=retries, batches=4, batched_requests=10,
                       recent_batch_sizes=(1, 3, 3, 3))  # fmt: skip


def load_at(t: float, completed: int, latencies: tuple[float, ...]) -> LoadStats:
    return LoadStats(time_s=100.0 + t, sent=completed, completed=completed, by_status={200: completed},
                     recent_latencies_ms=latencies)  # fmt: skip


def test_rates_are_differences_over_the_last_second():
    history = ServeHistory(rate_window_s=1.0)
    for t, ok, rejected, retries in ((0.0, 0, 0, 0), (0.5, 10, 2, 0), (1.0, 30, 4, 1), (1.5, 60, 4, 1)):
        history.add(server_at(t, ok, rejected, retries))
    # at t = 1.0 the base is t = 0.0: 30 answers in 1 s; at t = 1.5 the base is t = 0.5: 50 in 1 s
    assert list(history.throughput) == [(1.0, 30.0), (1.5, 50.0)]
    assert list(history.rejections) == [(1.0, 4.0), (1.5, 2.0)]
    assert list(history.retry_rate) == [(1.0, 1.0), (1.5, 1.0)]
    assert history.mean_batch == 2.5 and history.batch_sizes == (1, 3, 3, 3)


def test_latency_uses_only_the_answers_of_the_last_second():
    history = ServeHistory(rate_window_s=1.0)
    history.add(server_at(0.0), load_at(0.0, 2, (500.0, 500.0)))
    # two more answers arrived within the second: only they count, not the two old 500 ms ones
    history.add(server_at(1.0), load_at(1.0, 4, (500.0, 500.0, 10.0, 30.0)))
    # 10 and 30 ms: p50 = 20, p95 = 10 + 0.95·20 = 29, p99 = 29.8 (linear interpolation)
    t, p50, p95, p99 = history.latency[-1]
    assert (t, p50) == (1.0, 20.0) and p95 == pytest.approx(29.0) and p99 == pytest.approx(29.8)
    history.add(server_at(2.0), load_at(2.0, 4, (500.0, 500.0, 10.0, 30.0)))
    assert all(math.isnan(p) for p in history.latency[-1][1:])  # nothing answered: a gap, not a zero


def test_the_window_forgets_what_is_older_than_a_minute():
    history = ServeHistory(rate_window_s=1.0)
    for i in range(0, 141):
        history.add(server_at(i * 0.5, ok=i, depth=i % 7))
    t, depth, size = history.queue()
    assert t[0] >= history.now - 60.0 and t[-1] == 70.0
    assert history.columns(history.throughput)[0].min() >= 10.0
    assert set(size) == {64.0} and depth[-1] == 140 % 7
