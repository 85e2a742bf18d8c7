"""What every family page shares: the training bar, settings, the live loss plot, the
training thread, and opening/saving checkpoints.

Ownership rule: while a ``TrainingThread`` runs, only that thread touches the task
and its model. The page's views use ``snapshot`` (a CPU copy the worker publishes a
few times a second, or the weights of an opened checkpoint) through ``modelChanged``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGroupBox, QScrollArea, QVBoxLayout, QWidget

from app.engine.checkpoint import Checkpoint, CheckpointError, read_checkpoint, save_checkpoint
from app.engine.control import RunControl
from app.engine.data import BUILTIN_DATASETS, DataBundle, load_dataset
from app.engine.data.download import percent_steps, reporting_downloads
from app.engine.errors import GenplayError
from app.engine.events import (
    CheckpointEvent,
    FinishedEvent,
    ModelSnapshot,
    NoticeEvent,
    ProgressEvent,
    SnapshotEvent,
    VisualsEvent,
)
from app.engine.paths import autosave_dir
from app.engine.setup import build_configs, configs_from_checkpoint, create_task
from app.engine.tasks import get_task_class
from app.engine.train_config import TrainConfig
from app.engine.trainer import Trainer
from app.ui.training.thread import TrainingThread
from app.ui.widgets.loss_plot import LossPlot
from app.ui.widgets.settings_form import FieldError, FieldSpec, FormField, SettingsForm, form_fields
from app.ui.widgets.training_bar import TrainingBar
from models.config_fields import config_to_dict


class NothingToExport(ValueError):
    """An export that has nothing to write; its text is one sentence for the user."""


NO_MODEL_HINT = "train a model or open a checkpoint first"
LOSS_HINT = "the curves are drawn while a model trains (an opened checkpoint brings none)"


def check_exportable(ready: bool, what: str, hint: str = NO_MODEL_HINT) -> None:
    """Refuse an export of ``what`` (e.g. "latent map") with one sentence unless ``ready``."""
    if not ready:
        raise NothingToExport(f"There is no {what} to export yet: {hint}.")


def export_widget_png(widget: QWidget, path: str | Path, ready: bool = True, what: str = "picture",
                      hint: str = NO_MODEL_HINT) -> None:  # fmt: skip
    """Save what ``widget`` shows as a PNG, at its on-screen size; refused unless ``ready``
    (the view shows something), so no blank picture is ever written."""
    check_exportable(ready, what, hint)
    if not widget.grab().save(str(path), "PNG"):
        raise OSError(f"could not write {Path(path).name}")


def guess_data_kind(spec: str) -> str | None:
    """ "points", "images" or "text" for a built-in name or a path, without loading it (None: unknown)."""
    spec = spec.strip()
    if spec in BUILTIN_DATASETS:
        return BUILTIN_DATASETS[spec].kind
    path = Path(spec).expanduser()
    if path.is_dir():
        return "images"  # IDX files or a folder of pictures
    if path.suffix.lower() == ".txt" and path.is_file():
        return "text"
    if path.suffix.lower() == ".npy" and path.is_file():
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)  # reads the header only
        except (OSError, ValueError):
            return None
        return "points" if array.ndim == 2 and array.shape[1] == 2 else "images"
    return None


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
    FieldSpec("checkpoint_every", "Autosave every",
              "Steps between autosaved checkpoints (a rollback point); 0 = only at the end."),
    FieldSpec("seed", "Seed", "Seeds the data split, the initial weights and the batches."),
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
    metricsArrived = Signal(list)  # [(step, kind, metrics)]
    runStateChanged = Signal(str)  # idle | starting | running | paused
    messageShown = Signal(str, str)  # text, level
    checkpointWritten = Signal(str)  # path of a checkpoint the user asked for, once it is on disk
    saveFailed = Signal(str)  # why a checkpoint the user asked for was not written
    _deferredSaveFailed = Signal(str, str)  # path, reason — emitted on the trainer's thread

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"{self.prefix}Page")
        self.task_cls = get_task_class(self.family)
        self.thread: TrainingThread | None = None
        self.trainer: Trainer | None = None
        self.loaded_checkpoint: Checkpoint | None = None
        self.snapshot: ModelSnapshot | None = None
        self.last_good_checkpoint: Path | None = None
        self._data: DataBundle | None = None
        self._run_start_step = 0
        self._run_dataset = ""
        self._run_device = ""

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
        self.form.liveChanged.connect(self._live_setting_changed)
        self.bar.dataset.currentTextChanged.connect(self._check_data_kind)
        self._kind_warning = ""
        self._pending_saves: list[Path] = []  # saves queued for the trainer's thread, not yet written
        self._deferredSaveFailed.connect(self._on_deferred_save_failed)

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
        scroll.setMinimumWidth(300)
        scroll.setMaximumWidth(380)
        return scroll

    # --- state ----------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self.bar.state

    def _set_state(self, state: str) -> None:
        self.bar.set_state(state)
        self.form.set_running(state != "idle")
        self.runStateChanged.emit(state)

    def show_message(self, text: str, level: str = "info") -> None:
        self.bar.set_status(text, level)
        self.messageShown.emit(text, level)

    @property
    def is_active(self) -> bool:
        return self.thread is not None

    # --- data for views --------------------------------------------------------------------
    def current_data(self) -> DataBundle | None:
        """The dataset of the current run, or the chosen one (loaded on first use)."""
        if self.trainer is not None and not self.is_active:
            self._data = self.trainer.task.data
        if self._data is None:
            try:
                self._data = load_dataset(self.bar.dataset.currentText(), seed=0)
            except GenplayError as exc:
                self.show_message(str(exc), "error")
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
            self.show_message(message, "warning")
        elif self._kind_warning and self.bar.status.text() == self._kind_warning:
            self._kind_warning = ""
            self.show_message("Ready.")

    # --- controls -------------------------------------------------------------------------
    def start(self) -> None:
        if self.state == "paused" and self.thread is not None:
            self._apply_paused_switches()
            self.thread.control.resume()
            self._set_state("running")
            self.show_message("Training…")
            return
        if self.state == "idle":
            self._launch(start_paused=False)

    def pause(self) -> None:
        if self.thread is not None and self.state == "running":
            self.thread.control.pause()
            self._set_state("paused")
            self.show_message("Pausing at the next step…")  # "Paused at step N." when it has

    def step_once(self, action: str | None = None) -> None:
        """One training step (or one task action such as a single critic update)."""
        if self.thread is not None and self.state == "paused":
            self._apply_paused_switches()
            self.thread.control.request_action(action)
        elif self.state == "idle":
            self._launch(start_paused=True, action=action)

    def stop(self) -> None:
        if self.thread is not None:
            self.thread.control.stop()
            self.show_message("Stopping at the next step…")

    def new_model(self) -> None:
        if self.is_active:
            return
        self.trainer = None
        self.loaded_checkpoint = None
        self._set_snapshot(None)
        self.loss_plot.clear()
        self.bar.show_idle()
        self.show_message("New model: the next Start begins from freshly initialised weights.")

    # --- launching a run ------------------------------------------------------------------
    def collect_settings(self) -> dict[str, Any]:
        values = self.form.values()
        values["device"] = self.bar.device.currentText()
        return values

    def _launch(self, start_paused: bool, action: str | None = None) -> None:
        self.bar.rollback_button.hide()
        if (
            self.trainer is None
        ):  # a new run: only its own checkpoints (or the opened file) are rollback points
            opened = self.loaded_checkpoint
            self.last_good_checkpoint = opened.path if opened is not None else None
        try:
            settings = self.collect_settings()
        except FieldError as exc:
            self.show_message(f"Cannot start: {exc}.", "error")
            return
        dataset = self.bar.dataset.currentText().strip()
        control = RunControl(start_paused=start_paused)
        if start_paused:
            control.request_action(action)
        self._run_dataset, self._run_device = dataset, settings["device"]
        factory = self._trainer_factory(settings, dataset, self.trainer, self.loaded_checkpoint)
        thread = TrainingThread(factory, control)
        thread.metricsBatch.connect(self._on_metrics)
        thread.progress.connect(self._on_progress)
        thread.visuals.connect(self._on_visuals)
        thread.snapshot.connect(self._on_snapshot)
        thread.notice.connect(self._on_notice)
        thread.checkpointSaved.connect(self._on_checkpoint)
        thread.trainerReady.connect(self._on_trainer_ready)
        thread.runFinished.connect(self._on_finished)
        self.thread = thread
        self._set_state("starting")
        self.show_message("Preparing data and model…")
        thread.start()

    def _trainer_factory(self, settings: dict, dataset: str, previous: Trainer | None,
                         checkpoint: Checkpoint | None):  # fmt: skip
        """A closure that builds or re-arms the trainer on the worker thread."""
        family = self.family
        steps = int(settings.pop("steps"))
        autosave = autosave_dir() / f"{family}.safetensors"
        snapshot_interval, visuals_interval = self.snapshot_interval_s, self.visuals_interval_s

        def factory(control: RunControl, sink) -> Trainer:
            overrides = dict(settings)
            seed = int(overrides.get("seed", 0))
            if previous is not None and previous.task.data.source == dataset:
                data = previous.task.data
            else:
                with reporting_downloads(percent_steps(lambda text: sink(NoticeEvent(text)))):
                    data = load_dataset(dataset, seed=seed)
            base_train = previous.config if previous is not None else None
            model_config, hparams, train = build_configs(family, data, overrides, base_train=base_train)
            reusable = (
                previous is not None
                and previous.task.model_config == model_config
                and previous.task.data is data
                and previous.config.device == train.device
                and previous.config.batch_size == train.batch_size
            )
            if reusable:
                trainer = previous
                trainer.control, trainer.sink = control, sink
                changes = {
                    k: v for k, v in train.to_dict().items() if k not in ("steps", "device", "batch_size")
                }
                trainer.update_train_config(**changes)
                trainer.task.set_hparams(**dataclasses.asdict(hparams))
            else:
                task = create_task(family, data, model_config, hparams, train)
                trainer = Trainer(
                    task,
                    control=control,
                    sink=sink,
                    checkpoint_path=autosave,
                    snapshot_interval=snapshot_interval,
                    visuals_interval=visuals_interval,
                    progress_interval=PROGRESS_INTERVAL_S,
                )
                if previous is not None and previous.task.model_config == model_config:
                    task.load_model_tensors(previous.task.model_tensors())
                    trainer.step = previous.step
                    sink(NoticeEvent("Settings changed: continuing the same weights with a fresh optimiser."))
                elif checkpoint is not None and checkpoint.config == model_config:
                    trainer.restore(checkpoint)
                elif previous is not None or checkpoint is not None:
                    sink(NoticeEvent("The model's shape changed: training a new model from scratch."))
            trainer.config.steps = trainer.step + steps
            return trainer

        return factory

    # --- thread signals (GUI thread) ------------------------------------------------------
    def _on_trainer_ready(self, trainer: Trainer) -> None:
        self._run_start_step = trainer.step
        if trainer.task.data is not self._data:
            self._data = trainer.task.data
        paused = self.thread is not None and self.thread.control.paused
        self._set_state("paused" if paused else "running")
        self.show_message(f"Paused at step {trainer.step:,}." if paused else "Training…")

    def _on_metrics(self, batch: list) -> None:
        for step, _kind, metrics in batch:
            self.loss_plot.append(step, metrics)
        self.metricsArrived.emit(batch)

    def _on_progress(self, event: ProgressEvent) -> None:
        if event.state == "paused":
            if self.thread is None or not self.thread.control.paused:
                return  # sent just before a resume: the run goes on
            if self.state == "running":
                self._set_state("paused")
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
        self.last_good_checkpoint = path
        if path in self._pending_saves:
            self._pending_saves.remove(path)
            self._saved(path, f"Saved {path.name} at step {event.step:,}.")

    def _on_deferred_save_failed(self, path: str, reason: str) -> None:
        if Path(path) in self._pending_saves:
            self._pending_saves.remove(Path(path))
        self._save_failed(reason)

    def _saved(self, path: Path, message: str) -> None:
        self.show_message(message)
        self.checkpointWritten.emit(str(path))

    def _save_failed(self, reason: str) -> None:
        self.show_message(reason, "error")
        self.saveFailed.emit(reason)

    def _on_finished(self, event: FinishedEvent) -> None:
        thread = self.thread
        if thread is not None:
            thread.wait(5000)
            if thread.trainer is not None:
                self.trainer = thread.trainer
                self.trainer.sink = lambda event: None  # the thread and its signals are going away
                self._set_snapshot(self.trainer.task.snapshot(self.trainer.step))
            thread.deleteLater()
        self.thread = None
        unwritten, self._pending_saves = self._pending_saves, []
        self._set_state("idle")
        total = self.trainer.config.steps if self.trainer is not None else 0
        self.bar.show_finished(event.step, total, event.reason)
        level = "error" if event.failed else "info"
        message = event.message
        if event.failed and thread is not None and thread.trainer is not None:
            message += " The weights are as they were before the failing step: Start resumes"
            if self.last_good_checkpoint is not None and self.last_good_checkpoint.exists():
                message += ", Roll back reopens the last good checkpoint."
                self.bar.rollback_button.setText(f"Roll back to {self.last_good_checkpoint.name}")
                self.bar.rollback_button.show()
            else:
                message += "."
        self.show_message(message, level)
        for path in unwritten:  # the run ended before its next step boundary: save what it left
            self.save_checkpoint_to(path)

    def _set_snapshot(self, snapshot: ModelSnapshot | None) -> None:
        self.snapshot = snapshot
        self.modelChanged.emit(snapshot)

    def _apply_paused_switches(self) -> None:
        """Dataset or device changed while paused: switch the run over at the next boundary."""
        thread = self.thread
        dataset = self.bar.dataset.currentText().strip()
        device = self.bar.device.currentText()
        if thread is None or (dataset, device) == (self._run_dataset, self._run_device):
            return
        old_dataset = self._run_dataset
        self._run_dataset, self._run_device = dataset, device

        def switch() -> None:
            trainer = thread.trainer
            if trainer is None:
                return
            if dataset != old_dataset:
                trainer.switch_data(load_dataset(dataset, seed=trainer.config.seed))
            if device != trainer.config.device:
                trainer.switch_device(device)

        thread.control.submit(switch)

    # --- live settings ----------------------------------------------------------------------
    def _live_setting_changed(self, key: str, value: Any) -> None:
        thread = self.thread
        if thread is None:
            return
        spec = self.form.specs[key]

        def apply() -> None:
            trainer = thread.trainer
            if trainer is None:
                return
            if spec.group == "hparams":
                trainer.task.set_hparams(**{key: value})
            elif key == "steps":
                trainer.update_train_config(steps=self._run_start_step + int(value))
            else:
                trainer.update_train_config(**{key: value})

        thread.control.submit(apply)

    def roll_back(self) -> bool:
        """Reopen the last checkpoint the failed run saved; Start then resumes from it exactly."""
        path = self.last_good_checkpoint
        if self.is_active or path is None:
            return False
        try:
            checkpoint = read_checkpoint(path)
        except CheckpointError as exc:
            self.show_message(f"Cannot roll back: {exc}", "error")
            return False
        self.bar.rollback_button.hide()
        return self.open_checkpoint(checkpoint, keep_plot=True)

    # --- checkpoints ------------------------------------------------------------------------
    def open_checkpoint(self, checkpoint: Checkpoint, keep_plot: bool = False) -> bool:
        """Show an already validated checkpoint on this page; refused while training."""
        if self.is_active:
            self.show_message("Stop the current run before opening another checkpoint.", "error")
            return False
        hparams, train = configs_from_checkpoint(checkpoint)
        values = {**train.to_dict(), **dataclasses.asdict(hparams), **config_to_dict(checkpoint.config)}
        for own_choice in ("steps", "checkpoint_every", "device"):  # the user's, not the file's
            values.pop(own_choice, None)
        self.form.set_values(values)
        source = checkpoint.data.get("source") or checkpoint.data.get("name")
        if source:
            self.bar.dataset.setCurrentText(str(source))
        if self._data is None or self._data.source != source:
            self._data = None  # loaded when a view needs it
        self.trainer = None
        self.loaded_checkpoint = checkpoint
        self.bar.rollback_button.hide()
        self.bar.show_idle(checkpoint.step)  # not the progress of a run that came before
        if not keep_plot:
            self.loss_plot.clear()
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
        thread = self.thread
        if thread is not None:
            self._pending_saves.append(path)
            failed = self._deferredSaveFailed

            def save() -> None:  # on the trainer's thread
                try:
                    thread.trainer.save(path)  # success arrives as a CheckpointEvent
                except CheckpointError as exc:
                    failed.emit(str(path), str(exc))
                except Exception as exc:  # noqa: BLE001 - every failure reaches the user
                    failed.emit(str(path), f"Could not save {path.name}: {type(exc).__name__}: {exc}")

            thread.control.submit(save)
            self.show_message(f"Saving {path.name} at the next step…")
            return False
        try:
            if self.trainer is not None:
                self.trainer.save(path)
            elif self.loaded_checkpoint is not None:
                ckpt = self.loaded_checkpoint
                save_checkpoint(
                    path,
                    family=ckpt.family,
                    config=ckpt.config,
                    tensors=ckpt.tensors,
                    step=ckpt.step,
                    metrics=ckpt.metrics,
                    data=ckpt.data,
                    tokenizer=ckpt.tokenizer,
                    train=ckpt.train,
                )
            else:
                self._save_failed("Nothing to save yet: train a model or open a checkpoint first.")
                return False
        except CheckpointError as exc:
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
        signals = (
            thread.metricsBatch,
            thread.progress,
            thread.visuals,
            thread.snapshot,
            thread.notice,
            thread.checkpointSaved,
            thread.trainerReady,
            thread.runFinished,
        )
        for signal in signals:
            try:
                signal.disconnect()
            except (RuntimeError, TypeError):
                pass
        finished = thread.shutdown(timeout_ms)
        if finished:
            self.thread = None
        return finished
