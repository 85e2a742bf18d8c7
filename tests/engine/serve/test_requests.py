"""Request bodies → jobs, and the one-sentence refusals of everything else."""

from __future__ import annotations

import pytest

from app.engine.serve.api import Endpoint
from app.engine.serve.jobs import DecodeJob, GenerateJob, ModelInfo, SampleJob
from app.engine.serve.requests import (
    BadRequest,
    ImageFormat,
    parse_decode,
    parse_generate,
    parse_json_object,
    parse_sample,
    resolve_model,
)
from models.tokenizer import CharTokenizer

GPT = ModelInfo("poet", "gpt", 10, None, CharTokenizer("abc \n"), None, False)
VAE = ModelInfo("faces", "vae", 20, None, None, 3, True)
WGAN_2D = ModelInfo("rings", "wgan", 30, None, None, 2, False)
MODELS = [GPT, VAE, WGAN_2D]


def refused(parse, body, models=MODELS) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        parse(body, models)
    message = str(caught.value)
    assert message.endswith(".") and "\n" not in message  # one sentence
    return caught.value


def why(parse, body) -> str:
    return str(refused(parse, body))


def test_generate_builds_the_job_with_defaults_and_the_given_seed():
    parsed = parse_generate({"prompt": "ab\r\nc", "max_new_tokens": 5, "seed": 7}, MODELS)
    assert parsed.job == GenerateJob("poet", "ab\nc", 5, temperature=1.0, top_k=0, top_p=1.0, seed=7)
    assert parsed.stream is False
    parsed = parse_generate(
        {"model": "poet", "max_new_tokens": 2000, "temperature": 0, "top_k": 2, "top_p": 0.5, "stream": True},
        MODELS,
    )
    job = parsed.job
    assert (job.prompt, job.temperature, job.top_k, job.top_p) == ("", 0.0, 2, 0.5)
    assert parsed.stream is True


def test_a_request_without_a_seed_gets_a_drawn_one_in_its_job():
    seeds = {parse_generate({"max_new_tokens": 1}, MODELS).job.seed for _ in range(20)}
    assert len(seeds) > 1 and all(0 <= s < 2**31 for s in seeds)


def test_generate_refusals_name_what_is_wrong():
    assert "never saw in training: 'x', 'y'" in why(parse_generate, {"prompt": "axby", "max_new_tokens": 1})
    assert "between 1 and 2000, not 2001" in why(parse_generate, {"max_new_tokens": 2001})
    assert "between 1 and 2000, not 0" in why(parse_generate, {"max_new_tokens": 0})
    assert '"max_new_tokens" is required' in why(parse_generate, {"prompt": "a"})
    assert "must be a whole number, not a string" in why(parse_generate, {"max_new_tokens": "5"})
    assert "must be a whole number, not true" in why(parse_generate, {"max_new_tokens": True})
    assert "whole number, not the number 2.5" in why(parse_generate, {"max_new_tokens": 2.5})
    assert '"prompt" must be a string, not a list' in why(parse_generate, {"prompt": [], "max_new_tokens": 1})
    assert "temperature must be between 0 and 100" in why(
        parse_generate, {"max_new_tokens": 1, "temperature": -1}
    )
    assert "top-p must be above 0" in why(parse_generate, {"max_new_tokens": 1, "top_p": 0})
    assert '"top_k" must be between 0 and 5' in why(parse_generate, {"max_new_tokens": 1, "top_k": 9})
    assert '"stream" must be true or false' in why(parse_generate, {"max_new_tokens": 1, "stream": 1})
    assert 'unknown field "tokens"' in why(parse_generate, {"tokens": 1})
    assert '"seed" must be between 0' in why(parse_generate, {"max_new_tokens": 1, "seed": -1})


def test_model_resolution_by_name_family_and_omission():
    assert resolve_model(MODELS, None, Endpoint.DECODE) is VAE  # the only vae
    missing = refused(parse_generate, {"model": "nope", "max_new_tokens": 1})
    assert missing.status == 404 and "poet, faces, rings" in str(missing)
    wrong = refused(parse_generate, {"model": "faces", "max_new_tokens": 1})
    assert wrong.status == 400 and "'faces' is a vae model" in str(wrong)
    several = refused(parse_sample, {"n": 1})  # a vae and a wgan both sample
    assert several.status == 400 and "name one" in str(several)
    none = refused(parse_generate, {"max_new_tokens": 1}, [VAE])
    assert none.status == 404 and "no gpt model is served" in str(none)
    assert '"model" must be a string' in why(parse_generate, {"model": 3, "max_new_tokens": 1})


def test_sample_jobs_and_their_format():
    parsed = parse_sample({"model": "faces", "n": 1024, "seed": 3}, MODELS)
    assert parsed.job == SampleJob("faces", 1024, seed=3) and parsed.format is ImageFormat.PNG
    points = parse_sample({"model": "rings", "n": 4}, MODELS)
    assert points.format is ImageFormat.JSON  # 2-D models draw points
    assert "draws 2-D points" in why(parse_sample, {"model": "rings", "n": 4, "format": "png"})
    assert '"format" must be "png" or "json"' in why(
        parse_sample, {"model": "faces", "n": 1, "format": "gif"}
    )
    assert "between 1 and 1024, not 1025" in why(parse_sample, {"model": "faces", "n": 1025})


def test_decode_checks_every_row_against_the_latent_size():
    parsed = parse_decode({"z": [[0, 1, 2.5], [0.0, 0.0, 0.0]], "format": "json"}, MODELS)
    assert parsed.job == DecodeJob("faces", ((0.0, 1.0, 2.5), (0.0, 0.0, 0.0)))
    assert parsed.format is ImageFormat.JSON
    assert "z[1] must be a list of 3 numbers" in why(parse_decode, {"z": [[0, 0, 0], [0, 0]]})
    assert "non-empty list" in why(parse_decode, {"z": []})
    assert "z[0] must hold finite numbers" in why(parse_decode, {"z": [[0, "a", 0]]})
    assert "z[0] must hold finite numbers" in why(parse_decode, {"z": [[0, float("nan"), 0]]})
    assert "at most 1024 vectors" in why(parse_decode, {"z": [[0, 0, 0]] * 1025})
    assert "'rings' is a wgan model" in why(parse_decode, {"model": "rings", "z": [[0, 0]]})


@pytest.mark.parametrize(
    ("raw", "words"),
    [(b"{", "not valid JSON"), (b"[1, 2]", "must be a JSON object, not a list"), (b"\xff", "not UTF-8")],
)
def test_a_body_that_is_not_a_json_object_is_refused(raw, words):
    with pytest.raises(BadRequest) as caught:
        parse_json_object(raw)
    assert caught.value.status == 400 and words in str(caught.value)
