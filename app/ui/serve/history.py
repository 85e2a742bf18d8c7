"""The last minute of a running server, as the plots draw it (plain Python, no Qt).

Every poll adds one sample of the server's and the load generator's cumulative counters.
Rates are differences over the last ``RATE_WINDOW_S`` (not between two polls a fifth of a
second apart, which would flicker); latency percentiles are taken over the answers that
arrived in that same window.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from app.engine.serve.api import LoadStats, ServerStats
from app.engine.serve.load import percentiles

WINDOW_S = 60.0  # what the plots show
RATE_WINDOW_S = 2.0  # rates and percentiles are over this much of the past (answers come in batches)
PERCENTILES = (50, 95, 99)
OK = 200
TOO_MANY = 429


@dataclass(frozen=True)
class Sample:
    """One poll: time since the first poll and the counters the plots need."""

    t: float
    answered: int  # 200s
    rejected: int  # 429s
    retries: int
    queue_depth: int
    queue_size: int
    load_completed: int  # answers the load generator has seen (0 without one)


class ServeHistory:
    """A rolling window of samples and the series derived from them."""

    def __init__(self, window_s: float = WINDOW_S, rate_window_s: float = RATE_WINDOW_S) -> None:
        self.window_s = window_s
        self.rate_window_s = rate_window_s
        self.clear()

    def clear(self) -> None:
        self.samples: deque[Sample] = deque()
        self.throughput: deque[tuple[float, float]] = deque()  # (t, answers/s)
        self.rejections: deque[tuple[float, float]] = deque()  # (t, 429s/s)
        self.retry_rate: deque[tuple[float, float]] = deque()  # (t, retries/s)
        self.latency: deque[tuple[float, float, float, float]] = deque()  # (t, p50, p95, p99)
        self.batch_sizes: tuple[int, ...] = ()
        self.mean_batch = math.nan
        self._start: float | None = None

    @property
    def now(self) -> float:
        return self.samples[-1].t if self.samples else 0.0

    def add(self, server: ServerStats, load: LoadStats | None = None) -> None:
        if self._start is None:
            self._start = server.time_s
        sample = Sample(
            t=server.time_s - self._start,
            answered=server.responses_by_status.get(OK, 0),
            rejected=server.responses_by_status.get(TOO_MANY, 0),
            retries=server.retries,
            queue_depth=server.queue_depth,
            queue_size=server.queue_size,
            load_completed=load.completed if load is not None else 0,
        )
        self.samples.append(sample)
        self.batch_sizes = server.recent_batch_sizes
        self.mean_batch = server.batched_requests / server.batches if server.batches else math.nan
        past = self._sample_before(sample.t - self.rate_window_s)
        if past is not None:
            span = sample.t - past.t
            self.throughput.append((sample.t, (sample.answered - past.answered) / span))
            self.rejections.append((sample.t, (sample.rejected - past.rejected) / span))
            self.retry_rate.append((sample.t, (sample.retries - past.retries) / span))
            if load is not None:
                arrived = sample.load_completed - past.load_completed
                recent = load.recent_latencies_ms[-arrived:] if arrived > 0 else ()
                self.latency.append((sample.t, *percentiles(recent, PERCENTILES)))
        self._forget_before(sample.t - self.window_s)

    def _sample_before(self, t: float) -> Sample | None:
        """The newest sample taken at or before ``t`` (None while the history is shorter)."""
        found = None
        for sample in self.samples:
            if sample.t > t:
                break
            found = sample
        return found

    def _forget_before(self, t: float) -> None:
        # keep samples one rate window older than the plots, so the oldest rate has a base
        while len(self.samples) > 1 and self.samples[1].t < t - self.rate_window_s:
            self.samples.popleft()
        for series in (self.throughput, self.rejections, self.retry_rate, self.latency):
            while series and series[0][0] < t:
                series.popleft()

    # --- arrays for the plots -------------------------------------------------------------
    @staticmethod
    def columns(series: deque, width: int = 2) -> np.ndarray:
        """``series`` of ``width``-tuples as a (width, n) float array."""
        if not series:
            return np.empty((width, 0))
        return np.asarray(series, dtype=np.float64).T

    def queue(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(t, depth, size) over the window."""
        t0 = self.now - self.window_s
        kept = [s for s in self.samples if s.t >= t0]
        return (
            np.array([s.t for s in kept], dtype=np.float64),
            np.array([s.queue_depth for s in kept], dtype=np.float64),
            np.array([s.queue_size for s in kept], dtype=np.float64),
        )
