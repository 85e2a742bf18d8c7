"""The serving pipeline: bounded queue → demand-driven batcher → worker processes, under a supervisor.

Runs on one asyncio event loop (the HTTP server's): ``submit``, ``start``, ``drain`` and ``close``
are called there; ``stats``, ``ready``, ``count_response`` and ``kill_worker`` from any thread.
Every accepted job gets exactly one answer: a ``JobResult``, or a ``ServiceUnavailable`` saying why
(a worker died twice under it, the supervisor gave up, the server stopped first, the computation
failed). A batch whose worker died is run once more on a live worker; a text stream then skips the
characters it already delivered (the retry writes the same text: it is seeded).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass

from app.engine.checkpoint import read_checkpoint
from app.engine.devices import resolve_device
from app.engine.errors import ConfigError
from app.engine.inference.loading import tokenizer_from_metadata
from app.engine.serve.api import ServeConfig, ServerStats, WorkerState
from app.engine.serve.batcher import Batcher, Pending
from app.engine.serve.jobs import GenerateJob, Job, JobResult, ModelInfo, ServiceUnavailable, model_info
from app.engine.serve.messages import BatchDone, JobOutput, RunBatch, TextChunks
from app.engine.serve.supervisor import Supervisor, WorkerSlot

RECENT_BATCHES = 256


@dataclass(eq=False)
class Flight:
    """A batch out on a worker."""

    batch_id: int
    jobs: list[Pending]
    sent_s: float
    done: asyncio.Future[None]  # resolved when answered or when its worker died


def check_config(config: ServeConfig) -> None:
    """Refuse settings the pipeline cannot run with, in one sentence."""
    if not config.models:
        raise ConfigError("give at least one checkpoint to serve")
    names = [spec.name for spec in config.models]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ConfigError(f"two models are named {repeated[0]!r}; give each its own name as NAME=FILE")
    for name, value, lowest in (
        ("workers", config.workers, 1),
        ("max_batch", config.max_batch, 1),
        ("queue_size", config.queue_size, 1),
        ("max_wait_ms", config.max_wait_ms, 0),
        ("max_restarts", config.max_restarts, 0),
    ):
        if value < lowest:
            raise ConfigError(f"{name} must be at least {lowest}, not {value}")
    if config.restart_window_s <= 0:
        raise ConfigError(f"restart_window_s must be above 0, not {config.restart_window_s}")


class Pipeline:
    def __init__(self, config: ServeConfig) -> None:
        """Read and validate every checkpoint here, so a bad file fails at once with CheckpointError
        (a bad setting: ConfigError; an unavailable device: DeviceError)."""
        check_config(config)
        device = resolve_device(config.device)  # "auto" or a missing GPU: decided here, in one sentence
        self.config = config = dataclasses.replace(config, device=str(device))
        self._models = []
        for spec in config.models:
            checkpoint = read_checkpoint(spec.path)
            tokenizer = tokenizer_from_metadata(checkpoint.tokenizer)
            self._models.append(
                model_info(spec.name, checkpoint.family, checkpoint.step, checkpoint.config, tokenizer)
            )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._batcher: Batcher | None = None
        self._supervisor: Supervisor | None = None
        self._slot_tasks: list[asyncio.Task[None]] = []
        self._flights: dict[int, Flight] = {}  # slot id → its batch in flight
        self._batch_ids = itertools.count()
        self._unanswered: set[Pending] = set()  # queued or in flight: bounded by both
        self._all_answered: asyncio.Event | None = None  # set by the last answer while draining
        self._accepting = False
        self._stopping = False
        self._failure: str | None = None  # the supervisor gave up: why
        self._lock = threading.Lock()  # the counters below are read from any thread
        self._responses: Counter[int] = Counter()
        self._retries = 0
        self._batches = 0
        self._batched_requests = 0
        self._recent_sizes: deque[int] = deque(maxlen=RECENT_BATCHES)

    def models(self) -> list[ModelInfo]:
        return list(self._models)

    # --- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        """Spawn the workers and return; they load the models in the background."""
        if self._loop is not None:
            raise RuntimeError("the pipeline was started already")
        self._loop = asyncio.get_running_loop()
        wait_s = self.config.max_wait_ms / 1000.0
        self._batcher = Batcher(self.config.queue_size, self.config.max_batch, wait_s)
        self._supervisor = Supervisor(
            self.config, self._on_batch_message, self._on_worker_lost, self._give_up
        )
        self._supervisor.start()
        self._slot_tasks = [asyncio.create_task(self._serve(slot)) for slot in self._supervisor.slots]
        self._accepting = True

    async def drain(self, timeout_s: float = 30.0) -> None:
        """Stop taking jobs (submit raises ServiceUnavailable) and finish the queued and in-flight ones;
        those still unanswered after ``timeout_s`` get ServiceUnavailable."""
        self._accepting = False
        if self._unanswered:
            self._all_answered = asyncio.Event()
            try:
                await asyncio.wait_for(self._all_answered.wait(), timeout_s)
            except TimeoutError:
                self._answer_all(f"the server stopped before this job was done (drained for {timeout_s:g} s)")

    async def close(self) -> None:
        """Stop the workers; no process is left behind. Unanswered jobs get ServiceUnavailable."""
        self._accepting = False
        self._stopping = True
        await self._stop_slot_tasks()
        self._answer_all("the server stopped before this job was done")
        if self._supervisor is not None:
            await self._supervisor.stop()

    # --- the producer's side ------------------------------------------------------------------
    def submit(self, job: Job, on_text: Callable[[str], None] | None = None) -> asyncio.Future[JobResult]:
        """Queue ``job``; raises QueueFull at once when the queue is full, ServiceUnavailable when the
        server is not taking jobs. The future gets a JobResult or a ServiceUnavailable. ``on_text`` is
        called on the event loop with each new chunk of generated characters (GenerateJob only)."""
        if self._failure is not None:
            raise ServiceUnavailable(self._failure)
        if not self._accepting or self._loop is None or self._batcher is None:
            raise ServiceUnavailable("the server is not taking jobs (it is starting or shutting down)")
        streaming = on_text if isinstance(job, GenerateJob) else None
        pending = Pending(job, self._loop.create_future(), streaming, time.monotonic())
        self._batcher.put(pending)  # QueueFull: nothing was accepted
        self._unanswered.add(pending)
        pending.future.add_done_callback(lambda _: self._forget(pending))
        return pending.future

    def _forget(self, pending: Pending) -> None:
        """Its future is done (answered or cancelled by its caller)."""
        self._unanswered.discard(pending)
        if pending.future.cancelled() and self._batcher is not None:
            self._batcher.discard(pending)
        if not self._unanswered and self._all_answered is not None:
            self._all_answered.set()

    # --- any thread -------------------------------------------------------------------------
    def ready(self) -> tuple[bool, str | None]:
        """True once at least one worker has loaded every model; else False and the reason."""
        if self._failure is not None:
            return False, self._failure
        if self._supervisor is None:
            return False, "the server has not started"
        if self._stopping or (not self._accepting and self._loop is not None):
            return False, "the server is shutting down"
        if self._supervisor.any_ready():
            return True, None
        if self._supervisor.any_loading():
            return False, "the workers are still loading the models"
        return False, "every worker is down; the supervisor is replacing them"

    def stats(self) -> ServerStats:
        ready, reason = self.ready()
        workers = self._supervisor.statuses() if self._supervisor is not None else ()
        with self._lock:
            return ServerStats(
                time_s=time.monotonic(),
                ready=ready,
                unready_reason=reason,
                queue_depth=len(self._batcher) if self._batcher is not None else 0,
                queue_size=self.config.queue_size,
                workers=workers,
                responses_by_status=dict(self._responses),
                retries=self._retries,
                restarts=self._supervisor.restarts if self._supervisor is not None else 0,
                batches=self._batches,
                batched_requests=self._batched_requests,
                recent_batch_sizes=tuple(self._recent_sizes),
                spare=self._supervisor.spare_state() if self._supervisor is not None else None,
            )

    def count_response(self, status: int) -> None:
        """Count one HTTP response by status; shown in ``stats().responses_by_status``."""
        with self._lock:
            self._responses[status] += 1

    def kill_worker(self, worker_id: int) -> None:
        """SIGKILL the worker in slot ``worker_id`` (the demo and tests); the supervisor replaces it."""
        if self._supervisor is None:
            raise ServiceUnavailable("the server has not started")
        self._supervisor.kill(worker_id)

    # --- the consumers' side: one task per worker slot ------------------------------------------
    async def _serve(self, slot: WorkerSlot) -> None:
        """Each time the slot's worker is idle and loaded, ask for a batch and run it there."""
        assert self._loop is not None and self._batcher is not None and self._supervisor is not None
        while True:
            await slot.loaded.wait()
            batch = await self._batcher.next_batch()
            process = slot.process
            if not slot.loaded.is_set() or process is None:  # it died while the batch was formed
                self._batcher.put_back(batch)
                continue
            flight = Flight(next(self._batch_ids), batch, time.monotonic(), self._loop.create_future())
            self._flights[slot.id] = flight
            for pending in batch:
                pending.start_attempt()
            self._supervisor.set_state(slot, WorkerState.BUSY)
            jobs = tuple(pending.job for pending in batch)
            streaming = tuple(pending.on_text is not None for pending in batch)
            process.send(RunBatch(flight.batch_id, batch[0].job.model, jobs, streaming))
            await flight.done
            if slot.process is process and slot.loaded.is_set():
                self._supervisor.set_state(slot, WorkerState.READY)

    def _on_batch_message(self, slot: WorkerSlot, message: TextChunks | BatchDone) -> None:
        flight = self._flights.get(slot.id)
        if flight is None or flight.batch_id != message.batch_id:
            return  # a batch that was already given up on
        if isinstance(message, TextChunks):
            for index, chunk in message.chunks.items():
                self._stream(flight.jobs[index], chunk)
            return
        del self._flights[slot.id]
        assert self._supervisor is not None
        self._supervisor.count_batch(slot, len(flight.jobs))
        with self._lock:
            self._batches += 1
            self._batched_requests += len(flight.jobs)
            self._recent_sizes.append(len(flight.jobs))
        for pending, output in zip(flight.jobs, message.outputs, strict=True):
            if isinstance(output, JobOutput):
                queue_ms = (flight.sent_s - pending.submitted_s) * 1000.0
                size = len(flight.jobs)
                _answer(pending, JobResult(slot.id, size, queue_ms, message.compute_ms, **output._asdict()))
            else:
                _answer(pending, ServiceUnavailable(output))
        flight.done.set_result(None)

    def _stream(self, pending: Pending, chunk: str) -> None:
        try:
            pending.stream(chunk)
        except Exception:  # the caller's callback broke: it gets no more chunks, the job goes on
            pending.on_text = None

    def _on_worker_lost(self, slot: WorkerSlot, reason: str) -> None:
        """Its batch runs once more on a live worker; a job that already had its second try fails."""
        flight = self._flights.pop(slot.id, None)
        if flight is None:
            return
        again = [p for p in flight.jobs if p.attempts < 2 and not p.future.done()]
        twice = f"the job's worker died twice while computing it ({reason})"
        for pending in flight.jobs:
            if pending not in again:
                _answer(pending, ServiceUnavailable(twice))
        if again:
            with self._lock:
                self._retries += 1
            assert self._batcher is not None
            self._batcher.put_back(again)
        flight.done.set_result(None)

    def _give_up(self, reason: str) -> None:
        """The supervisor stopped restarting workers: nothing more can be answered."""
        self._failure = reason
        self._accepting = False
        for flight in self._flights.values():
            flight.done.set_result(None)
        self._flights.clear()
        asyncio.ensure_future(self._stop_slot_tasks())
        self._answer_all(reason)

    async def _stop_slot_tasks(self) -> None:
        for task in self._slot_tasks:
            task.cancel()
        await asyncio.gather(*self._slot_tasks, return_exceptions=True)
        self._slot_tasks = []

    def _answer_all(self, reason: str) -> None:
        if self._batcher is not None:
            self._batcher.take_all()
        for pending in list(self._unanswered):
            _answer(pending, ServiceUnavailable(reason))


def _answer(pending: Pending, answer: JobResult | ServiceUnavailable) -> None:
    """Exactly one answer per job: a later one (after a cancel or a give-up) is dropped."""
    if pending.future.done():
        return
    if isinstance(answer, ServiceUnavailable):
        pending.future.set_exception(answer)
    else:
        pending.future.set_result(answer)
