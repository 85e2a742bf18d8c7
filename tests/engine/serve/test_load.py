"""The load generator: its mix and percentiles, and real runs against a served pair of models."""

from __future__ import annotations

import asyncio
import math

import pytest

from app.engine.serve.api import Endpoint, LoadPlan, ModelSpec, ServeConfig
from app.engine.serve.load import LoadError, LoadRun, parse_mix, percentiles, start_load_in_thread
from tests.engine.serve.serving_helpers import serve, tiny_gpt, tiny_vae, wait_until

pytestmark = pytest.mark.timeout(180)


def test_parse_mix_reads_weights_and_refuses_nonsense():
    assert parse_mix("generate=3,sample=1") == {Endpoint.GENERATE: 3.0, Endpoint.SAMPLE: 1.0}
    assert parse_mix("decode") == {Endpoint.DECODE: 1.0}
    for bad, words in [("draw=1", "ENDPOINT=WEIGHT"), ("generate=-1", "zero or a positive"),
                       ("generate=0", "at least one"), ("sample=x", "ENDPOINT=WEIGHT")]:  # fmt: skip
        with pytest.raises(ValueError, match=words):
            parse_mix(bad)


def test_percentiles_interpolate_between_ranks():
    # 1..101: the p-th percentile is 1 + p exactly; of 10 and 20 the median is 15
    assert percentiles(list(range(1, 102))) == (51.0, 96.0, 100.0)
    assert percentiles([10.0, 20.0], points=(50,)) == (15.0,)
    assert all(math.isnan(p) for p in percentiles([]))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("load")
    config = ServeConfig(
        models=(ModelSpec("poet", tiny_gpt(folder)), ModelSpec("faces", tiny_vae(folder))), port=0, workers=1
    )
    running = serve(config)
    yield running
    running.stop()


def run(url: str, plan: LoadPlan) -> LoadRun:
    load = LoadRun(url, plan)
    asyncio.run(load.run())
    return load


def test_closed_loop_sends_exactly_the_count_over_the_mix(server):
    mix = {Endpoint.GENERATE: 1.0, Endpoint.SAMPLE: 1.0, Endpoint.DECODE: 1.0}
    load = run(server.url, LoadPlan(concurrency=4, mix=mix, max_new_tokens=4, requests=30))
    stats = load.stats()
    assert stats.sent == stats.completed == 30 and stats.by_status == {200: 30}
    assert stats.finished and stats.error is None and len(stats.recent_latencies_ms) == 30
    assert {a.endpoint for a in load.answers} == set(mix)


def test_open_loop_keeps_its_rate_for_its_duration(server):
    load = run(server.url, LoadPlan(rate_per_s=40.0, max_new_tokens=2, duration_s=1.0))
    stats = load.stats()
    assert 35 <= stats.sent <= 41  # 40 a second, started on schedule
    assert stats.completed == stats.sent and set(stats.by_status) == {200}


def test_an_unreachable_server_is_one_sentence_in_the_stats():
    load = LoadRun("http://127.0.0.1:1", LoadPlan(concurrency=1, requests=1))  # nothing listens on port 1
    with pytest.raises(LoadError, match="could not reach http://127.0.0.1:1"):
        asyncio.run(load.run())
    stats = load.stats()
    assert stats.finished and stats.sent == 0 and "could not reach" in stats.error


def test_a_load_thread_runs_until_stopped(server):
    load = start_load_in_thread(server.url, LoadPlan(concurrency=2, max_new_tokens=4))
    wait_until(lambda: load.stats().completed >= 5, timeout_s=60, what="five answers")
    load.stop()
    stats = load.stats()
    assert stats.finished and stats.by_status.get(200, 0) >= 5 and set(stats.by_status) == {200}
