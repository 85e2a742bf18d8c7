"""Every endpoint of one shared server, and every kind of bad input, through real HTTP."""

from __future__ import annotations

import asyncio
import base64
import io
import json

import aiohttp
import numpy as np
import pytest
from PIL import Image

from app.engine.serve.api import ModelSpec, ServeConfig
from models.tokenizer import CharTokenizer
from tests.engine.serve.serving_helpers import TEXT, call, call_many, serve, tiny_gpt, tiny_vae, tiny_wgan_2d

pytestmark = pytest.mark.timeout(180)

VOCABULARY = set(CharTokenizer.from_text(TEXT).chars)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("served")
    paths = [tiny_gpt(folder), tiny_vae(folder), tiny_wgan_2d(folder)]
    config = ServeConfig(
        models=tuple(ModelSpec(p.stem, p) for p in paths), port=0, workers=2, max_batch=8, max_wait_ms=20
    )
    running = serve(config)
    yield running
    running.stop()


def post(server, endpoint: str, body) -> tuple[int, dict]:
    reply = call("POST", f"{server.url}/v1/{endpoint}", json=body)
    return reply.status, reply.body


def test_probes_and_listings(server):
    assert call("GET", f"{server.url}/healthz").status == 200
    ready = call("GET", f"{server.url}/readyz")
    assert ready.status == 200 and ready.body == {"status": "ready"}
    models = call("GET", f"{server.url}/v1/models").body
    assert [(m["name"], m["family"], m["step"]) for m in models] == [
        ("tiny-gpt", "gpt", 1), ("tiny-vae", "vae", 1), ("tiny-wgan", "wgan", 1)
    ]  # fmt: skip
    assert models[0]["config"]["d_model"] == 16 and models[1]["config"]["latent_dim"] == 3
    workers = call("GET", f"{server.url}/v1/workers").body
    assert [w["id"] for w in workers] == [0, 1]
    assert all(isinstance(w["pid"], int) and w["state"] in ("ready", "busy") for w in workers)
    assert set(workers[0]) == {"id", "pid", "state", "restarts", "batches", "requests"}


def test_generate_writes_the_asked_characters_and_a_seed_repeats_its_text(server):
    status, first = post(server, "generate", {"prompt": "the cat", "max_new_tokens": 40, "seed": 5})
    assert status == 200, first
    assert first["model"] == "tiny-gpt" and first["prompt"] == "the cat" and first["seed"] == 5
    assert len(first["text"]) == 40 and set(first["text"]) <= VOCABULARY
    assert first["batch_size"] >= 1 and first["worker"] in (0, 1)
    assert first["queue_ms"] >= 0 and first["compute_ms"] > 0
    _, again = post(
        server, "generate", {"model": "tiny-gpt", "prompt": "the cat", "max_new_tokens": 40, "seed": 5}
    )
    assert again["text"] == first["text"]
    _, drawn = post(server, "generate", {"max_new_tokens": 3})
    assert isinstance(drawn["seed"], int)  # the server drew one, and says which


def test_streamed_generation_sends_the_characters_then_the_result(server):
    reply = call(
        "POST",
        f"{server.url}/v1/generate",
        json={"prompt": "the", "max_new_tokens": 60, "seed": 2, "stream": True},
    )
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/event-stream")
    events = [block for block in reply.body.split("\n\n") if block]
    chunks = [json.loads(e.removeprefix("data: "))["text"] for e in events if e.startswith("data: ")]
    assert events[-1].startswith("event: result\n")
    result = json.loads(events[-1].split("\n", 1)[1].removeprefix("data: "))
    assert "".join(chunks) == result["text"] and len(result["text"]) == 60
    _, plain = post(server, "generate", {"prompt": "the", "max_new_tokens": 60, "seed": 2})
    assert plain["text"] == result["text"]  # streaming changes how, not what


def test_a_client_that_leaves_a_stream_disturbs_nothing(server):
    async def leave_after_the_first_event() -> str:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
            body = {"prompt": "the", "max_new_tokens": 200, "seed": 3, "stream": True}
            async with session.post(f"{server.url}/v1/generate", json=body) as response:
                return (await response.content.readuntil(b"\n\n")).decode()

    assert asyncio.run(leave_after_the_first_event()).startswith("data: ")
    assert post(server, "generate", {"max_new_tokens": 3})[0] == 200
    assert call("GET", f"{server.url}/readyz").status == 200


def test_concurrent_requests_share_batches(server):
    body = {"prompt": "the", "max_new_tokens": 30}
    replies = call_many(
        [("POST", f"{server.url}/v1/generate", {"json": {**body, "seed": i}}) for i in range(16)]
    )
    assert all(r.status == 200 for r in replies)
    assert max(r.body["batch_size"] for r in replies) > 1


def test_sample_answers_a_png_grid_or_arrays(server):
    status, grid = post(server, "sample", {"model": "tiny-vae", "n": 4, "seed": 1})
    assert status == 200 and grid["format"] == "png" and grid["n"] == 4 and grid["seed"] == 1
    image = Image.open(io.BytesIO(base64.b64decode(grid["png"])))
    assert image.format == "PNG" and image.size == (2 * (32 + 2) + 2, 2 * (32 + 2) + 2)  # 2×2 tiles, padded
    _, arrays = post(server, "sample", {"model": "tiny-vae", "n": 3, "seed": 1, "format": "json"})
    images = np.asarray(arrays["images"])
    assert images.shape == (3, 1, 32, 32) and 0.0 <= images.min() and images.max() <= 1.0
    status, points = post(server, "sample", {"model": "tiny-wgan", "n": 5, "seed": 1})
    assert status == 200 and np.asarray(points["points"]).shape == (5, 2)
    _, same = post(server, "sample", {"model": "tiny-wgan", "n": 5, "seed": 1})
    assert same["points"] == points["points"]


def test_decode_turns_each_code_into_an_image(server):
    z = [[0.0, 0.0, 0.0], [2.0, -1.0, 0.5]]
    status, decoded = post(server, "decode", {"z": z, "format": "json"})
    assert status == 200 and decoded["model"] == "tiny-vae"
    images = np.asarray(decoded["images"])
    assert images.shape == (2, 1, 32, 32) and not np.allclose(images[0], images[1])
    _, png = post(server, "decode", {"z": z})
    assert Image.open(io.BytesIO(base64.b64decode(png["png"]))).format == "PNG"


@pytest.mark.parametrize(
    ("endpoint", "body", "status", "words"),
    [
        ("generate", {"model": "nobody", "max_new_tokens": 5}, 404, "no model is named 'nobody'"),
        ("generate", {"model": "tiny-vae", "max_new_tokens": 5}, 400, "'tiny-vae' is a vae model"),
        ("decode", {"model": "tiny-wgan", "z": [[0, 0]]}, 400, "'tiny-wgan' is a wgan model"),
        ("generate", {"prompt": "Zeta€", "max_new_tokens": 5}, 400, "'Z', '€'"),
        ("generate", {"max_new_tokens": 2001}, 400, '"max_new_tokens" must be between 1 and 2000'),
        ("sample", {"model": "tiny-vae", "n": 0}, 400, '"n" must be between 1 and 1024'),
        ("sample", {"model": "tiny-vae", "n": 1025}, 400, '"n" must be between 1 and 1024'),
        ("generate", {"max_new_tokens": "ten"}, 400, "must be a whole number, not a string"),
        ("generate", {"temperature": [1], "max_new_tokens": 5}, 400, '"temperature" must be a number'),
        ("decode", {"z": [[0, 0]]}, 400, "z[0] must be a list of 3 numbers"),
        ("sample", {"n": 2}, 400, "several vae or wgan models"),
    ],
)
def test_bad_input_is_refused_with_its_reason(server, endpoint, body, status, words):
    got, answer = post(server, endpoint, body)
    assert got == status and set(answer) == {"error"} and words in answer["error"]


def test_malformed_bodies_and_aiohttps_own_errors_answer_json(server):
    url = server.url
    malformed = call(
        "POST", f"{url}/v1/generate", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert malformed.status == 400 and "not valid JSON" in malformed.body["error"]
    listed = call("POST", f"{url}/v1/generate", json=[1, 2])
    assert listed.status == 400 and "a JSON object, not a list" in listed.body["error"]
    huge = call("POST", f"{url}/v1/generate", data=b" " * (1024 * 1024 + 10))
    assert huge.status == 413 and "larger than 1 MB" in huge.body["error"]
    missing = call("GET", f"{url}/v2/nothing")
    assert missing.status == 404 and "/v2/nothing" in missing.body["error"]
    wrong_method = call("GET", f"{url}/v1/generate")
    assert wrong_method.status == 405 and "takes POST, not GET" in wrong_method.body["error"]
    assert "POST" in wrong_method.headers["Allow"]
    # none of it disturbed the server
    assert call("GET", f"{url}/readyz").status == 200
    assert post(server, "generate", {"max_new_tokens": 2})[0] == 200


def test_metrics_count_requests_batches_and_the_pipeline(server):
    post(server, "generate", {"max_new_tokens": 2})
    post(server, "generate", {"model": "nobody", "max_new_tokens": 2})
    text = call("GET", f"{server.url}/metrics").body
    assert 'genplay_http_requests_total{endpoint="/v1/generate",status="200"}' in text
    assert 'genplay_http_requests_total{endpoint="/v1/generate",status="404"}' in text
    assert 'genplay_http_request_duration_seconds_bucket{endpoint="/v1/generate",le="0.5"}' in text
    for name in ("genplay_queue_depth", "genplay_worker_restarts_total", "genplay_retries_total"):
        assert f"\n{name} " in text
    assert 'genplay_workers{state="ready"}' in text
    batches = float(
        next(line.split()[-1] for line in text.splitlines() if line.startswith("genplay_batch_size_count"))
    )
    assert batches >= 1 and batches == server.stats().batches
    counted = server.stats().responses_by_status
    assert counted.get(200, 0) >= 1 and counted.get(404, 0) >= 1
