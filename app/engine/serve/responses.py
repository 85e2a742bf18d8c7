"""Job results → JSON bodies (text, a base64 PNG grid, or arrays) and server-sent events."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import numpy as np
from aiohttp import web

from app.engine.images import tile_images, to_pil
from app.engine.serve.jobs import GenerateJob, JobResult
from app.engine.serve.requests import ImageFormat


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    """Every error the server gives: ``{"error": "<one sentence>"}`` with a 4xx/5xx status."""
    return web.json_response({"error": message}, status=status, headers=headers)


def timing_fields(result: JobResult) -> dict[str, Any]:
    """Where the request's time went: which worker, in a batch of how many, queued and computing."""
    return {
        "batch_size": result.batch_size,
        "worker": result.worker,
        "queue_ms": round(result.queue_ms, 3),
        "compute_ms": round(result.compute_ms, 3),
    }


def generate_body(job: GenerateJob, result: JobResult) -> dict[str, Any]:
    return {
        "model": job.model,
        "prompt": job.prompt,
        "text": result.text,
        "seed": job.seed,
        **timing_fields(result),
    }


def png_grid_base64(images: np.ndarray) -> str:
    """(N, C, H, W) in [0, 1] → one PNG grid (the CLI's tiling), base64 for a JSON string."""
    buffer = io.BytesIO()
    to_pil(tile_images(images)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def image_body(model: str, fmt: ImageFormat, result: JobResult, seed: int | None = None) -> dict[str, Any]:
    """A /v1/sample or /v1/decode answer: a PNG grid, the images as (N, C, H, W) lists, or (N, 2) points."""
    body: dict[str, Any] = {"model": model, "format": fmt.value}
    if seed is not None:
        body["seed"] = seed
    if result.images is not None:
        body["n"] = len(result.images)
        if fmt is ImageFormat.PNG:
            body["png"] = png_grid_base64(result.images)
        else:
            body["images"] = np.round(result.images.astype(np.float64), 5).tolist()
    else:
        assert result.points is not None, "a sample or decode result holds images or points"
        body["n"] = len(result.points)
        body["points"] = np.round(result.points.astype(np.float64), 6).tolist()
    return {**body, **timing_fields(result)}


def sse_event(data: dict[str, Any], event: str | None = None) -> bytes:
    """One server-sent event: an optional ``event:`` line, one ``data:`` line of JSON, a blank line."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
