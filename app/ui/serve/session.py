"""One serving session for the page: starts and stops the server and the load generator off the
GUI thread and tells the page through signals.

Starting a server spawns worker processes that load the models (seconds), and stopping one
drains what is in flight: both run on short-lived threads, so the window never freezes. The
GUI thread itself only calls what the contract promises is cheap: ``stats()`` and
``kill_worker``. ``shutdown`` (the window closing) is the one blocking call: it waits, within
a deadline, for whatever is starting or stopping, then stops everything that runs.
"""

from __future__ import annotations

import threading
import time
from enum import StrEnum

from PySide6.QtCore import QObject, Signal

from app.engine.serve.api import LoadGenerator, LoadPlan, RunningServer, ServeConfig
from app.engine.serve.load import start_load_in_thread
from app.engine.serve.running import start_server_in_thread

CLOSING_DRAIN_S = 2.0  # closing the window answers what is in flight for at most this long


class Phase(StrEnum):
    STOPPED = "stopped"
    STARTING = "starting"
    SERVING = "serving"
    STOPPING = "stopping"


def one_sentence(exc: BaseException) -> str:
    """An exception as the end of a sentence: its message, or its kind when it has none."""
    text = str(exc).strip().rstrip(".")
    return text or type(exc).__name__


class ServeSession(QObject):
    phaseChanged = Signal(str)  # Phase
    failed = Signal(str)  # one sentence for the user
    loadChanged = Signal(bool)  # the load generator runs
    _started = Signal(object, str)  # (RunningServer | None, error), from the starting thread
    _stopped = Signal(str)  # error or "", from the stopping thread

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.phase = Phase.STOPPED
        self.server: RunningServer | None = None
        self.load: LoadGenerator | None = None
        self._lock = threading.Lock()
        self._closing = False
        self._threads: list[threading.Thread] = []
        self._started.connect(self._on_started)
        self._stopped.connect(self._on_stopped)

    def _set_phase(self, phase: Phase) -> None:
        self.phase = phase
        self.phaseChanged.emit(phase.value)

    def _in_background(self, name: str, work) -> None:
        self._threads = [t for t in self._threads if t.is_alive()]
        thread = threading.Thread(target=work, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    # --- the server -----------------------------------------------------------------------
    def start(self, config: ServeConfig) -> None:
        if self.phase is not Phase.STOPPED:
            return
        self._set_phase(Phase.STARTING)

        def start() -> None:
            try:
                server = start_server_in_thread(config)
            except Exception as exc:  # noqa: BLE001 - every failure reaches the user
                self._started.emit(None, f"The server did not start: {one_sentence(exc)}.")
                return
            with self._lock:
                if self._closing:  # the window closed while the workers were loading
                    server.stop()
                    return
                self.server = server
            self._started.emit(server, "")

        self._in_background("genplay-serve-start", start)

    def _on_started(self, server: RunningServer | None, error: str) -> None:
        if server is None:
            self._set_phase(Phase.STOPPED)
            self.failed.emit(error)
            return
        self._set_phase(Phase.SERVING)

    def stop(self) -> None:
        """Stop the load, then drain and stop the server, on a thread ("Stopping…" meanwhile)."""
        if self.phase is not Phase.SERVING:
            return
        self._set_phase(Phase.STOPPING)
        load, self.load = self.load, None
        server = self.server
        if load is not None:
            self.loadChanged.emit(False)

        def stop() -> None:
            error = ""
            try:
                if load is not None:
                    load.stop()
                server.stop()
            except Exception as exc:  # noqa: BLE001
                error = f"The server did not stop cleanly: {one_sentence(exc)}."
            with self._lock:
                self.server = None
            self._stopped.emit(error)

        self._in_background("genplay-serve-stop", stop)

    def _on_stopped(self, error: str) -> None:
        self._set_phase(Phase.STOPPED)
        if error:
            self.failed.emit(error)

    def kill_worker(self, worker_id: int) -> None:
        if self.server is not None and self.phase is Phase.SERVING:
            try:
                self.server.kill_worker(worker_id)
            except Exception as exc:  # noqa: BLE001 - e.g. the worker is already gone
                self.failed.emit(f"Could not kill worker {worker_id}: {one_sentence(exc)}.")

    # --- the load generator ---------------------------------------------------------------
    def start_load(self, plan: LoadPlan) -> None:
        if self.server is None or self.phase is not Phase.SERVING or self.load is not None:
            return
        try:
            self.load = start_load_in_thread(self.server.url, plan)
        except Exception as exc:  # noqa: BLE001
            self.failed.emit(f"The load generator did not start: {one_sentence(exc)}.")
            return
        self.loadChanged.emit(True)

    def stop_load(self) -> None:
        load, self.load = self.load, None
        if load is None:
            return
        self.loadChanged.emit(False)
        self._in_background("genplay-load-stop", load.stop)

    # --- closing ----------------------------------------------------------------------------
    def shutdown(self, timeout_s: float = 10.0) -> bool:
        """Stop everything now (the window is closing); True when no server or thread is left.

        The load stops first, then whatever is starting or stopping is waited for, then the server
        drains for at most ``CLOSING_DRAIN_S`` (a closing window is not the place for a long drain)."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            self._closing = True
        load, self.load = self.load, None
        try:
            if load is not None:
                load.stop()
            for thread in list(self._threads):
                thread.join(max(0.0, deadline - time.monotonic()))
            with self._lock:
                server, self.server = self.server, None
            if server is not None:
                server.stop(min(CLOSING_DRAIN_S, max(0.5, deadline - time.monotonic())))
        except Exception:  # noqa: BLE001 - closing goes on whatever happens
            return False
        self.phase = Phase.STOPPED
        return not any(t.is_alive() for t in self._threads)
