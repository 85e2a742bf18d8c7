"""``genplay serve`` (checkpoints over HTTP until Ctrl+C) and ``genplay loadtest`` (load against a server).

The heavy imports (aiohttp, torch's worker processes) happen inside the commands, so building
the parser stays cheap for every other command.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import sys
from pathlib import Path

from app.engine.devices import DEVICE_CHOICES

MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
CURL_PROMPT = "def "  # the curl example's prompt, when the model knows its characters


def _int_in(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, not {value}")
        return value

    return parse


def _model_spec(text: str):
    """``CKPT`` (named by its file stem) or ``NAME=CKPT``."""
    from app.engine.serve.api import ModelSpec

    name, sep, path = text.partition("=")
    if sep and MODEL_NAME.fullmatch(name) and path:
        return ModelSpec(name=name, path=Path(path))
    return ModelSpec(name=Path(text).stem, path=Path(text))


def add_serve_parsers(commands, positive_int, positive_float, non_negative_float) -> None:
    """Register ``serve`` and ``loadtest`` on ``genplay``'s subcommand parsers."""
    serve = commands.add_parser("serve", help="serve checkpoints over HTTP (JSON API, /metrics) until Ctrl+C")
    serve.add_argument(
        "models", nargs="+", type=_model_spec, metavar="CKPT|NAME=CKPT",
        help="checkpoints to serve; each is named by its file stem unless given as NAME=CKPT",
    )  # fmt: skip
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)"
    )
    serve.add_argument(
        "--port", type=_int_in(0, 65535), default=8000, help="default 8000; 0 picks a free port"
    )
    serve.add_argument("--workers", type=positive_int, default=2, help="worker processes (default 2)")
    serve.add_argument(
        "--max-batch", type=positive_int, default=16, help="most requests per batch (default 16)"
    )
    serve.add_argument(
        "--max-wait-ms", type=non_negative_float, default=5.0,
        help="how long a batch waits to fill once a worker is free (default 5)",
    )  # fmt: skip
    serve.add_argument(
        "--queue-size", type=positive_int, default=256, help="requests queued before 429 (default 256)"
    )
    serve.add_argument(
        "--device", choices=DEVICE_CHOICES, default="cpu", help="where the workers compute (default cpu)"
    )

    load = commands.add_parser(
        "loadtest", help="send load to a genplay server and report throughput and latency"
    )
    load.add_argument("url", help="the server, e.g. http://127.0.0.1:8000")
    pace = load.add_mutually_exclusive_group()
    pace.add_argument("--rate", type=positive_float, help="open loop: start R requests a second")
    pace.add_argument("--concurrency", type=positive_int, help="closed loop: C clients (default 8)")
    load.add_argument("--duration", type=positive_float, metavar="S", help="seconds to send (default 10)")
    load.add_argument("--requests", type=positive_int, metavar="N", help="requests to send")
    load.add_argument("--mix", default="generate=1", help="endpoints and weights, e.g. generate=3,sample=1")
    load.add_argument("--max-new-tokens", type=_int_in(1, 2000), default=32, help="characters per generation")
    load.add_argument(
        "--timeout", type=positive_float, default=30.0, metavar="S", help="per request (default 30)"
    )


def _fail(message: str) -> int:
    print(f"genplay: error: {message}", file=sys.stderr)
    return 2


def curl_example(url: str, models) -> str:
    """A command that asks the first served model for something, to copy into a terminal."""
    model = models[0]
    if model.family == "gpt":
        known = model.tokenizer is not None and not model.tokenizer.unknown_characters(CURL_PROMPT)
        body = {"model": model.name, "prompt": CURL_PROMPT if known else "", "max_new_tokens": 80}
        endpoint = "generate"
    else:
        body = {"model": model.name, "n": 4, "format": "json" if not model.is_image else "png"}
        endpoint = "sample"
    return f"curl -s {url}/v1/{endpoint} -H 'Content-Type: application/json' -d '{json.dumps(body)}'"


def serve_command(args) -> int:
    from app.engine.errors import GenplayError
    from app.engine.serve.api import ServeConfig
    from app.engine.serve.pipeline import Pipeline
    from app.engine.serve.running import serve_until_signalled

    names = [spec.name for spec in args.models]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        return _fail(f"two models are named '{repeated[0]}'; name them apart with NAME=CKPT.")
    config = ServeConfig(
        models=tuple(args.models), host=args.host, port=args.port, workers=args.workers, device=args.device,
        max_batch=args.max_batch, max_wait_ms=args.max_wait_ms, queue_size=args.queue_size,
    )  # fmt: skip
    try:
        pipeline = Pipeline(config)
    except GenplayError as exc:
        return _fail(str(exc))
    models = pipeline.models()

    def on_listening(url: str) -> None:
        served = ", ".join(f"{m.name} ({m.family}, step {m.step})" for m in models)
        print(
            f"genplay serve: {served} on {args.workers} worker(s); listening on {url}, loading the models …"
        )

    def on_ready(url: str) -> None:
        print(f"ready: {url}  (GET /v1/models, /readyz, /metrics; Ctrl+C drains and stops)")
        print(f"  {curl_example(url, models)}", flush=True)

    def on_draining() -> None:
        print("draining: answering the requests in flight, then stopping …", flush=True)

    try:
        asyncio.run(serve_until_signalled(config, pipeline, on_listening, on_ready, on_draining))
    except OSError as exc:  # the port is taken, the host is not this machine's
        return _fail(f"could not listen on {args.host}:{args.port} ({exc.strerror or exc}).")
    except GenplayError as exc:
        return _fail(str(exc))
    print("stopped.")
    return 0


def loadtest_command(args) -> int:
    from app.engine.serve.api import LoadPlan
    from app.engine.serve.load import LoadError, LoadRun, parse_mix

    try:
        mix = parse_mix(args.mix)
    except ValueError as exc:
        return _fail(f"--mix: {exc}.")
    duration = args.duration if args.duration is not None or args.requests is not None else 10.0
    plan = LoadPlan(
        rate_per_s=args.rate,
        concurrency=None if args.rate is not None else (args.concurrency or 8),
        mix=mix, max_new_tokens=args.max_new_tokens, duration_s=duration, timeout_s=args.timeout,
        requests=args.requests,
    )  # fmt: skip
    run = LoadRun(args.url, plan)
    pace = (
        f"{plan.rate_per_s:g} requests/s (open loop)"
        if plan.rate_per_s
        else f"{plan.concurrency} clients (closed loop)"
    )
    print(f"loadtest {args.url}: {pace}, mix {args.mix}", flush=True)

    async def main() -> None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, run.stop)
        await run.run()

    try:
        asyncio.run(main())
    except LoadError as exc:
        return _fail(str(exc))
    print(load_report(run))
    return 0


def load_report(run) -> str:
    """Throughput, latency percentiles of the 200 answers, and the count of each status."""
    from app.engine.serve.load import TRANSPORT_ERROR, percentiles

    answers = run.answers
    elapsed = max(run.elapsed_s, 1e-9)
    ok = [a.latency_ms for a in answers if a.status == 200]
    p50, p95, p99 = percentiles(ok)
    counts = run.stats().by_status
    statuses = ", ".join(
        f"{'transport error' if status == TRANSPORT_ERROR else status}: {count}"
        for status, count in sorted(counts.items())
    )
    rates = f"{len(answers) / elapsed:.1f}/s, {len(ok) / elapsed:.1f} OK/s"
    return (
        f"{len(answers)} answers in {elapsed:.1f} s: {rates}\n"
        f"latency of the 200 answers: p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms\n"
        f"status: {statuses or 'none'}"
    )
