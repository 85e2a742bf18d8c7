"""The Serve page: serve the models over HTTP and watch the pipeline work.

Train → infer → serve: the page starts a server (outside the GUI thread; its workers are
processes under a supervisor), polls ``stats()`` five times a second, and shows the workers
(Kill one and watch it come back), the queue filling, batches growing and latency moving
while the built-in load generator sends requests.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.engine.errors import GenplayError
from app.engine.serve.api import ServerStats, WorkerState
from app.ui.pages.family_page import FamilyPage
from app.ui.serve.history import ServeHistory
from app.ui.serve.live_plots import LivePlots
from app.ui.serve.load_controls import LoadControls
from app.ui.serve.pipeline_note import PipelineNote
from app.ui.serve.served_models import ServedModelsList
from app.ui.serve.server_settings import ServerSettings
from app.ui.serve.session import Phase, ServeSession
from app.ui.serve.supervisor_log import SupervisorLog, supervisor_events
from app.ui.serve.texts import NOT_RUNNING, curl_example
from app.ui.serve.workers_table import WorkersTable
from app.ui.widgets.layout import across, column, row, scrolled

POLL_MS = 200  # stats five times a second: the table, the banner and the log follow at once
PLOT_EVERY = 2  # the plots redraw on every second poll (2.5 a second) while the page is visible:
# their paint is Python (pyqtgraph) and waits for the interpreter lock that the server's and the
# load generator's threads hold most of the time under load
BANNER_STYLES = {
    "ok": "background: #d4edda; color: #155724;",
    "busy": "background: #fff3cd; color: #856404;",
    "bad": "background: #f8d7da; color: #721c24;",
    "idle": "background: #eceff1; color: #37474f;",
}


def _group(title: str, *parts) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(6, 6, 6, 6)
    for part in parts:
        layout.addWidget(part) if isinstance(part, QWidget) else layout.addLayout(part)
    return box


class ServePage(QWidget):
    title = "Serve"

    def __init__(self, pages: dict[str, FamilyPage], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("servePage")
        self.session = ServeSession(self)
        self.history = ServeHistory()

        self.models = ServedModelsList(pages)
        self.settings = ServerSettings()
        style = self.style()
        self.start_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Start")
        self.start_button.setObjectName("serveStartButton")
        self.start_button.setToolTip("Start the server: spawn the workers and load the models")
        self.stop_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaStop), "Stop")
        self.stop_button.setObjectName("serveStopButton")
        self.stop_button.setToolTip("Stop: refuse new requests, answer those in flight, stop the workers")
        self.message = QLabel()
        self.message.setObjectName("serveMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020;")
        self.message.hide()
        self.load_controls = LoadControls()

        self.banner = QLabel(NOT_RUNNING)
        self.banner.setObjectName("serveReadiness")
        self.banner.setWordWrap(True)
        self.banner.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.url = QLineEdit()
        self.url.setObjectName("serveUrl")
        self.url.setReadOnly(True)
        self.url.setPlaceholderText("the server's address appears here")
        self.curl = QLineEdit()
        self.curl.setObjectName("serveCurl")
        self.curl.setReadOnly(True)
        self.curl.setPlaceholderText("a curl command to try it yourself")
        copy = QPushButton("Copy")
        copy.setObjectName("serveCopyCurlButton")
        copy.setToolTip("Copy the curl command")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.curl.text()))
        self.workers = WorkersTable()
        self.log = SupervisorLog()
        self.log.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)  # the table's height
        self._last_stats: ServerStats | None = None
        self._polls = 0
        self.plots = LivePlots()
        self.note = PipelineNote()
        self.plots.layout().addWidget(self.note, 1, 2)

        controls = column(
            _group("Models to serve", self.models),
            _group("Server", self.settings, row(self.start_button, self.stop_button), self.message),
            _group("Load generator", self.load_controls),
        )
        controls.layout().addStretch(1)
        left = scrolled(controls)
        left.setMinimumWidth(330)
        left.setMaximumWidth(430)
        address = row(QLabel("URL"), (self.url, 1), QLabel("Try it"), (self.curl, 3), copy)
        right = column(self.banner, address, row((self.workers, 3), (self.log, 2)), (self.plots, 1))
        right.layout().setSpacing(4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(across([380, 1000], left, right))

        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)

        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.workers.killRequested.connect(self.session.kill_worker)
        self.load_controls.startClicked.connect(self.start_load)
        self.load_controls.stopClicked.connect(self.session.stop_load)
        self.models.changed.connect(lambda: self.load_controls.set_families(self.models.families()))
        self.models.failed.connect(self.show_error)
        self.session.failed.connect(self.show_error)
        self.session.phaseChanged.connect(self._on_phase)
        self.session.loadChanged.connect(self._on_load)
        for key in ("max_batch", "queue_size"):
            self.settings.boxes[key].valueChanged.connect(self._show_limits)
        self.models.add_shipped_defaults()
        self._on_phase(Phase.STOPPED)
        self._show_limits()

    # --- controls ---------------------------------------------------------------------------
    def start(self) -> None:
        self.clear_error()
        try:
            config = self.settings.config(self.models.specs())
        except (GenplayError, OSError) as exc:
            self.show_error(str(exc))
            return
        self.history.clear()
        self.plots.clear()
        self.log.clear()
        self._last_stats = None
        self.session.start(config)

    def stop(self) -> None:
        self.session.stop()

    def _show_limits(self) -> None:
        """Draw the queue's size and the largest batch the settings allow while nothing is served
        (a running server's plots show what it reports)."""
        if not self.plots.has_data():
            boxes = self.settings.boxes
            max_batch, queue_size = int(boxes["max_batch"].value()), int(boxes["queue_size"].value())
            self.plots.show_limits(max_batch, queue_size, self.history.window_s)

    def start_load(self) -> None:
        self.clear_error()
        try:
            plan = self.load_controls.plan()
        except ValueError as exc:
            self.show_error(str(exc))
            return
        self.session.start_load(plan)

    def show_error(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()

    def clear_error(self) -> None:
        self.message.clear()
        self.message.hide()

    # --- what the session says --------------------------------------------------------------
    def _on_phase(self, phase: str) -> None:
        phase = Phase(phase)
        stopped = phase is Phase.STOPPED
        self.start_button.setEnabled(stopped)
        self.stop_button.setEnabled(phase is Phase.SERVING)
        self.models.set_editable(stopped)
        self.settings.setEnabled(stopped)
        self.load_controls.set_running(server=phase is Phase.SERVING, load=self.session.load is not None)
        if phase is Phase.STARTING:
            self._set_banner("busy", "Starting: spawning the worker processes and loading the models…")
        elif phase is Phase.SERVING:
            server = self.session.server
            self.url.setText(server.url)
            first = next((m for m in self.models.models if m.family == "gpt"), self.models.models[0])
            self.curl.setText(curl_example(server.url, first.name, first.family))
            self.curl.setCursorPosition(0)
            self.log.add(0.0, [f"Listening at {server.url}; the workers are loading the models."])
            self.timer.start()
            self.poll()
        elif phase is Phase.STOPPING:
            self._set_banner("busy", "Stopping… refusing new requests and answering those in flight.")
        else:
            self.timer.stop()
            self.workers.clear_workers()
            self.url.clear()
            self.curl.clear()
            self.models.discard_temporary_files()
            self._set_banner("idle", NOT_RUNNING)

    def _on_load(self, running: bool) -> None:
        self.load_controls.set_running(server=self.session.phase is Phase.SERVING, load=running)

    def _set_banner(self, kind: str, text: str) -> None:
        self.banner_kind = kind  # ok | busy | bad | idle
        if self.banner.text() != text:
            self.banner.setText(text)
        style = f"QLabel {{ {BANNER_STYLES[kind]} padding: 4px; font-weight: bold; }}"
        if self.banner.styleSheet() != style:
            self.banner.setStyleSheet(style)

    # --- polling ----------------------------------------------------------------------------
    def poll(self) -> None:
        server, load = self.session.server, self.session.load
        if server is None:
            return
        stats = server.stats()
        load_stats = load.stats() if load is not None else None
        self.history.add(stats, load_stats)
        if load_stats is not None:
            self.load_controls.show_stats(load_stats)
        if load_stats is not None and load_stats.finished:  # its plan is done, or it failed
            self.session.stop_load()
            if load_stats.error:
                self.show_error(f"The load generator stopped: {load_stats.error}")
        self.workers.show_workers(stats.workers)
        self.log.add(self.history.now, supervisor_events(self._last_stats, stats))
        self._last_stats = stats
        if self.session.phase is Phase.SERVING:
            self._show_readiness(stats)
        self._polls += 1
        if self.isVisible() and self._polls % PLOT_EVERY == 0:
            self.plots.redraw(self.history, self.settings.boxes["max_batch"].value())

    def _show_readiness(self, stats: ServerStats) -> None:
        ready = sum(w.state in (WorkerState.READY, WorkerState.BUSY) for w in stats.workers)
        if stats.ready:
            spare = f" · warm spare {stats.spare.value}" if stats.spare is not None else ""
            restarts = f"{stats.restarts} restart{'s' if stats.restarts != 1 else ''}"
            text = f"Ready: {ready} of {len(stats.workers)} workers up{spare} · {restarts}"
            self._set_banner("ok", text)
        else:  # amber while workers load (the start, a restart), red when the supervisor gave up
            loading = any(w.state is WorkerState.STARTING for w in stats.workers)
            reason = stats.unready_reason or "no worker is ready yet"
            self._set_banner("busy" if loading else "bad", f"Unready: {reason.rstrip('.')}.")

    # --- closing ----------------------------------------------------------------------------
    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Stop the load generator and the server (the window is closing); True when all ended."""
        self.timer.stop()
        stopped = self.session.shutdown(timeout_ms / 1000)
        self.models.discard_temporary_files()
        return stopped
