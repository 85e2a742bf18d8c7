"""Demand-driven batching on the event loop alone (no processes)."""

from __future__ import annotations

import asyncio
import time

import pytest

from app.engine.serve.batcher import Batcher, Pending
from app.engine.serve.jobs import GenerateJob, QueueFull, SampleJob


def pending(job, submitted_s: float | None = None) -> Pending:
    future = asyncio.get_running_loop().create_future()
    return Pending(job, future, None, time.monotonic() if submitted_s is None else submitted_s)


def text(model: str = "gpt", seed: int = 0) -> GenerateJob:
    return GenerateJob(model, "a", 4, seed=seed)


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 10.0))


def test_a_batch_holds_only_compatible_jobs_up_to_max_batch_in_order():
    async def scenario():
        batcher = Batcher(queue_size=16, max_batch=3, max_wait_s=0.0)
        jobs = [text(seed=0), SampleJob("vae", 2), text(seed=1), text("other"), text(seed=2), text(seed=3)]
        for job in jobs:
            batcher.put(pending(job))
        first = await batcher.next_batch()
        second = await batcher.next_batch()
        third = await batcher.next_batch()
        return [[p.job for p in batch] for batch in (first, second, third)], len(batcher)

    (first, second, third), left = run(scenario())
    assert first == [text(seed=0), text(seed=1), text(seed=2)]  # max_batch 3; the others wait
    assert second == [SampleJob("vae", 2)]  # now the oldest: a different kind of job
    assert third == [text("other")]  # a different model never shares a batch
    assert left == 1  # text(seed=3) is still queued


def test_a_batch_waits_up_to_max_wait_for_more_jobs_then_leaves():
    async def scenario():
        batcher = Batcher(queue_size=16, max_batch=4, max_wait_s=0.3)
        batcher.put(pending(text(seed=0)))
        forming = asyncio.create_task(batcher.next_batch())
        await asyncio.sleep(0.05)
        batcher.put(pending(text(seed=1)))  # joins: it arrived within max_wait
        started = time.monotonic()
        batch = await forming
        return batch, time.monotonic() - started

    batch, waited = run(scenario())
    assert [p.job.seed for p in batch] == [0, 1]
    assert 0.15 < waited < 1.0  # it waited for more (max_wait 0.3 s after the first job), then left


def test_a_full_batch_leaves_at_once_and_an_old_job_does_not_wait():
    async def scenario():
        batcher = Batcher(queue_size=16, max_batch=2, max_wait_s=5.0)
        batcher.put(pending(text(seed=0)))
        batcher.put(pending(text(seed=1)))
        started = time.monotonic()
        full = await batcher.next_batch()
        batcher.put(pending(text(seed=2), submitted_s=time.monotonic() - 10.0))  # queued long ago
        old = await batcher.next_batch()
        return len(full), len(old), time.monotonic() - started

    full, old, elapsed = run(scenario())
    assert (full, old) == (2, 1)
    assert elapsed < 2.0  # neither waited for the 5 s max_wait


def test_the_bounded_queue_refuses_at_once_when_full():
    async def scenario():
        batcher = Batcher(queue_size=2, max_batch=4, max_wait_s=0.0)
        batcher.put(pending(text()))
        batcher.put(pending(text()))
        with pytest.raises(QueueFull, match="limit"):
            batcher.put(pending(text()))
        retry = pending(text(seed=9))
        batcher.put_back([retry])  # a dead worker's job was accepted already: never refused
        return len(batcher), (await batcher.next_batch())[0] is retry

    assert run(scenario()) == (3, True)  # and a retried job goes first


def test_cancelled_jobs_are_dropped_and_a_cancelled_demand_loses_no_job():
    async def scenario():
        batcher = Batcher(queue_size=8, max_batch=4, max_wait_s=5.0)
        gone, kept = pending(text(seed=0)), pending(text(seed=1))
        batcher.put(gone)
        batcher.put(kept)
        gone.future.cancel()
        forming = asyncio.create_task(batcher.next_batch())  # takes `kept`, waits for more
        await asyncio.sleep(0.05)
        forming.cancel()
        with pytest.raises(asyncio.CancelledError):
            await forming
        return list(batcher._queue)

    (only,) = run(scenario())
    assert only.job.seed == 1


def test_a_retried_stream_delivers_only_characters_not_sent_before():
    async def scenario():
        delivered: list[str] = []
        job = pending(text())
        job.on_text = delivered.append
        job.start_attempt()
        job.stream("ab")
        job.stream("c")  # the worker dies here
        job.start_attempt()  # the retry writes the same text again, seeded
        for chunk in ("a", "bcd", "e"):  # "bcd" straddles what was delivered
            job.stream(chunk)
        return delivered

    assert run(scenario()) == ["ab", "c", "d", "e"]
