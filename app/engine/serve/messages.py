"""What travels through the pipe between the pipeline and a worker process: plain tuples of numbers,
strings, numpy arrays and the jobs' frozen dataclasses — never a model."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from app.engine.serve.jobs import Job

# --- pipeline → worker ---------------------------------------------------------------------------


class RunBatch(NamedTuple):
    batch_id: int
    model: str
    jobs: tuple[Job, ...]  # compatible: one model, one kind of job
    streaming: tuple[bool, ...]  # per job: send its characters as they are written


class Stop(NamedTuple):
    """Finish nothing more and exit."""


# --- worker → pipeline ---------------------------------------------------------------------------


class Loaded(NamedTuple):
    """Every model is loaded: the worker takes batches from now on."""


class LoadFailed(NamedTuple):
    reason: str  # one sentence; the worker exits after sending it (a crash to the supervisor)


class TextChunks(NamedTuple):
    batch_id: int
    chunks: dict[int, str]  # job index in the batch → the characters written this step


class JobOutput(NamedTuple):
    text: str | None = None
    images: np.ndarray | None = None
    points: np.ndarray | None = None


class BatchDone(NamedTuple):
    batch_id: int
    compute_ms: float
    outputs: tuple[JobOutput | str, ...]  # per job: its output, or why it failed (one sentence)


ToWorker = RunBatch | Stop
FromWorker = Loaded | LoadFailed | TextChunks | BatchDone
