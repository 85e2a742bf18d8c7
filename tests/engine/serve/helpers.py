"""What the serving tests share: an event loop on a thread of its own (so a pipeline can outlive
one test), waiting with a deadline, and finding worker processes left behind."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

import psutil

DEADLINE_S = 60.0  # no step of a test waits longer than this


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="test-loop", daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout_s: float = DEADLINE_S) -> Any:
        """Run ``coroutine`` on the loop and return its result (or raise), within ``timeout_s``."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout_s)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10.0)
        self.loop.close()


def wait_until(condition: Callable[[], bool], timeout_s: float = DEADLINE_S, what: str = "it") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout_s:g} s")
        time.sleep(0.02)


def worker_processes() -> list[Any]:
    """Spawned children still alive (multiprocessing's resource tracker is not a worker)."""
    workers: list[Any] = list(multiprocessing.active_children())
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(child.cmdline()):
                workers.append(child)
        except psutil.NoSuchProcess:
            pass  # it ended while we looked
    return workers
