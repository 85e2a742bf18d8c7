"""The bounded queue of accepted jobs and demand-driven batching (as GenStage / Broadway).

Nothing is pushed to workers: an idle worker asks ``next_batch()`` and gets up to ``max_batch``
compatible jobs (one model, one kind of job), the batch waiting at most ``max_wait_s`` after its
first job arrived for more to join. All on the event loop; waits are on an event, never a sleep.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from app.engine.serve.jobs import Job, JobResult, QueueFull


@dataclass(eq=False)
class Pending:
    """An accepted job until it is answered."""

    job: Job
    future: asyncio.Future[JobResult]
    on_text: Callable[[str], None] | None
    submitted_s: float  # time.monotonic() at submit
    attempts: int = 0  # how many times it was sent to a worker
    delivered: int = 0  # characters already given to on_text: a retry does not send them again
    received: int = 0  # characters the current attempt has written so far

    @property
    def batch_key(self) -> tuple[type, str]:
        """Jobs with the same key may share a batch."""
        return type(self.job), self.job.model

    def start_attempt(self) -> None:
        self.attempts += 1
        self.received = 0

    def stream(self, chunk: str) -> None:
        """The current attempt's next characters; only those not delivered before reach on_text."""
        self.received += len(chunk)
        fresh = self.received - self.delivered
        if fresh <= 0 or self.on_text is None or self.future.done():
            return
        self.delivered = self.received
        self.on_text(chunk[len(chunk) - fresh :])


class Batcher:
    def __init__(self, queue_size: int, max_batch: int, max_wait_s: float) -> None:
        self.queue_size = queue_size
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self._queue: deque[Pending] = deque()
        self._arrived = asyncio.Event()  # set whenever a job joins the queue
        self._forming = asyncio.Lock()  # one batch is formed at a time

    def __len__(self) -> int:
        return len(self._queue)

    def put(self, pending: Pending) -> None:
        """Queue a new job; QueueFull at once when the queue holds ``queue_size`` jobs."""
        if len(self._queue) >= self.queue_size:
            raise QueueFull(f"the queue holds {self.queue_size} jobs, its limit; try again shortly")
        self._queue.append(pending)
        self._arrived.set()

    def put_back(self, jobs: Iterable[Pending]) -> None:
        """Jobs to run again go first; they were accepted already, so the limit does not refuse them."""
        waiting = [p for p in jobs if not p.future.done()]
        self._queue.extendleft(reversed(waiting))
        if waiting:
            self._arrived.set()

    def discard(self, pending: Pending) -> None:
        """Forget a queued job (its caller gave up waiting)."""
        try:
            self._queue.remove(pending)
        except ValueError:
            pass  # already taken into a batch

    def take_all(self) -> list[Pending]:
        taken = list(self._queue)
        self._queue.clear()
        return taken

    async def next_batch(self) -> list[Pending]:
        """An idle worker's demand: up to ``max_batch`` compatible jobs, oldest first."""
        async with self._forming:
            batch: list[Pending] = []
            try:
                while not batch:
                    self._take_compatible(batch)
                    if not batch:
                        await self._wait_for_arrival(None)
                deadline = batch[0].submitted_s + self.max_wait_s
                while len(batch) < self.max_batch:
                    self._take_compatible(batch)
                    remaining = deadline - time.monotonic()
                    if len(batch) >= self.max_batch or remaining <= 0:
                        break
                    if not await self._wait_for_arrival(remaining):
                        break
            except BaseException:  # cancelled while forming: the jobs go back, none is lost
                self.put_back(batch)
                raise
            return batch

    def _take_compatible(self, batch: list[Pending]) -> None:
        """Move queued jobs that fit ``batch`` into it (the first one fits an empty batch)."""
        kept: deque[Pending] = deque()
        for pending in self._queue:
            if pending.future.done():
                continue  # cancelled by its caller: drop it
            fits = not batch or pending.batch_key == batch[0].batch_key
            if fits and len(batch) < self.max_batch:
                batch.append(pending)
            else:
                kept.append(pending)
        self._queue = kept

    async def _wait_for_arrival(self, timeout_s: float | None) -> bool:
        """Wait until a job joins the queue; False when ``timeout_s`` passed first."""
        self._arrived.clear()
        try:
            await asyncio.wait_for(self._arrived.wait(), timeout_s)
        except TimeoutError:
            return False
        return True
