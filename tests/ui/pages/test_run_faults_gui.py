"""Worker faults and lifecycle from the GUI: failures are reported, nothing is lost."""

from __future__ import annotations

import threading

import pytest
import torch

from app.engine.checkpoint import read_checkpoint
from app.engine.tasks.vae_task import VAETask
from tests.ui.conftest import start_long_run, wait_idle


def _fail_at(monkeypatch, step_to_fail: int, error: BaseException | str):
    real = VAETask.train_step

    def step(self, next_batch, step):
        if step == step_to_fail:
            if error == "nan":
                self.model.loss = _nan_loss(self.model.loss)
            else:
                raise error
        return real(self, next_batch, step)

    monkeypatch.setattr(VAETask, "train_step", step)


def _nan_loss(loss):
    def poisoned(*args, **kwargs):
        terms = loss(*args, **kwargs)
        return terms._replace(total=terms.total * float("nan"))

    return poisoned


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (RuntimeError("kaboom"), "RuntimeError: kaboom"),
        (torch.OutOfMemoryError("CUDA out of memory"), "ran out of memory"),
        ("nan", "became NaN"),
    ],
)
def test_a_failing_step_stops_the_run_and_offers_rollback(qtbot, main_window, monkeypatch, error, expected):
    page = main_window.pages["vae"]
    _fail_at(monkeypatch, 25, error)
    page.form.set_values({"steps": 100, "batch_size": 16, "checkpoint_every": 10, "val_every": 0})
    page.start()
    wait_idle(qtbot, page)
    status = page.bar.status.text()
    assert expected in status and "step 25" in status
    assert "failed" in page.bar.progress.format()
    weights = {k: v.clone() for k, v in page.trainer.task.model.state_dict().items()}
    assert all(torch.isfinite(v).all() for v in weights.values())
    checkpoint = read_checkpoint(page.last_good_checkpoint)
    assert checkpoint.step == 20  # the last autosave before the failure, intact
    assert page.bar.rollback_button.isVisibleTo(page)
    assert page.roll_back()
    assert page.snapshot.step == 20 and not page.bar.rollback_button.isVisibleTo(page)
    monkeypatch.undo()
    page.form.set_values({"steps": 5})
    page.start()  # resumes exactly from the rolled-back checkpoint
    wait_idle(qtbot, page)
    assert page.trainer.step == 25 and "Finished" in page.bar.status.text()


def test_start_stop_fifty_times_leaves_no_threads(qtbot, main_window):
    page = main_window.pages["vae"]
    page.form.set_values({"steps": 100000, "batch_size": 8, "val_every": 0, "checkpoint_every": 0})
    baseline = threading.active_count()
    for _ in range(50):
        page.start()
        qtbot.waitUntil(lambda: page.state == "running", timeout=10000)
        page.stop()
        wait_idle(qtbot, page, timeout=10000)
    assert threading.active_count() <= baseline
    assert page.trainer.step > 0
    assert "Stopped at step" in page.bar.status.text()


def test_dataset_batch_size_and_device_change_while_paused(qtbot, main_window, tmp_path):
    import numpy as np

    page = main_window.pages["vae"]
    start_long_run(qtbot, page)
    page.pause()
    qtbot.waitUntil(lambda: page.thread.control.waiting, timeout=5000)
    trainer = page.thread.trainer
    other = tmp_path / "other.npy"
    np.save(other, (np.random.default_rng(0).random((64, 32, 32)) > 0.5).astype(np.uint8) * 255)
    page.bar.dataset.setCurrentText(str(other))
    page.bar.device.setCurrentText("cpu")
    page.form.editors["batch_size"].setText("8")
    step = trainer.step
    page.step_once()
    qtbot.waitUntil(lambda: trainer.step == step + 1, timeout=10000)
    assert trainer.task.data.name == "other"
    assert trainer.batches.batch_size == 8
    assert trainer.config.device == "cpu"
    page.stop()
    wait_idle(qtbot, page)


def test_a_dataset_of_another_shape_is_refused_while_paused(qtbot, main_window, tmp_path):
    import numpy as np

    page = main_window.pages["vae"]
    start_long_run(qtbot, page)
    page.pause()
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((20, 8, 8), np.uint8))
    page.bar.dataset.setCurrentText(str(wrong))
    page.start()
    qtbot.waitUntil(lambda: "shape" in page.bar.status.text(), timeout=10000)
    assert page.thread is not None  # the run goes on with its old data
    assert page.thread.trainer.task.data.name == "shapes"
    page.stop()
    wait_idle(qtbot, page)


def test_closing_during_a_save_finishes_the_save_first(qtbot, main_window, tmp_path):
    import time

    page = main_window.pages["vae"]
    start_long_run(qtbot, page)
    path = tmp_path / "closing.safetensors"
    page.save_checkpoint_to(path)  # runs on the trainer thread at the next step boundary
    started = time.perf_counter()
    main_window.close()
    assert time.perf_counter() - started < 2.0
    checkpoint = read_checkpoint(path)
    assert checkpoint.step > 0 and (tmp_path / checkpoint.state_file).is_file()
    assert not list(tmp_path.glob(".*.tmp"))


def test_files_that_disappear_during_training_do_not_stop_the_run(qtbot, main_window, tmp_path, monkeypatch):
    import numpy as np

    from app.engine import paths

    data_file = tmp_path / "mine.npy"
    np.save(data_file, (np.random.default_rng(0).random((80, 32, 32)) > 0.7).astype(np.uint8) * 255)
    autosave = tmp_path / "autosave"
    autosave.mkdir()
    monkeypatch.setattr(paths, "autosave_dir", lambda: autosave)
    monkeypatch.setattr("app.ui.pages.family_page.autosave_dir", lambda: autosave)
    page = main_window.pages["vae"]
    page.bar.dataset.setCurrentText(str(data_file))
    page.form.set_values({"steps": 60, "batch_size": 8, "val_every": 0, "checkpoint_every": 20})
    page.start()
    qtbot.waitUntil(lambda: page.state == "running", timeout=20000)
    data_file.unlink()  # the data is in memory: training goes on
    for leftover in autosave.iterdir():
        leftover.unlink()
    autosave.rmdir()  # and the autosave folder vanishes: saving fails, training goes on
    wait_idle(qtbot, page)
    assert page.trainer.step == 60
    assert "Finished 60 steps" in page.bar.status.text() or "Checkpoint not saved" in page.bar.status.text()
