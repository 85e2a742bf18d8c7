"""A load generator for a genplay server (aiohttp client): ``genplay loadtest``, the Serve page, benches.

Open loop (``rate_per_s``): requests start on a fixed schedule whatever the answers, as independent
users would send them, so a slow server shows as growing latency and 429s. Closed loop
(``concurrency``): that many clients, each sending its next request once its answer is back.
Each request goes to an endpoint drawn from the plan's mix, at the first served model that fits.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

import aiohttp
import numpy as np

from app.engine.serve.api import Endpoint, LoadPlan, LoadStats
from app.engine.serve.requests import ENDPOINT_FAMILIES

TRANSPORT_ERROR = 0  # the status counted for a refused, reset or timed-out request
RECENT_LATENCIES = 2000
SAMPLES_PER_REQUEST = 8  # images or points per /v1/sample or /v1/decode request
MAX_CONNECTIONS = 512
STOP_POLL_S = 0.05


class LoadError(Exception):
    """The load cannot run (server unreachable, no served model fits the mix); str() is one sentence."""


def parse_mix(text: str) -> dict[Endpoint, float]:
    """``generate=3,sample=1`` → {GENERATE: 3.0, SAMPLE: 1.0}; raises ValueError with one sentence."""
    mix: dict[Endpoint, float] = {}
    names = ", ".join(e.value for e in Endpoint)
    for part in text.split(","):
        name, sep, weight = part.strip().partition("=")
        try:
            endpoint = Endpoint(name.strip())
            value = float(weight) if sep else 1.0
        except ValueError:
            raise ValueError(
                f"'{part.strip()}' is not ENDPOINT=WEIGHT with ENDPOINT one of {names}"
            ) from None
        if not value >= 0 or value == float("inf"):
            raise ValueError(f"the weight of {endpoint} must be zero or a positive number, not {weight}")
        mix[endpoint] = value
    if not any(mix.values()):
        raise ValueError("the mix needs at least one endpoint with a positive weight")
    return mix


def percentiles(values: list[float] | tuple[float, ...], points=(50, 95, 99)) -> tuple[float, ...]:
    """The given percentiles of ``values`` (NaN each when there are none)."""
    if not values:
        return tuple(float("nan") for _ in points)
    return tuple(float(v) for v in np.percentile(np.asarray(values, dtype=np.float64), points))


@dataclass(frozen=True)
class Answer:
    endpoint: Endpoint
    status: int  # TRANSPORT_ERROR for no answer at all
    latency_ms: float


async def request_bodies(
    session: aiohttp.ClientSession, url: str, mix: dict[Endpoint, float]
) -> dict[Endpoint, Any]:
    """For each endpoint the mix uses, a function of the request's index that builds its JSON body."""
    try:
        async with session.get(f"{url}/v1/models") as response:
            if response.status != 200:
                raise LoadError(f"{url}/v1/models answered {response.status}; is this a genplay server?")
            models = await response.json()
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise LoadError(f"could not reach {url} ({type(exc).__name__}: {exc}).") from None
    builders: dict[Endpoint, Any] = {}
    for endpoint, weight in mix.items():
        if weight <= 0:
            continue
        model = next((m for m in models if m["family"] in ENDPOINT_FAMILIES[endpoint]), None)
        if model is None:
            families = " or ".join(ENDPOINT_FAMILIES[endpoint])
            raise LoadError(f"the mix asks for {endpoint}, and {url} serves no {families} model.")
        builders[endpoint] = _body_builder(endpoint, model)
    return builders


def _body_builder(endpoint: Endpoint, model: dict[str, Any]):
    name = model["name"]
    if endpoint is Endpoint.GENERATE:
        return lambda index, plan: {
            "model": name,
            "prompt": "",
            "max_new_tokens": plan.max_new_tokens,
            "seed": index,
        }
    if endpoint is Endpoint.SAMPLE:
        return lambda index, plan: {"model": name, "n": SAMPLES_PER_REQUEST, "seed": index}
    latent_dim = int(model["config"]["latent_dim"])

    def decode_body(index: int, _plan: LoadPlan) -> dict[str, Any]:
        rng = random.Random(index)
        return {
            "model": name,
            "z": [[rng.gauss(0, 1) for _ in range(latent_dim)] for _ in range(SAMPLES_PER_REQUEST)],
        }

    return decode_body


class LoadRun:
    """One run of a plan against one server; ``stats()`` may be read from any thread."""

    def __init__(self, url: str, plan: LoadPlan, seed: int = 0) -> None:
        if (plan.rate_per_s is None) == (plan.concurrency is None):
            raise ValueError("a load plan needs either a rate (open loop) or a concurrency (closed loop)")
        self.url = url.rstrip("/")
        self.plan = plan
        self.answers: list[Answer] = []  # every answer, for the end-of-run report
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._sent = 0
        self._by_status: Counter[int] = Counter()
        self._recent: deque[float] = deque(maxlen=RECENT_LATENCIES)
        self._stop = threading.Event()  # send no more and abandon what is in flight
        self._enough = threading.Event()  # send no more, but wait for what is in flight
        self._finished = False
        self._error: str | None = None
        self.started_at = time.monotonic()
        self.elapsed_s = 0.0

    def stats(self) -> LoadStats:
        with self._lock:
            return LoadStats(
                time_s=time.monotonic(),
                sent=self._sent,
                completed=len(self.answers),
                by_status=dict(self._by_status),
                recent_latencies_ms=tuple(self._recent),
                finished=self._finished,
                error=self._error,
            )

    def stop(self) -> None:
        """Stop sending; requests in flight are abandoned (safe from any thread)."""
        self._stop.set()

    def finish(self) -> None:
        """Stop sending; requests in flight are still awaited and counted (safe from any thread)."""
        self._enough.set()

    async def run(self) -> None:
        """Send until the plan's duration or count is done, or ``stop``; LoadError when it cannot."""
        plan = self.plan
        timeout = aiohttp.ClientTimeout(total=plan.timeout_s)
        try:
            connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS)
            async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
                bodies = await request_bodies(session, self.url, plan.mix)
                endpoints = list(bodies)
                weights = [plan.mix[e] for e in endpoints]
                self.started_at = time.monotonic()
                deadline = self.started_at + plan.duration_s if plan.duration_s is not None else float("inf")

                async def send_one(index: int) -> None:
                    endpoint = self._rng.choices(endpoints, weights)[0]
                    await self._send(session, endpoint, bodies[endpoint](index, plan))

                if plan.rate_per_s is not None:
                    await self._open_loop(send_one, plan.rate_per_s, deadline)
                else:
                    await self._closed_loop(send_one, plan.concurrency or 1, deadline)
        except LoadError as exc:
            with self._lock:
                self._error = str(exc)
            raise
        finally:
            self.elapsed_s = time.monotonic() - self.started_at
            with self._lock:
                self._finished = True

    def _more(self, deadline: float) -> bool:
        if self._stop.is_set() or self._enough.is_set() or time.monotonic() >= deadline:
            return False
        with self._lock:
            return self.plan.requests is None or self._sent < self.plan.requests

    def _claim(self) -> int:
        with self._lock:
            self._sent += 1
            return self._sent - 1

    async def _open_loop(self, send_one, rate: float, deadline: float) -> None:
        in_flight: set[asyncio.Task] = set()
        start = time.monotonic()
        index = 0
        while self._more(deadline):
            due = start + index / rate
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(min(wait, STOP_POLL_S))
                continue
            task = asyncio.create_task(send_one(self._claim()))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            index += 1
        await self._finish(in_flight)

    async def _closed_loop(self, send_one, concurrency: int, deadline: float) -> None:
        async def client() -> None:
            while self._more(deadline):
                await send_one(self._claim())

        await self._finish({asyncio.create_task(client()) for _ in range(concurrency)})

    async def _finish(self, tasks: set[asyncio.Task]) -> None:
        """Wait for what is in flight (each bounded by the request timeout), or drop it on ``stop``."""
        pending = set(tasks)
        while pending and not self._stop.is_set():
            _done, pending = await asyncio.wait(pending, timeout=STOP_POLL_S)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _send(self, session: aiohttp.ClientSession, endpoint: Endpoint, body: dict[str, Any]) -> None:
        started = time.perf_counter()
        try:
            async with session.post(f"{self.url}/v1/{endpoint}", json=body) as response:
                await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError, OSError):
            status = TRANSPORT_ERROR
        latency_ms = (time.perf_counter() - started) * 1000.0
        with self._lock:
            self.answers.append(Answer(endpoint, status, latency_ms))
            self._by_status[status] += 1
            self._recent.append(latency_ms)


class LoadThread:
    """A load run on a background thread with its own event loop (the ``LoadGenerator`` protocol)."""

    def __init__(self, url: str, plan: LoadPlan) -> None:
        self.run = LoadRun(url, plan)
        self._thread = threading.Thread(target=self._main, name="genplay-load", daemon=True)
        self._thread.start()

    def _main(self) -> None:
        try:
            asyncio.run(self.run.run())
        except LoadError:
            pass  # kept in stats().error for whoever watches

    def stats(self) -> LoadStats:
        return self.run.stats()

    def stop(self) -> None:
        self.run.stop()
        self._thread.join(timeout=10.0)


def start_load_in_thread(url: str, plan: LoadPlan) -> LoadThread:
    return LoadThread(url, plan)
