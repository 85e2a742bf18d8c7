"""The aiohttp application: the producer end of the pipeline.

Each handler parses its body into a job (``requests.py``), submits it and awaits its one answer.
A full queue answers 429 at once; every failure, aiohttp's own 404/405/413 included, becomes
``{"error": "<one sentence>"}`` in the one middleware, which also counts and times every answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from app.engine.serve.api import Endpoint
from app.engine.serve.jobs import GenerateJob, JobResult, QueueFull, ServiceUnavailable
from app.engine.serve.metrics import CONTENT_TYPE, ServeMetrics
from app.engine.serve.pipeline import Pipeline
from app.engine.serve.requests import (
    BadRequest,
    ImageRequest,
    parse_decode,
    parse_generate,
    parse_json_object,
    parse_sample,
)
from app.engine.serve.responses import error_response, generate_body, image_body, sse_event
from models.config_fields import config_to_dict

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
RETRY_AFTER_S = 1  # a full queue empties within about a batch's time; tell clients to come back soon
BATCH_TALLY_INTERVAL_S = 0.2
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})  # not counted in the server's response mix

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def aiohttp_error_sentence(request: web.Request, exc: web.HTTPException) -> str:
    """One sentence for an error aiohttp raised itself (no route, wrong method, body too large)."""
    if isinstance(exc, web.HTTPNotFound):
        return f"there is no {request.path} here; the API lives under /v1 (GET /v1/models lists the models)."
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = " or ".join(sorted(exc.allowed_methods))
        return f"{request.path} takes {allowed}, not {request.method}."
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return f"the body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB, the most this server reads."
    return f"{exc.reason}." if exc.reason else f"the request failed with status {exc.status}."


def route_label(request: web.Request) -> str:
    """The route a request matched (bounded label values for the metrics), or "other"."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "other"


class ServeHandlers:
    """The routes, bound to one pipeline and its metrics."""

    def __init__(self, pipeline: Pipeline, metrics: ServeMetrics) -> None:
        self.pipeline = pipeline
        self.metrics = metrics
        self.models = pipeline.models()

    @web.middleware
    async def answer_every_error_as_json(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            response = await handler(request)
        except BadRequest as exc:
            response = error_response(exc.status, str(exc))
        except QueueFull as exc:
            response = error_response(429, str(exc), {"Retry-After": str(RETRY_AFTER_S)})
        except ServiceUnavailable as exc:
            response = error_response(503, str(exc))
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
            response = error_response(exc.status, aiohttp_error_sentence(request, exc), headers)
        except Exception as exc:  # a bug must still answer, and the server must go on
            log.exception("unhandled error on %s %s", request.method, request.path)
            response = error_response(500, f"the server failed on this request ({type(exc).__name__}).")
        self.count(request, response.status, time.perf_counter() - started)
        return response

    def count(self, request: web.Request, status: int, seconds: float) -> None:
        label = route_label(request)
        self.metrics.observe(label, status, seconds)
        if label not in PROBE_PATHS:
            self.pipeline.count_response(status)

    # --- probes and listings -------------------------------------------------------------------
    async def healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(self, _request: web.Request) -> web.Response:
        ready, reason = self.pipeline.ready()
        if not ready:
            return error_response(503, reason or "no worker has loaded the models yet.")
        return web.json_response({"status": "ready"})

    async def list_models(self, _request: web.Request) -> web.Response:
        return web.json_response(
            [
                {"name": m.name, "family": m.family, "step": m.step, "config": config_to_dict(m.config)}
                for m in self.models
            ]
        )

    async def list_workers(self, _request: web.Request) -> web.Response:
        workers = self.pipeline.stats().workers
        return web.json_response(
            [
                {
                    "id": w.id,
                    "pid": w.pid,
                    "state": w.state.value,
                    "restarts": w.restarts,
                    "batches": w.batches,
                    "requests": w.requests,
                }  # fmt: skip
                for w in workers
            ]
        )

    async def metrics_text(self, _request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})

    # --- jobs ----------------------------------------------------------------------------------
    async def generate(self, request: web.Request) -> web.StreamResponse:
        parsed = parse_generate(parse_json_object(await request.read()), self.models)
        if parsed.stream:
            return await self._stream_generation(request, parsed.job)
        result = await self.pipeline.submit(parsed.job)
        return web.json_response(generate_body(parsed.job, result))

    async def sample(self, request: web.Request) -> web.Response:
        return await self._images(parse_sample(parse_json_object(await request.read()), self.models))

    async def decode(self, request: web.Request) -> web.Response:
        return await self._images(parse_decode(parse_json_object(await request.read()), self.models))

    async def _images(self, parsed: ImageRequest) -> web.Response:
        result = await self.pipeline.submit(parsed.job)
        # a grid of 1,024 images takes a moment to encode: off the event loop, which keeps answering
        body = await asyncio.get_running_loop().run_in_executor(
            None, image_body, parsed.job.model, parsed.format, result, parsed.seed
        )
        return web.json_response(body)

    async def _stream_generation(self, request: web.Request, job: GenerateJob) -> web.StreamResponse:
        """Server-sent events: ``data: {"text": …}`` as characters are written, then ``event: result``.

        The stream opens with the first characters, so a job refused before any (the server
        draining, restarts exhausted) still answers with a plain JSON error and its status.
        """
        pending: list[str] = []
        arrived = asyncio.Event()

        def on_text(chunk: str) -> None:
            pending.append(chunk)
            arrived.set()

        future = self.pipeline.submit(job, on_text=on_text)  # QueueFull: 429 from the middleware
        stream = _EventStream(request)
        while not future.done():
            waiter = asyncio.ensure_future(arrived.wait())
            await asyncio.wait({waiter, future}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            arrived.clear()
            if pending:
                text = "".join(pending)
                pending.clear()
                await stream.send({"text": text})
        try:
            result: JobResult = future.result()
        except Exception as exc:
            if not stream.opened:
                raise  # the middleware answers with the status it means
            log.warning("generation failed after streaming began: %s", exc)
            status = 503 if isinstance(exc, ServiceUnavailable) else 500
            message = str(exc) if status == 503 else f"the generation failed ({type(exc).__name__})."
            await stream.send({"error": message, "status": status}, event="error")
            return await stream.close()
        await stream.send(generate_body(job, result), event="result")
        return await stream.close()


class _EventStream:
    """A text/event-stream answer, opened on its first event; a client that left is let go quietly."""

    def __init__(self, request: web.Request) -> None:
        self.request = request
        self.response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        self.opened = False
        self.client_left = False

    async def send(self, data: dict[str, Any], event: str | None = None) -> None:
        if self.client_left:
            return
        try:
            if not self.opened:
                self.opened = True
                await self.response.prepare(self.request)
            await self.response.write(sse_event(data, event))
        except ConnectionResetError:  # the job still finishes; its answer has nobody to go to
            self.client_left = True

    async def close(self) -> web.StreamResponse:
        if not self.opened:
            self.opened = True
            await self.response.prepare(self.request)
        if not self.client_left:
            try:
                await self.response.write_eof()
            except ConnectionResetError:
                self.client_left = True
        return self.response


def build_app(pipeline: Pipeline, metrics: ServeMetrics) -> web.Application:
    handlers = ServeHandlers(pipeline, metrics)
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[handlers.answer_every_error_as_json])
    app.add_routes(
        [
            web.get("/healthz", handlers.healthz),
            web.get("/readyz", handlers.readyz),
            web.get("/metrics", handlers.metrics_text),
            web.get("/v1/models", handlers.list_models),
            web.get("/v1/workers", handlers.list_workers),
            web.post(f"/v1/{Endpoint.GENERATE}", handlers.generate),
            web.post(f"/v1/{Endpoint.SAMPLE}", handlers.sample),
            web.post(f"/v1/{Endpoint.DECODE}", handlers.decode),
        ]
    )

    async def tally_batches(_app: web.Application) -> AsyncIterator[None]:
        async def every_interval() -> None:
            while True:
                metrics.count_batches()
                await asyncio.sleep(BATCH_TALLY_INTERVAL_S)

        task = asyncio.create_task(every_interval())
        yield
        task.cancel()

    app.cleanup_ctx.append(tally_batches)
    return app
