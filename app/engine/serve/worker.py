"""A worker process: load every served model once, then compute the batches the pipeline sends.

Started with multiprocessing's spawn context (``worker_main`` is its target). It loads each
checkpoint with ``load_model`` (validated safetensors, never pickle), says ``Loaded``, then answers
each ``RunBatch`` with ``BatchDone`` (and ``TextChunks`` while text is written). It exits on
``Stop`` or when the pipe closes, so a dead pipeline leaves no worker behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from multiprocessing.connection import Connection

import numpy as np
import torch

from app.engine.inference import ReadyModel, load_model
from app.engine.inference.batched_text import TextRequest, generate_rows
from app.engine.inference.sampling import decode_codes, draw_samples, prompt_ids
from app.engine.serve.jobs import DecodeJob, GenerateJob, Job, SampleJob
from app.engine.serve.messages import BatchDone, JobOutput, Loaded, LoadFailed, RunBatch, TextChunks
from models.text_sampling import SamplingSettings


def worker_main(conn: Connection, models: tuple[tuple[str, str], ...], device: str, threads: int) -> None:
    """The process's whole life: ``models`` are (name, checkpoint path) pairs."""
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    try:
        ready = {name: load_model(path, device) for name, path in models}
    except Exception as exc:  # a bad file, out of memory, a missing device: the supervisor counts a crash
        conn.send(LoadFailed(f"a worker could not load the models: {exc}"))
        return
    conn.send(Loaded())
    while True:
        try:
            order = conn.recv()
        except (EOFError, OSError):  # the pipeline is gone
            return
        if not isinstance(order, RunBatch):  # Stop
            return
        conn.send(run_batch(ready, order, conn.send))


def run_batch(ready: dict[str, ReadyModel], order: RunBatch, send: Callable[[TextChunks], None]) -> BatchDone:
    """Compute one batch; an exception becomes every job's one-sentence failure, never a dead worker."""
    start = time.perf_counter()
    try:
        outputs: tuple[JobOutput | str, ...] = tuple(compute(ready[order.model], order, send))
    except Exception as exc:
        reason = f"the worker failed on this batch ({type(exc).__name__}: {exc})"
        outputs = (reason,) * len(order.jobs)
    return BatchDone(order.batch_id, (time.perf_counter() - start) * 1000.0, outputs)


def compute(ready: ReadyModel, order: RunBatch, send: Callable[[TextChunks], None]) -> list[JobOutput]:
    first = order.jobs[0]
    if isinstance(first, GenerateJob):
        return write_texts(ready, order, send)
    if isinstance(first, SampleJob):
        return [sample_output(ready, job) for job in order.jobs]
    return decode_outputs(ready, order.jobs)


def write_texts(ready: ReadyModel, order: RunBatch, send: Callable[[TextChunks], None]) -> list[JobOutput]:
    """All prompts of the batch written together; streaming jobs get each step's characters."""
    tokenizer = ready.tokenizer
    assert tokenizer is not None  # a GPT checkpoint always carries its vocabulary
    requests = [text_request(ready, job) for job in order.jobs if isinstance(job, GenerateJob)]

    def on_step(step: dict[int, int]) -> None:
        chunks = {i: tokenizer.pieces[token] for i, token in step.items() if order.streaming[i]}
        if chunks:
            send(TextChunks(order.batch_id, chunks))

    written = generate_rows(ready.model, requests, on_step if any(order.streaming) else None)
    return [JobOutput(text=tokenizer.decode(tokens)) for tokens in written]


def text_request(ready: ReadyModel, job: GenerateJob) -> TextRequest:
    assert ready.tokenizer is not None
    settings = SamplingSettings(temperature=job.temperature, top_k=job.top_k, top_p=job.top_p)
    settings.validate()
    ids = prompt_ids(ready.tokenizer, job.prompt)  # an empty prompt starts from the start token
    return TextRequest(tuple(ids), job.max_new_tokens, settings, job.seed)


def sample_output(ready: ReadyModel, job: Job) -> JobOutput:
    """``genplay sample``'s own draw for this seed, so the server and the CLI agree."""
    assert isinstance(job, SampleJob)
    samples = draw_samples(ready, job.n, job.seed)
    return JobOutput(images=samples.images, points=samples.points)


def decode_outputs(ready: ReadyModel, jobs: tuple[Job, ...]) -> list[JobOutput]:
    """Every job's codes decoded in one pass, then split back."""
    dim = ready.config.latent_dim
    codes = [np.asarray(job.z, np.float32).reshape(-1, dim) for job in jobs if isinstance(job, DecodeJob)]
    images = decode_codes(ready, np.concatenate(codes))
    ends = np.cumsum([len(z) for z in codes])[:-1]
    return [JobOutput(images=part) for part in np.split(images, ends)]
