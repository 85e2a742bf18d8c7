"""JSON request bodies → typed jobs, or a ``BadRequest`` that says in one sentence what is wrong.

Everything a client sends is checked here, before anything reaches the queue, so a bad request
costs the server nothing but this parse and never disturbs another client's work.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from app.engine.serve.api import Endpoint
from app.engine.serve.jobs import DecodeJob, GenerateJob, ModelInfo, SampleJob
from models.text_sampling import SamplingSettings
from models.tokenizer import describe_char

MAX_NEW_TOKENS = 2000
MAX_SAMPLES = 1024  # images or points in one /v1/sample or /v1/decode answer
MAX_PROMPT_CHARS = 20_000
MAX_SEED = 2**63 - 1

# which families each endpoint serves (its model must be one of these)
ENDPOINT_FAMILIES: dict[Endpoint, tuple[str, ...]] = {
    Endpoint.GENERATE: ("gpt",),
    Endpoint.SAMPLE: ("vae", "wgan"),
    Endpoint.DECODE: ("vae",),
}


class BadRequest(Exception):
    """A request the server refuses: its HTTP status and one sentence for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ImageFormat(StrEnum):
    PNG = "png"  # one base64 PNG grid of the images
    JSON = "json"  # the arrays themselves


@dataclass(frozen=True)
class GenerateRequest:
    job: GenerateJob
    stream: bool


@dataclass(frozen=True)
class ImageRequest:
    """A /v1/sample or /v1/decode request: the job and how its answer is written."""

    job: SampleJob | DecodeJob
    format: ImageFormat

    @property
    def seed(self) -> int | None:
        """The seed a sample was drawn with (returned to the client); a decode has none."""
        return self.job.seed if isinstance(self.job, SampleJob) else None


def draw_seed() -> int:
    """A fresh seed for a request that named none; it travels in the job, so a retry is exact."""
    return secrets.randbelow(2**31)


def parse_json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "it is not UTF-8"
        raise BadRequest(400, f"the body is not valid JSON ({reason}).") from None
    if not isinstance(body, dict):
        raise BadRequest(400, f"the body must be a JSON object, not {_json_kind(body)}.")
    return body


def resolve_model(models: Sequence[ModelInfo], name: Any, endpoint: Endpoint) -> ModelInfo:
    """The model a request names, or the only one of the endpoint's families when it names none."""
    families = ENDPOINT_FAMILIES[endpoint]
    wanted = " or ".join(families)
    if name is None:
        fitting = [m for m in models if m.family in families]
        if len(fitting) == 1:
            return fitting[0]
        if not fitting:
            raise BadRequest(404, f"no {wanted} model is served, and /v1/{endpoint} needs one.")
        names = ", ".join(m.name for m in fitting)
        raise BadRequest(400, f'several {wanted} models are served ({names}); name one in "model".')
    if not isinstance(name, str):
        raise BadRequest(400, f'"model" must be a string, not {_json_kind(name)}.')
    model = next((m for m in models if m.name == name), None)
    if model is None:
        served = ", ".join(m.name for m in models)
        raise BadRequest(404, f"no model is named '{name}'; this server serves {served}.")
    if model.family not in families:
        raise BadRequest(
            400, f"'{name}' is a {model.family} model, and /v1/{endpoint} needs a {wanted} model."
        )
    return model


def parse_generate(body: dict[str, Any], models: Sequence[ModelInfo]) -> GenerateRequest:
    fields = _Fields(
        body, {"model", "prompt", "max_new_tokens", "temperature", "top_k", "top_p", "seed", "stream"}
    )
    model = resolve_model(models, body.get("model"), Endpoint.GENERATE)
    prompt = fields.string("prompt", default="", longest=MAX_PROMPT_CHARS).replace("\r\n", "\n")
    assert model.tokenizer is not None, "a gpt model always has its tokenizer"
    unknown = model.tokenizer.unknown_characters(prompt)
    if unknown:
        shown = ", ".join(describe_char(c) for c in unknown[:8])
        more = f" and {len(unknown) - 8} more" if len(unknown) > 8 else ""
        raise BadRequest(
            400, f"the prompt has characters that '{model.name}' never saw in training: {shown}{more}."
        )
    settings = SamplingSettings(
        temperature=fields.number("temperature", default=1.0),
        top_k=fields.integer("top_k", default=0, low=0, high=model.tokenizer.vocab_size),
        top_p=fields.number("top_p", default=1.0),
    )
    try:
        settings.validate()
    except ValueError as exc:
        raise BadRequest(400, f"{exc}.") from None
    job = GenerateJob(
        model=model.name,
        prompt=prompt,
        max_new_tokens=fields.integer("max_new_tokens", low=1, high=MAX_NEW_TOKENS),
        temperature=settings.temperature,
        top_k=settings.top_k,
        top_p=settings.top_p,
        seed=fields.seed(),
    )
    return GenerateRequest(job, stream=fields.boolean("stream", default=False))


def parse_sample(body: dict[str, Any], models: Sequence[ModelInfo]) -> ImageRequest:
    fields = _Fields(body, {"model", "n", "seed", "format"})
    model = resolve_model(models, body.get("model"), Endpoint.SAMPLE)
    job = SampleJob(model=model.name, n=fields.integer("n", low=1, high=MAX_SAMPLES), seed=fields.seed())
    return ImageRequest(job, fields.image_format(model))


def parse_decode(body: dict[str, Any], models: Sequence[ModelInfo]) -> ImageRequest:
    fields = _Fields(body, {"model", "z", "format"})
    model = resolve_model(models, body.get("model"), Endpoint.DECODE)
    rows = body.get("z")
    if not isinstance(rows, list) or not rows:
        raise BadRequest(
            400, f'"z" must be a non-empty list of latent vectors, each {model.latent_dim} numbers long.'
        )
    if len(rows) > MAX_SAMPLES:
        raise BadRequest(400, f'"z" may hold at most {MAX_SAMPLES} vectors, not {len(rows)}.')
    z = tuple(_latent_row(row, i, model.latent_dim) for i, row in enumerate(rows))
    return ImageRequest(DecodeJob(model=model.name, z=z), fields.image_format(model))


def _latent_row(row: Any, index: int, latent_dim: int) -> tuple[float, ...]:
    if not isinstance(row, list) or len(row) != latent_dim:
        raise BadRequest(400, f"z[{index}] must be a list of {latent_dim} numbers (the model's latent size).")
    if not all(_is_number(v) and math.isfinite(v) for v in row):
        raise BadRequest(400, f"z[{index}] must hold finite numbers only.")
    return tuple(float(v) for v in row)


class _Fields:
    """Typed reads of a request's fields, each failing with a sentence that names the field."""

    def __init__(self, body: dict[str, Any], known: set[str]) -> None:
        unknown = sorted(set(body) - known)
        if unknown:
            allowed = ", ".join(f'"{k}"' for k in sorted(known))
            raise BadRequest(400, f'unknown field "{unknown[0]}"; this endpoint reads {allowed}.')
        self.body = body

    def _get(self, key: str, default: Any, check: Callable[[Any], bool], kind: str) -> Any:
        if key not in self.body or self.body[key] is None:
            if default is None:
                raise BadRequest(400, f'"{key}" is required ({kind}).')
            return default
        value = self.body[key]
        if not check(value):
            raise BadRequest(400, f'"{key}" must be {kind}, not {_json_kind(value)}.')
        return value

    def string(self, key: str, default: str | None = None, longest: int = 1000) -> str:
        value = self._get(key, default, lambda v: isinstance(v, str), "a string")
        if len(value) > longest:
            raise BadRequest(400, f'"{key}" may be at most {longest:,} characters long, not {len(value):,}.')
        return value

    def boolean(self, key: str, default: bool) -> bool:
        return self._get(key, default, lambda v: isinstance(v, bool), "true or false")

    def number(self, key: str, default: float) -> float:
        return float(self._get(key, default, _is_number, "a number"))

    def integer(self, key: str, low: int, high: int, default: int | None = None) -> int:
        value = self._get(key, default, _is_integer, "a whole number")
        if not low <= value <= high:
            raise BadRequest(400, f'"{key}" must be between {low} and {high}, not {value}.')
        return int(value)

    def seed(self) -> int:
        if self.body.get("seed") is None:
            return draw_seed()
        return self.integer("seed", low=0, high=MAX_SEED)

    def image_format(self, model: ModelInfo) -> ImageFormat:
        default = ImageFormat.PNG if model.is_image else ImageFormat.JSON  # 2-D models draw points
        text = self.string("format", default=default.value)
        try:
            fmt = ImageFormat(text)
        except ValueError:
            raise BadRequest(400, f'"format" must be "png" or "json", not "{text}".') from None
        if fmt is ImageFormat.PNG and not model.is_image:
            raise BadRequest(400, f'\'{model.name}\' draws 2-D points, not images; ask for "format": "json".')
        return fmt


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    return _is_number(value) and (isinstance(value, int) or (math.isfinite(value) and value == int(value)))


def _json_kind(value: Any) -> str:
    """What a JSON value is, in words ('a string', 'null', 'a list') for error sentences."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    return "an object"
