"""The pipeline end to end with real worker processes and the shipped checkpoints.

One pipeline serves the whole module (spawning a worker costs seconds on two cores); the tests
run in file order and the last one drains it. Every wait has a deadline, and the module ends by
checking that no worker process is left.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import psutil
import pytest

from app.engine.inference import load_model
from app.engine.inference.sampling import continue_prompt, decode_codes, draw_samples
from app.engine.serve.api import ModelSpec, ServeConfig, WorkerState
from app.engine.serve.jobs import DecodeJob, GenerateJob, QueueFull, SampleJob, ServiceUnavailable
from app.engine.serve.pipeline import Pipeline
from models.text_sampling import SamplingSettings
from tests.engine.serve.helpers import LoopThread, wait_until, worker_processes
from weights import weights_dir

GPT, VAE, POINTS = "gpt-python-docs", "vae-shapes", "wgan-8gaussians"
QUEUE_SIZE = 12
MAX_BATCH = 4


def all_loaded(pipeline: Pipeline) -> bool:
    stats = pipeline.stats()
    return stats.spare == WorkerState.READY and all(w.state == WorkerState.READY for w in stats.workers)


@pytest.fixture(scope="module")
def loop():
    thread = LoopThread()
    yield thread
    thread.close()


@pytest.fixture(scope="module")
def pipeline(loop):
    config = ServeConfig(
        models=tuple(ModelSpec(name, weights_dir() / f"{name}.safetensors") for name in (GPT, VAE, POINTS)),
        workers=2,
        max_batch=MAX_BATCH,
        max_wait_ms=50.0,
        queue_size=QUEUE_SIZE,
    )
    pipeline = Pipeline(config)
    loop.run(pipeline.start())
    try:
        wait_until(lambda: all_loaded(pipeline), 90.0, "loading two workers and the spare")
        yield pipeline
    finally:
        loop.run(pipeline.close())
        assert worker_processes() == []


@pytest.fixture(scope="module")
def gpt():
    return load_model(weights_dir() / f"{GPT}.safetensors")


def expected_text(gpt, job: GenerateJob) -> str:
    """What ``genplay sample --seed`` writes after the prompt."""
    settings = SamplingSettings(job.temperature, job.top_k, job.top_p)
    written = continue_prompt(gpt, job.prompt, 1, job.max_new_tokens, settings, job.seed)[0]
    return written[len(job.prompt) :]


async def gather(pipeline: Pipeline, jobs, on_text=None):
    futures = [pipeline.submit(job, on_text(i) if on_text else None) for i, job in enumerate(jobs)]
    return await asyncio.gather(*futures, return_exceptions=True)


def test_models_describe_what_is_served(pipeline):
    infos = {info.name: info for info in pipeline.models()}
    assert infos[GPT].family == "gpt" and infos[GPT].tokenizer is not None and not infos[GPT].is_image
    assert infos[VAE].latent_dim == 10 and infos[VAE].is_image
    assert infos[POINTS].family == "wgan" and not infos[POINTS].is_image
    assert pipeline.ready() == (True, None)


def test_each_answer_is_what_genplay_sample_writes(pipeline, loop, gpt):
    jobs = [
        GenerateJob(GPT, "def f(x):", 40, seed=3),
        GenerateJob(GPT, "", 20, temperature=0.7, top_k=8, seed=4),  # the start token is not written
        SampleJob(VAE, 3, seed=5),
        SampleJob(POINTS, 6, seed=6),
        DecodeJob(VAE, ((0.0,) * 10, (0.5,) * 10)),
    ]
    text, empty, images, points, decoded = loop.run(gather(pipeline, jobs))
    assert text.text == expected_text(gpt, jobs[0])
    assert empty.text == expected_text(gpt, jobs[1]) and len(empty.text) == 20
    vae = load_model(weights_dir() / f"{VAE}.safetensors")
    np.testing.assert_allclose(images.images, draw_samples(vae, 3, 5).images, atol=1e-6)
    wgan = load_model(weights_dir() / f"{POINTS}.safetensors")
    np.testing.assert_allclose(points.points, draw_samples(wgan, 6, 6).points, atol=1e-6)
    np.testing.assert_allclose(decoded.images, decode_codes(vae, np.array(jobs[4].z)), atol=1e-6)
    assert decoded.images.shape == (2, 1, 32, 32) and points.images is None


def test_compatible_jobs_share_batches_of_at_most_max_batch(pipeline, loop):
    texts = [GenerateJob(GPT, "import ", 6 + i, seed=i) for i in range(6)]
    jobs = [texts[0], texts[1], SampleJob(VAE, 2, seed=1), *texts[2:]]
    results = loop.run(gather(pipeline, jobs))
    sizes = [r.batch_size for r in results]
    assert sizes == [4, 4, 1, 4, 4, 2, 2]  # the oldest four texts, the sample alone, the two left
    first_batch = {r.worker for r in results[:2] + results[3:5]}
    assert len(first_batch) == 1  # one batch: one worker
    assert all(len(r.text) == job.max_new_tokens for r, job in zip(results, jobs, strict=True) if r.text)


def test_the_same_seed_writes_the_same_text_whatever_the_batch(pipeline, loop):
    job = GenerateJob(GPT, "class ", 30, temperature=0.9, top_p=0.9, seed=11)
    alone = loop.run(gather(pipeline, [job]))[0]
    others = [GenerateJob(GPT, "x" * i, 10 + 7 * i, seed=i) for i in range(3)]
    crowded = loop.run(gather(pipeline, [*others, job]))[-1]
    assert alone.batch_size == 1 and crowded.batch_size == 4
    assert crowded.text == alone.text


def test_streamed_chunks_concatenate_to_the_final_text(pipeline, loop):
    jobs = [GenerateJob(GPT, "for ", 25, seed=i) for i in range(3)]
    chunks: dict[int, list[str]] = {i: [] for i in range(3)}
    results = loop.run(gather(pipeline, jobs, on_text=lambda i: chunks[i].append))
    for i, result in enumerate(results):
        assert len(chunks[i]) == 25  # one character per step
        assert "".join(chunks[i]) == result.text


def test_a_full_queue_refuses_at_once(pipeline, loop):
    async def overfill():
        futures = [pipeline.submit(GenerateJob(GPT, "a", 1, seed=i)) for i in range(QUEUE_SIZE)]
        with pytest.raises(QueueFull):
            pipeline.submit(GenerateJob(GPT, "a", 1))  # the loop never ran: nothing was taken yet
        return await asyncio.gather(*futures)

    assert len(loop.run(overfill())) == QUEUE_SIZE  # every accepted job is answered


def test_a_caller_that_stops_waiting_leaves_nothing_queued(pipeline, loop):
    async def give_up_on_one():
        busy = [pipeline.submit(GenerateJob(GPT, "while ", 60, seed=i)) for i in range(2 * MAX_BATCH)]
        await asyncio.sleep(0.1)  # both workers took a batch
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(pipeline.submit(GenerateJob(GPT, "abandoned", 60)), 0.05)
        depth = pipeline.stats().queue_depth  # the cancelled job left the queue at once
        results = await asyncio.gather(*busy)
        return depth, results

    depth, results = loop.run(give_up_on_one())
    assert depth == 0 and [r.batch_size for r in results] == [MAX_BATCH] * (2 * MAX_BATCH)
    assert pipeline.stats().queue_depth == 0


def test_a_failure_in_the_worker_is_one_sentence_and_the_worker_lives_on(pipeline, loop):
    pids = [w.pid for w in pipeline.stats().workers]
    (failed,) = loop.run(gather(pipeline, [GenerateJob(GPT, "snow \u2603", 5)]))  # never validated
    assert isinstance(failed, ServiceUnavailable)
    assert "never saw" in str(failed) and "\n" not in str(failed)
    assert [w.pid for w in pipeline.stats().workers] == pids


def test_a_killed_worker_is_replaced_and_its_batch_answered_once(pipeline, loop, gpt):
    before = pipeline.stats()
    jobs = [GenerateJob(GPT, "def ", 150, seed=20 + i) for i in range(MAX_BATCH)]
    chunks: dict[int, list[str]] = {i: [] for i in range(MAX_BATCH)}
    streaming = asyncio.run_coroutine_threadsafe(
        gather(pipeline, jobs, on_text=lambda i: chunks[i].append), loop.loop
    )
    wait_until(lambda: len(chunks[0]) >= 3, what="the batch writing its first characters")

    # a short job of an earlier test may still be finishing on the other worker: wait until only
    # the worker writing this batch (150 characters a row, seconds long) is busy
    def busy_workers():
        return [w for w in pipeline.stats().workers if w.state == WorkerState.BUSY]

    wait_until(lambda: len(busy_workers()) == 1, what="only this batch's worker busy")
    (busy,) = busy_workers()
    killed_at = time.monotonic()
    pipeline.kill_worker(busy.id)
    wait_until(lambda: pipeline.stats().workers[busy.id].restarts == busy.restarts + 1, what="a replacement")
    replaced = pipeline.stats().workers[busy.id]
    print(f"kill → replacement ready: {time.monotonic() - killed_at:.3f} s")  # the warm spare, promoted
    results = streaming.result(60.0)
    for i, (job, result) in enumerate(zip(jobs, results, strict=True)):
        assert result.text == expected_text(gpt, job)
        assert "".join(chunks[i]) == result.text  # nothing delivered twice after the retry
    after = pipeline.stats()
    assert replaced.pid != busy.pid and replaced.state in (WorkerState.READY, WorkerState.BUSY)
    assert after.retries == before.retries + 1 and after.restarts == before.restarts + 1
    assert not psutil.pid_exists(busy.pid) or psutil.Process(busy.pid).status() == psutil.STATUS_ZOMBIE


def test_stats_count_batches_and_responses(pipeline):
    pipeline.count_response(200)
    pipeline.count_response(200)
    pipeline.count_response(429)
    stats = pipeline.stats()
    assert stats.responses_by_status == {200: 2, 429: 1}
    assert stats.batches == len(stats.recent_batch_sizes) and stats.batched_requests == sum(
        stats.recent_batch_sizes
    )
    assert max(stats.recent_batch_sizes) == MAX_BATCH and stats.queue_depth == 0
    assert sum(w.batches for w in stats.workers) <= stats.batches  # a killed worker's count stays on its slot


def test_drain_answers_everything_in_flight_then_refuses(pipeline, loop):
    async def drain_while_busy():
        futures = [pipeline.submit(GenerateJob(GPT, "if ", 40, seed=i)) for i in range(QUEUE_SIZE)]
        await pipeline.drain(60.0)
        with pytest.raises(ServiceUnavailable, match="not taking jobs"):
            pipeline.submit(GenerateJob(GPT, "a", 1))
        return [f.result() for f in futures]  # all done: drain returned only once they were

    results = loop.run(drain_while_busy())
    assert [len(r.text) for r in results] == [40] * QUEUE_SIZE
    assert pipeline.ready() == (False, "the server is shutting down")
