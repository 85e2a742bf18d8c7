"""Hundreds of hostile checkpoint files: each is refused with one readable sentence,
without a crash, a hang or a large allocation, through the same loader File → Open uses."""

from __future__ import annotations

import resource
import time

import pytest

from app.engine.checkpoint import CheckpointError, read_checkpoint
from tests.engine.checkpoint.hostile_files import hostile_corpus, valid_bytes


@pytest.fixture(scope="module")
def corpus():
    return hostile_corpus()


def test_the_corpus_is_large_and_the_untouched_file_loads(corpus, tmp_path):
    assert len(corpus) >= 200
    assert len({name for name, _ in corpus}) == len(corpus)
    from app.engine.tasks import TASKS

    for family in TASKS:
        path = tmp_path / f"{family}.safetensors"
        path.write_bytes(valid_bytes(family)[0])
        assert read_checkpoint(path).family == family


def test_every_hostile_file_gives_a_readable_checkpoint_error(corpus, tmp_path):
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    failures = []
    slowest = 0.0
    for index, (name, data) in enumerate(corpus):
        path = tmp_path / f"case{index}.safetensors"
        path.write_bytes(data)
        started = time.perf_counter()
        try:
            read_checkpoint(path)
        except CheckpointError as exc:
            message = str(exc)
            if "\n" in message or not 10 < len(message) < 400 or "Traceback" in message:
                failures.append(f"{name}: unreadable message {message!r}")
        except Exception as exc:  # noqa: BLE001 - the point of the test
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
        else:
            failures.append(f"{name}: was accepted")
        slowest = max(slowest, time.perf_counter() - started)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert failures == []
    assert slowest < 2.0, f"a file took {slowest:.2f} s"
    assert grown_mb < 300, f"peak memory grew by {grown_mb:.0f} MB"
