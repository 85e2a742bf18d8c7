"""What the server tests share: untrained tiny checkpoints of each family (they load in
milliseconds), starting a server, and a small aiohttp client."""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from app.engine.checkpoint import save_checkpoint
from app.engine.data import load_shapes
from app.engine.data.text import text_bundle
from app.engine.data.toy2d import load_toy
from app.engine.serve.api import ServeConfig, ServerStats, WorkerState
from app.engine.serve.running import start_server_in_thread
from app.engine.setup import build_configs, create_task

TEXT = "the cat sat on the mat. the dog sat on the log.\n" * 40
GPT_SETTINGS = {"n_layer": 1, "n_head": 2, "d_model": 16, "block_size": 32, "device": "cpu"}
VAE_SETTINGS = {"latent_dim": 3, "hidden_dims": [16], "device": "cpu"}
WGAN_SETTINGS = {"latent_dim": 2, "hidden_dims": [16], "device": "cpu"}
REQUEST_TIMEOUT_S = 60.0


def _save(path: Path, family: str, data, settings: dict) -> Path:
    model_config, hparams, train = build_configs(family, data, settings)
    task = create_task(family, data, model_config, hparams, train)
    return save_checkpoint(
        path,
        family=family,
        config=task.model_config,
        tensors=task.model_tensors(),
        step=1,
        data=data.describe(),
        tokenizer=task.tokenizer_metadata(),
    )


def tiny_gpt(folder: Path, name: str = "tiny-gpt") -> Path:
    return _save(folder / f"{name}.safetensors", "gpt", text_bundle(TEXT, "cats", "cats"), GPT_SETTINGS)


def tiny_vae(folder: Path, name: str = "tiny-vae") -> Path:
    return _save(folder / f"{name}.safetensors", "vae", load_shapes(seed=0, count=64), VAE_SETTINGS)


def tiny_wgan_2d(folder: Path, name: str = "tiny-wgan") -> Path:
    return _save(folder / f"{name}.safetensors", "wgan", load_toy("8gaussians"), WGAN_SETTINGS)


# --- talking to a server ----------------------------------------------------------------------
@dataclass(frozen=True)
class Reply:
    status: int
    body: Any  # parsed JSON, or the text when the answer is not JSON
    headers: dict[str, str]


async def fetch(session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> Reply:
    async with session.request(method, url, **kwargs) as response:
        text = await response.text()
        try:
            body = json.loads(text)
        except json.JSONDecodeError:
            body = text
        return Reply(response.status, body, dict(response.headers))


def call(method: str, url: str, **kwargs: Any) -> Reply:
    """One request from a fresh client, bounded in time."""

    async def one() -> Reply:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)) as session:
            return await fetch(session, method, url, **kwargs)

    return asyncio.run(one())


def call_many(requests: list[tuple[str, str, dict[str, Any]]]) -> list[Reply]:
    """Several requests at once (method, url, keyword arguments), answers in order."""

    async def many() -> list[Reply]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)) as session:
            return await asyncio.gather(*(fetch(session, m, u, **kw) for m, u, kw in requests))

    return asyncio.run(many())


def wait_until(condition, timeout_s: float = 60.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout_s:.0f} s")
        time.sleep(0.05)


def serve(config: ServeConfig):
    """A started server whose workers have loaded the models (stop it when done)."""
    server = start_server_in_thread(config)
    try:
        wait_until(lambda: all_loaded(server.stats()), what="the workers loading the models")
    except BaseException:
        server.stop()
        raise
    return server


def all_loaded(stats: ServerStats) -> bool:
    return stats.ready and all(w.state in (WorkerState.READY, WorkerState.BUSY) for w in stats.workers)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
