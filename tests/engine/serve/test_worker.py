"""A worker's batch computation, in this process (the pipe and the spawning are tested elsewhere)."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine.inference import load_model
from app.engine.inference.sampling import decode_codes
from app.engine.serve.jobs import DecodeJob, GenerateJob
from app.engine.serve.messages import JobOutput, RunBatch
from app.engine.serve.worker import run_batch
from weights import weights_dir


@pytest.fixture(scope="module")
def ready():
    names = ("gpt-python-docs", "vae-shapes")
    return {name: load_model(weights_dir() / f"{name}.safetensors") for name in names}


def test_only_streaming_jobs_send_their_characters_step_by_step(ready):
    jobs = (GenerateJob("gpt-python-docs", "def ", 6, seed=1), GenerateJob("gpt-python-docs", "x", 9, seed=2))
    sent = []
    done = run_batch(ready, RunBatch(7, "gpt-python-docs", jobs, (False, True)), sent.append)
    assert done.batch_id == 7 and done.compute_ms > 0
    assert all(message.batch_id == 7 and set(message.chunks) == {1} for message in sent)
    assert "".join(message.chunks[1] for message in sent) == done.outputs[1].text
    assert [len(output.text) for output in done.outputs] == [6, 9]


def test_codes_of_several_jobs_are_decoded_together_and_split_back(ready):
    z = np.random.default_rng(0).normal(size=(5, 10)).round(3)
    jobs = tuple(DecodeJob("vae-shapes", tuple(map(tuple, part))) for part in (z[:2], z[2:]))
    done = run_batch(ready, RunBatch(1, "vae-shapes", jobs, (False, False)), lambda _: None)
    first, second = done.outputs
    assert isinstance(first, JobOutput) and first.images.shape == (2, 1, 32, 32)
    assert second.images.shape == (3, 1, 32, 32)
    expected = decode_codes(ready["vae-shapes"], z)
    np.testing.assert_allclose(np.concatenate([first.images, second.images]), expected, atol=1e-6)


def test_a_failing_batch_answers_each_job_with_one_sentence(ready):
    jobs = (GenerateJob("nobody", "a", 2), GenerateJob("nobody", "b", 2))
    done = run_batch(ready, RunBatch(3, "nobody", jobs, (False, False)), lambda _: None)
    assert done.outputs[0] == done.outputs[1] == "the worker failed on this batch (KeyError: 'nobody')"
