"""The serving pipeline's typed surface, shared by the CLI, the HTTP layer and the Serve page.

producer (HTTP handler) → bounded queue → batcher → worker processes → supervisor.
Everything here is plain data: the GUI polls ``RunningServer.stats()`` and
``LoadGenerator.stats()`` on a timer and never touches the event loop that serves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol


class WorkerState(StrEnum):
    STARTING = "starting"  # spawned, loading the models
    READY = "ready"  # idle, asking for work
    BUSY = "busy"  # computing a batch
    DEAD = "dead"  # exited; the supervisor replaces it unless restarts are exhausted


class Endpoint(StrEnum):
    GENERATE = "generate"  # POST /v1/generate (GPT)
    SAMPLE = "sample"  # POST /v1/sample (VAE, WGAN)
    DECODE = "decode"  # POST /v1/decode (VAE)


@dataclass(frozen=True)
class ModelSpec:
    """One model to serve: its public name (the file stem unless given as NAME=CKPT) and file."""

    name: str
    path: Path


@dataclass(frozen=True)
class ServeConfig:
    models: tuple[ModelSpec, ...]
    host: str = "127.0.0.1"
    port: int = 8000  # 0: a free port, chosen at start (tests, the Serve page)
    workers: int = 2
    max_batch: int = 16
    max_wait_ms: float = 5.0
    queue_size: int = 256
    device: str = "cpu"
    max_restarts: int = 5  # restart intensity, as an OTP supervisor's: at most this many …
    restart_window_s: float = 10.0  # … within this many seconds, else the server is unready
    warm_spare: bool = True  # keep one extra worker loaded, so a dead worker is replaced at once


@dataclass(frozen=True)
class WorkerStatus:
    id: int
    pid: int | None
    state: WorkerState
    restarts: int
    batches: int
    requests: int


@dataclass(frozen=True)
class ServerStats:
    """A cheap, consistent snapshot of the server, safe to read from any thread.

    Counters are cumulative since start; the page differences them between polls.
    """

    time_s: float  # time.monotonic() when taken
    ready: bool
    unready_reason: str | None
    queue_depth: int
    queue_size: int
    workers: tuple[WorkerStatus, ...]
    responses_by_status: dict[int, int] = field(default_factory=dict)  # 200, 400, 429, 503 …
    retries: int = 0  # batches re-run on a live worker after their worker died
    restarts: int = 0  # workers replaced
    batches: int = 0
    batched_requests: int = 0  # requests in those batches (mean batch size = this / batches)
    recent_batch_sizes: tuple[int, ...] = ()  # the newest batches' sizes, at most 256
    spare: WorkerState | None = None  # the warm spare (STARTING while it loads, READY once loaded)


@dataclass(frozen=True)
class LoadPlan:
    """What the load generator sends: open loop at ``rate_per_s`` or closed loop at ``concurrency``."""

    rate_per_s: float | None = None  # open loop: requests started per second, whatever the answers
    concurrency: int | None = None  # closed loop: this many clients, each waiting for its answer
    mix: dict[Endpoint, float] = field(default_factory=lambda: {Endpoint.GENERATE: 1.0})
    max_new_tokens: int = 32
    duration_s: float | None = None  # None: until stopped
    timeout_s: float = 30.0
    requests: int | None = None  # stop after sending this many (None: no bound but the duration)


@dataclass(frozen=True)
class LoadStats:
    """What the load generator has seen, cumulative since it started."""

    time_s: float
    sent: int
    completed: int
    by_status: dict[int, int]  # 0 counts transport errors (refused, reset, timed out)
    recent_latencies_ms: tuple[float, ...]  # the newest answers' latencies, at most 2,000
    finished: bool = False  # the plan's duration or count is done, or it was stopped, or it failed
    error: str | None = None  # one sentence when the run could not go on (server unreachable, no model)


class RunningServer(Protocol):
    """A server started in a background thread (``start_server_in_thread``)."""

    url: str  # e.g. http://127.0.0.1:54321

    def stats(self) -> ServerStats: ...

    def kill_worker(self, worker_id: int) -> None:
        """SIGKILL the worker's process (the demo: the supervisor brings it back)."""

    def stop(self, timeout_s: float = 10.0) -> None:
        """Drain (stop accepting, answer what is in flight), stop the workers, join the thread."""


class LoadGenerator(Protocol):
    def stats(self) -> LoadStats: ...

    def stop(self) -> None: ...
