"""``genplay serve`` and ``genplay loadtest`` as a user runs them: real processes, real signals."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.engine.serve.serving_helpers import call, tiny_gpt, wait_until

pytestmark = pytest.mark.timeout(240)
REPO = Path(__file__).resolve().parents[3]


def genplay(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], cwd=REPO, capture_output=True, text=True, timeout=120, **kwargs
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str) -> int:
    try:
        return call("GET", url).status
    except aiohttp.ClientError:
        return 0


def test_serve_answers_loadtest_and_drains_on_sigint(tmp_path):
    path = tiny_gpt(tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", f"poet={path}", "--port", str(port), "--workers", "1"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_until(lambda: answers(f"{url}/readyz") == 200, timeout_s=90, what="the server getting ready")
        load = genplay("loadtest", url, "--requests", "12", "--concurrency", "3", "--max-new-tokens", "8")
        assert load.returncode == 0, load.stderr
        assert "status: 200: 12" in load.stdout and "p99" in load.stdout
        unservable = genplay("loadtest", url, "--requests", "1", "--mix", "sample=1")
        assert unservable.returncode == 2 and "serves no vae or wgan model" in unservable.stderr
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert server.returncode == 0, err
    assert f"ready: {url}" in out and f"curl -s {url}/v1/generate" in out and '"model": "poet"' in out
    assert "stopped." in out


def test_a_bad_checkpoint_is_one_line_and_exit_2(tmp_path):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a checkpoint at all")
    result = genplay("serve", str(broken), "--port", str(free_port()))
    assert result.returncode == 2
    assert result.stderr.startswith("genplay: error:") and result.stderr.count("\n") == 1
    missing = genplay("serve", str(tmp_path / "absent.safetensors"))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1


def test_two_models_of_one_name_are_refused(tmp_path):
    path = tiny_gpt(tmp_path)
    result = genplay("serve", f"a={path}", f"a={path}")
    assert result.returncode == 2 and "two models are named 'a'" in result.stderr


def test_loadtest_says_why_it_cannot_run():
    unreachable = genplay("loadtest", f"http://127.0.0.1:{free_port()}", "--requests", "1")
    assert unreachable.returncode == 2 and "could not reach" in unreachable.stderr
    bad_mix = genplay("loadtest", "http://127.0.0.1:1", "--mix", "generate=x")
    assert bad_mix.returncode == 2 and "--mix" in bad_mix.stderr
