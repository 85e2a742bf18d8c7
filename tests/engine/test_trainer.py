"""The trainer loop: control, schedules, validation, early stopping, NaN guard, failures."""

from __future__ import annotations

import math
import threading

import pytest
import torch

from app.engine.control import RunControl
from app.engine.events import FinishedEvent, MetricsEvent, ProgressEvent, SnapshotEvent, VisualsEvent
from app.engine.metrics_log import read_metrics
from app.engine.schedules import lr_factor
from tests.engine.helpers import EventLog, small_vae_trainer


def test_runs_the_requested_steps_and_reports():
    log = EventLog()
    trainer = small_vae_trainer(steps=15, sink=log, snapshot_interval=0.0, visuals_interval=0.0)
    finished = trainer.run()
    assert finished.reason == "completed" and finished.step == 15
    train_steps = [e.step for e in log.of(MetricsEvent) if e.kind == "train"]
    assert train_steps == list(range(1, 16))
    assert {"loss", "recon", "kl", "lr"} <= set(log.of(MetricsEvent)[0].metrics)
    assert log.of(SnapshotEvent) and log.of(VisualsEvent) and log.of(ProgressEvent)
    assert isinstance(log[-1], FinishedEvent)


def test_pause_step_resume_and_stop_from_another_thread():
    control = RunControl(start_paused=True)
    log = EventLog()
    trainer = small_vae_trainer(steps=10_000, sink=log, control=control)
    thread = threading.Thread(target=trainer.run)
    thread.start()
    try:
        control.step_once()
        control.step_once()
        deadline = 50
        while trainer.step < 2 and deadline:
            threading.Event().wait(0.05)
            deadline -= 1
        threading.Event().wait(0.2)
        assert trainer.step == 2  # exactly two single steps, then paused
        control.resume()
        while trainer.step < 10:
            threading.Event().wait(0.01)
        control.pause()
        threading.Event().wait(0.2)
        paused_at = trainer.step
        threading.Event().wait(0.2)
        assert trainer.step == paused_at
    finally:
        control.stop()
        thread.join(5)
    assert not thread.is_alive()
    assert log.of(FinishedEvent)[-1].reason == "stopped"


def test_submitted_work_runs_between_steps_and_changes_the_lr():
    control = RunControl(start_paused=True)
    trainer = small_vae_trainer(steps=5, control=control)
    control.submit(lambda: trainer.update_train_config(lr=0.05))
    control.resume()
    trainer.run()
    assert trainer.task.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.05)


def test_bad_submitted_setting_is_reported_and_the_run_continues():
    control = RunControl(start_paused=True)
    log = EventLog()
    trainer = small_vae_trainer(steps=3, control=control, sink=log)
    control.submit(lambda: trainer.update_train_config(lr=-1.0))
    control.resume()
    finished = trainer.run()
    assert finished.reason == "completed"
    assert any("lr must be between" in e.message for e in log if hasattr(e, "message") and e is not finished)


@pytest.mark.parametrize(
    ("schedule", "step", "expected"),
    [
        ("constant", 50, 1.0),
        ("cosine", 0, 1.0),
        ("cosine", 50, 0.5),
        ("cosine", 100, 0.0),
        ("warmup_cosine", 0, 0.1),
        ("warmup_cosine", 9, 1.0),
        ("warmup_cosine", 10, 1.0),
        ("warmup_cosine", 55, 0.5),
    ],
)
def test_lr_schedules(schedule, step, expected):
    assert lr_factor(schedule, step, 100, warmup_steps=10) == pytest.approx(expected, abs=1e-9)


def test_cosine_decays_to_the_min_ratio():
    assert lr_factor("cosine", 100, 100, min_ratio=0.1) == pytest.approx(0.1)


def test_trainer_applies_the_schedule_each_step():
    log = EventLog()
    trainer = small_vae_trainer(steps=10, sink=log, schedule="warmup_cosine", warmup_steps=4, lr=0.01)
    trainer.run()
    lrs = [e.metrics["lr"] for e in log.of(MetricsEvent) if e.kind == "train"]
    assert lrs[:4] == pytest.approx([0.0025, 0.005, 0.0075, 0.01])
    assert lrs[-1] < lrs[4]


def test_validation_and_early_stopping(monkeypatch):
    log = EventLog()
    trainer = small_vae_trainer(steps=100, sink=log, val_every=2, early_stop_patience=2)
    values = iter([10.0, 9.0, 9.5, 9.2, 8.0])
    monkeypatch.setattr(trainer.task, "evaluate", lambda batches: {"loss": next(values)})
    finished = trainer.run()
    assert finished.reason == "early_stopped"
    assert finished.step == 8  # best at step 4, no improvement at 6 and 8
    assert "best 9 at step 4" in finished.message
    val_events = [e for e in log.of(MetricsEvent) if e.kind == "val"]
    assert [e.metrics["val_loss"] for e in val_events] == [10.0, 9.0, 9.5, 9.2]


def test_an_early_stop_goes_back_to_the_best_validations_weights(monkeypatch):
    for restore in (True, False):
        trainer = small_vae_trainer(
            steps=100, val_every=2, early_stop_patience=2, early_stop_restore_best=restore
        )
        values = iter([10.0, 9.0, 9.5, 9.2])  # validations at steps 2, 4, 6, 8: the best at step 4
        seen: dict[int, dict[str, torch.Tensor]] = {}

        def evaluate(batches, trainer=trainer, values=values, seen=seen):
            seen[trainer.step] = {k: v.clone() for k, v in trainer.task.model_tensors().items()}
            return {"loss": next(values)}

        monkeypatch.setattr(trainer.task, "evaluate", evaluate)
        finished = trainer.run()
        assert finished.step == 8
        assert any(not torch.equal(seen[4][k], seen[8][k]) for k in seen[4])  # training moved them
        expected = seen[4] if restore else seen[8]
        assert all(torch.equal(v, expected[k]) for k, v in trainer.task.model_tensors().items())
        said = "weights of step 4, its best validation" if restore else "weights are the last step's"
        assert said in finished.message


def test_keeping_the_best_weights_is_true_or_false():
    from app.engine.errors import ConfigError
    from app.engine.train_config import TrainConfig

    with pytest.raises(ConfigError, match="early_stop_restore_best must be true or false"):
        TrainConfig(early_stop_restore_best="no").validate()


def test_min_delta_counts_small_gains_as_no_improvement(monkeypatch):
    trainer = small_vae_trainer(steps=100, val_every=1, early_stop_patience=1, early_stop_min_delta=0.5)
    values = iter([10.0, 9.8, 5.0])
    monkeypatch.setattr(trainer.task, "evaluate", lambda batches: {"loss": next(values)})
    assert trainer.run().step == 2


def test_nan_guard_stops_with_step_and_metric_and_keeps_the_weights(monkeypatch):
    trainer = small_vae_trainer(steps=50)
    real_loss = trainer.task.model.loss
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        calls["n"] += 1
        terms = real_loss(*args, **kwargs)
        if calls["n"] == 4:
            return terms._replace(total=terms.total * float("nan"))
        return terms

    monkeypatch.setattr(trainer.task.model, "loss", poisoned)
    trainer.run(until=3)
    before = {k: v.clone() for k, v in trainer.task.model.state_dict().items()}
    finished = trainer.run()
    assert finished.reason == "non_finite" and finished.failed
    assert "step 3" in finished.message and "NaN" in finished.message
    assert "negative ELBO" in finished.message
    for key, value in trainer.task.model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_an_exception_in_a_step_is_reported_not_raised(monkeypatch):
    trainer = small_vae_trainer(steps=10)

    def broken(next_batch, step):
        raise RuntimeError("boom")

    monkeypatch.setattr(trainer.task, "train_step", broken)
    finished = trainer.run()
    assert finished.reason == "error"
    assert "step 0" in finished.message and "boom" in finished.message


def test_out_of_memory_gets_a_helpful_message(monkeypatch):
    trainer = small_vae_trainer(steps=10)

    def oom(next_batch, step):
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(trainer.task, "train_step", oom)
    finished = trainer.run()
    assert finished.reason == "error" and "ran out of memory" in finished.message


def test_metrics_jsonl_has_one_object_per_step_with_val_prefix(tmp_path):
    path = tmp_path / "m.jsonl"
    trainer = small_vae_trainer(steps=6, val_every=3, metrics_path=path)
    trainer.run()
    rows = read_metrics(path)
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert "val_loss" in rows[2] and "val_loss" not in rows[1]
    assert all(math.isfinite(r["loss"]) for r in rows)


def test_seeded_runs_are_deterministic():
    a, b = small_vae_trainer(steps=8, seed=3), small_vae_trainer(steps=8, seed=3)
    a.run()
    b.run()
    for key, value in a.task.model.state_dict().items():
        assert torch.equal(value, b.task.model.state_dict()[key])
