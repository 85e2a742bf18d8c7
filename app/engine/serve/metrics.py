"""/metrics: the server's numbers in Prometheus' text format (prometheus_client).

Each server owns its own ``CollectorRegistry``, so several servers in one process (tests, the
Serve page started twice) never share or clash on a metric. Request counts and latencies are
observed by the HTTP middleware; the pipeline's numbers (queue depth, workers, restarts, retries,
batch sizes) are read from ``ServerStats`` snapshots when scraped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from app.engine.serve.api import ServerStats, WorkerState

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class BatchSizeTally:
    """Every batch's size, counted once, from the stats' cumulative ``batches`` and its newest sizes.

    ``update`` must run more often than ``recent_batch_sizes`` fills up (256 batches): the server
    calls it a few times a second and on each scrape.
    """

    def __init__(self, max_batch: int) -> None:
        self.bounds = tuple(b for b in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024) if b < max_batch) + (
            max_batch,
        )
        self.counts = [0] * len(self.bounds)  # per bucket, not cumulative
        self.total = 0
        self.sum = 0
        self.seen_batches = 0

    def update(self, stats: ServerStats) -> None:
        new = stats.batches - self.seen_batches
        self.seen_batches = stats.batches
        if new <= 0 or not stats.recent_batch_sizes:
            return
        for size in stats.recent_batch_sizes[-new:]:
            index = next((i for i, bound in enumerate(self.bounds) if size <= bound), len(self.bounds) - 1)
            self.counts[index] += 1
            self.total += 1
            self.sum += size

    def family(self) -> HistogramMetricFamily:
        cumulative, running = [], 0
        for bound, count in zip(self.bounds, self.counts, strict=True):
            running += count
            cumulative.append((str(float(bound)), running))
        cumulative.append(("+Inf", self.total))
        return HistogramMetricFamily(
            "genplay_batch_size",
            "Requests per batch a worker computed.",
            buckets=cumulative,
            sum_value=self.sum,
        )


class PipelineCollector(Collector):
    """The pipeline's state, read from one ``ServerStats`` snapshot per scrape."""

    def __init__(self, stats: Callable[[], ServerStats], tally: BatchSizeTally) -> None:
        self.stats = stats
        self.tally = tally

    def collect(self) -> Iterator[Metric]:
        stats = self.stats()
        self.tally.update(stats)
        yield GaugeMetricFamily(
            "genplay_queue_depth", "Requests waiting in the queue.", value=stats.queue_depth
        )
        yield GaugeMetricFamily("genplay_queue_size", "The queue's capacity.", value=stats.queue_size)
        yield GaugeMetricFamily(
            "genplay_ready", "1 while at least one worker has loaded every model.", value=int(stats.ready)
        )
        workers = GaugeMetricFamily("genplay_workers", "Worker processes by state.", labels=["state"])
        for state in WorkerState:
            workers.add_metric([state.value], sum(1 for w in stats.workers if w.state is state))
        yield workers
        yield CounterMetricFamily(
            "genplay_worker_restarts", "Workers replaced after dying.", value=stats.restarts
        )
        yield CounterMetricFamily(
            "genplay_retries", "Batches re-run on a live worker after theirs died.", value=stats.retries
        )
        yield CounterMetricFamily("genplay_batches", "Batches computed.", value=stats.batches)
        yield CounterMetricFamily(
            "genplay_batched_requests", "Requests in the batches computed.", value=stats.batched_requests
        )
        yield self.tally.family()


class ServeMetrics:
    """One server's registry: what the middleware observes plus the pipeline's collector."""

    def __init__(self, stats: Callable[[], ServerStats], max_batch: int) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "genplay_http_requests", "HTTP requests answered.", ["endpoint", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "genplay_http_request_duration_seconds",
            "Time from a request's arrival to its answer.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.tally = BatchSizeTally(max_batch)
        self.stats = stats
        self.registry.register(PipelineCollector(stats, self.tally))

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint=endpoint, status=str(status)).inc()
        self.latency.labels(endpoint=endpoint).observe(seconds)

    def count_batches(self) -> None:
        """Fold the newest batch sizes into the histogram (called a few times a second)."""
        self.tally.update(self.stats())

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
