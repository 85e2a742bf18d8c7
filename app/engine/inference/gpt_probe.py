"""The GPT's probe: a fixed text whose attention is captured while the model learns (Qt-free).

The task captures it on the trainer thread every few steps; the page captures it once for an
opened checkpoint; the probe view keeps a bounded history of captures to replay.
"""

from __future__ import annotations

import numpy as np
import torch

from app.engine.inference.visuals import ProbeCaptures
from models.tokenizer import CharTokenizer
from models.transformer import GPT, GPTConfig, allowed_positions

DEFAULT_PROBE = "The cat sat on the mat. The cat sat on the mat."


@torch.no_grad()
def probe_attention(model: GPT, tokenizer: CharTokenizer, prompt: str) -> tuple[str, list[int], np.ndarray]:
    """α of ``prompt`` (cut to the context) in every layer and head: (text read, positions of
    replaced characters, (L, H, T, T) float16). The model is left in the mode it was in."""
    ids, replaced = tokenizer.encode_lenient(prompt[: model.config.block_size])
    training = model.training
    model.eval()
    out = model(torch.tensor([ids], device=model.tok_emb.weight.device), need_weights=True)
    model.train(training)
    alpha = torch.stack([a[0] for a in out.attentions]).to("cpu", torch.float16).numpy()
    return tokenizer.decode(ids), replaced, alpha


def probe_captures(
    config: GPTConfig, text: str, replaced: list[int], captures: list[tuple[int, np.ndarray]]
) -> ProbeCaptures:
    """What the probe view receives: the text, the mask it is read under and [(step, α)]."""
    return ProbeCaptures(
        text=text,
        replaced=list(replaced),
        allowed=allowed_positions(config, len(text), len(text)).numpy(),
        captures=list(captures),
    )


def thin_older_half(items: list) -> list:
    """Drop every other item of the older half (the newest stay dense)."""
    half = len(items) // 2
    return items[:half:2] + items[half:]


def merge_captures(
    history: list[tuple[int, np.ndarray]], new: list[tuple[int, np.ndarray]], limit: int
) -> list[tuple[int, np.ndarray]]:
    """``history`` with the captures of steps it lacks, in step order, thinned to at most ``limit``."""
    known = {step for step, _ in history}
    merged = history + [(step, alpha) for step, alpha in new if step not in known]
    merged.sort(key=lambda item: item[0])
    while len(merged) > limit:
        merged = thin_older_half(merged)
    return merged
