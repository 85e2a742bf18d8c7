"""A run session: one family's model across its training runs, for the GUI and the CLI alike.

The session decides what each run starts from, and is the only object that touches its
trainer from outside the trainer's thread (and then only through ``RunControl.submit``):

    begin(request)  on the caller's thread: settings, dataset, steps → the run's RunControl
    build(sink)     on the thread that trains: the run's Trainer, fresh or continuing
    end()           on the caller's thread, once that thread is done: the model's snapshot

Continuing is decided in ``build``, in this order:
  1. the last run's trainer, as is, when the model, data, device and batch size are unchanged
     (optimiser moments kept; other settings and the task's hyperparameters are updated);
  2. the last run's weights and step with a fresh optimiser, when only other settings changed;
  3. an opened checkpoint (weights and, with its sidecar, the exact training state) when the
     settings describe its model;
  4. otherwise a new model, with a notice when it replaces one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.engine.checkpoint import Checkpoint, CheckpointError, read_checkpoint, save_checkpoint
from app.engine.control import RunControl
from app.engine.data import DataBundle, load_dataset
from app.engine.data.download import Progress, percent_steps, reporting_downloads
from app.engine.errors import ConfigError, GenplayError
from app.engine.events import CheckpointEvent, ModelSnapshot, NoticeEvent, SaveFailedEvent
from app.engine.setup import build_configs, configs_from_checkpoint, create_task, dataset_for_checkpoint
from app.engine.tasks import get_task_class
from app.engine.train_config import TrainConfig
from app.engine.trainer import Sink, Trainer
from models.config_fields import config_to_dict

# settings that, when they change, need a new optimiser or new batches: the trainer is rebuilt
REBUILDING_SETTINGS = ("steps", "device", "batch_size")
# a checkpoint's settings that stay the user's when it is opened (not the file's)
USERS_OWN_SETTINGS = ("steps", "checkpoint_every", "device")

SHAPE_CHANGED = "The model's shape changed: training a new model from scratch."
SETTINGS_CHANGED = "Settings changed: continuing the same weights with a fresh optimiser."
NOTHING_TO_SAVE = "Nothing to save yet: train a model or open a checkpoint first."


class NothingToSave(GenplayError):
    """No model yet: neither a run nor an opened checkpoint."""


def _discard(event: object) -> None:
    """The sink between runs: nobody is listening."""


def checkpoint_settings(checkpoint: Checkpoint) -> dict[str, Any]:
    """The settings a checkpoint's run used (model, task and training) as key=value, less
    those that stay the user's choice when it is opened (steps, autosaves, device)."""
    hparams, train = configs_from_checkpoint(checkpoint)
    values = {**train.to_dict(), **dataclasses.asdict(hparams), **config_to_dict(checkpoint.config)}
    return {k: v for k, v in values.items() if k not in USERS_OWN_SETTINGS}


@dataclass(frozen=True)
class RunRequest:
    """The next run: ``steps`` more steps on ``dataset`` with ``settings`` (key=value: training,
    model and task settings; the rest keep the continued run's values, else the defaults)."""

    steps: int
    dataset: str | None = None  # None: the continued checkpoint's own data, else the family's default
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Plan:
    """A begun run: the request and what it may continue, fixed on the caller's thread."""

    request: RunRequest
    previous: Trainer | None
    checkpoint: Checkpoint | None
    control: RunControl


class RunSession:
    def __init__(
        self,
        family: str,
        *,
        autosave: Callable[[DataBundle], Path] | None = None,
        metrics_path: str | Path | None = None,
        snapshot_interval: float | None = None,
        visuals_interval: float | None = None,
        progress_interval: float = 0.1,
    ) -> None:
        """``autosave(data)`` names the file each run checkpoints to (None: no autosaves)."""
        self.family = family
        self.task_cls = get_task_class(family)
        self._autosave = autosave
        self._metrics_path = metrics_path
        self._intervals = {"snapshot_interval": snapshot_interval, "visuals_interval": visuals_interval,
                           "progress_interval": progress_interval}  # fmt: skip
        self._trainer: Trainer | None = None  # the last finished run's
        self._checkpoint: Checkpoint | None = None  # opened: the next runs may continue it
        self._last_good: Path | None = None
        self._plan: _Plan | None = None  # the run begun and not yet ended
        self._run_trainer: Trainer | None = None  # that run's trainer, once built
        self._start_step = 0
        self._run_dataset = self._run_device = ""
        self._sink: Sink = _discard

    # --- what the session holds -------------------------------------------------------------
    @property
    def trainer(self) -> Trainer | None:
        """The trainer of the last finished run (None after ``new_model`` or ``open``)."""
        return self._trainer

    @property
    def checkpoint(self) -> Checkpoint | None:
        """The opened checkpoint that runs may continue."""
        return self._checkpoint

    @property
    def control(self) -> RunControl | None:
        """The current run's control; None between runs."""
        return self._plan.control if self._plan is not None else None

    @property
    def active(self) -> bool:
        return self._plan is not None

    @property
    def data(self) -> DataBundle | None:
        """The data of the current run once built, else of the last run (None before any)."""
        trainer = self._run_trainer or self._trainer
        return trainer.data if trainer is not None else None

    @property
    def last_good_checkpoint(self) -> Path | None:
        """The newest checkpoint the current model's runs wrote (or the opened file)."""
        return self._last_good

    @property
    def can_roll_back(self) -> bool:
        return self._last_good is not None and self._last_good.exists()

    # --- the model between runs -------------------------------------------------------------
    def _refuse_while_active(self, what: str) -> None:
        if self.active:
            raise RuntimeError(f"{what} is refused during a run")

    def open(self, checkpoint: Checkpoint) -> None:
        """Forget the last run's model: the next run continues ``checkpoint`` when its settings allow."""
        self._refuse_while_active("opening a checkpoint")
        self._trainer, self._checkpoint = None, checkpoint

    def new_model(self) -> None:
        """The next run starts from freshly initialised weights."""
        self._refuse_while_active("a new model")
        self._trainer = self._checkpoint = None

    def roll_back(self) -> Checkpoint:
        """Reopen the last good checkpoint (after a failed run); raises CheckpointError."""
        self._refuse_while_active("rolling back")
        if self._last_good is None:
            raise CheckpointError("there is no checkpoint to roll back to.")
        checkpoint = read_checkpoint(self._last_good)
        self.open(checkpoint)
        return checkpoint

    # --- a run --------------------------------------------------------------------------------
    def begin(
        self, request: RunRequest, *, start_paused: bool = False, action: str | None = None
    ) -> RunControl:
        """Arm the next run (on the caller's thread); ``build`` then makes its trainer.

        ``start_paused`` begins paused after one step, or one task ``action``."""
        self._refuse_while_active("beginning another run")
        if self._trainer is None and self._checkpoint is not None:
            refusal = self.task_cls.training_refusal(self._checkpoint)
            if refusal is not None:
                raise ConfigError(refusal[0].upper() + refusal[1:])
        if self._trainer is None:  # a new model: only its own checkpoints (or the opened file) count
            self._last_good = self._checkpoint.path if self._checkpoint is not None else None
        control = RunControl(start_paused=start_paused)
        if start_paused:
            control.request_action(action)
        self._plan = _Plan(request, self._trainer, self._checkpoint, control)
        self._run_trainer = None
        self._run_dataset = (request.dataset or "").strip()
        self._run_device = str(request.settings.get("device", ""))
        return control

    def build(self, sink: Sink, downloads: Progress | None = None) -> Trainer:
        """The begun run's trainer, built (or re-armed) on the thread that will train it.

        Everything the run reports goes to ``sink``; ``downloads`` hears the progress of a
        dataset download (default: NoticeEvents to ``sink``)."""
        plan = self._plan
        if plan is None:
            raise RuntimeError("build() needs a run begun with begin()")
        self._sink = sink
        settings = {k: v for k, v in plan.request.settings.items() if k != "steps"}
        base_hparams, base_train = None, None  # what the settings change: the continued run's
        if plan.previous is not None:
            base_train = plan.previous.config
        elif plan.checkpoint is not None:
            base_hparams, base_train = configs_from_checkpoint(plan.checkpoint)
        seed = int(settings.get("seed", (base_train or self.task_cls.default_train_config()).seed))
        data = self._data(plan, seed, downloads or percent_steps(lambda text: self._emit(NoticeEvent(text))))
        model_config, hparams, train = build_configs(
            self.family, data, settings, base_hparams=base_hparams, base_train=base_train
        )
        trainer = self._continued(plan, data, model_config, hparams, train)
        self._start_step = trainer.step
        trainer.update_train_config(steps=trainer.step + int(plan.request.steps))
        self._run_trainer = trainer
        return trainer

    def _continued(
        self, plan: _Plan, data: DataBundle, model_config: Any, hparams: Any, train: TrainConfig
    ) -> Trainer:
        """The policy in this module's docstring: what a run with these configs starts from."""
        previous, checkpoint = plan.previous, plan.checkpoint
        reusable = (
            previous is not None
            and previous.model_config == model_config
            and previous.data is data
            and previous.config.device == train.device
            and previous.config.batch_size == train.batch_size
        )
        if reusable:
            previous.answer_to(plan.control)
            kept = {k: v for k, v in train.to_dict().items() if k not in REBUILDING_SETTINGS}
            previous.update_train_config(**kept)
            previous.set_hparams(**dataclasses.asdict(hparams))
            return previous
        task = create_task(self.family, data, model_config, hparams, train)
        autosave = self._autosave(data) if self._autosave is not None else None
        trainer = Trainer(task, control=plan.control, sink=self._emit, checkpoint_path=autosave,
                          metrics_path=self._metrics_path, **self._intervals)  # fmt: skip
        if previous is not None and previous.model_config == model_config:
            trainer.adopt_weights(previous)
            self._emit(NoticeEvent(SETTINGS_CHANGED))
        elif checkpoint is not None and checkpoint.config == model_config:
            trainer.restore(checkpoint)
        elif previous is not None or checkpoint is not None:
            self._emit(NoticeEvent(SHAPE_CHANGED))
        return trainer

    def _data(self, plan: _Plan, seed: int, downloads: Progress) -> DataBundle:
        """The last run's data when the request names it again, else loaded."""
        spec, previous = plan.request.dataset, plan.previous
        if previous is not None and spec is not None and previous.data.source == spec.strip():
            return previous.data
        with reporting_downloads(downloads):
            if previous is None and plan.checkpoint is not None:
                return dataset_for_checkpoint(plan.checkpoint, spec, seed)
            return load_dataset(self.task_cls.default_dataset if spec is None else spec, seed=seed)

    def _emit(self, event: object) -> None:
        """Every trainer of this session reports here; it goes on to the current run's sink."""
        if isinstance(event, CheckpointEvent) and self._sink is not _discard:
            self._last_good = Path(event.path)  # a rollback point of this model
        self._sink(event)

    def end(self) -> ModelSnapshot | None:
        """The run's thread has finished: keep its trainer for the next run. Returns a snapshot
        of the model it leaves, or None when it never built one (a failed setup)."""
        trainer = self._run_trainer
        self._plan, self._run_trainer, self._sink = None, None, _discard
        if trainer is None:
            return None
        self._trainer = trainer
        return trainer.snapshot()

    # --- while a run is going (each change runs on the trainer's thread, between steps) -------
    def _submit(self, work: Callable[[Trainer], None]) -> bool:
        plan = self._plan
        if plan is None:
            return False

        def on_trainer_thread() -> None:
            if self._run_trainer is not None:
                work(self._run_trainer)

        plan.control.submit(on_trainer_thread)
        return True

    def change_setting(self, key: str, value: Any) -> bool:
        """A live setting changed (``steps``: how many this run trains); False when no run."""
        if key in {f.name for f in dataclasses.fields(self.task_cls.hparams_class)}:
            return self._submit(lambda trainer: trainer.set_hparams(**{key: value}))
        if key == "steps":  # counted from where this run began (known once it is built)
            return self._submit(
                lambda trainer: trainer.update_train_config(steps=self._start_step + int(value))
            )
        return self._submit(lambda trainer: trainer.update_train_config(**{key: value}))

    def switch(self, dataset: str, device: str) -> bool:
        """Train on another dataset (of the same shape) or device from the next step; False
        when nothing changes."""
        dataset = dataset.strip()
        if not self.active or (dataset, device) == (self._run_dataset, self._run_device):
            return False
        new_data = dataset != self._run_dataset
        self._run_dataset, self._run_device = dataset, device

        def switch(trainer: Trainer) -> None:
            if new_data:
                trainer.switch_data(load_dataset(dataset, seed=trainer.config.seed))
            if device != trainer.config.device:
                trainer.switch_device(device)

        return self._submit(switch)

    # --- saving ---------------------------------------------------------------------------------
    def save(self, path: str | Path) -> bool:
        """Write the current model and its resumable state to ``path``.

        Between runs: True once written (raises CheckpointError, or NothingToSave without a
        model). During a run the trainer's thread writes it at the next step boundary: this
        returns False at once; the outcome reaches the run's sink as a CheckpointEvent, or a
        SaveFailedEvent with the reason."""
        path = Path(path)
        if self.active:

            def save(trainer: Trainer) -> None:
                try:
                    trainer.save(path)
                except CheckpointError as exc:
                    self._emit(SaveFailedEvent(trainer.step, str(path), str(exc)))
                except Exception as exc:  # noqa: BLE001 - every failure reaches the user
                    reason = f"Could not save {path.name}: {type(exc).__name__}: {exc}"
                    self._emit(SaveFailedEvent(trainer.step, str(path), reason))

            self._submit(save)
            return False
        if self._trainer is not None:
            self._trainer.save(path)
        elif self._checkpoint is not None:
            ckpt = self._checkpoint
            save_checkpoint(path, family=ckpt.family, config=ckpt.config, tensors=ckpt.tensors,
                            step=ckpt.step, metrics=ckpt.metrics, data=ckpt.data,
                            tokenizer=ckpt.tokenizer, train=ckpt.train)  # fmt: skip
        else:
            raise NothingToSave(NOTHING_TO_SAVE)
        return True
