"""Restart intensity: workers that keep dying make the server unready with the reason, and every
accepted job still gets its one answer."""

from __future__ import annotations

import shutil

import pytest

from app.engine.checkpoint import CheckpointError
from app.engine.serve.api import ModelSpec, ServeConfig, WorkerState
from app.engine.serve.jobs import SampleJob, ServiceUnavailable
from app.engine.serve.pipeline import Pipeline
from tests.engine.serve.helpers import LoopThread, wait_until, worker_processes
from weights import weights_dir

POINTS = "wgan-8gaussians"


@pytest.fixture
def loop():
    thread = LoopThread()
    yield thread
    thread.close()


def one_worker(path, **overrides) -> ServeConfig:
    settings = {"workers": 1, "warm_spare": False, "max_restarts": 1, "restart_window_s": 60.0, **overrides}
    return ServeConfig(models=(ModelSpec(POINTS, path),), **settings)


def gave_up(pipeline: Pipeline) -> bool:
    reason = pipeline.ready()[1]
    return reason is not None and "stopped restarting" in reason


def test_a_bad_checkpoint_fails_before_any_process_starts(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        Pipeline(one_worker(bad))
    assert worker_processes() == []


def test_workers_that_cannot_load_exhaust_the_restarts_and_queued_jobs_get_503(tmp_path, loop):
    path = tmp_path / "points.safetensors"
    shutil.copy(weights_dir() / f"{POINTS}.safetensors", path)
    pipeline = Pipeline(one_worker(path))  # valid now …
    path.write_bytes(b"broken after the check")  # … unreadable by the time the workers load it

    async def start_and_queue():
        await pipeline.start()
        return pipeline.submit(SampleJob(POINTS, 2))  # accepted while the workers load

    future = loop.run(start_and_queue())
    try:
        wait_until(lambda: gave_up(pipeline), what="the supervisor giving up")
        ready, reason = pipeline.ready()
        assert not ready and "could not load" in reason and "1 restarts allowed" in reason

        async def answer():
            return await future

        with pytest.raises(ServiceUnavailable, match="stopped restarting"):
            loop.run(answer())

        async def submit_another():
            return pipeline.submit(SampleJob(POINTS, 1))

        with pytest.raises(ServiceUnavailable, match="stopped restarting"):
            loop.run(submit_another())
        stats = pipeline.stats()
        assert stats.restarts == 1 and [w.state for w in stats.workers] == [WorkerState.DEAD]
    finally:
        loop.run(pipeline.close())
    assert worker_processes() == []


def test_killing_a_worker_too_often_makes_the_server_unready_with_the_reason(loop):
    pipeline = Pipeline(one_worker(weights_dir() / f"{POINTS}.safetensors"))
    loop.run(pipeline.start())
    try:
        wait_until(lambda: pipeline.ready()[0], what="the worker loading")
        first = pipeline.stats().workers[0].pid
        pipeline.kill_worker(0)
        wait_until(lambda: pipeline.stats().workers[0].restarts == 1, what="a replacement")
        assert pipeline.stats().workers[0].pid != first  # a new process, still loading
        pipeline.kill_worker(0)  # dying while loading is a crash too: the second within the window
        wait_until(lambda: gave_up(pipeline), what="the supervisor giving up")
        assert "killed by SIGKILL" in pipeline.ready()[1]
        assert pipeline.stats().workers[0].state == WorkerState.DEAD
    finally:
        loop.run(pipeline.close())
    assert worker_processes() == []
