"""RunSession headless: what each run continues from, saves, roll-back and live changes."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from app.engine.checkpoint import CheckpointError, read_checkpoint
from app.engine.errors import GenplayError
from app.engine.events import (
    CheckpointEvent,
    FinishReason,
    NoticeEvent,
    SaveFailedEvent,
)
from app.engine.session import (
    NOTHING_TO_SAVE,
    SETTINGS_CHANGED,
    SHAPE_CHANGED,
    NothingToSave,
    RunRequest,
    RunSession,
    checkpoint_settings,
)
from app.engine.tasks.vae_task import VAETask
from tests.engine.helpers import EventLog

pytestmark = pytest.mark.usefixtures("small_shapes_builtin")

SMALL = {"batch_size": 32, "val_every": 0, "device": "cpu", "latent_dim": 4, "hidden_dims": [32],
         "checkpoint_every": 0, "seed": 0}  # fmt: skip


def run(session: RunSession, steps: int, **settings):
    """One whole run on this thread: (its trainer, how it finished, what it reported)."""
    log = EventLog()
    session.begin(RunRequest(steps, "shapes", {**SMALL, **settings}))
    trainer = session.build(log)
    finished = trainer.run()
    assert session.end() is not None
    return trainer, finished, log


def notices(log: EventLog) -> list[str]:
    return [e.message for e in log.of(NoticeEvent)]


def test_a_fresh_run_trains_the_steps_asked_for_and_is_kept():
    session = RunSession("vae")
    trainer, finished, log = run(session, 6)
    assert finished.reason == FinishReason.COMPLETED and trainer.step == 6
    assert session.trainer is trainer and not session.active and session.control is None
    assert session.data is trainer.data and session.data.name == "shapes"
    assert notices(log) == []  # nothing was replaced


def test_the_same_settings_continue_the_same_trainer_and_optimiser():
    session = RunSession("vae")
    first, _, _ = run(session, 5)
    optimizer = first.task.optimizers[0]
    moments = {k: v.clone() for k, v in optimizer.state[next(iter(optimizer.state))].items()}
    second, _, log = run(session, 3, beta=2.0)  # a task setting: applied to the same trainer
    assert second is first and second.step == 8 and second.config.steps == 8
    assert second.task.optimizers[0] is optimizer and second.task.hparams.beta == 2.0
    state = optimizer.state[next(iter(optimizer.state))]
    assert state["step"] > moments["step"]  # the moments went on, not reset
    assert notices(log) == []


def test_a_new_batch_size_keeps_the_weights_with_a_fresh_optimiser():
    session = RunSession("vae")
    first, _, _ = run(session, 5)
    weights = {k: v.clone() for k, v in first.task.model_tensors().items()}
    session.begin(RunRequest(3, "shapes", {**SMALL, "batch_size": 16}))
    log = EventLog()
    second = session.build(log)
    assert second is not first and second.step == 5 and second.config.steps == 8
    assert all(torch.equal(weights[k], v) for k, v in second.task.model_tensors().items())
    assert second.task.optimizers[0].state == {}  # fresh moments
    assert second.data is first.data  # the same data, not loaded again
    assert notices(log) == [SETTINGS_CHANGED]
    second.run()
    session.end()
    assert second.step == 8


def test_a_new_model_shape_starts_from_scratch_and_says_so():
    session = RunSession("vae")
    run(session, 4)
    trainer, _, log = run(session, 2, latent_dim=3)
    assert trainer.step == 2 and trainer.model_config.latent_dim == 3
    assert notices(log) == [SHAPE_CHANGED]


def test_an_opened_checkpoint_is_restored_with_its_training_state(tmp_path):
    path = tmp_path / "v.safetensors"
    saved, _, _ = run(RunSession("vae"), 5)
    saved.save(path)
    moments = saved.task.optimizers[0].state_dict()["state"]
    session = RunSession("vae")
    checkpoint = read_checkpoint(path)
    session.open(checkpoint)
    settings = checkpoint_settings(checkpoint)
    assert "steps" not in settings and settings["latent_dim"] == 4  # the file's model, the user's steps
    session.begin(RunRequest(4, "shapes", {**settings, "device": "cpu"}))
    log = EventLog()
    trainer = session.build(log)
    assert trainer.step == 5 and trainer.config.steps == 9 and notices(log) == []
    restored = trainer.task.optimizers[0].state_dict()["state"]
    assert all(torch.equal(moments[0][k], restored[0][k]) for k in ("exp_avg", "exp_avg_sq"))


def test_a_checkpoint_of_another_shape_is_not_restored(tmp_path):
    path = tmp_path / "v.safetensors"
    saved, _, _ = run(RunSession("vae"), 3)
    saved.save(path)
    session = RunSession("vae")
    session.open(read_checkpoint(path))
    trainer, _, log = run(session, 2, latent_dim=5)
    assert trainer.step == 2 and notices(log) == [SHAPE_CHANGED]


def test_new_model_forgets_the_last_run():
    session = RunSession("vae")
    run(session, 3)
    session.new_model()
    trainer, _, log = run(session, 2)
    assert trainer.step == 2 and session.trainer is trainer and notices(log) == []


def test_after_a_failing_step_roll_back_reopens_the_last_autosave(tmp_path, monkeypatch):
    autosave = tmp_path / "auto.safetensors"
    session = RunSession("vae", autosave=lambda data: autosave)
    real = VAETask.train_step

    def fails_at_25(self, next_batch, step):
        if step == 25:
            raise RuntimeError("kaboom")
        return real(self, next_batch, step)

    monkeypatch.setattr(VAETask, "train_step", fails_at_25)
    trainer, finished, _ = run(session, 100, checkpoint_every=10)
    assert finished.reason == FinishReason.ERROR and finished.failed and trainer.step == 25
    assert session.last_good_checkpoint == autosave and session.can_roll_back
    checkpoint = session.roll_back()
    assert checkpoint.step == 20 and session.checkpoint is checkpoint and session.trainer is None
    monkeypatch.undo()
    resumed, finished, _ = run(session, 5, **checkpoint_settings(checkpoint))
    assert resumed.step == 25 and finished.reason == FinishReason.COMPLETED


def test_roll_back_without_a_checkpoint_is_refused():
    session = RunSession("vae")
    run(session, 2)
    assert not session.can_roll_back
    with pytest.raises(CheckpointError):
        session.roll_back()


def test_live_changes_apply_on_the_trainer_thread_between_steps():
    session = RunSession("vae")
    control = session.begin(RunRequest(100_000, "shapes", SMALL), start_paused=True)
    log = EventLog()
    trainer = session.build(log)
    worker = threading.Thread(target=trainer.run)
    worker.start()
    try:
        assert session.change_setting("lr", 0.0005)
        assert session.change_setting("beta", 3.0)
        assert session.change_setting("steps", 7)  # seven steps from where this run began
        control.step_once()
        deadline = time.monotonic() + 10
        while trainer.step < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert trainer.config.lr == pytest.approx(0.0005) and trainer.task.hparams.beta == 3.0
        assert trainer.config.steps == 7
        assert trainer.task.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.0005)
    finally:
        control.stop()
        worker.join(10)
    session.end()
    assert not session.change_setting("lr", 0.1)  # between runs: nothing to change


def test_a_save_during_a_run_is_written_at_a_step_boundary(tmp_path, monkeypatch):
    session = RunSession("vae")
    good, bad = tmp_path / "good.safetensors", tmp_path / "missing" / "bad.safetensors"
    control = session.begin(RunRequest(3, "shapes", SMALL))
    log = EventLog()
    trainer = session.build(log)
    assert session.save(good) is False and session.save(bad) is False  # queued, not written yet
    assert not good.exists()
    trainer.run()
    session.end()
    assert read_checkpoint(good).step == 0  # written at the first boundary, before any step
    assert [e.path for e in log.of(CheckpointEvent)] == [str(good)]
    (failure,) = log.of(SaveFailedEvent)
    assert failure.path == str(bad) and "bad.safetensors" in failure.reason
    assert session.last_good_checkpoint == good and control.stop_requested is False


def test_a_save_between_runs_writes_the_model_or_says_there_is_none(tmp_path):
    session = RunSession("vae")
    with pytest.raises(NothingToSave, match=NOTHING_TO_SAVE):
        session.save(tmp_path / "none.safetensors")
    run(session, 2)
    assert session.save(tmp_path / "two.safetensors") is True
    assert read_checkpoint(tmp_path / "two.safetensors").step == 2
    session.open(read_checkpoint(tmp_path / "two.safetensors"))
    assert session.save(tmp_path / "copy.safetensors") is True  # the opened checkpoint, as is
    assert read_checkpoint(tmp_path / "copy.safetensors").step == 2
    assert session.last_good_checkpoint is None  # saves between runs are not rollback points


def test_switching_the_dataset_while_running_applies_at_the_next_step(tmp_path):
    import numpy as np

    other = tmp_path / "other.npy"
    np.save(other, (np.random.default_rng(0).random((64, 32, 32)) > 0.5).astype(np.uint8) * 255)
    session = RunSession("vae")
    control = session.begin(RunRequest(3, "shapes", SMALL))
    log = EventLog()
    trainer = session.build(log)
    assert session.switch("shapes", "cpu") is False  # nothing changes
    assert session.switch(str(other), "cpu") is True
    trainer.run()
    session.end()
    assert trainer.data.name == "other" and trainer.step == 3
    assert "Now training on other." in notices(log) and control.stop_requested is False


def test_a_failed_setup_keeps_the_last_model():
    session = RunSession("vae")
    first, _, _ = run(session, 2)
    session.begin(RunRequest(2, "/no/such/folder", SMALL))
    with pytest.raises(GenplayError, match="folder"):
        session.build(EventLog())
    assert session.end() is None and session.trainer is first


def test_session_refuses_to_replace_the_model_during_a_run():
    session = RunSession("vae")
    session.begin(RunRequest(2, "shapes", SMALL))
    for call in (session.new_model, lambda: session.begin(RunRequest(1))):
        with pytest.raises(RuntimeError):
            call()
    session.end()
