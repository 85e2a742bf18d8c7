"""An event loop on a thread of its own, so a pipeline can outlive one test (module-scoped)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any

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
