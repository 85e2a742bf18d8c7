"""Worker processes under a supervisor, OTP style.

Each worker slot (a stable id) holds one spawned process. A thread per process reads its pipe and
watches its sentinel, so a death (SIGKILL, crash, out of memory, a failed load) is noticed the moment
it happens, never guessed from a timeout. The supervisor marks the slot dead, tells the pipeline (which
retries the batch that was in flight) and fills the slot again: with the warm spare — a process that
has already loaded every model — when there is one, then spawns a new spare. More than
``max_restarts`` deaths within ``restart_window_s`` and it gives up: every process is stopped and the
pipeline is told why.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import wait

from app.engine.serve.api import ServeConfig, WorkerState, WorkerStatus
from app.engine.serve.messages import BatchDone, FromWorker, Loaded, LoadFailed, Stop, TextChunks, ToWorker
from app.engine.serve.worker import worker_main

SPAWN = multiprocessing.get_context("spawn")  # a clean interpreter: no inherited threads, locks or CUDA


def torch_threads_per_worker(workers: int) -> int:
    """The cores this process may use, shared out: on 2 cores with 2 workers, one intra-op thread each."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // workers)


class WorkerProcess:
    """One spawned worker as the pipeline sees it: its pipe, and a thread that reads it.

    The thread hands every message to ``on_message`` on the event loop, and finally ``None``
    once the process has exited (its pipe closed or its sentinel fired).
    """

    def __init__(
        self,
        config: ServeConfig,
        loop: asyncio.AbstractEventLoop,
        on_message: Callable[[WorkerProcess, FromWorker | None], None],
    ) -> None:
        models = tuple((spec.name, str(spec.path)) for spec in config.models)
        threads = torch_threads_per_worker(config.workers)
        self.conn, child_conn = SPAWN.Pipe(duplex=True)
        self.process = SPAWN.Process(
            target=worker_main, args=(child_conn, models, config.device, threads), daemon=True
        )
        self.process.start()
        child_conn.close()  # the child holds the only other end: its death closes the pipe
        self.loaded = False
        self.failure: str | None = None  # why it could not load, if it said so
        self._loop = loop
        self._on_message = on_message
        self._reader = threading.Thread(target=self._read, name=f"serve-worker-{self.pid}", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def send(self, message: ToWorker) -> None:
        """Send to the worker; a broken pipe is ignored, since its reader reports the death."""
        try:
            self.conn.send(message)
        except OSError:
            pass

    def kill(self) -> None:
        """SIGKILL (TerminateProcess on Windows): the process has no say. Harmless once it has exited."""
        self.process.kill()

    def how_it_ended(self) -> str:
        code = self.process.exitcode
        if code is not None and code < 0:
            return f"was killed by {signal.Signals(-code).name}"
        return f"exited with code {code}"

    def join(self, timeout_s: float) -> None:
        self.process.join(timeout_s)
        self._reader.join(timeout_s)

    def _read(self) -> None:
        while True:
            ready = wait([self.conn, self.process.sentinel])
            if self.conn not in ready:
                break  # exited with nothing left to read
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                break  # the pipe closed: the process is gone
            except Exception:  # a message that cannot be read: the worker is in no state to trust
                self.process.kill()
                break
            self._post(message)
        self.process.join(5.0)  # reap it, so its exit code is known
        self.conn.close()
        self._post(None)

    def _post(self, message: FromWorker | None) -> None:
        try:
            self._loop.call_soon_threadsafe(self._on_message, self, message)
        except RuntimeError:
            pass  # the loop is closed: nobody is listening any more


@dataclass(eq=False)
class WorkerSlot:
    """A stable place for one worker; the process in it changes when it is replaced."""

    id: int
    process: WorkerProcess | None = None
    state: WorkerState = WorkerState.STARTING
    restarts: int = 0
    batches: int = 0
    requests: int = 0
    loaded: asyncio.Event = field(default_factory=asyncio.Event)  # set while it may take batches

    def status(self) -> WorkerStatus:
        pid = self.process.pid if self.process is not None else None
        return WorkerStatus(self.id, pid, self.state, self.restarts, self.batches, self.requests)


class Supervisor:
    def __init__(
        self,
        config: ServeConfig,
        on_batch_message: Callable[[WorkerSlot, TextChunks | BatchDone], None],
        on_worker_lost: Callable[[WorkerSlot, str], None],
        on_give_up: Callable[[str], None],
    ) -> None:
        self.config = config
        self.slots = [WorkerSlot(i) for i in range(config.workers)]
        self.spare: WorkerProcess | None = None
        self.failure: str | None = None  # set when it gave up
        self.restarts = 0
        self._on_batch_message = on_batch_message
        self._on_worker_lost = on_worker_lost
        self._on_give_up = on_give_up
        self._deaths: deque[float] = deque()  # times of recent deaths (restart intensity)
        self._lock = threading.Lock()  # slot fields are written on the loop, read from any thread
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._all: list[WorkerProcess] = []  # every process not yet reaped, to stop them at the end

    # --- any thread ---------------------------------------------------------------------------
    def statuses(self) -> tuple[WorkerStatus, ...]:
        with self._lock:
            return tuple(slot.status() for slot in self.slots)

    def any_ready(self) -> bool:
        with self._lock:
            return any(slot.state in (WorkerState.READY, WorkerState.BUSY) for slot in self.slots)

    def spare_state(self) -> WorkerState | None:
        spare = self.spare
        if spare is None:
            return None
        return WorkerState.READY if spare.loaded else WorkerState.STARTING

    def any_loading(self) -> bool:
        with self._lock:
            return any(slot.state == WorkerState.STARTING for slot in self.slots)

    def kill(self, worker_id: int) -> None:
        if not 0 <= worker_id < len(self.slots):
            raise ValueError(f"there is no worker {worker_id}; the workers are 0 to {len(self.slots) - 1}")
        process = self.slots[worker_id].process
        if process is not None:
            process.kill()

    # --- the event loop -----------------------------------------------------------------------
    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        for slot in self.slots:
            slot.process = self._spawn()
        # the spare is spawned once a worker has loaded: it would only slow the first start down

    def set_state(self, slot: WorkerSlot, state: WorkerState) -> None:
        with self._lock:
            slot.state = state

    def count_batch(self, slot: WorkerSlot, size: int) -> None:
        with self._lock:
            slot.batches += 1
            slot.requests += size

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Ask every process to exit, SIGKILL those that have not within ``timeout_s``, reap them all."""
        self._stopping = True
        processes = list(self._all)  # the loop drops processes from _all as their exits arrive
        for process in processes:
            process.send(Stop())
        deadline = time.monotonic() + timeout_s
        await asyncio.to_thread(_reap, processes, deadline)
        with self._lock:
            for slot in self.slots:
                slot.state = WorkerState.DEAD
                slot.loaded.clear()

    def _spawn(self) -> WorkerProcess:
        assert self._loop is not None
        process = WorkerProcess(self.config, self._loop, self._on_message)
        self._all.append(process)
        return process

    def _ensure_spare(self) -> None:
        if self.config.warm_spare and self.spare is None and not self._stopping and self.failure is None:
            self.spare = self._spawn()

    def _slot_of(self, process: WorkerProcess) -> WorkerSlot | None:
        return next((slot for slot in self.slots if slot.process is process), None)

    def _on_message(self, process: WorkerProcess, message: FromWorker | None) -> None:
        if message is None and process in self._all:
            self._all.remove(process)  # reaped by its reader: nothing left to stop
        if self._stopping or self.failure is not None:
            return
        slot = self._slot_of(process)
        if isinstance(message, Loaded):
            process.loaded = True
            if slot is not None:
                self._mark_loaded(slot)
        elif isinstance(message, LoadFailed):
            process.failure = message.reason
        elif isinstance(message, TextChunks | BatchDone):
            if slot is not None:
                self._on_batch_message(slot, message)
        elif message is None:
            self._on_exit(process, slot)

    def _mark_loaded(self, slot: WorkerSlot) -> None:
        with self._lock:
            slot.state = WorkerState.READY
        slot.loaded.set()
        self._ensure_spare()

    def _on_exit(self, process: WorkerProcess, slot: WorkerSlot | None) -> None:
        if slot is None and process is not self.spare:
            return  # a process already replaced
        what = f"worker {slot.id}" if slot is not None else "the spare worker"
        reason = process.failure or f"{what} (pid {process.pid}) {process.how_it_ended()}"
        if slot is not None:
            with self._lock:
                slot.state = WorkerState.DEAD
                slot.process = None
            slot.loaded.clear()
            self._on_worker_lost(slot, reason)
        else:
            self.spare = None
        if self._too_many_deaths():
            self._give_up(reason)
            return
        if slot is not None:
            self._replace(slot)
        self._ensure_spare()

    def _too_many_deaths(self) -> bool:
        now = time.monotonic()
        self._deaths.append(now)
        while self._deaths and self._deaths[0] < now - self.config.restart_window_s:
            self._deaths.popleft()
        return len(self._deaths) > self.config.max_restarts

    def _replace(self, slot: WorkerSlot) -> None:
        """Fill the slot with the warm spare if there is one (ready at once if loaded), else a new process."""
        process, self.spare = (self.spare, None) if self.spare is not None else (self._spawn(), None)
        with self._lock:
            slot.process = process
            slot.state = WorkerState.STARTING
            slot.restarts += 1
            self.restarts += 1
        if process.loaded:
            self._mark_loaded(slot)

    def _give_up(self, reason: str) -> None:
        window = self.config.restart_window_s
        self.failure = (
            f"workers died {len(self._deaths)} times within {window:g} s, more than the "
            f"{self.config.max_restarts} restarts allowed, so the server stopped restarting them "
            f"(the last: {reason})"
        )
        for process in self._all:
            process.kill()
        with self._lock:
            for slot in self.slots:
                slot.state = WorkerState.DEAD
                slot.loaded.clear()
        self._on_give_up(self.failure)


def _reap(processes: list[WorkerProcess], deadline: float) -> None:
    """Wait for each process to exit until ``deadline``, then SIGKILL what is left and reap it."""
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        process.kill()
        process.join(5.0)
