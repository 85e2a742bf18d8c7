"""What the serve benches share: a server on the shipped GPT, closed- and open-loop load, figures."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.serve.api import LoadPlan, ModelSpec, ServeConfig  # noqa: E402
from app.engine.serve.load import LoadRun, percentiles  # noqa: E402
from app.engine.serve.running import ServerThread, start_server_in_thread  # noqa: E402

SHIPPED_GPT = Path(__file__).resolve().parents[1] / "weights" / "gpt-python-docs.safetensors"


def shipped_gpt_config(**settings) -> ServeConfig:
    return ServeConfig(models=(ModelSpec("gpt-python-docs", SHIPPED_GPT),), port=0, **settings)


def started(config: ServeConfig, timeout_s: float = 120.0) -> ServerThread:
    server = start_server_in_thread(config)
    deadline = time.monotonic() + timeout_s
    while not server.stats().ready:
        if time.monotonic() > deadline:
            server.stop()
            raise SystemExit(f"the workers did not load the model within {timeout_s:.0f} s")
        time.sleep(0.05)
    return server


def load(url: str, plan: LoadPlan) -> LoadRun:
    run = LoadRun(url, plan)
    asyncio.run(run.run())
    return run


def ok_per_s(run: LoadRun) -> float:
    return sum(1 for a in run.answers if a.status == 200) / max(run.elapsed_s, 1e-9)


def latency_line(run: LoadRun) -> str:
    p50, p95, p99 = percentiles([a.latency_ms for a in run.answers if a.status == 200])
    return f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms"


def machine_note() -> str:
    return f"{os.cpu_count()} CPU cores seen (shared with whatever else runs: figures vary with its load)"


def bench_arguments(doc: str) -> argparse.Namespace:
    """The options every serve bench takes: the seconds of each measured phase, workers, characters."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each measured phase")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-new-tokens", type=int, default=32, help="characters per generation")
    return parser.parse_args()
