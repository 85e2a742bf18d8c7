"""The logit lens: what the model would predict next if it stopped after layer ℓ (Qt-free).

    p_ℓ(· | x_≤t) = softmax(LN_f(h_ℓ,t) W_outᵀ + b)      ℓ = 0 (the embeddings) … L (the real output)

h_ℓ,t is the residual stream at position t after block ℓ; the final LayerNorm and the unembedding
are the model's own, so row L is exactly the model's prediction. For every layer and position the
grid holds the top token and its probability, and the rank (1 = top) and probability of the token
finally chosen at t: the token that follows t in the text, or, at the last position where nothing
follows yet, the output layer's top token.

The view follows a text as the model writes it. ``LensTrack`` keeps the columns it has computed
and unembeds only new positions (n_layer + 1 vectors each: for GPT-2 small 13 × 768 × 50,257
multiply-adds, about four times the model's own step), until the window is read afresh; the
newest position's logits are kept, so when its token is chosen only its ranks are recounted.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from models.transformer import GPT


@dataclass
class LensGrid:
    """(n_layer + 1, T) arrays, row ℓ = after block ℓ (row 0: the embeddings), column = position."""

    top_ids: np.ndarray  # int: the most likely next token under layer ℓ's lens
    top_probs: np.ndarray  # its probability
    chosen: np.ndarray  # (T,) int: the token finally chosen at each position
    chosen_ranks: np.ndarray  # int: 1 + the number of tokens the lens ranks above the chosen one
    chosen_probs: np.ndarray  # the chosen token's probability under the lens


@torch.no_grad()
def lens_logits(model: GPT, residuals: torch.Tensor) -> torch.Tensor:
    """LN_f(h_ℓ,t) W_outᵀ + b for ``residuals`` (n_layer + 1, T, d_model): (n_layer + 1, T, V)."""
    weight = model.lm_head.weight
    return model.unembed(residuals.to(weight.device, weight.dtype)).float()


def logit_lens(model: GPT, residuals: torch.Tensor, chosen: Sequence[int | None]) -> LensGrid:
    """The lens on ``residuals`` (n_layer + 1, T, d_model); ``chosen[t]`` None = the output's top."""
    return lens_from_logits(lens_logits(model, residuals), chosen)


@torch.no_grad()
def lens_from_logits(logits: torch.Tensor, chosen: Sequence[int | None]) -> LensGrid:
    """The grid from the lens' logits (n_layer + 1, T, V)."""
    probs = torch.softmax(logits, dim=-1)
    top_probs, top_ids = probs.max(dim=-1)  # (L + 1, T)
    final_top = top_ids[-1]
    picked = torch.tensor([final_top[t] if c is None else c for t, c in enumerate(chosen)], dtype=torch.long)
    index = picked.to(logits.device).view(1, -1, 1).expand(logits.shape[0], -1, 1)
    chosen_logits = logits.gather(-1, index)  # (L + 1, T, 1)
    ranks = 1 + (logits > chosen_logits).sum(dim=-1)
    return LensGrid(
        top_ids=top_ids.cpu().numpy(),
        top_probs=top_probs.cpu().numpy(),
        chosen=picked.numpy(),
        chosen_ranks=ranks.cpu().numpy(),
        chosen_probs=probs.gather(-1, index)[..., 0].cpu().numpy(),
    )


def chosen_after(ids: Sequence[int], start: int) -> list[int | None]:
    """For the positions ``start`` … len(ids) − 1 of a text: the token that follows each (None at
    the end, where the model has not chosen yet)."""
    return [int(ids[t + 1]) if t + 1 < len(ids) else None for t in range(start, len(ids))]


class LensTrack:
    """Lens columns of a text being written, each computed once per reading of the window.

    ``grid`` takes the residuals of the columns to show, their positions in the whole text and
    their chosen tokens; ``reading`` names the window's current reading (a new session, a fresh
    read of the whole window, other head switches): when it changes every column is recomputed.
    """

    def __init__(self) -> None:
        self.reading: Hashable | None = None
        self.columns: dict[tuple[int, int | None], tuple] = {}  # (position, chosen) → column values
        self.open_logits: dict[int, torch.Tensor] = {}  # position → (L + 1, V), nothing chosen yet
        self.computed = 0  # positions unembedded so far (the tests count them)

    def grid(
        self,
        model: GPT,
        residuals: torch.Tensor,
        positions: Sequence[int],
        chosen: Sequence[int | None],
        reading: Hashable,
    ) -> LensGrid:
        if reading != self.reading:
            self.reading, self.columns, self.open_logits = reading, {}, {}
        keys = list(zip(positions, chosen, strict=True))
        missing = [i for i, key in enumerate(keys) if key not in self.columns]
        if missing:
            known = [i for i in missing if positions[i] in self.open_logits]
            unembed = [i for i in missing if positions[i] not in self.open_logits]
            logits = torch.empty(0)
            if unembed:
                logits = lens_logits(model, residuals[:, unembed])  # (L + 1, n, V)
                self.computed += len(unembed)
            parts = {i: logits[:, j] for j, i in enumerate(unembed)}
            parts.update({i: self.open_logits[positions[i]] for i in known})
            fresh = lens_from_logits(
                torch.stack([parts[i] for i in missing], dim=1), [chosen[i] for i in missing]
            )
            for i in known:
                del self.open_logits[positions[i]]  # its token is chosen now
            self.open_logits.update({positions[i]: parts[i] for i in missing if chosen[i] is None})
            for j, i in enumerate(missing):
                self.columns[keys[i]] = tuple(
                    values[..., j] for values in (fresh.top_ids, fresh.top_probs, fresh.chosen,
                                                  fresh.chosen_ranks, fresh.chosen_probs)
                )  # fmt: skip
        shown = set(keys)
        for key in [k for k in self.columns if k not in shown]:
            del self.columns[key]  # positions that scrolled out of the view
        if not keys:
            empty = np.zeros((residuals.shape[0], 0))
            return LensGrid(empty.astype(int), empty, np.zeros(0, dtype=int), empty.astype(int), empty)
        parts = [self.columns[key] for key in keys]
        return LensGrid(*(np.stack([part[n] for part in parts], axis=-1) for n in range(5)))
