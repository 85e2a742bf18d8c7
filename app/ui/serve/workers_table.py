"""One row per worker process: id, pid, state (coloured), restarts, batches, requests, Kill.

Kill sends SIGKILL to the worker's process; the row goes dead, then the supervisor's
replacement shows up in the same row (a new pid, restarts + 1) and turns ready again.
Cells are rewritten only when their text changes, so polling five times a second costs little.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QPushButton, QTableWidget, QTableWidgetItem

from app.engine.serve.api import WorkerState, WorkerStatus

MAX_VISIBLE_ROWS = 4
COLUMNS = ("Worker", "PID", "State", "Restarts", "Batches", "Requests", "")
STATE_COLOURS = {
    WorkerState.STARTING: "#fff3cd",  # amber: loading the models
    WorkerState.READY: "#d4edda",  # green: idle, asking for work
    WorkerState.BUSY: "#cce5ff",  # blue: computing a batch
    WorkerState.DEAD: "#f8d7da",  # red: exited
}


class WorkersTable(QTableWidget):
    killRequested = Signal(int)  # worker id

    def __init__(self, parent=None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setObjectName("serveWorkersTable")
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Fixed)
        self.setColumnWidth(len(COLUMNS) - 1, 64)
        self._fit_rows(2)

    def _fit_rows(self, rows: int) -> None:
        """As tall as its rows (a scroll bar past ``MAX_VISIBLE_ROWS``), so the plots keep the rest."""
        shown = min(max(rows, 1), MAX_VISIBLE_ROWS)
        rows_height = shown * self.verticalHeader().defaultSectionSize()
        self.setFixedHeight(self.horizontalHeader().sizeHint().height() + rows_height + 2 * self.frameWidth())

    def show_workers(self, workers: tuple[WorkerStatus, ...]) -> None:
        if self.rowCount() != len(workers):
            self.setRowCount(len(workers))
            self._fit_rows(len(workers))
        for row, worker in enumerate(workers):
            texts = (
                str(worker.id),
                "—" if worker.pid is None else str(worker.pid),
                worker.state.value,
                str(worker.restarts),
                f"{worker.batches:,}",
                f"{worker.requests:,}",
            )
            for column, text in enumerate(texts):
                if self._set_cell(row, column, text) and column == 2:
                    self.item(row, 2).setBackground(QBrush(QColor(STATE_COLOURS[worker.state])))
            self._kill_button(row, worker)

    def _set_cell(self, row: int, column: int, text: str) -> bool:
        """Show ``text`` in the cell; True when it changed."""
        item = self.item(row, column)
        if item is None:
            item = QTableWidgetItem(text)
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            self.setItem(row, column, item)
            return True
        if item.text() == text:
            return False
        item.setText(text)
        return True

    def _kill_button(self, row: int, worker: WorkerStatus) -> None:
        button = self.cellWidget(row, len(COLUMNS) - 1)
        if button is None or button.property("workerId") != worker.id:
            button = QPushButton("Kill")
            button.setObjectName(f"serveKillButton{worker.id}")
            button.setProperty("workerId", worker.id)
            button.setToolTip("SIGKILL this worker's process: watch the supervisor bring it back")
            button.clicked.connect(lambda _c=False, w=worker.id: self.killRequested.emit(w))
            self.setCellWidget(row, len(COLUMNS) - 1, button)
        button.setEnabled(worker.state is not WorkerState.DEAD and worker.pid is not None)

    def kill_button(self, worker_id: int) -> QPushButton | None:
        return self.findChild(QPushButton, f"serveKillButton{worker_id}")

    def state_of(self, worker_id: int) -> str | None:
        """The state shown for ``worker_id`` (tests and screen readers read the table, not the server)."""
        for row in range(self.rowCount()):
            if self.item(row, 0) is not None and self.item(row, 0).text() == str(worker_id):
                return self.item(row, 2).text()
        return None

    def clear_workers(self) -> None:
        self.setRowCount(0)
