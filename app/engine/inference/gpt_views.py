"""The maths behind the GPT's views, Qt-free (the panels only draw what these return).

- mask and entropy:  which keys each query may read (the config's mask M); H(α_i) per query
                     (or H(α_i) / log n_i), its mean per head, and the uniform ceiling log n_i
- ablation:          the gates a model gets from the head switches
- next token:        the candidates the bars show, most likely first
- hovering:          what a token reads, as weights per token of the text, and its strongest keys
- surprisal line:    −log p and H of each written token, by position in the text
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from models.text_sampling import TokenStep
from models.transformer import GPTConfig, allowed_positions, query_entropy

HIGHLIGHT_FLOOR = 0.02  # keys read with less than 2 % of the strongest weight are not highlighted


@dataclass
class AttentionStats:
    """Entropy of attention over one text, every layer and head."""

    allowed: np.ndarray  # (T, T) bool: where the mask lets query i read key j
    entropy: np.ndarray  # (L, H, T): H(α_i) in nats, or H(α_i) / log n_i; NaN where n_i ≤ 1
    mean_entropy: np.ndarray  # (L, H): the mean over the queries where it is defined (NaN if none)
    uniform: np.ndarray  # (T,): log n_i, the entropy of a uniform row over n_i keys; NaN where n_i ≤ 1


def attention_stats(
    attention: torch.Tensor, allowed: torch.Tensor, normalised: bool = False
) -> AttentionStats:
    """α (L, H, T, T) read under the mask ``allowed`` (T, T) → the entropy views' numbers."""
    entropy = query_entropy(attention, allowed, normalised)  # (L, H, T)
    T = attention.shape[-1]
    mean = torch.nanmean(entropy, dim=-1).numpy() if T > 1 else np.full(entropy.shape[:2], np.nan)
    keys = allowed.sum(dim=-1).float()  # n_i
    uniform = torch.log(keys).masked_fill(keys <= 1, float("nan"))
    return AttentionStats(allowed.numpy(), entropy.numpy(), mean, uniform.numpy())


def window_attention_stats(
    config: GPTConfig, attention: torch.Tensor, normalised: bool = False, prefix_length: int | None = None
) -> AttentionStats:
    """``attention_stats`` for the last T tokens a model of ``config`` read (its own mask; with the
    prefix mask, the window's own p, e.g. ``ContextWindow.prefix_length``)."""
    T = attention.shape[-1]
    allowed = allowed_positions(config, T, T, prefix_lengths=prefix_length)
    return attention_stats(attention, allowed, normalised)


def head_gates(gates: np.ndarray) -> torch.Tensor | None:
    """Switches (L, H) of 1 (on) and 0 (off) → the model's head gates; None when every head is on,
    so the model runs without gating at all."""
    if gates.size == 0 or gates.all():
        return None
    return torch.from_numpy(np.asarray(gates, dtype=np.float32))


def top_candidates(model_p: np.ndarray, count: int) -> np.ndarray:
    """Indices of the ``count`` most likely tokens under ``model_p`` (V,), most likely first
    (ties in vocabulary order)."""
    return np.argsort(-model_p, kind="stable")[:count]


def token_weights(alpha_row: np.ndarray, window_start: int) -> dict[int, float]:
    """What one query reads, keyed by position in the whole text: {window_start + j: α_j > 0}."""
    return {window_start + j: float(a) for j, a in enumerate(alpha_row) if a > 0}


def highlight_strengths(weights: dict[int, float], floor: float = HIGHLIGHT_FLOOR) -> dict[int, float]:
    """Each weight relative to the strongest (1 = strongest), leaving out those below ``floor`` of it."""
    top = max(weights.values(), default=0.0)
    if top <= 0:
        return {}
    return {index: min(1.0, w / top) for index, w in weights.items() if w >= floor * top}


def strongest_keys(alpha_row: np.ndarray, count: int = 3) -> list[int]:
    """The ``count`` keys one query reads most (largest α first), leaving out those it never reads."""
    return [int(j) for j in np.argsort(-alpha_row)[:count] if alpha_row[j] > 0]


def surprisal_series(
    steps: Sequence[TokenStep], prompt_length: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions in the text of the written tokens, their surprisal −log p and the entropy H of the
    distribution each came from (nats)."""
    positions = np.arange(prompt_length, prompt_length + len(steps))
    return positions, np.array([s.surprisal for s in steps]), np.array([s.entropy for s in steps])
