"""Running a server: in the foreground until SIGINT/SIGTERM (``genplay serve``), or on a thread of
its own with its own event loop (``start_server_in_thread``: the Serve page and the tests).

Both stop the same way, by draining: stop listening, answer everything queued and in flight,
then stop the workers, so no accepted request goes unanswered and no process is left behind.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable

from aiohttp import web

from app.engine.serve.api import ServeConfig, ServerStats
from app.engine.serve.http_app import build_app
from app.engine.serve.metrics import ServeMetrics
from app.engine.serve.pipeline import Pipeline

DRAIN_TIMEOUT_S = 30.0
READY_POLL_S = 0.1
START_TIMEOUT_S = 60.0


def server_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class Serving:
    """One server's parts on one event loop: the pipeline, the HTTP application, the listening socket."""

    def __init__(self, config: ServeConfig, pipeline: Pipeline) -> None:
        self.config = config
        self.pipeline = pipeline
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        """Start the workers and listen; returns the URL (with the real port when ``port`` is 0)."""
        await self.pipeline.start()
        try:
            metrics = ServeMetrics(self.pipeline.stats, self.config.max_batch)
            self.runner = web.AppRunner(
                build_app(self.pipeline, metrics), access_log=None, shutdown_timeout=DRAIN_TIMEOUT_S
            )
            await self.runner.setup()
            await web.TCPSite(self.runner, self.config.host, self.config.port).start()
        except BaseException:
            await self.shutdown(timeout_s=0.0)
            raise
        host, port = self.runner.addresses[0][:2]
        self.url = server_url(self.config.host or host, port)
        return self.url

    async def shutdown(self, timeout_s: float = DRAIN_TIMEOUT_S) -> None:
        """Stop accepting, answer what is queued and in flight (within ``timeout_s``), stop the workers."""
        try:
            if self.runner is not None:
                for site in list(self.runner.sites):
                    await site.stop()  # no new connections from here on
            await self.pipeline.drain(timeout_s)
        finally:
            try:
                await self.pipeline.close()  # what the drain could not finish is answered 503
            finally:
                if self.runner is not None:
                    await self.runner.cleanup()  # handlers write their answers; idle connections close


class ServerThread:
    """A server on a background thread with its own event loop (the ``RunningServer`` protocol)."""

    def __init__(self, config: ServeConfig, pipeline: Pipeline) -> None:
        self.config = config
        self.pipeline = pipeline
        self.serving = Serving(config, pipeline)
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="genplay-serve", daemon=True)

    def start(self, timeout_s: float = START_TIMEOUT_S) -> None:
        self._thread.start()
        if not self._started.wait(timeout_s):
            raise TimeoutError(f"the server did not start listening within {timeout_s:.0f} s.")
        if self._start_error is not None:
            self._thread.join()
            raise self._start_error

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            try:
                self.url = self._loop.run_until_complete(self.serving.start())
            except BaseException as exc:  # handed to the starting thread
                self._start_error = exc
                return
            finally:
                self._started.set()
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    def stats(self) -> ServerStats:
        return self.pipeline.stats()

    def kill_worker(self, worker_id: int) -> None:
        async def kill() -> None:
            self.pipeline.kill_worker(worker_id)

        asyncio.run_coroutine_threadsafe(kill(), self._loop).result(timeout=10.0)

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._stopped:
            return
        self._stopped = True
        drained = asyncio.run_coroutine_threadsafe(self.serving.shutdown(timeout_s), self._loop)
        try:
            drained.result(timeout=timeout_s + 15.0)  # the drain's own limit, then stopping the workers
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10.0)


def start_server_in_thread(config: ServeConfig) -> ServerThread:
    """Validate every checkpoint (``CheckpointError`` here, at once), then serve on a new thread.

    Returns once the server listens (``url`` holds the port it got); the workers go on loading,
    and ``stats().ready`` says when they have.
    """
    server = ServerThread(config, Pipeline(config))
    server.start()
    return server


async def serve_until_signalled(
    config: ServeConfig,
    pipeline: Pipeline,
    on_listening: Callable[[str], None],
    on_ready: Callable[[str], None],
    on_draining: Callable[[], None],
) -> None:
    """Serve in the foreground until SIGINT or SIGTERM, then drain and return."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    serving = Serving(config, pipeline)
    url = await serving.start()
    on_listening(url)
    while not stop.is_set() and not pipeline.ready()[0]:
        await asyncio.sleep(READY_POLL_S)  # the workers load the models in the background
    if not stop.is_set():
        on_ready(url)
    await stop.wait()
    on_draining()
    await serving.shutdown(DRAIN_TIMEOUT_S)
