"""Many texts written by one GPT at once (a server's batch): one forward pass per step for all rows.

Each row is its own request — its prompt, its length, its sampling settings and its own
``torch.Generator`` seeded from its seed — so a row writes what ``models.text_sampling.generate``
writes for that prompt alone with ``torch.Generator().manual_seed(seed)``, whatever else shares the
batch. Each row follows the one context rule on its own clock: at most ``block_size`` tokens; when
full, the oldest quarter is dropped and the rest re-read. Per step, every row's new token is read in
one pass over a ``RowKVCache`` (each row at its own position); rows whose window just shifted are
then re-read together, right-padded. A row leaves the batch when it has its ``max_new`` tokens.
With the prefix mask each row's prompt is its prefix (p = min(prompt tokens in its window, P), as
in ``ContextWindow``), so only a shift ever re-reads a row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from models.text_sampling import SamplingSettings, sampling_probs
from models.transformer import GPT, RowKVCache, allowed_keys, prompt_prefix_length


@dataclass(frozen=True)
class TextRequest:
    prompt_ids: tuple[int, ...]  # at least one token
    max_new: int
    settings: SamplingSettings
    seed: int


class _Row:
    """One request while it is written: what the model reads now and what it has written."""

    def __init__(self, index: int, request: TextRequest, block_size: int) -> None:
        if not request.prompt_ids:
            raise ValueError("generation needs at least one token to start from")
        self.index = index
        self.request = request
        self.generator = torch.Generator().manual_seed(request.seed)
        self.window = list(request.prompt_ids[-block_size:])  # the tokens the model reads
        self.prompt_left = len(self.window)  # prompt tokens still in the window (the prefix's source)
        self.new: list[int] = []

    @property
    def done(self) -> bool:
        return len(self.new) >= self.request.max_new

    def draw(self, logits: torch.Tensor) -> int:
        """Draw the next token from this row's logits (1, V), as ``generate`` does for one prompt."""
        probs = sampling_probs(logits.float(), self.request.settings)
        token = int(torch.multinomial(probs.cpu(), 1, generator=self.generator))
        self.new.append(token)
        return token


@torch.no_grad()
def generate_rows(
    model: GPT, requests: list[TextRequest], on_step: Callable[[dict[int, int]], None] | None = None
) -> list[list[int]]:
    """The new tokens of every request; ``on_step`` gets each step's ``{request index: token}``."""
    config = model.config
    shift = max(1, config.block_size // 4)  # the context rule of ``ContextWindow``
    rows = [_Row(i, r, config.block_size) for i, r in enumerate(requests)]
    batch = [row for row in rows if not row.done]
    if not batch:
        return [row.new for row in rows]  # nothing to write (every max_new is 0)
    cache = model.new_row_cache(len(batch))
    logits = _reread(model, cache, list(range(len(batch))), batch)  # (B, V)
    while batch:
        step = {row.index: row.draw(logits[b : b + 1]) for b, row in enumerate(batch)}
        if on_step is not None:
            on_step(step)
        still = [b for b, row in enumerate(batch) if not row.done]
        if len(still) < len(batch):
            kept = torch.tensor(still, dtype=torch.long, device=logits.device)
            cache.keep(kept.to(cache.keys.device))
            batch = [batch[b] for b in still]
        if not batch:
            break
        rereads = [b for b, row in enumerate(batch) if _push(row, step[row.index], config, shift)]
        logits = _read_new_tokens(model, cache, batch, rereads)
        if rereads:
            logits[rereads] = _reread(model, cache, rereads, [batch[b] for b in rereads])
    return [row.new for row in rows]


def _push(row: _Row, token: int, config, shift: int) -> bool:
    """Append ``token`` to the row's window; True when the whole window must be read again."""
    shifted = len(row.window) >= config.block_size
    if shifted:
        row.window = row.window[shift:]  # drop the oldest quarter: every position moves
        row.prompt_left = max(0, row.prompt_left - shift)
    row.window.append(token)
    return shifted  # a written token reads causally and changes no earlier position


def _prefix_lengths(model: GPT, rows: list[_Row], device: torch.device) -> torch.Tensor:
    """Each row's own prefix p = min(prompt tokens still in its window, P): (R,)."""
    prefixes = [prompt_prefix_length(model.config, row.prompt_left) for row in rows]
    return torch.tensor(prefixes, dtype=torch.long, device=device)


def _read_new_tokens(model: GPT, cache: RowKVCache, batch: list[_Row], rereads: list[int]) -> torch.Tensor:
    """Each row's newest token at its own position, in one pass → logits (B, V).

    Rows about to be re-read take part at slot 0 (their logits are replaced and their slots
    overwritten), so the pass always covers the whole cache and needs no gathering.
    """
    device = cache.keys.device
    again = set(rereads)
    positions = [0 if b in again else len(row.window) - 1 for b, row in enumerate(batch)]
    positions_t = torch.tensor(positions, dtype=torch.long, device=device)[:, None]  # (B, 1)
    tokens = torch.tensor([row.window[-1] for row in batch], dtype=torch.long, device=device)[:, None]
    prefix_lengths = _prefix_lengths(model, batch, device)
    allowed = allowed_keys(model.config, positions_t, max(positions) + 1, prefix_lengths)[:, None]
    return model.forward_rows(tokens, positions_t, allowed, cache.next_tokens(positions_t))[:, -1]


def _reread(model: GPT, cache: RowKVCache, rows: list[int], readers: list[_Row]) -> torch.Tensor:
    """Read the ``readers``' windows afresh into cache ``rows``, right-padded to the longest, each
    with its own prefix → each one's last logits (R, V)."""
    device = cache.keys.device
    windows = [r.window for r in readers]
    longest = max(len(w) for w in windows)
    tokens = torch.tensor([w + [0] * (longest - len(w)) for w in windows], dtype=torch.long, device=device)
    lengths = torch.tensor([len(w) for w in windows], dtype=torch.long, device=device)  # (R,)
    positions = torch.arange(longest, device=device).expand(len(windows), longest)  # (R, T)
    exists = positions[:, None, :] < lengths[:, None, None]  # padding is no key: (R, 1, T)
    prefix_lengths = _prefix_lengths(model, readers, device)
    allowed = (allowed_keys(model.config, positions, longest, prefix_lengths) & exists)[:, None]  # (R,1,T,T)
    rows_t = torch.tensor(rows, dtype=torch.long, device=device)
    logits = model.forward_rows(tokens, positions, allowed, cache.reread(rows_t, positions))
    return logits[torch.arange(len(windows), device=device), lengths - 1]  # (R, V)
