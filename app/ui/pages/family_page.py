"""What every family page shares: the training bar, settings, the live loss plot, and the
wiring between them and the page's ``RunSession`` (app/engine/session.py), which decides
what each run continues from, saves, rolls back and changes live.

Ownership rule: while a ``TrainingThread`` runs the session's trainer, only that thread
touches the task and its model. The page's views use ``snapshot`` (a CPU copy the worker
publishes a few times a second, or the weights of an opened checkpoint) through
``modelChanged``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGroupBox, QScrollArea, QVBoxLayout, QWidget

from app.engine.checkpoint import Checkpoint, CheckpointError
from app.engine.data import BUILTIN_DATASETS, DataBundle, load_dataset
from app.engine.data.kinds import guess_data_kind
from app.engine.errors import GenplayError
from app.engine.events import (
    CheckpointEvent,
    FinishedEvent,
    ModelSnapshot,
    NoticeEvent,
    NoticeLevel,
    ProgressEvent,
    RunState,
    SaveFailedEvent,
    SnapshotEvent,
    VisualsEvent,
)
from app.engine.history import RunHistory
from app.engine.paths import autosave_dir
from app.engine.session import NothingToSave, RunRequest, RunSession, checkpoint_settings
from app.engine.tasks import get_task_class
from app.engine.train_config import TrainConfig
from app.engine.trainer import Trainer
from app.ui.training.thread import TrainingThread
from app.ui.widgets.exports import LOSS_HINT, check_exportable, export_widget_png
from app.ui.widgets.loss_plot import LossPlot
from app.ui.widgets.settings_form import FieldError, FieldSpec, FormField, SettingsForm, form_fields
from app.ui.widgets.training_bar import TrainingBar

# How often a GUI run publishes to the page. Each update costs the GUI thread time, and the
# GUI thread shares the interpreter lock with the trainer (bench/vae_gui_vs_headless.py), so
# these are as slow as still looks live; pages whose views are the point may go faster.
SNAPSHOT_INTERVAL_S = 0.5  # weights for the views' own models, twice a second
VISUALS_INTERVAL_S = 1.0  # pictures the worker renders (reconstructions, samples)
PROGRESS_INTERVAL_S = 0.5  # progress bar, steps/s and ETA (a styled bar costs ~2 ms to repaint)


AUTOSAVE_EVERY = 500  # the window autosaves a rollback point this often (the engine's default: at the end)
TRAIN_FIELDS = (
    FieldSpec("steps", "Steps to train", "How many optimisation steps this run performs.", live=True),
    FieldSpec("batch_size", "Batch size", "Examples per step; may change while paused.", live=True),
    FieldSpec("lr", "Learning rate", "Base learning rate; may change while paused.", live=True),
    FieldSpec("schedule", "LR schedule",
              "constant; cosine decay to lr·min ratio; or linear warm-up then cosine."),
    FieldSpec("warmup_steps", "Warm-up steps", "Linear LR warm-up length (warmup_cosine only)."),
    FieldSpec("grad_clip", "Gradient clip", "Clip the gradient norm to this value; 0 turns clipping off.",
              live=True),
    FieldSpec("val_every", "Validate every", "Steps between validations; 0 turns validation off.", live=True),
    FieldSpec("early_stop_patience", "Early-stop patience",
              "Stop after this many validations without improvement; 0 = off.", live=True),
    FieldSpec("early_stop_restore_best", "Keep the best weights",
              "When training stops early, go back to the weights of the best validation "
              "(the step is said in the status line).", live=True),
    FieldSpec("checkpoint_every", "Autosave every",
              "Steps between autosaved checkpoints (a rollback point); 0 = only at the end."),
    FieldSpec("seed", "Seed", "Seeds the data split, the initial weights and the batches."),
    FieldSpec("precision", "Precision",
              "The number format of the forward passes (autocast); weights and checkpoints stay float32.",
              live=True, choice_tooltips=(
                  "float32 everywhere: the reference, and the fastest on most CPUs.",
                  "bfloat16 matrix products: float32's range with 8 bits of mantissa; fast on recent "
                  "GPUs and CPUs with AMX/AVX-512 BF16, slower on others. No loss scaling needed.",
                  "float16 matrix products with a gradient scaler (the loss is scaled up for backward, "
                  "a step whose gradients overflow is skipped): for CUDA GPUs.")),
    FieldSpec("compile", "Compile (torch.compile)",
              "Compile the model's training step into fused kernels. The first steps wait for the "
              "compiler (seconds to a minute); then steps may be faster, mostly on a GPU. The WGAN-GP "
              "critic stays uncompiled: its gradient penalty differentiates it twice.", live=True),
    FieldSpec("history_mb", "History kept (MB)",
              "The checkpoint keeps the run's story (every curve, and the family's records: attention, "
              "timeline frames or KL per dimension) in at most this many megabytes, thinned evenly "
              "as the run grows; 0 keeps none.", live=True),
    FieldSpec("history_points", "History points per curve",
              "The most points the checkpoint keeps of each curve (thinned evenly).", live=True),
)  # fmt: skip


def train_fields(defaults: TrainConfig) -> list[FormField]:
    """The training settings every family shares, with the family's defaults."""
    return form_fields(dataclasses.replace(defaults, checkpoint_every=AUTOSAVE_EVERY), "train", TRAIN_FIELDS)


class FamilyPage(QWidget):
    family: ClassVar[str]
    prefix: ClassVar[str]
    title: ClassVar[str]

    model_fields: ClassVar[tuple[FieldSpec, ...]] = ()  # the form's words for the model config's fields
    hparam_fields: ClassVar[tuple[FieldSpec, ...]] = ()  # … and for the task's knobs (hparams_class)
    snapshot_interval_s: ClassVar[float] = SNAPSHOT_INTERVAL_S
    visuals_interval_s: ClassVar[float] = VISUALS_INTERVAL_S

    modelChanged = Signal(object)  # ModelSnapshot | None — the weights the views should show
    visualsArrived = Signal(object)  # VisualsEvent
    metricsArrived = Signal(list)  # [(step, MetricsKind, metrics)]
    runStateChanged = Signal(str)  # a RunState
    messageShown = Signal(str, str)  # text, NoticeLevel
    checkpointWritten = Signal(str)  # path of a checkpoint the user asked for, once it is on disk
    saveFailed = Signal(str)  # why a checkpoint the user asked for was not written

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"{self.prefix}Page")
        self.task_cls = get_task_class(self.family)
        family = self.family
        self.session = RunSession(
            family,
            autosave=lambda _data: autosave_dir() / f"{family}.safetensors",
            snapshot_interval=self.snapshot_interval_s,
            visuals_interval=self.visuals_interval_s,
            progress_interval=PROGRESS_INTERVAL_S,
        )
        self.thread: TrainingThread | None = None
        self.snapshot: ModelSnapshot | None = None
        self._data: DataBundle | None = None

        datasets = [n for n, d in BUILTIN_DATASETS.items() if d.kind in self.task_cls.data_kinds]
        self.bar = TrainingBar(self.prefix, datasets, self.task_cls.default_dataset)
        self.form = SettingsForm(self.field_specs(), self.prefix)
        self.loss_plot = LossPlot(f"{self.prefix}LossPlot")
        self.setup_loss_series(self.loss_plot)

        self.bar.startClicked.connect(self.start)
        self.bar.pauseClicked.connect(self.pause)
        self.bar.stepClicked.connect(self.step_once)
        self.bar.stopClicked.connect(self.stop)
        self.bar.newModelClicked.connect(self.new_model)
        self.bar.rollbackClicked.connect(self.roll_back)
        self.form.liveChanged.connect(self.session.change_setting)  # no-op between runs
        self.bar.dataset.currentTextChanged.connect(self._check_data_kind)
        self._kind_warning = ""
        self._pending_saves: list[Path] = []  # saves queued for the trainer's thread, not yet written

    # --- hooks for the family pages --------------------------------------------------------
    def field_specs(self) -> list[FormField]:
        """The form: the page's words for the model, knob and training fields, completed from
        the task's dataclasses (their defaults, ranges and choices)."""
        task = self.task_cls
        return [
            *form_fields(task.config_class(), "model", self.model_fields),
            *form_fields(task.default_hparams(), "hparams", self.hparam_fields),
            *train_fields(task.default_train_config()),
        ]

    def show_history(self, history: RunHistory) -> None:
        """An opened checkpoint's history, beyond the loss curves (the base class draws those)."""

    def forget_history(self) -> None:
        """A run starts from step 0 (a new model): the views that replay the past start afresh."""

    def setup_loss_series(self, plot: LossPlot) -> None:
        plot.add_series("loss", "loss")
        plot.add_series("val_loss", "validation loss", smoothed=False)

    def on_visuals(self, event: VisualsEvent) -> None:
        """Show pictures the worker rendered (called on the GUI thread)."""

    def settings_panel(self, groups: list[tuple[str, str]]) -> QScrollArea:
        """The form's groups as titled boxes, e.g. [("Model", "model"), ("Training", "train")], scrolling."""
        settings = QWidget()
        settings_layout = QVBoxLayout(settings)
        for title, group in groups:
            box = QGroupBox(title)
            QVBoxLayout(box).addWidget(self.form.group_widget(group))
            settings_layout.addWidget(box)
        settings_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(settings)
        scroll.setWidgetResizable(True)
        # wide enough for the form beside its vertical scroll bar, so no horizontal bar appears
        needed = settings.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width()
        scroll.setMinimumWidth(min(380, max(300, needed + 2 * scroll.frameWidth())))
        scroll.setMaximumWidth(380)
        return scroll

    # --- state ----------------------------------------------------------------------------
    @property
    def state(self) -> RunState:
        return self.bar.state

    def _set_state(self, state: RunState) -> None:
        self.bar.set_state(state)
        self.form.set_running(state != RunState.IDLE)
        self.runStateChanged.emit(state)

    def show_message(self, text: str, level: NoticeLevel = NoticeLevel.INFO) -> None:
        self.bar.set_status(text, level)
        self.messageShown.emit(text, level)

    @property
    def is_active(self) -> bool:
        return self.thread is not None

    # the session's model, as the family pages and tests read it
    @property
    def trainer(self) -> Trainer | None:
        """The last finished run's trainer (a run in progress: ``thread.trainer``)."""
        return self.session.trainer

    @property
    def loaded_checkpoint(self) -> Checkpoint | None:
        return self.session.checkpoint

    @property
    def last_good_checkpoint(self) -> Path | None:
        return self.session.last_good_checkpoint

    # --- data for views --------------------------------------------------------------------
    def current_data(self) -> DataBundle | None:
        """The dataset of the current run, or the chosen one (loaded on first use)."""
        if not self.is_active and self.session.data is not None:
            self._data = self.session.data
        if self._data is None:
            try:
                self._data = load_dataset(self.bar.dataset.currentText(), seed=0)
            except GenplayError as exc:
                self.show_message(str(exc), NoticeLevel.ERROR)
                return None
        return self._data

    def adopt_data(self, data: DataBundle | None) -> None:
        """Use an already loaded dataset (e.g. loaded off the GUI thread) for the views."""
        if data is not None and not self.is_active:
            self._data = data

    def wrong_kind_message(self, spec: str) -> str | None:
        """One sentence when ``spec`` is data this family cannot train on (None when it can, or
        when its kind cannot be told without loading it)."""
        kind = guess_data_kind(spec)
        if kind is None:
            return None
        sentence = self.task_cls.wrong_kind_sentence(kind, Path(spec.strip()).name or spec.strip())
        return None if sentence is None else sentence[:1].upper() + sentence[1:]

    def _check_data_kind(self, spec: str) -> None:
        """Say at once when the chosen data cannot train this family (Start would refuse it)."""
        message = self.wrong_kind_message(spec)
        if message is not None:
            self._kind_warning = message
            self.show_message(message, NoticeLevel.WARNING)
        elif self._kind_warning and self.bar.status.text() == self._kind_warning:
            self._kind_warning = ""
            self.show_message("Ready.")

    # --- controls -------------------------------------------------------------------------
    def start(self) -> None:
        if self.state == RunState.PAUSED and self.thread is not None:
            self._apply_paused_switches()
            self.thread.control.resume()
            self._set_state(RunState.RUNNING)
            self.show_message("Training…")
            return
        if self.state == RunState.IDLE:
            self._launch(start_paused=False)

    def pause(self) -> None:
        if self.thread is not None and self.state == RunState.RUNNING:
            self.thread.control.pause()
            self._set_state(RunState.PAUSED)
            self.show_message("Pausing at the next step…")  # "Paused at step N." when it has

    def step_once(self, action: str | None = None) -> None:
        """One training step (or one task action such as a single critic update)."""
        if self.thread is not None and self.state == RunState.PAUSED:
            self._apply_paused_switches()
            self.thread.control.request_action(action)
        elif self.state == RunState.IDLE:
            self._launch(start_paused=True, action=action)

    def stop(self) -> None:
        if self.thread is not None:
            self.thread.control.stop()
            self.show_message("Stopping at the next step…")

    def new_model(self) -> None:
        if self.is_active:
            return
        self.session.new_model()
        self._set_snapshot(None)
        self.loss_plot.clear()
        self.forget_history()
        self.bar.show_idle()
        self.show_message("New model: the next Start begins from freshly initialised weights.")

    # --- launching a run ------------------------------------------------------------------
    def collect_settings(self) -> dict[str, Any]:
        values = self.form.values()
        values["device"] = self.bar.device.currentText()
        return values

    def _launch(self, start_paused: bool, action: str | None = None) -> None:
        self.bar.rollback_button.hide()
        try:
            settings = self.collect_settings()
        except FieldError as exc:
            self.show_message(f"Cannot start: {exc}.", NoticeLevel.ERROR)
            return
        steps = int(settings.pop("steps"))
        request = RunRequest(steps, self.bar.dataset.currentText().strip(), settings)
        try:
            self.session.begin(request, start_paused=start_paused, action=action)
        except GenplayError as exc:
            self.show_message(f"Cannot start: {exc}", NoticeLevel.ERROR)
            return
        thread = TrainingThread(self.session)
        for signal, slot in self._thread_slots(thread):
            signal.connect(slot)
        self.thread = thread
        self._set_state(RunState.STARTING)
        self.show_message("Preparing data and model…")
        thread.start()

    def _thread_slots(self, thread: TrainingThread) -> list[tuple[Any, Any]]:
        return [
            (thread.metricsBatch, self._on_metrics),
            (thread.progress, self._on_progress),
            (thread.visuals, self._on_visuals),
            (thread.snapshot, self._on_snapshot),
            (thread.notice, self._on_notice),
            (thread.checkpointSaved, self._on_checkpoint),
            (thread.saveFailed, self._on_save_failed),
            (thread.trainerReady, self._on_trainer_ready),
            (thread.runFinished, self._on_finished),
        ]

    # --- thread signals (GUI thread) ------------------------------------------------------
    def _on_trainer_ready(self, trainer: Trainer) -> None:
        self._data = trainer.data
        if trainer.step == 0:  # a new model: the curves and replays of an earlier one are not its story
            self.loss_plot.clear()
            self.forget_history()
        paused = self.thread is not None and self.thread.control.paused
        self._set_state(RunState.PAUSED if paused else RunState.RUNNING)
        self.show_message(f"Paused at step {trainer.step:,}." if paused else "Training…")

    def _on_metrics(self, batch: list) -> None:
        for step, _kind, metrics in batch:
            self.loss_plot.append(step, metrics)
        self.metricsArrived.emit(batch)

    def _on_progress(self, event: ProgressEvent) -> None:
        if event.state == RunState.PAUSED:
            if self.thread is None or not self.thread.control.paused:
                return  # sent just before a resume: the run goes on
            if self.state == RunState.RUNNING:
                self._set_state(RunState.PAUSED)
            self.show_message(f"Paused at step {event.step:,}.")
        self.bar.show_progress(event)

    def _on_visuals(self, event: VisualsEvent) -> None:
        self.on_visuals(event)
        self.visualsArrived.emit(event)

    def _on_snapshot(self, event: SnapshotEvent) -> None:
        self._set_snapshot(event.snapshot)

    def _on_notice(self, event: NoticeEvent) -> None:
        self.show_message(event.message, event.level)

    def _on_checkpoint(self, event: CheckpointEvent) -> None:
        path = Path(event.path)
        if path in self._pending_saves:
            self._pending_saves.remove(path)
            self._saved(path, f"Saved {path.name} at step {event.step:,}.")

    def _on_save_failed(self, event: SaveFailedEvent) -> None:
        if Path(event.path) in self._pending_saves:
            self._pending_saves.remove(Path(event.path))
        self._save_failed(event.reason)

    def _saved(self, path: Path, message: str) -> None:
        self.show_message(message)
        self.checkpointWritten.emit(str(path))

    def _save_failed(self, reason: str) -> None:
        self.show_message(reason, NoticeLevel.ERROR)
        self.saveFailed.emit(reason)

    def _on_finished(self, event: FinishedEvent) -> None:
        thread = self.thread
        snapshot = None
        if thread is not None:
            thread.wait(5000)
            snapshot = self.session.end()
            if snapshot is not None:
                self._set_snapshot(snapshot)
            thread.deleteLater()
        self.thread = None
        unwritten, self._pending_saves = self._pending_saves, []
        self._set_state(RunState.IDLE)
        total = self.trainer.config.steps if self.trainer is not None else 0
        self.bar.show_finished(event.step, total, event.reason)
        message = event.message
        if event.failed and snapshot is not None:
            message += " The weights are as they were before the failing step: Start resumes"
            if self.session.can_roll_back:
                message += ", Roll back reopens the last good checkpoint."
                self.bar.rollback_button.setText(f"Roll back to {self.last_good_checkpoint.name}")
                self.bar.rollback_button.show()
            else:
                message += "."
        self.show_message(message, NoticeLevel.ERROR if event.failed else NoticeLevel.INFO)
        for path in unwritten:  # the run ended before its next step boundary: save what it left
            self.save_checkpoint_to(path)

    def _set_snapshot(self, snapshot: ModelSnapshot | None) -> None:
        self.snapshot = snapshot
        self.modelChanged.emit(snapshot)

    def _apply_paused_switches(self) -> None:
        """Dataset or device changed while paused: the run switches over at the next boundary."""
        self.session.switch(self.bar.dataset.currentText(), self.bar.device.currentText())

    def roll_back(self) -> bool:
        """Reopen the last checkpoint the failed run saved; Start then resumes from it exactly."""
        if self.is_active or self.last_good_checkpoint is None:
            return False
        try:
            checkpoint = self.session.roll_back()
        except CheckpointError as exc:
            self.show_message(f"Cannot roll back: {exc}", NoticeLevel.ERROR)
            return False
        self.bar.rollback_button.hide()
        return self.open_checkpoint(checkpoint, keep_plot=True)

    # --- checkpoints ------------------------------------------------------------------------
    def open_checkpoint(self, checkpoint: Checkpoint, keep_plot: bool = False) -> bool:
        """Show an already validated checkpoint on this page; refused while training."""
        if self.is_active:
            self.show_message("Stop the current run before opening another checkpoint.", NoticeLevel.ERROR)
            return False
        self.form.set_values(checkpoint_settings(checkpoint))
        source = checkpoint.data.spec
        if source:
            self.bar.dataset.setCurrentText(str(source))
        if self._data is None or self._data.source != source:
            self._data = None  # loaded when a view needs it
        self.session.open(checkpoint)
        self.bar.rollback_button.hide()
        self.bar.show_idle(checkpoint.step)  # not the progress of a run that came before
        if not keep_plot:
            self.loss_plot.clear()
            self.forget_history()
            if checkpoint.history is not None:  # drawn as it was; a continued run extends it
                self.loss_plot.load_curves(checkpoint.history.curves)
        if checkpoint.history is not None:
            self.show_history(checkpoint.history)  # before the weights: their views come last
        self._set_snapshot(ModelSnapshot(self.family, checkpoint.config, checkpoint.tensors, checkpoint.step))
        name = checkpoint.path.name if checkpoint.path else "checkpoint"
        self.show_message(f"Opened {name}: {self.title} at step {checkpoint.step:,}.")
        return True

    def save_checkpoint_to(self, path: str | Path) -> bool:
        """Save the current model; True once the file is written.

        During a run the trainer's thread writes it at the next step boundary: this returns
        False at once and the page reports the outcome later. Every checkpoint the user asked
        for is announced by ``checkpointWritten`` once it is on disk, every failure by
        ``saveFailed`` (with the reason, also on the status line)."""
        path = Path(path)
        if not path.parent.is_dir():  # said at once, and naming the file the user chose
            self._save_failed(f"Cannot save {path.name}: the folder {path.parent} does not exist.")
            return False
        if self.is_active:
            self._pending_saves.append(path)
            self.session.save(path)  # the outcome arrives as a CheckpointEvent or SaveFailedEvent
            self.show_message(f"Saving {path.name} at the next step…")
            return False
        try:
            self.session.save(path)
        except (CheckpointError, NothingToSave) as exc:
            self._save_failed(str(exc))
            return False
        self._saved(path, f"Saved {path.name}.")
        return True

    # --- exports ----------------------------------------------------------------------------
    def exports(self) -> list[tuple[str, str, Any]]:
        """(menu label, file suffix, function(path)) for File → Export; pages add their views."""
        return [
            ("Loss curves as CSV…", "csv", self.export_metrics_csv),
            ("Loss plot as PNG…", "png", self.export_loss_plot),
        ]

    def export_metrics_csv(self, path: str | Path) -> None:
        """Every plotted metric by step (histories past 20,000 points are thinned; the CLI's
        ``--metrics`` keeps every step)."""
        check_exportable(self.loss_plot.has_data(), "loss curve", LOSS_HINT)
        self.loss_plot.write_csv(path)

    def export_loss_plot(self, path: str | Path) -> None:
        check_exportable(self.loss_plot.has_data(), "loss curve", LOSS_HINT)
        export_widget_png(self.loss_plot.plot, path)

    def has_model(self) -> bool:
        return self.snapshot is not None

    # --- shutdown ----------------------------------------------------------------------------
    def stop_background_work(self) -> None:
        """Stop the page's own timers (generation, animations) before the window closes."""

    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """Stop any run and wait for its thread; True when nothing is left running."""
        self.stop_background_work()
        thread = self.thread
        if thread is None:
            return True
        for signal, _slot in self._thread_slots(thread):
            try:
                signal.disconnect()
            except (RuntimeError, TypeError):
                pass
        finished = thread.shutdown(timeout_ms)
        if finished:  # its FinishedEvent will not be heard: end the session's run here
            self.thread = None
            self.session.end()
        return finished
