"""Drawing from a ready model: what ``genplay sample`` writes and what the server's workers answer.

VAE:  x = decoder(z),  z ~ N(0, I)          (prior samples; ``decode_codes`` for given z)
WGAN: x = G(z),        z ~ N(0, I)          (images, or points for 2-D data)
GPT:  x_{t+1} ~ softmax(logits_t / T), cut by top-k / top-p, one token at a time
Every draw takes its own seeded generator: the global RNG belongs to training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from app.engine.errors import ConfigError
from app.engine.inference.loading import ReadyModel
from models.text_sampling import SamplingSettings, generate
from models.tokenizer import TextTokenizer, UnknownCharactersError


@dataclass
class Samples:
    """Images (N, C, H, W) in [0, 1], points (N, 2) or text."""

    images: np.ndarray | None = None
    points: np.ndarray | None = None
    text: str | None = None


def prior_codes(n: int, dim: int, seed: int) -> torch.Tensor:
    """n codes z ~ N(0, I) of size ``dim``, reproducible from ``seed``: (n, dim) on the CPU."""
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


@torch.inference_mode()
def decode_codes(ready: ReadyModel, z: np.ndarray | torch.Tensor) -> np.ndarray:
    """VAE: codes (N, latent_dim) → decoded images (N, C, H, W) in [0, 1], float32."""
    if ready.family != "vae":
        raise ConfigError(f"decoding codes needs a VAE, and this is a {ready.family} model.")
    z = torch.as_tensor(np.asarray(z, dtype=np.float32)).reshape(-1, ready.config.latent_dim)
    return ready.model.decode(z.to(ready.device)).float().cpu().numpy()


@torch.inference_mode()
def draw_samples(ready: ReadyModel, n: int, seed: int) -> Samples:
    """``n`` samples from the prior with codes drawn from ``seed`` (VAE and WGAN)."""
    if ready.family == "vae":
        return Samples(images=decode_codes(ready, prior_codes(n, ready.config.latent_dim, seed)))
    if ready.family == "wgan":
        z = prior_codes(n, ready.config.latent_dim, seed).to(ready.device)  # (n, latent_dim)
        out = ready.model.sample(z).float().cpu().numpy()
        return Samples(images=out) if ready.config.is_image else Samples(points=out)
    raise ConfigError(f"drawing samples needs a VAE or a WGAN-GP, and this is a {ready.family} model.")


def start_token(tokenizer: TextTokenizer) -> int:
    """What an empty prompt starts from: characters, a line break if the text has them, else a
    space; GPT-2, its end-of-text token."""
    return tokenizer.start_token


def prompt_ids(tokenizer: TextTokenizer, prompt: str) -> list[int]:
    """The prompt's token ids (an empty prompt: the start token); unknown characters: ConfigError."""
    prompt = prompt.replace("\r\n", "\n")
    try:
        return tokenizer.encode(prompt) if prompt else [start_token(tokenizer)]
    except UnknownCharactersError as exc:
        raise ConfigError(f"{exc}; write the prompt with characters of its training text.") from None


@torch.inference_mode()
def continue_prompt(
    ready: ReadyModel, prompt: str, n: int, max_new: int, settings: SamplingSettings, seed: int
) -> list[str]:
    """``n`` continuations of ``prompt`` (the prompt included), each ``max_new`` tokens longer."""
    if ready.family != "gpt" or ready.tokenizer is None:
        raise ConfigError(f"writing text needs a GPT, and this is a {ready.family} model.")
    try:
        settings.validate()
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    ids = prompt_ids(ready.tokenizer, prompt)
    generator = torch.Generator().manual_seed(seed)
    out = generate(ready.model, torch.tensor([ids] * n, device=ready.device), max_new, settings, generator)
    skip = 0 if prompt else 1  # an empty prompt's start token is not part of the text
    return [ready.tokenizer.decode(row[skip:].tolist()) for row in out]


def sample_model(ready: ReadyModel, n: int, seed: int, **options) -> Samples:
    """What ``genplay sample`` writes for any family; GPT options: prompt, max_new, temperature,
    top_k, top_p (the texts are joined with separators when ``n`` > 1)."""
    if ready.family != "gpt":
        return draw_samples(ready, n, seed)
    settings = SamplingSettings(
        temperature=float(options.get("temperature", 1.0)),
        top_k=int(options.get("top_k", 0)),
        top_p=float(options.get("top_p", 1.0)),
    )
    texts = continue_prompt(
        ready, options.get("prompt") or "", n, int(options.get("max_new", 200)), settings, seed
    )
    if n == 1:
        return Samples(text=texts[0])
    return Samples(text="\n\n".join(f"--- sample {i + 1} ---\n{t}" for i, t in enumerate(texts)))
