"""The family-agnostic training loop.

    while step < total:
        wait at the boundary (pause / single step / action / stop / submitted work)
        lr ← schedule(step);  metrics ← task.train_step(next_batch)
        guard NaN/Inf; log; validate (early stopping); checkpoint; publish

Everything the loop reports goes to one ``sink(event)`` callable (see ``events``);
the CLI prints a progress bar from it, the GUI worker forwards it as Qt signals.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from app.engine.checkpoint import Checkpoint, CheckpointError, save_checkpoint
from app.engine.checkpoint.run_state import (
    new_state_name,
    optimizer_from_tensors,
    optimizer_to_tensors,
    read_run_state,
    remove_stale_states,
    save_run_state,
)
from app.engine.control import CommandKind, RunControl
from app.engine.devices import resolve_device
from app.engine.distributed.group import average_over_ranks
from app.engine.errors import GenplayError, TrainingError
from app.engine.events import (
    CheckpointEvent,
    FinishedEvent,
    FinishReason,
    MetricsEvent,
    MetricsKind,
    ModelSnapshot,
    NoticeEvent,
    NoticeLevel,
    ProgressEvent,
    RunState,
    SnapshotEvent,
    VisualsEvent,
)
from app.engine.history import HistoryRecorder
from app.engine.history.recorder import RECORDS_PER_RUN
from app.engine.metrics_log import MetricsLog
from app.engine.optim_step import NonFiniteError, check_finite
from app.engine.schedules import lr_factor
from app.engine.tasks.base import Task
from app.engine.train_config import TrainConfig

Sink = Callable[[Any], None]


def _is_out_of_memory(exc: BaseException) -> bool:
    oom = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", ())
    return isinstance(exc, MemoryError) or (bool(oom) and isinstance(exc, oom))


class Trainer:
    def __init__(
        self,
        task: Task,
        *,
        control: RunControl | None = None,
        sink: Sink | None = None,
        checkpoint_path: str | Path | None = None,
        metrics_path: str | Path | None = None,
        snapshot_interval: float | None = None,
        visuals_interval: float | None = None,
        progress_interval: float = 0.1,
    ) -> None:
        self.task = task
        self.config: TrainConfig = task.train_config
        self.control = control or RunControl()
        self.sink = sink if sink is not None else (lambda event: None)
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
        self.metrics_path = Path(metrics_path) if metrics_path else None
        self.snapshot_interval = snapshot_interval
        self.visuals_interval = visuals_interval
        self.progress_interval = progress_interval
        self.step = 0
        self.batches = task.training_batches(self.config.seed)
        self._val_batches: list | None = None
        self.best_value: float | None = None
        self.best_step = 0
        # a CPU copy of the weights at best_step, kept only while early stopping may restore them
        self.best_tensors: dict[str, torch.Tensor] | None = None
        self.bad_validations = 0
        self.last_metrics: dict[str, float] = {}
        self.last_val: dict[str, float] = {}
        self.last_checkpoint: Path | None = None
        self.save_error: str | None = None  # why the latest save failed; None once one succeeds
        self._rate_window: deque[tuple[float, int]] = deque(maxlen=64)
        self._next_snapshot = self._next_visuals = self._next_progress = 0.0
        self.history = self._new_history()

    def _new_history(self) -> HistoryRecorder:
        cfg = self.config
        every = max(1, cfg.steps // RECORDS_PER_RUN)
        return HistoryRecorder(cfg.history_points, int(cfg.history_mb * 1_000_000), every)

    def _record_history(self, force: bool = False) -> None:
        """The task's records (frames, KL, captures) for the checkpoint's history, when due."""
        if force or self.history.due(self.step):
            self.task.record_history(self.history, self.step)
            self.history.mark_recorded(self.step)

    # --- what a session may read or change between runs ----------------------------------
    @property
    def data(self) -> Any:
        """The DataBundle this run trains on."""
        return self.task.data

    @property
    def model_config(self) -> Any:
        return self.task.model_config

    def snapshot(self) -> ModelSnapshot:
        """A CPU copy of the current weights, safe to hand to another thread."""
        return self.task.snapshot(self.step)

    def answer_to(self, control: RunControl) -> None:
        """Another run of this same trainer (model, optimiser and data kept) obeys ``control``."""
        self.control = control

    def adopt_weights(self, other: Trainer) -> None:
        """Start from ``other``'s weights and step, with this trainer's own (fresh) optimiser."""
        self.task.load_model_tensors(other.task.model_tensors())
        self.step = other.step
        self.history.continue_from(other.history.history())

    # --- settings changed between steps (call through ``control.submit``) ------------------
    def set_hparams(self, **changes: Any) -> None:
        """Change task hyperparameters (β, λ, n_critic, …); they apply from the next step."""
        self.task.set_hparams(**changes)

    def update_train_config(self, **changes: Any) -> None:
        """Change run settings between steps; the model and optimiser state are kept."""
        candidate = TrainConfig.from_dict({**self.config.to_dict(), **changes})
        candidate.validate()
        device_changed = candidate.device != self.config.device
        batch_changed = candidate.batch_size != self.config.batch_size
        wrapping = (candidate.precision, candidate.compile)
        wrapping_changed = wrapping != (self.config.precision, self.config.compile)
        for key, value in changes.items():
            if key != "device":
                setattr(self.config, key, value)
        if "lr" in changes:
            self.task.set_base_lr(candidate.lr)
        if device_changed:
            self.switch_device(candidate.device)  # wraps the training calls again
        elif wrapping_changed:
            self.task.prepare_training_calls()
        elif batch_changed:
            self._rebuild_batches(keep_position=False)
        if "history_points" in changes or "history_mb" in changes:
            self.history.resize(candidate.history_points, int(candidate.history_mb * 1_000_000))

    def switch_device(self, name: str) -> None:
        """Move the model, optimiser state and data to another device, keeping the run."""
        device = resolve_device(name)
        self.task.move_to(device)
        self.config.device = name
        self._rebuild_batches(keep_position=True)

    def switch_data(self, data: Any) -> None:
        """Continue the run on another dataset of the same shape (fresh batch order)."""
        self.task.check_data(data, self.task.model_config)
        self.task.data = data
        self._rebuild_batches(keep_position=False)
        self.sink(NoticeEvent(f"Now training on {data.name}."))

    def _rebuild_batches(self, keep_position: bool) -> None:
        state = self.batches.state_dict() if keep_position else None
        self.batches = self.task.training_batches(self.config.seed + self.step)
        if state is not None:
            self.batches.load_state_dict(state)
        self._val_batches = None

    # --- one step -------------------------------------------------------------------------
    def _train_one(self) -> dict[str, float]:
        cfg = self.config
        factor = lr_factor(cfg.schedule, self.step, cfg.steps, cfg.warmup_steps, cfg.min_lr_ratio)
        lr = self.task.apply_lr_factor(factor)
        with self.task.streams.training_step(self.task.model):
            metrics = self.task.train_step(self.batches.next, self.step)
        metrics = average_over_ranks(metrics, self.task.rank)
        for name, value in metrics.items():
            check_finite(name, value, self.step)
        self.step += 1
        metrics["lr"] = lr
        return metrics

    def validation_batches(self) -> list:
        if self._val_batches is None:
            self._val_batches = list(self.task.validation_batches())
        return self._val_batches

    def validate(self) -> dict[str, float]:
        values = self.task.evaluate(self.validation_batches())
        self.last_val = {f"val_{k}": v for k, v in values.items()}
        return self.last_val

    def _early_stop_due(self) -> bool:
        cfg = self.config
        value = self.last_val.get(cfg.early_stop_metric)
        if value is None or not math.isfinite(value):
            return False
        if self.best_value is None or value < self.best_value - cfg.early_stop_min_delta:
            self.best_value, self.best_step, self.bad_validations = value, self.step, 0
            if cfg.early_stop_patience > 0 and cfg.early_stop_restore_best:
                self.best_tensors = {
                    k: v.detach().to("cpu", copy=True) for k, v in self.task.model_tensors().items()
                }
            return False
        self.bad_validations += 1
        return cfg.early_stop_patience > 0 and self.bad_validations >= cfg.early_stop_patience

    # --- the loop -------------------------------------------------------------------------
    def run(self, until: int | None = None) -> FinishedEvent:
        """Train until ``until`` (default: ``config.steps``) or a stop; returns how it ended."""
        log = MetricsLog(self.metrics_path, append=self.step > 0) if self.metrics_path else None
        try:
            finished = self._loop(until, log)
        finally:
            if log:
                log.close()
        self._publish(force=True)
        self.sink(finished)
        return finished

    def _loop(self, until: int | None, log: MetricsLog | None) -> FinishedEvent:
        cfg = self.config
        reported_pause = False
        self.history.every = max(1, cfg.steps // RECORDS_PER_RUN)  # the run's length may have changed
        if self.step < min(until or cfg.steps, cfg.steps):
            self._record_history()  # how the model starts (step 0 of a new one)
        while self.step < min(until or cfg.steps, cfg.steps):
            if self.control.paused and not reported_pause:
                self._publish(force=True)  # the views show exactly the state the run pauses in
                self._progress(RunState.PAUSED)
                reported_pause = True
            command = self.control.next_command(self._run_pending)
            if command.kind == CommandKind.STOP:
                return self._finish(FinishReason.STOPPED, f"Stopped at step {self.step}.")
            reported_pause = False
            try:
                if command.kind == CommandKind.ACTION:
                    with self.task.streams.training_step(self.task.model):
                        metrics = self.task.run_action(command.action, self.batches.next, self.step)
                    self.sink(MetricsEvent(self.step, metrics, MetricsKind.ACTION))
                    self._publish(force=True)
                    continue
                metrics = self._train_one()
            except NonFiniteError as exc:
                return self._finish(FinishReason.NON_FINITE, str(exc))
            except GenplayError as exc:
                return self._finish(FinishReason.ERROR, f"Training stopped at step {self.step}: {exc}")
            except Exception as exc:  # noqa: BLE001 - any failure in user-driven training
                if _is_out_of_memory(exc):
                    message = (f"Training stopped at step {self.step}: the device ran out of "
                               "memory. Try a smaller batch size or model.")  # fmt: skip
                else:
                    message = (f"Training stopped at step {self.step}: "
                               f"{type(exc).__name__}: {exc}")  # fmt: skip
                return self._finish(FinishReason.ERROR, message)
            self.last_metrics = metrics
            self.sink(MetricsEvent(self.step, metrics))
            self.history.add_metrics(self.step, metrics, MetricsKind.TRAIN)
            self._record_history()
            logged = dict(metrics)
            if cfg.val_every and (self.step % cfg.val_every == 0 or self.step == cfg.steps):
                val = self.validate()
                self.sink(MetricsEvent(self.step, val, MetricsKind.VAL))
                self.history.add_metrics(self.step, val, MetricsKind.VAL)
                logged.update(val)
                if self._early_stop_due():
                    if log:
                        log.write(self.step, logged)
                    return self._finish(
                        FinishReason.EARLY_STOPPED,
                        f"Stopped early at step {self.step}: {cfg.early_stop_metric} has not "
                        f"improved by more than {cfg.early_stop_min_delta:g} for "
                        f"{self.bad_validations} validations (best {self.best_value:.4g} at "
                        f"step {self.best_step}).{self._restore_best()}",
                    )
            if log:
                log.write(self.step, logged)
            if cfg.checkpoint_every and self.checkpoint_path and self.step % cfg.checkpoint_every == 0:
                self._checkpoint()
            self._publish()
        return self._finish(FinishReason.COMPLETED, f"Finished {self.step} steps.")

    def _restore_best(self) -> str:
        """After an early stop: the weights of the best validation, if kept; what was done, said."""
        if not self.config.early_stop_restore_best:
            return " The weights are the last step's."
        if self.best_tensors is None:  # the best came before a resume: its weights were not kept
            return " The best weights came before this session and were not kept: these are the last step's."
        self.task.load_model_tensors(self.best_tensors)
        self.best_tensors = None
        return f" The model holds the weights of step {self.best_step}, its best validation."

    def _finish(self, reason: FinishReason, message: str) -> FinishedEvent:
        if not reason.failed and self.step > 0:
            self._record_history(force=True)  # the history ends with the model as it is saved
        if not reason.failed and self.checkpoint_path and self.step > 0:
            if self.last_checkpoint is None or self._saved_step != self.step:
                self._checkpoint()
        metrics = {**self.last_metrics, **self.last_val}
        return FinishedEvent(self.step, reason, message, metrics)

    def _checkpoint(self) -> None:
        try:
            self.save(self.checkpoint_path)
        except CheckpointError as exc:
            self.save_error = str(exc)
            self.sink(NoticeEvent(f"Checkpoint not saved: {exc}", NoticeLevel.ERROR))

    def _run_pending(self, work: list[Callable[[], None]]) -> None:
        for item in work:
            try:
                item()
            except Exception as exc:  # noqa: BLE001 - report, keep the run alive
                self.sink(NoticeEvent(str(exc), NoticeLevel.ERROR))

    # --- publishing -----------------------------------------------------------------------
    def _publish(self, force: bool = False) -> None:
        now = time.perf_counter()
        if self.snapshot_interval is not None and (force or now >= self._next_snapshot):
            self._next_snapshot = now + self.snapshot_interval
            self.sink(SnapshotEvent(self.step, self.task.snapshot(self.step)))
        if self.visuals_interval is not None and (force or now >= self._next_visuals):
            self._next_visuals = now + self.visuals_interval
            self.sink(VisualsEvent(self.step, self.task.visuals()))
        if force or now >= self._next_progress:
            self._next_progress = now + self.progress_interval
            self._progress()

    def _progress(self, state: RunState = RunState.RUNNING) -> None:
        now = time.perf_counter()
        window = self._rate_window
        if state == RunState.RUNNING:
            window.append((now, self.step))
        else:
            window.clear()
        rate = 0.0
        if len(window) >= 2 and window[-1][0] > window[0][0]:
            rate = (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0])
        remaining = max(0, self.config.steps - self.step)
        eta = remaining / rate if rate > 0 else float("nan")
        self.sink(ProgressEvent(self.step, self.config.steps, rate, eta, state))

    # --- saving and resuming --------------------------------------------------------------
    _saved_step = -1

    def save(self, path: str | Path) -> Path:
        """Write the checkpoint and its resumable-state sidecar (sidecar first)."""
        path = Path(path)
        state_name = new_state_name(path)
        tensors, info = self._run_state()
        save_run_state(path.parent / state_name, tensors, info, checkpoint=path)
        save_checkpoint(
            path,
            family=self.task.family,
            config=self.task.model_config,
            tensors=self.task.model_tensors(),
            step=self.step,
            metrics={**self.last_metrics, **self.last_val},
            data=self.task.data.describe(),
            tokenizer=self.task.tokenizer_metadata(),
            train=self.task.describe_settings(),
            state_file=state_name,
            history=self.history.history(),
        )
        remove_stale_states(path, keep=state_name)
        self.last_checkpoint, self._saved_step = path, self.step
        self.save_error = None
        self.sink(CheckpointEvent(self.step, str(path)))
        return path

    def _run_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors: dict[str, torch.Tensor] = {}
        optim_info = []
        for i, optimizer in enumerate(self.task.optimizers):
            opt_tensors, info = optimizer_to_tensors(optimizer, f"optim{i}")
            tensors.update(opt_tensors)
            optim_info.append(info)
        tensors.update(self.task.streams.state_tensors())
        for key, value in self.batches.state_dict().items():
            tensors[f"batches.{key}"] = value
        for key, value in self.task.extra_state().items():
            tensors[f"extra.{key}"] = value.detach().to("cpu").contiguous()
        info = {
            "family": self.task.family,
            "step": self.step,
            "optimizers": optim_info,
            "best_value": self.best_value,
            "best_step": self.best_step,
            "bad_validations": self.bad_validations,
        }
        return tensors, info

    def restore(self, checkpoint: Checkpoint) -> bool:
        """Continue from ``checkpoint``: weights, and if its sidecar is there, the exact run state.

        Returns True when the full training state was restored.
        """
        self.task.load_model_tensors(checkpoint.tensors)
        self.step = checkpoint.step
        self.history.continue_from(checkpoint.history)
        self.last_metrics = {k: v for k, v in checkpoint.metrics.items() if not k.startswith("val_")}
        state_path = None
        if checkpoint.state_file and checkpoint.path is not None:
            state_path = checkpoint.path.parent / checkpoint.state_file
        if state_path is None or not state_path.is_file():
            self.sink(NoticeEvent(
                f"No training state found beside the checkpoint; continuing from step "
                f"{self.step} with a fresh optimiser.", NoticeLevel.WARNING))  # fmt: skip
            return False
        tensors, info = read_run_state(state_path)
        if info.get("family") != checkpoint.family or info.get("step") != checkpoint.step:
            raise CheckpointError(f"{state_path.name} does not belong to this checkpoint.")
        optim_info = info.get("optimizers", [])
        if len(optim_info) != len(self.task.optimizers):
            raise CheckpointError(f"{state_path.name} has a different number of optimisers.")
        for i, optimizer in enumerate(self.task.optimizers):
            optimizer_from_tensors(optimizer, f"optim{i}", tensors, optim_info[i])
            for group in optimizer.param_groups:
                group.setdefault("base_lr", group["lr"])
        try:
            self.task.streams.load_state_tensors(tensors)
            prefix = "batches."
            self.batches.load_state_dict(
                {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
            )
            self.task.load_extra_state({k[6:]: v for k, v in tensors.items() if k.startswith("extra.")})
        except (KeyError, RuntimeError, ValueError) as exc:
            raise CheckpointError(f"{state_path.name} has an unusable training state ({exc}).") from None
        self.best_value = info.get("best_value")
        self.best_step = int(info.get("best_step") or 0)
        self.bad_validations = int(info.get("bad_validations") or 0)
        return True


__all__ = ["Trainer", "TrainingError"]
