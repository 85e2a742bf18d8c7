"""What the serving pipeline takes and gives back: jobs, results, the models it serves, its errors.

The HTTP layer validates a request against ``ModelInfo`` (model name, family, vocabulary, ranges)
and only then builds a job; the pipeline assumes valid jobs but answers every accepted job exactly
once, with a ``JobResult`` or a ``ServiceUnavailable``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from models.tokenizer import TextTokenizer


@dataclass(frozen=True)
class GenerateJob:
    """Continue ``prompt`` by ``max_new_tokens`` characters (GPT); the same seed gives the same text."""

    model: str
    prompt: str  # empty: start from a line break, as ``genplay sample`` does
    max_new_tokens: int
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int = 0


@dataclass(frozen=True)
class SampleJob:
    """``n`` samples from the prior (VAE decoder) or the generator (WGAN)."""

    model: str
    n: int
    seed: int = 0


@dataclass(frozen=True)
class DecodeJob:
    """Decode latent codes z (N rows of latent_dim numbers) into images (VAE)."""

    model: str
    z: tuple[tuple[float, ...], ...]


Job = GenerateJob | SampleJob | DecodeJob


@dataclass(frozen=True)
class JobResult:
    worker: int  # the slot id of the worker that computed it
    batch_size: int  # how many jobs shared its batch
    queue_ms: float  # from submit to the batch leaving for the worker
    compute_ms: float  # the batch's time in the worker
    text: str | None = None  # GenerateJob: the generated characters (the prompt not included)
    images: np.ndarray | None = None  # (N, C, H, W) float32 in [0, 1]
    points: np.ndarray | None = None  # (N, 2) float32


class QueueFull(Exception):
    """The bounded queue is full: the HTTP layer answers 429 with Retry-After at once."""


class ServiceUnavailable(Exception):
    """The job cannot be answered (draining, workers down, a failed computation); str() is one sentence."""


@dataclass(frozen=True)
class ModelInfo:
    """What the HTTP layer needs to validate a request for one served model."""

    name: str
    family: str  # "gpt", "vae" or "wgan"
    step: int
    config: Any  # the family's config dataclass
    tokenizer: TextTokenizer | None  # gpt only
    latent_dim: int | None  # vae and wgan
    is_image: bool  # samples are images (N, C, H, W); False: points (N, 2) or text


def model_info(name: str, family: str, step: int, config: Any, tokenizer: TextTokenizer | None) -> ModelInfo:
    """A served model's description from its checkpoint's family and config."""
    latent_dim = getattr(config, "latent_dim", None)
    shape = getattr(config, "input_shape", None) or getattr(config, "data_shape", None)
    return ModelInfo(
        name=name,
        family=family,
        step=step,
        config=config,
        tokenizer=tokenizer,
        latent_dim=latent_dim,
        is_image=shape is not None and len(shape) == 3,
    )
