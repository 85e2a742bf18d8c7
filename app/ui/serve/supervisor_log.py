"""What the supervisor did, in words: each poll's stats compared with the previous poll's.

A killed worker may be replaced by the warm spare within one poll, so the table alone would only
show a new pid; the log says what happened in between (died, replaced, loaded, spare ready).
"""

from __future__ import annotations

from PySide6.QtWidgets import QListWidget, QWidget

from app.engine.serve.api import ServerStats, WorkerState, WorkerStatus

MAX_LINES = 200


def _pid(worker: WorkerStatus) -> str:
    return f"pid {worker.pid}" if worker.pid is not None else "no process"


def supervisor_events(before: ServerStats | None, after: ServerStats) -> list[str]:
    """Sentences for what changed between two polls (none for the first poll)."""
    if before is None:
        return []
    events: list[str] = []
    previous = {w.id: w for w in before.workers}
    for worker in after.workers:
        old = previous.get(worker.id)
        if old is None:
            continue
        name = f"Worker {worker.id}"
        if worker.restarts > old.restarts and old.state is WorkerState.DEAD:  # its death was told
            events.append(f"The supervisor restarted worker {worker.id} (restart {worker.restarts}): "
                          f"{_pid(worker)}.")  # fmt: skip
        elif worker.restarts > old.restarts:
            events.append(f"{name} ({_pid(old)}) died; the supervisor restarted it "
                          f"(restart {worker.restarts}), now {_pid(worker)}.")  # fmt: skip
        elif worker.state is WorkerState.DEAD and old.state is not WorkerState.DEAD:
            events.append(f"{name} ({_pid(old)}) died.")
        if worker.state is WorkerState.READY and old.state in (WorkerState.STARTING, WorkerState.DEAD):
            events.append(f"{name} ({_pid(worker)}) has loaded the models: ready.")
    if after.spare is not before.spare:
        if after.spare is WorkerState.STARTING:
            events.append("A warm spare is loading the models.")
        elif after.spare is WorkerState.READY:
            events.append("The warm spare is ready to take a dead worker's place.")
    if before.ready and not after.ready:
        events.append(f"The server is unready: {after.unready_reason or 'no worker is ready'}.")
    elif after.ready and not before.ready:
        events.append("The server is ready.")
    return events


class SupervisorLog(QListWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("serveSupervisorLog")
        self.setWordWrap(True)
        self.setToolTip("What the supervisor did, newest last")

    def add(self, t_s: float, events: list[str]) -> None:
        for event in events:
            self.addItem(f"{t_s:6.1f} s  {event}")
        while self.count() > MAX_LINES:
            self.takeItem(0)
        if events:
            self.scrollToBottom()

    def lines(self) -> list[str]:
        return [self.item(i).text() for i in range(self.count())]
