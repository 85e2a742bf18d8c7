"""Bad settings are refused in one sentence before any worker process starts."""

from __future__ import annotations

import asyncio

import pytest

from app.engine.errors import ConfigError, DeviceError
from app.engine.serve.api import ModelSpec, ServeConfig
from app.engine.serve.jobs import SampleJob, ServiceUnavailable
from app.engine.serve.pipeline import Pipeline
from tests.engine.serve.helpers import worker_processes
from weights import weights_dir

POINTS = ModelSpec("points", weights_dir() / "wgan-8gaussians.safetensors")


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        ({"models": ()}, ConfigError, "at least one checkpoint"),
        ({"models": (POINTS, POINTS)}, ConfigError, "two models are named 'points'"),
        ({"workers": 0}, ConfigError, "workers must be at least 1, not 0"),
        ({"queue_size": 0}, ConfigError, "queue_size must be at least 1"),
        ({"max_wait_ms": -1.0}, ConfigError, "max_wait_ms must be at least 0"),
        ({"restart_window_s": 0.0}, ConfigError, "restart_window_s must be above 0"),
        ({"device": "abacus"}, DeviceError, "Unknown device 'abacus'"),
    ],
)
def test_bad_settings_are_refused_at_once(settings, error, message):
    with pytest.raises(error, match=message):
        Pipeline(ServeConfig(**{"models": (POINTS,), **settings}))
    assert worker_processes() == []


def test_a_pipeline_not_started_refuses_jobs_and_closes_cleanly():
    pipeline = Pipeline(ServeConfig(models=(POINTS,), device="auto"))
    assert pipeline.config.device in ("cpu", "cuda", "mps")  # "auto" resolved once, here
    assert pipeline.ready() == (False, "the server has not started")
    with pytest.raises(ServiceUnavailable, match="not taking jobs"):
        pipeline.submit(SampleJob("points", 1))
    asyncio.run(pipeline.close())  # what a server that failed to start does
    assert pipeline.stats().workers == ()
