"""A small decoder-only Transformer (GPT) over characters.

    h_0 = E_tok[x] + E_pos[t]                                      (learned positions, GPT-2)
    h_0 = √d · E_tok[x] + PE[t]                                    (sinusoidal, Vaswani et al. §3.4–3.5)
        PE(t, 2i) = sin(t / 10000^(2i/d)),  PE(t, 2i+1) = cos(t / 10000^(2i/d))
    Pre-LN block (GPT-2, default):     h' = h + Attn(LN₁(h)),     h'' = h' + MLP(LN₂(h'))
    Post-LN block (original paper):    h' = LN₁(h + Attn(h)),     h'' = LN₂(h' + MLP(h'))
    p(x_{t+1} | x_≤t) = softmax(LN_f(h_L) · E_tokᵀ)   (pre-LN; post-LN's h_L is normalised already,
                                                       so there is no LN_f; weight tying: one table)

Each attention head computes

    α = softmax(Q Kᵀ / √d_k + M),   head = α V,   Q = h W_Q, K = h W_K, V = h W_V

where M holds 0 where a query may look and −∞ where it may not:
    causal   M_ij = 0 if j ≤ i                 (never the future)
    sliding  M_ij = 0 if i − w < j ≤ i         (the last w tokens only)
    prefix   M_ij = 0 if j ≤ i or j < p        (the first p ≤ P tokens see each other both ways)

The prefix mask is a prefix LM (UniLM, T5): the prefix is the part of a text that is given, and
only what follows it is predicted. In training each sequence draws its own p ~ U{1, …, P} and
only targets from position p − 1 on are scored (earlier positions see their own next token);
in generation the prompt is the prefix, p = min(prompt length, P), and every written token reads
causally. So whatever the prompt's length, the model predicts from a case it was trained on.

Training uses the fused kernel (``F.scaled_dot_product_attention``); the inspection path
writes the formula out and returns α for every layer and head. A ``KVCache`` keeps K and V
of the tokens already seen, so generating one more token costs one row of attention.

The same module expresses Hugging Face's GPT-2 (``activation="gelu_tanh"``, ``output_bias=False``,
``block_size`` = n_positions); ``app/engine/checkpoint/hf_gpt2.py`` maps its weights onto it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal, NamedTuple, get_args

import torch
import torch.nn.functional as F
from torch import nn

from models.config_fields import Ranges, check_ranges

MAX_PARAMETERS = 200_000_000
Mask = Literal["causal", "sliding", "prefix"]
MASKS: tuple[str, ...] = get_args(Mask)
Activation = Literal["gelu", "gelu_tanh"]  # exact GELU, or the tanh approximation GPT-2 was trained with
NormPosition = Literal["pre", "post"]
PositionEncoding = Literal["learned", "sinusoidal"]


@dataclass(frozen=True)
class GPTConfig:
    """Everything needed to rebuild a GPT; stored as JSON in each checkpoint."""

    vocab_size: int = 96
    block_size: int = 64  # the longest context the model reads (its position table)
    n_layer: int = 4
    n_head: int = 4
    d_model: int = 128
    dropout: float = 0.0
    mask: Mask = "causal"
    window: int = 16  # sliding: each token sees itself and the w − 1 tokens before it
    prefix_len: int = 16  # prefix: the first P positions attend to each other in both directions
    scale_attention: bool = True  # divide QKᵀ by √d_k; off shows how the softmax saturates
    tie_weights: bool = True  # the output layer reuses the token embedding matrix
    activation: Activation = "gelu"  # the MLP's GELU: exact, or GPT-2's tanh approximation
    layer_norm_eps: float = 1e-5  # ε in LN(h) = (h − μ) / √(σ² + ε) · γ + β
    output_bias: bool = True  # logits = LN(h_L) W_outᵀ + b; GPT-2's output layer has no b
    norm_position: NormPosition = "pre"  # LayerNorm before each sublayer (GPT-2) or after the residual sum
    position_encoding: PositionEncoding = "learned"  # a trained table E_pos, or the fixed sinusoids PE

    RANGES: ClassVar[Ranges] = {
        "vocab_size": (2, 65536),
        "block_size": (2, 4096),
        "n_layer": (1, 48),
        "n_head": (1, 64),
        "d_model": (1, 4096),
        "dropout": (0.0, 0.9),
        "window": (1, 4096),
        "prefix_len": (1, 4096),
        "layer_norm_eps": (1e-12, 0.1),
    }

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_head

    def parameter_count(self) -> int:
        """Number of weights, computed from the sizes alone (nothing is allocated)."""
        d = self.d_model
        per_block = 2 * 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + (d * 4 * d + 4 * d) + (4 * d * d + d)
        embeddings = self.vocab_size * d + (self.block_size * d if self.position_encoding == "learned" else 0)
        head = 0 if self.tie_weights else self.vocab_size * d
        head_bias = self.vocab_size if self.output_bias else 0
        final_norm = 2 * d if self.norm_position == "pre" else 0
        return embeddings + self.n_layer * per_block + final_norm + head + head_bias

    def validate(self) -> None:
        check_ranges(self, self.RANGES)
        if self.d_model % self.n_head:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by n_head ({self.n_head})")
        if self.mask == "prefix" and self.prefix_len >= self.block_size:
            raise ValueError(
                f"prefix_len ({self.prefix_len}) must be smaller than block_size ({self.block_size}), "
                "or no position is left to predict"
            )
        count = self.parameter_count()
        if count > MAX_PARAMETERS:
            raise ValueError(f"this GPT would have {count:,} weights; at most {MAX_PARAMETERS:,} are allowed")


PrefixLengths = int | torch.Tensor | None  # p for every row, p_b per row (B,), or None for P


def allowed_positions(
    config: GPTConfig,
    n_queries: int,
    n_keys: int,
    device: torch.device | None = None,
    prefix_lengths: PrefixLengths = None,
) -> torch.Tensor:
    """Where M = 0: (n_queries, n_keys) booleans, the queries being the last n_queries keys
    ((B, n_queries, n_keys) when ``prefix_lengths`` gives one p per row)."""
    query_positions = torch.arange(n_keys - n_queries, n_keys, device=device)
    return allowed_keys(config, query_positions, n_keys, prefix_lengths)


def allowed_keys(
    config: GPTConfig, query_positions: torch.Tensor, n_keys: int, prefix_lengths: PrefixLengths = None
) -> torch.Tensor:
    """Where M = 0 for queries at ``query_positions`` (..., T) over keys 0 … n_keys − 1: (..., T, n_keys).

    Prefix mask: ``prefix_lengths`` is p (an int, or a tensor (B,) of one p per row, whose rows lead
    the result); None means p = P, the longest prefix.
    """
    i = query_positions[..., :, None]  # query positions
    j = torch.arange(n_keys, device=query_positions.device)  # key positions
    allowed = j <= i  # causal: never the future
    if config.mask == "sliding":
        allowed = allowed & (j > i - config.window)
    elif config.mask == "prefix":
        p = config.prefix_len if prefix_lengths is None else prefix_lengths
        if isinstance(p, torch.Tensor):
            p = p.to(j.device).view(*p.shape, 1, 1)  # (B, 1, 1): one p per row
        allowed = allowed | (j < p)
    return allowed


def prompt_prefix_length(config: GPTConfig, prompt_length: int) -> int:
    """At generation the prompt is the prefix: p = min(prompt length, P) (0 without a prefix mask)."""
    return min(prompt_length, config.prefix_len) if config.mask == "prefix" else 0


def random_prefix_lengths(config: GPTConfig, batch: int, generator: torch.Generator) -> torch.Tensor:
    """Training: p_b ~ U{1, …, P} for each of ``batch`` sequences, so every prompt length is trained: (B,)."""
    return torch.randint(1, config.prefix_len + 1, (batch,), generator=generator, device=generator.device)


def spread_prefix_lengths(config: GPTConfig, first: int, count: int) -> torch.Tensor:
    """Validation: sequence k (from ``first``) reads p = 1 + k mod P, every length in turn: (count,)."""
    return 1 + (first + torch.arange(count)) % config.prefix_len


def sinusoidal_table(n_positions: int, d: int) -> torch.Tensor:
    """PE(t, 2i) = sin(t / 10000^(2i/d)),  PE(t, 2i+1) = cos(t / 10000^(2i/d)):  (n_positions, d)."""
    t = torch.arange(n_positions, dtype=torch.float64)[:, None]  # (N, 1)
    two_i = torch.arange(0, d, 2, dtype=torch.float64)  # 2i = 0, 2, 4, …: (⌈d/2⌉,)
    angle = t / 10000.0 ** (two_i / d)  # (N, ⌈d/2⌉)
    table = torch.zeros(n_positions, d, dtype=torch.float64)
    table[:, 0::2] = torch.sin(angle)
    table[:, 1::2] = torch.cos(angle[:, : d // 2])  # an odd d has one sine more than cosines
    return table.float()


class KVCache:
    """K and V of every layer for the tokens seen so far: (n_layer, B, H, block_size, d_k)."""

    def __init__(self, config: GPTConfig, batch: int, device: torch.device, dtype: torch.dtype) -> None:
        shape = (config.n_layer, batch, config.n_head, config.block_size, config.head_dim)
        self.keys = torch.zeros(shape, device=device, dtype=dtype)
        self.values = torch.zeros(shape, device=device, dtype=dtype)
        self.length = 0  # tokens already stored

    def append(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store the new tokens' k, v (B, H, T, d_k); return all keys and values (B, H, S, d_k)."""
        end = self.length + k.shape[2]
        self.keys[layer, :, :, self.length : end] = k
        self.values[layer, :, :, self.length : end] = v
        return self.keys[layer, :, :, :end], self.values[layer, :, :, :end]

    def advance(self, n: int) -> None:
        self.length += n


class RowKVCache:
    """K and V for rows that each have their own length (many texts written at once by a server):
    (n_layer, B, H, block_size, d_k); row b's token at position t is stored in slot t of row b."""

    def __init__(self, config: GPTConfig, batch: int, device: torch.device, dtype: torch.dtype) -> None:
        shape = (config.n_layer, batch, config.n_head, config.block_size, config.head_dim)
        self.keys = torch.zeros(shape, device=device, dtype=dtype)
        self.values = torch.zeros(shape, device=device, dtype=dtype)

    def next_tokens(self, positions: torch.Tensor) -> RowWrite:
        """Every row adds one token at ``positions`` (B, 1); its query reads the row's slots 0 … position."""
        rows = torch.arange(self.keys.shape[1], device=positions.device)
        return RowWrite(self, rows, positions, reads_stored=True)

    def reread(self, rows: torch.Tensor, positions: torch.Tensor) -> RowWrite:
        """``rows`` (R,) are read afresh from position 0 (``positions`` (R, T)), replacing their slots."""
        return RowWrite(self, rows, positions, reads_stored=False)

    def keep(self, rows: torch.Tensor) -> None:
        """Keep only ``rows`` (R,), in that order (rows that finished leave the batch)."""
        self.keys = self.keys[:, rows]
        self.values = self.values[:, rows]


class RowWrite:
    """Where one forward pass stores its new keys and values in a ``RowKVCache``, and what it reads."""

    def __init__(self, cache: RowKVCache, rows: torch.Tensor, positions: torch.Tensor, reads_stored: bool):
        self.cache = cache
        self.rows = rows  # (R,)
        self.positions = positions  # (R, T)
        self.reads_stored = reads_stored

    def append(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store k, v (R, H, T, d_k) at each row's positions; return the keys and values its queries read."""
        slots = (layer, self.rows[:, None], slice(None), self.positions)  # indexes (R, T, H, d_k)
        self.cache.keys[slots] = k.transpose(1, 2)
        self.cache.values[slots] = v.transpose(1, 2)
        if not self.reads_stored:
            return k, v  # read afresh: the row's keys are exactly the new ones
        n_keys = int(self.positions.max()) + 1
        return self.cache.keys[layer, :, :, :n_keys], self.cache.values[layer, :, :, :n_keys]


class SelfAttention(nn.Module):
    """Multi-head self-attention: softmax(QKᵀ/√d_k + M)·V per head, heads concatenated, projected."""

    def __init__(self, config: GPTConfig, layer: int) -> None:
        super().__init__()
        self.config = config
        self.layer = layer
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)  # W_Q, W_K, W_V side by side
        self.proj = nn.Linear(config.d_model, config.d_model)  # W_O
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        # (H,) multipliers of each head's output: 1 = on, 0 = ablated; not a weight, never saved
        self.head_gate: torch.Tensor | None = None

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None, cache: KVCache | RowWrite | None, need_weights: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        cfg = self.config
        B, T, C = x.shape
        H, d_k = cfg.n_head, cfg.head_dim
        q, k, v = self.qkv(x).split(C, dim=2)  # (B, T, C) each
        q = q.view(B, T, H, d_k).transpose(1, 2)  # (B, H, T, d_k)
        k = k.view(B, T, H, d_k).transpose(1, 2)
        v = v.view(B, T, H, d_k).transpose(1, 2)
        if cache is not None:
            k, v = cache.append(self.layer, k, v)  # (B, H, S, d_k), S = tokens so far
        scale = 1.0 / math.sqrt(d_k) if cfg.scale_attention else 1.0
        dropout = cfg.dropout if self.training else 0.0
        weights = None
        if need_weights:
            scores = (q @ k.transpose(-2, -1)) * scale  # QKᵀ/√d_k: (B, H, T, S)
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))  # + M
            weights = torch.softmax(scores, dim=-1)  # α: each row sums to 1
            dropped = self.attn_dropout(weights) if dropout > 0 else weights
            heads = dropped @ v  # α V: (B, H, T, d_k)
        elif mask is None and T > 1:  # square and causal: the fused kernel masks by itself
            heads = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=dropout, scale=scale)
        else:
            heads = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout, scale=scale)
        if self.head_gate is not None:
            heads = heads * self.head_gate.view(1, H, 1, 1)  # an ablated head contributes 0
        y = heads.transpose(1, 2).reshape(B, T, C)  # concatenate the heads: (B, T, C)
        return self.resid_dropout(self.proj(y)), weights


class MLP(nn.Module):
    """Position-wise feed-forward: W_2 GELU(W_1 h), 4× wider inside."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.fc = nn.Linear(config.d_model, 4 * config.d_model)
        self.proj = nn.Linear(4 * config.d_model, config.d_model)
        self.dropout = nn.Dropout(config.dropout)
        self.approximate = "tanh" if config.activation == "gelu_tanh" else "none"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.proj(F.gelu(self.fc(x), approximate=self.approximate)))


class Block(nn.Module):
    """One Transformer block, LayerNorm before each sublayer or after each residual sum:

    pre   h' = h + Attn(LN₁(h)),   h'' = h' + MLP(LN₂(h'))
    post  h' = LN₁(h + Attn(h)),   h'' = LN₂(h' + MLP(h'))
    """

    def __init__(self, config: GPTConfig, layer: int) -> None:
        super().__init__()
        self.post_norm = config.norm_position == "post"
        self.ln_1 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.attn = SelfAttention(config, layer)
        self.ln_2 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.mlp = MLP(config)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None, cache: KVCache | RowWrite | None, need_weights: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.post_norm:
            attended, weights = self.attn(x, mask, cache, need_weights)
            x = self.ln_1(x + attended)  # h' = LN₁(h + Attn(h))
            x = self.ln_2(x + self.mlp(x))  # h'' = LN₂(h' + MLP(h'))
            return x, weights
        attended, weights = self.attn(self.ln_1(x), mask, cache, need_weights)
        x = x + attended  # h' = h + Attn(LN₁(h))
        x = x + self.mlp(self.ln_2(x))  # h'' = h' + MLP(LN₂(h'))
        return x, weights


class GPTOutput(NamedTuple):
    logits: torch.Tensor  # (B, T, vocab_size): unnormalised log p(next token)
    attentions: tuple[torch.Tensor, ...] | None  # per layer α: (B, H, T, S), with need_weights
    # h_0 (embeddings), h_1 … h_L (after each block): (B, T, d_model) each, with capture_residuals
    residuals: tuple[torch.Tensor, ...] | None = None


class GPT(nn.Module):
    """Decoder-only Transformer language model."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.d_model)  # E_tok
        self.pos_emb: nn.Embedding | None = None
        if config.position_encoding == "learned":
            self.pos_emb = nn.Embedding(config.block_size, config.d_model)  # E_pos
        else:  # PE: fixed, so a buffer that is computed here and never saved
            self.register_buffer("pe", sinusoidal_table(config.block_size, config.d_model), persistent=False)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config, i) for i in range(config.n_layer))
        # post-LN blocks end normalised, so only pre-LN has a final LayerNorm
        self.ln_f: nn.Module = (
            nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
            if config.norm_position == "pre"
            else nn.Identity()
        )
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=config.output_bias)
        if config.tie_weights:
            self.lm_head.weight = self.tok_emb.weight  # one (vocab, d_model) table both ways
        self.apply(self._init_weights)
        # GPT-2: scale the residual projections by 1/√(2·n_layer) so the residual stream stays O(1)
        for name, param in self.named_parameters():
            if name.endswith("proj.weight"):
                nn.init.normal_(param, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    # --- embeddings, masks and ablation ---------------------------------------------------
    def embed(self, idx: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """h_0 = E_tok[x] + E_pos[t] (learned) or √d · E_tok[x] + PE[t] (sinusoidal): (B, T, d_model).

        With the fixed sinusoids the token vectors are scaled by √d, as in the original
        Transformer, so the unit-sized PE does not drown them (E_tok starts at std 0.02).
        """
        if self.pos_emb is not None:
            return self.tok_emb(idx) + self.pos_emb(positions)
        return self.tok_emb(idx) * math.sqrt(self.config.d_model) + self.pe[positions]

    def attention_mask(
        self, n_queries: int, n_keys: int, device: torch.device, prefix_lengths: PrefixLengths = None
    ) -> torch.Tensor | None:
        """Boolean M (True = may attend), or None where the fused causal kernel needs none;
        (B, 1, T, S) when ``prefix_lengths`` gives one p per row."""
        cfg = self.config
        p = cfg.prefix_len if prefix_lengths is None else prefix_lengths
        per_row = isinstance(p, torch.Tensor)
        plain_causal = (
            cfg.mask == "causal"
            or (cfg.mask == "sliding" and cfg.window >= n_keys)
            # a prefix of one token is causal; so is one new query, which reads every key anyway
            or (cfg.mask == "prefix" and (n_queries == 1 or (not per_row and p <= 1)))
        )
        if plain_causal and (n_queries == n_keys or n_queries == 1):
            return None  # square: is_causal; one new query: every key so far is allowed
        allowed = allowed_positions(cfg, n_queries, n_keys, device, prefix_lengths)
        return allowed[:, None] if per_row else allowed  # heads share a row's M

    def set_head_gates(self, gates: torch.Tensor | None) -> None:
        """(n_layer, n_head) multipliers of each head's output (0 = ablated), or None for all on."""
        for layer, block in enumerate(self.blocks):
            block.attn.head_gate = None if gates is None else gates[layer].to(block.attn.qkv.weight)

    # --- forward --------------------------------------------------------------------------
    def forward(
        self,
        idx: torch.Tensor,
        *,
        cache: KVCache | None = None,
        need_weights: bool = False,
        capture_residuals: bool = False,
        prefix_lengths: PrefixLengths = None,
    ) -> GPTOutput:
        """idx (B, T) token ids → next-token logits (B, T, V), and α per layer if asked.

        With a cache, ``idx`` holds only the new tokens; they follow the ``cache.length`` stored ones.
        ``capture_residuals`` also returns the residual stream h_0 … h_L (the logit lens reads it).
        Prefix mask: ``prefix_lengths`` is the p the text is read with (an int, or one per row (B,));
        None reads it with p = P.
        """
        B, T = idx.shape
        past = cache.length if cache is not None else 0
        if past + T > self.config.block_size:
            raise ValueError(
                f"the context has {past + T} tokens but the model reads at most {self.config.block_size}"
            )
        positions = torch.arange(past, past + T, device=idx.device)  # (T,)
        x = self.drop(self.embed(idx, positions))  # (B, T, d_model)
        mask = self.attention_mask(T, past + T, idx.device, prefix_lengths)
        if mask is None and need_weights and T > 1:  # the written-out softmax needs M spelled out
            mask = allowed_positions(self.config, T, past + T, idx.device, prefix_lengths)
        attentions = []
        residuals = [x]
        for block in self.blocks:
            x, weights = block(x, mask, cache, need_weights)
            attentions.append(weights)
            residuals.append(x)
        if cache is not None:
            cache.advance(T)
        logits = self.unembed(x)  # (B, T, V)
        return GPTOutput(
            logits,
            tuple(attentions) if need_weights else None,
            tuple(residuals) if capture_residuals else None,
        )

    def unembed(self, h: torch.Tensor) -> torch.Tensor:
        """The model's last step from a residual stream to next-token logits: LN_f(h) W_outᵀ (+ b)."""
        return self.lm_head(self.ln_f(h))

    def forward_rows(
        self, idx: torch.Tensor, positions: torch.Tensor, allowed: torch.Tensor, cache: RowWrite
    ) -> torch.Tensor:
        """Rows of different lengths in one pass: idx, positions (B, T) → logits (B, T, V).

        Row b's tokens sit at ``positions[b]``; ``allowed`` (B, 1, T, S) is its M (True = may
        attend, padding already excluded); ``cache`` stores each row's keys where its tokens sit.
        """
        x = self.drop(self.embed(idx, positions))  # (B, T, d_model)
        for block in self.blocks:
            x, _ = block(x, allowed, cache, False)
        return self.lm_head(self.ln_f(x))

    def loss(
        self, idx: torch.Tensor, targets: torch.Tensor, prefix_lengths: PrefixLengths = None
    ) -> torch.Tensor:
        """Cross-entropy −(1/N) Σ_t log p(x_{t+1} | x_≤t) over the N scored targets, nats per token.

        With the prefix mask, row b is read with its own prefix p_b (``prefix_lengths``: in
        training p_b ~ U{1, …, P} from ``random_prefix_lengths``; None: P for every row); its
        positions t < p_b − 1 see their own next token, so only targets from t = p_b − 1 on count.
        """
        logits = self(idx, prefix_lengths=prefix_lengths).logits  # (B, T, V)
        if self.config.mask == "prefix":
            targets = targets.masked_fill(~self.scored_targets(targets.shape, prefix_lengths), -1)
        return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-1)

    def scored_targets(self, shape: torch.Size, prefix_lengths: PrefixLengths = None) -> torch.Tensor:
        """Which targets (B, T) the loss scores: all, or with the prefix mask those at t ≥ p_b − 1."""
        B, T = shape
        device = self.tok_emb.weight.device
        if self.config.mask != "prefix":
            return torch.ones(B, T, dtype=torch.bool, device=device)
        p = self.config.prefix_len if prefix_lengths is None else prefix_lengths
        p = torch.as_tensor(p, device=device).reshape(-1, 1)  # (B, 1) or (1, 1)
        t = torch.arange(T, device=device)  # (T,)
        return (t >= p - 1).expand(B, T)

    def new_cache(self, batch: int) -> KVCache:
        weight = self.tok_emb.weight
        return KVCache(self.config, batch, weight.device, weight.dtype)

    def new_row_cache(self, batch: int) -> RowKVCache:
        weight = self.tok_emb.weight
        return RowKVCache(self.config, batch, weight.device, weight.dtype)


def attention_entropy(weights: torch.Tensor) -> torch.Tensor:
    """H(α_i) = −Σ_j α_ij log α_ij over the last dimension (0 · log 0 = 0), in nats."""
    return -torch.special.xlogy(weights, weights).sum(dim=-1)


def query_entropy(attention: torch.Tensor, allowed: torch.Tensor, normalised: bool = False) -> torch.Tensor:
    """H(α_i) for every query i: (..., T, S) → (..., T); NaN where a query has a single key to read.

    Normalised, each H(α_i) is divided by log n_i, the entropy of a uniform row over the n_i keys
    query i may read: 0 = it reads one key, 1 = it spreads evenly.
    """
    entropy = attention_entropy(attention.float())
    n = allowed.sum(dim=-1).float()  # (T,) keys each query may read
    entropy = entropy.masked_fill(n <= 1, float("nan"))
    return entropy / torch.log(n) if normalised else entropy
