"""A small decoder-only Transformer (GPT) over characters.

    h_0 = E_tok[x] + E_pos[t]
    h'  = h + Attn(LN(h)),   h'' = h' + MLP(LN(h'))             (pre-LayerNorm blocks, × n_layer)
    p(x_{t+1} | x_≤t) = softmax(LN(h_L) · E_tokᵀ)                (weight tying: one embedding table)

Each attention head computes

    α = softmax(Q Kᵀ / √d_k + M),   head = α V,   Q = h W_Q, K = h W_K, V = h W_V

where M holds 0 where a query may look and −∞ where it may not:
    causal   M_ij = 0 if j ≤ i                 (never the future)
    sliding  M_ij = 0 if i − w < j ≤ i         (the last w tokens only)
    prefix   M_ij = 0 if j ≤ i or j < P        (the first P tokens see each other both ways)

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
        embeddings = self.vocab_size * d + self.block_size * d
        head = 0 if self.tie_weights else self.vocab_size * d
        head_bias = self.vocab_size if self.output_bias else 0
        return embeddings + self.n_layer * per_block + 2 * d + head + head_bias

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


def allowed_positions(
    config: GPTConfig, n_queries: int, n_keys: int, device: torch.device | None = None
) -> torch.Tensor:
    """Where M = 0: (n_queries, n_keys) booleans, the queries being the last n_queries keys."""
    return allowed_keys(config, torch.arange(n_keys - n_queries, n_keys, device=device), n_keys)


def allowed_keys(config: GPTConfig, query_positions: torch.Tensor, n_keys: int) -> torch.Tensor:
    """Where M = 0 for queries at ``query_positions`` (..., T) over keys 0 … n_keys − 1: (..., T, n_keys)."""
    i = query_positions[..., :, None]  # query positions
    j = torch.arange(n_keys, device=query_positions.device)  # key positions
    allowed = j <= i  # causal: never the future
    if config.mask == "sliding":
        allowed = allowed & (j > i - config.window)
    elif config.mask == "prefix":
        allowed = allowed | (j < config.prefix_len)
    return allowed


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
    """Pre-LayerNorm Transformer block: h + Attn(LN(h)), then + MLP(LN(·))."""

    def __init__(self, config: GPTConfig, layer: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.attn = SelfAttention(config, layer)
        self.ln_2 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.mlp = MLP(config)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None, cache: KVCache | RowWrite | None, need_weights: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        attended, weights = self.attn(self.ln_1(x), mask, cache, need_weights)
        x = x + attended
        x = x + self.mlp(self.ln_2(x))
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
        self.pos_emb = nn.Embedding(config.block_size, config.d_model)  # E_pos
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config, i) for i in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
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

    # --- masks and ablation -------------------------------------------------------------
    def attention_mask(self, n_queries: int, n_keys: int, device: torch.device) -> torch.Tensor | None:
        """Boolean M (True = may attend), or None where the fused causal kernel needs none."""
        cfg = self.config
        plain_causal = cfg.mask == "causal" or (cfg.mask == "sliding" and cfg.window >= n_keys)
        if plain_causal and (n_queries == n_keys or n_queries == 1):
            return None  # square: is_causal; one new query: every key so far is allowed
        return allowed_positions(cfg, n_queries, n_keys, device)

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
    ) -> GPTOutput:
        """idx (B, T) token ids → next-token logits (B, T, V), and α per layer if asked.

        With a cache, ``idx`` holds only the new tokens; they follow the ``cache.length`` stored ones.
        ``capture_residuals`` also returns the residual stream h_0 … h_L (the logit lens reads it).
        """
        B, T = idx.shape
        past = cache.length if cache is not None else 0
        if past + T > self.config.block_size:
            raise ValueError(
                f"the context has {past + T} tokens but the model reads at most {self.config.block_size}"
            )
        positions = torch.arange(past, past + T, device=idx.device)  # (T,)
        x = self.drop(self.tok_emb(idx) + self.pos_emb(positions))  # (B, T, d_model)
        mask = self.attention_mask(T, past + T, idx.device)
        if mask is None and need_weights and T > 1:  # the written-out softmax needs M spelled out
            mask = allowed_positions(self.config, T, past + T, idx.device)
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
        x = self.drop(self.tok_emb(idx) + self.pos_emb(positions))  # (B, T, d_model)
        for block in self.blocks:
            x, _ = block(x, allowed, cache, False)
        return self.lm_head(self.ln_f(x))

    def loss(self, idx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Cross-entropy −(1/N) Σ_t log p(x_{t+1} | x_≤t), in nats per token.

        With the prefix mask, positions inside the prefix see their own next token, so only
        targets from position P − 1 on are scored.
        """
        logits = self(idx).logits  # (B, T, V)
        if self.config.mask == "prefix":
            targets = targets.clone()
            targets[:, : self.config.prefix_len - 1] = -1  # ignored below
        return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-1)

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
