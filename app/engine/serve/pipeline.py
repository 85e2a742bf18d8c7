"""The serving pipeline: bounded queue → demand-driven batcher → worker processes, under a supervisor.

Runs on one asyncio event loop (the HTTP server's). ``submit`` is called on that loop; ``stats``
and ``count_response`` may be called from any thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from app.engine.serve.api import ServeConfig, ServerStats
from app.engine.serve.jobs import Job, JobResult, ModelInfo


class Pipeline:
    def __init__(self, config: ServeConfig) -> None:
        """Read and validate every checkpoint here, so a bad file fails at once with CheckpointError."""
        raise NotImplementedError  # contract commit: the body follows

    def models(self) -> list[ModelInfo]:
        raise NotImplementedError

    async def start(self) -> None:
        """Spawn the workers and return; they load the models in the background."""
        raise NotImplementedError

    def submit(self, job: Job, on_text: Callable[[str], None] | None = None) -> asyncio.Future[JobResult]:
        """Queue ``job``; raises QueueFull at once when the queue is full, ServiceUnavailable when
        draining or stopped. The future gets a JobResult or a ServiceUnavailable. ``on_text`` is
        called on the event loop with each new chunk of generated characters (GenerateJob only)."""
        raise NotImplementedError

    def ready(self) -> tuple[bool, str | None]:
        """True once at least one worker has loaded every model; else False and the reason."""
        raise NotImplementedError

    def stats(self) -> ServerStats:
        raise NotImplementedError

    def count_response(self, status: int) -> None:
        """Count one HTTP response by status (thread-safe); shown in ``stats().responses_by_status``."""
        raise NotImplementedError

    def kill_worker(self, worker_id: int) -> None:
        """SIGKILL the worker in slot ``worker_id`` (the demo and tests)."""
        raise NotImplementedError

    async def drain(self, timeout_s: float = 30.0) -> None:
        """Stop taking jobs (submit raises ServiceUnavailable) and finish the queued and in-flight ones."""
        raise NotImplementedError

    async def close(self) -> None:
        """Stop the workers; no process is left behind. Unanswered jobs get ServiceUnavailable."""
        raise NotImplementedError
