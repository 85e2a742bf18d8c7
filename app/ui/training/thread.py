"""The QThread bridge: builds and runs a ``RunSession``'s trainer off the GUI thread and
forwards its events.

The trainer's sink is called on the worker thread; it batches metrics and forwards
them at most ``METRICS_HZ`` times a second, so the GUI never drowns in signals.
Snapshots and visuals are already rate-limited by the trainer's intervals.
"""

from __future__ import annotations

import os
import threading
import time
import traceback

import torch
from PySide6.QtCore import QThread, Signal

from app.engine.errors import GenplayError
from app.engine.events import (
    CheckpointEvent,
    FinishedEvent,
    FinishReason,
    MetricsEvent,
    NoticeEvent,
    ProgressEvent,
    SaveFailedEvent,
    SnapshotEvent,
    VisualsEvent,
)
from app.engine.session import RunSession
from app.engine.trainer import Trainer

METRICS_HZ = 10.0  # the loss plot redraws at most 5 times a second: 10 batches lose nothing
TRAINER_NICENESS = 5


def _yield_to_gui_thread() -> None:
    """Lower this thread's scheduling priority a little (Linux/macOS: nice +5), so that on a
    machine with few cores the GUI thread wins the CPU when both want it; when the CPU is
    otherwise idle, training runs at full speed."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), TRAINER_NICENESS)
    except (AttributeError, OSError, PermissionError):
        pass  # Windows, or not permitted: run at normal priority


def trainer_thread_count() -> int:
    """Intra-op threads for training from the GUI: one fewer than the cores (or OMP_NUM_THREADS).

    With as many intra-op threads as cores, the GUI thread and torch's worker threads fight
    for the same cores; OpenMP's spinning workers then slow small models down many times over
    on a busy 2-core machine. One core left free keeps both training and the GUI smooth.
    """
    configured = os.environ.get("OMP_NUM_THREADS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return max(1, min(torch.get_num_threads(), (os.cpu_count() or 2) - 1))


def _leave_a_core_for_the_gui() -> None:
    torch.set_num_threads(trainer_thread_count())


class TrainingThread(QThread):
    """One run of ``session`` (begun with ``session.begin``): its trainer is built, or re-armed,
    and trained on this thread."""

    metricsBatch = Signal(list)  # [(step, kind, {name: value}), ...]
    progress = Signal(object)  # ProgressEvent
    visuals = Signal(object)  # VisualsEvent
    snapshot = Signal(object)  # SnapshotEvent
    notice = Signal(object)  # NoticeEvent
    checkpointSaved = Signal(object)  # CheckpointEvent
    saveFailed = Signal(object)  # SaveFailedEvent
    runFinished = Signal(object)  # FinishedEvent
    trainerReady = Signal(object)  # Trainer, once built

    def __init__(self, session: RunSession, parent=None) -> None:
        super().__init__(parent)
        if session.control is None:
            raise RuntimeError("begin the session's run before making its thread")
        self.session = session
        self.control = session.control
        self.trainer: Trainer | None = None
        self.result: FinishedEvent | None = None
        self._pending: list[tuple[int, str, dict[str, float]]] = []
        self._last_flush = 0.0

    # --- runs on the worker thread -------------------------------------------------------
    def run(self) -> None:  # noqa: D401 - QThread entry point
        _yield_to_gui_thread()
        _leave_a_core_for_the_gui()
        try:
            self.trainer = self.session.build(self._sink)
        except GenplayError as exc:
            self._finish(FinishedEvent(0, FinishReason.ERROR, str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - any setup failure must reach the user
            traceback.print_exc()
            message = f"Could not start training: {type(exc).__name__}: {exc}"
            self._finish(FinishedEvent(0, FinishReason.ERROR, message))
            return
        self.trainerReady.emit(self.trainer)
        if self.control.stop_requested:
            message = "Stopped before the first step."
            self._finish(FinishedEvent(self.trainer.step, FinishReason.STOPPED, message))
            return
        try:
            self.trainer.run()  # the FinishedEvent arrives through the sink
        except Exception as exc:  # noqa: BLE001
            traceback.print_exc()
            step = self.trainer.step
            self._finish(FinishedEvent(step, FinishReason.ERROR, f"Training stopped at step {step}: {exc}"))

    def _flush(self) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            self.metricsBatch.emit(batch)
        self._last_flush = time.perf_counter()

    def _finish(self, event: FinishedEvent) -> None:
        self._flush()
        self.result = event
        self.runFinished.emit(event)

    def _sink(self, event: object) -> None:
        if isinstance(event, MetricsEvent):
            self._pending.append((event.step, event.kind, event.metrics))
            if time.perf_counter() - self._last_flush >= 1.0 / METRICS_HZ:
                self._flush()
        elif isinstance(event, ProgressEvent):
            self._flush()
            self.progress.emit(event)
        elif isinstance(event, SnapshotEvent):
            self.snapshot.emit(event)
        elif isinstance(event, VisualsEvent):
            self.visuals.emit(event)
        elif isinstance(event, CheckpointEvent):
            self.checkpointSaved.emit(event)
        elif isinstance(event, SaveFailedEvent):
            self.saveFailed.emit(event)
        elif isinstance(event, NoticeEvent):
            self.notice.emit(event)
        elif isinstance(event, FinishedEvent):
            self._finish(event)

    # --- called from the GUI thread ------------------------------------------------------
    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """Stop at the next step boundary and wait; True if the thread ended in time."""
        self.control.stop()
        return self.wait(timeout_ms)
