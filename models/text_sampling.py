"""Writing text with a GPT one token at a time.

The next token is drawn from the model's distribution reshaped by three knobs:

    p_i ∝ exp(z_i / T)        temperature T: below 1 sharper, above 1 flatter, 0 = always the argmax
    top-k                     keep only the k most likely tokens
    top-p (nucleus)           keep the smallest set of most likely tokens whose mass reaches p
    then renormalise what is kept.

``ContextWindow`` feeds the model a growing text with or without a KV cache; both ways
compute the same numbers (the cache only saves work). ``GenerationSession`` adds what a
viewer needs for each new token: its probability, surprisal, the entropy of the
distribution it came from, and the attention of every head.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from models.transformer import GPT, KVCache, prompt_prefix_length


@dataclass(frozen=True)
class SamplingSettings:
    temperature: float = 1.0  # 0 = greedy (always the most likely token)
    top_k: int = 0  # 0 = keep every token
    top_p: float = 1.0  # 1 = keep every token

    def validate(self) -> None:
        if not (0.0 <= self.temperature <= 100.0) or self.temperature != self.temperature:
            raise ValueError(f"temperature must be between 0 and 100, not {self.temperature}")
        if self.top_k < 0:
            raise ValueError(f"top-k must be 0 (off) or a positive whole number, not {self.top_k}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top-p must be above 0 and at most 1, not {self.top_p}")


def sampling_probs(logits: torch.Tensor, settings: SamplingSettings) -> torch.Tensor:
    """The distribution a token is drawn from: logits (..., V) → probabilities (..., V)."""
    if settings.temperature == 0.0:
        return torch.nn.functional.one_hot(logits.argmax(dim=-1), logits.shape[-1]).to(logits.dtype)
    z = logits / settings.temperature  # z_i / T
    vocab = z.shape[-1]
    if 0 < settings.top_k < vocab:
        # exactly the k most likely; among equal logits the lower token id wins (a stable sort),
        # so a tie at the k-th place never lets more than k through
        order = torch.sort(z, dim=-1, descending=True, stable=True).indices
        beyond_k = torch.zeros_like(z, dtype=torch.bool).scatter(-1, order[..., settings.top_k :], True)
        z = z.masked_fill(beyond_k, float("-inf"))
    probs = torch.softmax(z, dim=-1)
    if settings.top_p < 1.0:
        sorted_probs, order = torch.sort(probs, dim=-1, descending=True)
        mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs  # mass of the more likely tokens
        drop_sorted = mass_before >= settings.top_p  # the set had already reached p without them
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        probs = probs.masked_fill(drop, 0.0)
        probs = probs / probs.sum(dim=-1, keepdim=True)  # renormalise what is kept
    return probs


class ContextWindow:
    """What the model reads while a text grows: the last ``block_size`` tokens at most.

    When the window is full, its oldest ``shift`` tokens are dropped and the rest is read again
    (every position moved, so cached keys no longer apply). With ``use_cache`` each new token
    between shifts costs one query row; without it the whole window is read for every token.
    The rule is the same either way, so both give the same next-token logits.

    Prefix mask: the prompt is the prefix. Its first p = min(prompt length, P) tokens see each
    other both ways and every written token reads causally, as the model was trained (a random
    p per sequence); a shift drops the oldest prompt tokens first, and p shrinks with what is
    left of the prompt. A written token never changes the prefix, so cached keys stay valid.
    """

    def __init__(
        self,
        model: GPT,
        tokens: torch.Tensor,
        *,
        use_cache: bool = True,
        need_weights: bool = False,
        need_residuals: bool = False,
        shift: int | None = None,
    ) -> None:
        self.model = model
        self.config = model.config
        block = self.config.block_size
        self.shift = shift if shift is not None else max(1, block // 4)
        self.tokens = tokens[:, -block:]  # (B, T)
        self.prompt_left = self.tokens.shape[1]  # prompt tokens still in the window
        self.use_cache = use_cache
        self.need_weights = need_weights
        self.need_residuals = need_residuals
        self.cache: KVCache | None = None
        # (L, H, C, C) of batch item 0, C the capacity: it grows with the text (doubling up to
        # block_size), so a 1024-token context costs nothing until the text is that long
        self._attention: torch.Tensor | None = None
        self._residuals: torch.Tensor | None = None  # (L + 1, C, d_model) of batch item 0
        self.full_reads = 0  # how many times the whole window was read (a viewer may show it)
        self.logits = self._read_all()  # (B, V): the next token's logits

    @property
    def length(self) -> int:
        return self.tokens.shape[1]

    @property
    def prefix_length(self) -> int:
        """p the window is read with: min(prompt tokens still in it, P) (0 without the prefix mask)."""
        return prompt_prefix_length(self.config, self.prompt_left)

    @property
    def attention(self) -> torch.Tensor | None:
        """α of batch item 0 over the window: (n_layer, n_head, T, T), row i = query i."""
        if self._attention is None:
            return None
        T = self.length
        return self._attention[:, :, :T, :T]

    @property
    def residuals(self) -> torch.Tensor | None:
        """The residual stream of batch item 0 over the window: (n_layer + 1, T, d_model), row 0 the
        embeddings h_0 and row ℓ the output of block ℓ (with ``need_residuals``)."""
        return None if self._residuals is None else self._residuals[:, : self.length]

    def _room(self, have: int) -> int:
        """Slots for the window's tokens: ``have`` if enough, else twice the length (≤ block_size)."""
        return have if have >= self.length else min(self.config.block_size, max(64, 2 * self.length))

    def _grow(self, dtype: torch.dtype) -> None:
        """Make the attention and residual buffers hold ``length`` tokens, keeping what they hold."""
        cfg = self.config
        if self.need_weights:
            have = 0 if self._attention is None else self._attention.shape[-1]
            room = self._room(have)
            if room > have:
                grown = torch.zeros((cfg.n_layer, cfg.n_head, room, room), dtype=dtype)
                if self._attention is not None:
                    grown[:, :, :have, :have] = self._attention
                self._attention = grown
        if self.need_residuals:
            have = 0 if self._residuals is None else self._residuals.shape[1]
            if self._room(have) > have:
                grown = torch.zeros((cfg.n_layer + 1, self._room(have), cfg.d_model), dtype=dtype)
                if self._residuals is not None:
                    grown[:, :have] = self._residuals
                self._residuals = grown

    @torch.no_grad()
    def _read_all(self) -> torch.Tensor:
        self.full_reads += 1
        self.cache = self.model.new_cache(self.tokens.shape[0]) if self.use_cache else None
        out = self.model(
            self.tokens,
            cache=self.cache,
            need_weights=self.need_weights,
            capture_residuals=self.need_residuals,
            prefix_lengths=self.prefix_length,
        )
        self._grow(out.logits.dtype)
        T = self.length
        if self.need_weights:
            self._attention.zero_()
            self._attention[:, :, :T, :T] = torch.stack([a[0] for a in out.attentions]).cpu()
        if self.need_residuals:
            self._residuals[:, :T] = torch.stack([h[0] for h in out.residuals]).cpu()
        return out.logits[:, -1]

    @torch.no_grad()
    def push(self, token: torch.Tensor) -> torch.Tensor:
        """Append ``token`` (B,) and return the logits (B, V) of the token after it."""
        shifted = self.length >= self.config.block_size
        if shifted:
            self.tokens = self.tokens[:, self.shift :]
            self.prompt_left = max(0, self.prompt_left - self.shift)
        self.tokens = torch.cat([self.tokens, token.view(-1, 1).to(self.tokens)], dim=1)
        if shifted or self.cache is None:  # a written token reads causally: the cache stays valid
            self.logits = self._read_all()
            return self.logits
        out = self.model(
            self.tokens[:, -1:],
            cache=self.cache,
            need_weights=self.need_weights,
            capture_residuals=self.need_residuals,
        )
        self._grow(out.logits.dtype)
        T = self.length
        if self.need_weights:
            rows = torch.stack([a[0, :, 0] for a in out.attentions])  # (L, H, T): the new query's α
            self._attention[:, :, T - 1, :T] = rows.cpu()
        if self.need_residuals:
            self._residuals[:, T - 1] = torch.stack([h[0, 0] for h in out.residuals]).cpu()
        self.logits = out.logits[:, -1]
        return self.logits

    def set_use_cache(self, use_cache: bool) -> None:
        """Switch the KV cache on or off; the numbers stay the same."""
        if use_cache != self.use_cache:
            self.use_cache = use_cache
            self.logits = self._read_all()

    def refresh(self) -> None:
        """Read the whole window again (after the model changed, e.g. a head was switched off)."""
        self.logits = self._read_all()


@torch.no_grad()
def generate(
    model: GPT,
    prompt: torch.Tensor,
    max_new: int,
    settings: SamplingSettings,
    generator: torch.Generator | None = None,
    use_cache: bool = True,
) -> torch.Tensor:
    """Continue each row of ``prompt`` (B, T0) by ``max_new`` tokens → (B, T0 + max_new)."""
    window = ContextWindow(model, prompt, use_cache=use_cache)
    out = [prompt]
    for _ in range(max_new):
        probs = sampling_probs(window.logits.float(), settings)  # (B, V)
        token = torch.multinomial(probs.cpu(), 1, generator=generator).to(prompt.device)  # (B, 1)
        out.append(token)
        window.push(token[:, 0])
    return torch.cat(out, dim=1)


@dataclass(frozen=True)
class TokenStep:
    """One written token and how the model saw it."""

    token: int
    prob: float  # p(token | text before it) under the model itself (T = 1, nothing cut)
    surprisal: float  # −log p, nats
    entropy: float  # H(p(· | text before it)) = −Σ_v p_v log p_v, nats: the expected surprisal
    sampled_prob: float  # its probability under the sampling distribution (after T, top-k, top-p)


class GenerationSession:
    """A text being written one token at a time, with what a viewer shows about each token."""

    def __init__(
        self,
        model: GPT,
        prompt_ids: list[int],
        *,
        settings: SamplingSettings | None = None,
        use_cache: bool = True,
        capture_attention: bool = True,
        capture_residuals: bool = False,
        seed: int = 0,
    ) -> None:
        if not prompt_ids:
            raise ValueError("generation needs at least one token to start from")
        self.model = model.eval()
        self.settings = settings or SamplingSettings()
        self.generator = torch.Generator().manual_seed(seed)
        self.ids: list[int] = list(prompt_ids)  # the whole text so far (may outgrow the window)
        self.prompt_length = len(prompt_ids)
        self.steps: list[TokenStep] = []
        device = next(model.parameters()).device
        tokens = torch.tensor([prompt_ids], dtype=torch.long, device=device)
        self.window = ContextWindow(
            model,
            tokens,
            use_cache=use_cache,
            need_weights=capture_attention,
            need_residuals=capture_residuals,
        )

    @property
    def window_start(self) -> int:
        """Index into ``ids`` of the first token the model currently reads."""
        return len(self.ids) - self.window.length

    def next_distribution(self) -> torch.Tensor:
        """The model's own p(next token | text) (V,), T = 1 and nothing cut."""
        return torch.softmax(self.window.logits[0].float(), dim=-1).cpu()

    def next_sampling_distribution(self) -> torch.Tensor:
        """What the next token is drawn from (V,): the model's logits through T, top-k and top-p."""
        return sampling_probs(self.window.logits[0].float(), self.settings).cpu()

    def step(self, token: int | None = None) -> TokenStep:
        """Draw the next token (or take ``token``), append it, and read it into the model."""
        p_model = self.next_distribution()
        p_sample = self.next_sampling_distribution()
        if token is None:
            token = int(torch.multinomial(p_sample, 1, generator=self.generator))
        prob = float(p_model[token])
        record = TokenStep(
            token=token,
            prob=prob,
            surprisal=-math.log(prob) if prob > 0 else math.inf,
            entropy=float(-torch.special.xlogy(p_model, p_model).sum()),
            sampled_prob=float(p_sample[token]),
        )
        self.window.push(torch.tensor([token]))
        self.ids.append(token)
        self.steps.append(record)
        return record

    def set_use_cache(self, use_cache: bool) -> None:
        self.window.set_use_cache(use_cache)

    def set_head_gates(self, gates: torch.Tensor | None) -> None:
        """Switch heads on (1) or off (0), (n_layer, n_head); the next token's odds change at once."""
        self.model.set_head_gates(gates)
        self.window.refresh()
