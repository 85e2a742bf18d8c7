"""The server under pressure, through HTTP: a full queue, killed workers, restarts exhausted, drain."""

from __future__ import annotations

import threading

import aiohttp
import pytest

from app.engine.serve.api import ModelSpec, ServeConfig, WorkerState
from tests.engine.serve.serving_helpers import call, call_many, pid_alive, serve, tiny_gpt, wait_until

pytestmark = pytest.mark.timeout(240)


def gpt_config(folder, **settings) -> ServeConfig:
    path = tiny_gpt(folder)
    return ServeConfig(models=(ModelSpec("poet", path),), port=0, **settings)


def generations(url: str, count: int, max_new_tokens: int) -> list[tuple[str, str, dict]]:
    body = {"prompt": "the ", "max_new_tokens": max_new_tokens}
    return [("POST", f"{url}/v1/generate", {"json": {**body, "seed": seed}}) for seed in range(count)]


class InBackground:
    """Requests sent from another thread while the test acts on the server."""

    def __init__(self, requests) -> None:
        self.replies: list = []
        self.thread = threading.Thread(target=lambda: self.replies.extend(call_many(requests)), daemon=True)
        self.thread.start()

    def join(self) -> list:
        self.thread.join(timeout=180)
        assert not self.thread.is_alive(), "the requests were not all answered"
        return self.replies


def test_a_full_queue_answers_429_with_retry_after_at_once(tmp_path):
    server = serve(gpt_config(tmp_path, workers=1, max_batch=1, queue_size=1, max_wait_ms=0))
    try:
        replies = call_many(generations(server.url, 8, max_new_tokens=60))
    finally:
        server.stop()
    statuses = [r.status for r in replies]
    assert set(statuses) == {200, 429}, statuses  # every request answered, each one way or the other
    refused = [r for r in replies if r.status == 429]
    assert all(r.headers["Retry-After"] == "1" and r.body["error"] for r in refused)
    assert all(r.body["batch_size"] == 1 for r in replies if r.status == 200)


def test_a_killed_worker_is_replaced_and_its_requests_answered_the_same(tmp_path):
    server = serve(gpt_config(tmp_path, workers=2, max_batch=4, max_wait_ms=20))
    try:
        old_pid = server.stats().workers[0].pid
        load = InBackground(generations(server.url, 6, max_new_tokens=120))
        wait_until(lambda: server.stats().workers[0].state is WorkerState.BUSY, what="worker 0 computing")
        server.kill_worker(0)
        replies = load.join()
        assert [r.status for r in replies] == [200] * 6
        stats = server.stats()
        assert stats.restarts >= 1 and stats.retries >= 1
        wait_until(
            lambda: server.stats().ready and server.stats().workers[0].state is not WorkerState.STARTING
        )
        workers = call("GET", f"{server.url}/v1/workers").body
        assert workers[0]["restarts"] == 1 and workers[0]["pid"] != old_pid
        assert not pid_alive(old_pid)
        # the retried requests kept their seeds: the same requests again give the same texts
        again = call_many(generations(server.url, 6, max_new_tokens=120))
        assert [r.body["text"] for r in again] == [r.body["text"] for r in replies]
    finally:
        server.stop()


def test_restarts_beyond_the_intensity_make_the_server_unready(tmp_path):
    server = serve(gpt_config(tmp_path, workers=1, max_restarts=1, restart_window_s=60.0))
    try:
        server.kill_worker(0)
        wait_until(
            lambda: server.stats().restarts == 1 and server.stats().ready, what="the first replacement"
        )
        server.kill_worker(0)
        wait_until(lambda: call("GET", f"{server.url}/readyz").status == 503, what="/readyz turning 503")
        reason = call("GET", f"{server.url}/readyz").body["error"]
        assert "restart" in reason
        assert call("GET", f"{server.url}/healthz").status == 200  # the process still runs
        refused = call("POST", f"{server.url}/v1/generate", json={"max_new_tokens": 2})
        assert refused.status == 503 and refused.body["error"]
    finally:
        server.stop()


def test_stopping_drains_what_is_in_flight_and_leaves_no_process(tmp_path):
    server = serve(gpt_config(tmp_path, workers=1, max_batch=1, max_wait_ms=0))
    pids = [w.pid for w in server.stats().workers]
    load = InBackground(generations(server.url, 4, max_new_tokens=60))
    wait_until(lambda: server.stats().queue_depth == 3, what="three requests queued behind the first")
    server.stop(timeout_s=60.0)
    assert [r.status for r in load.join()] == [200] * 4
    assert not any(pid_alive(pid) for pid in pids)
    with pytest.raises(aiohttp.ClientConnectionError):
        call("GET", f"{server.url}/healthz")
