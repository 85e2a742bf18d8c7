"""The training bar: Start / Pause / Step / Stop, dataset, device, progress and status."""

from __future__ import annotations

import math

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.engine.devices import available_devices
from app.engine.events import FinishReason, NoticeLevel, ProgressEvent, RunState

FINISHED_WORDS = {
    FinishReason.COMPLETED: "finished",
    FinishReason.STOPPED: "stopped",
    FinishReason.EARLY_STOPPED: "stopped early",
    FinishReason.ERROR: "failed",
    FinishReason.NON_FINITE: "failed (NaN/Inf)",
}
STATUS_STYLES = {
    NoticeLevel.INFO: "",
    NoticeLevel.WARNING: "color: #8a6d00;",
    NoticeLevel.ERROR: "color: #c62828;",
}


def format_eta(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "—"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TrainingBar(QWidget):
    startClicked = Signal()
    pauseClicked = Signal()
    stepClicked = Signal()
    stopClicked = Signal()
    newModelClicked = Signal()
    rollbackClicked = Signal()

    def __init__(self, prefix: str, datasets: list[str], default_dataset: str,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.prefix = prefix

        style = self.style()

        def button(name: str, text: str, tip: str, icon=None) -> QPushButton:
            b = QPushButton(text)
            b.setObjectName(f"{prefix}{name}Button")
            b.setToolTip(tip)
            if icon is not None:
                b.setIcon(style.standardIcon(icon))
            return b

        pixmaps = QStyle.StandardPixmap
        self.start_button = button("Start", "Start", "Start or resume training (Space)", pixmaps.SP_MediaPlay)
        self.pause_button = button("Pause", "Pause", "Pause at the next step (Space)", pixmaps.SP_MediaPause)
        self.step_button = button(
            "Step", "Step", "Perform exactly one training step (S)", pixmaps.SP_MediaSkipForward
        )
        self.stop_button = button(
            "Stop", "Stop", "Stop the run; the model keeps what it learned", pixmaps.SP_MediaStop
        )
        self.new_button = button(
            "New", "New model", "Discard the current weights and start from scratch", pixmaps.SP_FileIcon
        )
        self.rollback_button = button(
            "Rollback",
            "Roll back",
            "Reopen the last good checkpoint of the failed run",
            pixmaps.SP_BrowserReload,
        )
        self.rollback_button.hide()
        self.rollback_button.clicked.connect(self.rollbackClicked)
        self.start_button.clicked.connect(self.startClicked)
        self.pause_button.clicked.connect(self.pauseClicked)
        self.step_button.clicked.connect(self.stepClicked)
        self.stop_button.clicked.connect(self.stopClicked)
        self.new_button.clicked.connect(self.newModelClicked)

        self.dataset = QComboBox()
        self.dataset.setObjectName(f"{prefix}Dataset")
        self.dataset.setEditable(True)
        self.dataset.addItems(datasets)
        self.dataset.setCurrentText(default_dataset)
        self.dataset.setToolTip("A built-in dataset, or a path to your own (Browse…)")
        self.dataset.setMinimumContentsLength(12)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.setObjectName(f"{prefix}BrowseDataset")
        self.browse_button.clicked.connect(self._browse)
        self.device = QComboBox()
        self.device.setObjectName(f"{prefix}Device")
        self.device.addItems(["auto", *available_devices()])
        self.device.setToolTip("Where to train: auto picks the best available device")

        self.progress = QProgressBar()
        self.progress.setObjectName(f"{prefix}Progress")
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.progress.setMinimumWidth(260)
        self.status = QLabel("Ready.")
        self.status.setObjectName(f"{prefix}Status")
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        for b in (self.start_button, self.pause_button, self.step_button, self.stop_button):
            top.addWidget(b)
        top.addWidget(self.new_button)
        top.addSpacing(16)
        top.addWidget(QLabel("Data"))
        top.addWidget(self.dataset, 1)
        top.addWidget(self.browse_button)
        top.addSpacing(8)
        top.addWidget(QLabel("Device"))
        top.addWidget(self.device)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.addWidget(self.progress)
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.rollback_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addLayout(bottom)
        self.set_state(RunState.IDLE)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a dataset", "", "Datasets (*.npy *.npz *.txt *.gz *-ubyte);;All files (*)"
        )
        if not path:
            path = QFileDialog.getExistingDirectory(self, "Or choose a folder of images or IDX files")
        if path:
            self.dataset.setCurrentText(path)

    def set_state(self, state: RunState) -> None:
        """Enable the buttons that make sense in ``state``."""
        self.state = state = RunState(state)
        active = state != RunState.IDLE
        # the dataset and the device may change while paused; they apply when the run goes on
        changeable = state in (RunState.IDLE, RunState.PAUSED)
        self.start_button.setEnabled(changeable)
        self.start_button.setText("Resume" if state == RunState.PAUSED else "Start")
        self.pause_button.setEnabled(state == RunState.RUNNING)
        self.step_button.setEnabled(changeable)
        self.stop_button.setEnabled(active)
        self.new_button.setEnabled(not active)
        self.dataset.setEnabled(changeable)
        self.browse_button.setEnabled(changeable)
        self.device.setEnabled(changeable)
        paused_at = self._paused_at
        if state == RunState.RUNNING and paused_at is not None:  # resumed: not "paused" until the next report
            self.progress.setFormat(f"step {paused_at.step:,}/{paused_at.total:,} — running")
        if state != RunState.PAUSED:
            self._paused_at = None

    _paused_at: ProgressEvent | None = None  # the report shown while paused

    def show_progress(self, event: ProgressEvent) -> None:
        paused = event.state == RunState.PAUSED
        self._paused_at = event if paused else None
        fraction = event.step / event.total if event.total else 0.0
        self.progress.setValue(int(round(100 * min(1.0, fraction))))
        if paused:
            self.progress.setFormat(f"step {event.step:,}/{event.total:,} — paused")
        else:
            self.progress.setFormat(
                f"step {event.step:,}/{event.total:,} · {event.steps_per_s:.0f} steps/s · "
                f"ETA {format_eta(event.eta_s)}"
            )

    def show_finished(self, step: int, total: int, reason: FinishReason) -> None:
        if total:
            self.progress.setValue(int(round(100 * min(1.0, step / total))))
        self.progress.setFormat(f"step {step:,} — {FINISHED_WORDS[FinishReason(reason)]}")

    def show_idle(self, step: int | None = None) -> None:
        """No run: "idle", or "idle · step N" for a model (an opened checkpoint) at step N."""
        self.progress.setValue(0)
        self.progress.setFormat("idle" if step is None else f"idle · step {step:,}")

    def set_status(self, text: str, level: NoticeLevel = NoticeLevel.INFO) -> None:
        self.status.setStyleSheet(STATUS_STYLES[NoticeLevel(level)])
        self.status.setText(text)
        self.status.setToolTip(text)
