"""Crash-safe saves: a process killed with SIGKILL mid-save never leaves a checkpoint that
fails to load or resume, and no partly written file is ever picked up."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time

import pytest

from app.engine.checkpoint import read_checkpoint
from app.engine.setup import create_task
from app.engine.trainer import Trainer
from tests.engine.helpers import small_vae_task

KILLS = 24

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")


def _save_forever(path: str, ready) -> None:  # runs in the forked child
    """Resume from the last checkpoint if there is one, then train and save, step after step."""
    trainer = Trainer(small_vae_task(steps=10**9))
    if os.path.exists(path):
        trainer.restore(read_checkpoint(path))
    trainer.run(until=trainer.step + 1)
    trainer.save(path)
    ready.set()  # one save done in this life: the kill falls among the next ones, however slow the machine
    while True:
        trainer.run(until=trainer.step + 1)
        trainer.save(path)


def test_sigkill_at_random_moments_never_breaks_the_last_checkpoint(tmp_path):
    path = tmp_path / "run.safetensors"
    context = multiprocessing.get_context("fork")
    rng = random.Random(1234)
    last_step = -1
    survived = 0
    for _ in range(KILLS):
        ready = context.Event()
        child = context.Process(target=_save_forever, args=(str(path), ready))
        child.start()
        assert ready.wait(30)
        time.sleep(rng.uniform(0.0, 0.15))
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
        assert child.exitcode == -signal.SIGKILL
        checkpoint = read_checkpoint(path)  # always the last *completed* save
        state_file = path.parent / checkpoint.state_file
        assert state_file.is_file(), "the checkpoint names a sidecar that is not there"
        assert checkpoint.step > last_step  # each child resumed where the last one got to, and saved
        last_step = checkpoint.step
        task = small_vae_task(steps=checkpoint.step + 2)
        resumed = Trainer(task)
        assert resumed.restore(checkpoint) is True
        assert resumed.run().step == checkpoint.step + 2
        survived += 1
    assert survived == KILLS
    assert last_step >= KILLS
    # leftovers of interrupted writes are hidden temp files, never a checkpoint name
    for leftover in tmp_path.iterdir():
        assert leftover.name.startswith(".") or leftover.suffix == ".safetensors"


def test_stale_temp_files_are_cleaned_on_the_next_save(tmp_path):
    path = tmp_path / "run.safetensors"
    (tmp_path / ".run.safetensors.abc123.tmp").write_bytes(b"half a checkpoint")
    trainer = Trainer(small_vae_task(steps=1))
    trainer.run()
    trainer.save(path)
    assert not list(tmp_path.glob(".*.tmp"))
    assert create_task  # the module under test builds tasks the same way
