"""NLL of the next character after a 1, 2, 3, 4 … character prompt: the prefix mask before and after
issue 13 (item 2), with the causal mask beside them.

Three models of the same size learn python-docs with the same seed, batches and optimiser:

    causal       M_ij = 0 if j ≤ i; every target scored
    prefix, old  every sequence read with p = P and only targets from P − 1 on scored, while
                 generation read a shorter prompt with that same mask (the prompt's positions
                 0 … k − 1 were never a scored case)
    prefix, new  each sequence draws p ~ U{1, …, P} and targets from p − 1 on are scored;
                 generation reads the prompt as the prefix, p = min(k, P) (``ContextWindow``)

For each prompt length k the table prints −log p(x_k | x_<k) in nats, averaged over windows spread
evenly over the validation text, and the last row the validation loss with every prefix length in
turn (the task's own validation) or, for the old model, the one it was trained on.

    python bench/prefix_mask_nll.py [--steps 1500] [--windows 2000] [--threads 2]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.data import load_dataset  # noqa: E402
from app.engine.schedules import lr_factor  # noqa: E402
from models.text_sampling import ContextWindow  # noqa: E402
from models.transformer import (  # noqa: E402
    GPT,
    GPTConfig,
    random_prefix_lengths,
    spread_prefix_lengths,
)

VARIANTS = ("causal", "prefix, old", "prefix, new")
PROMPT_LENGTHS = (1, 2, 3, 4, 6, 8, 16)


def train(variant: str, config: GPTConfig, ids: torch.Tensor, steps: int, batch: int, seed: int) -> GPT:
    torch.manual_seed(seed)
    model = GPT(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.99), weight_decay=0.1)
    batches = torch.Generator().manual_seed(seed)  # the same windows for every variant
    prefixes = torch.Generator().manual_seed(seed + 1)
    offsets = torch.arange(config.block_size + 1)
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = 3e-3 * lr_factor("warmup_cosine", step, steps, 100, 0.1)
        starts = torch.randint(0, len(ids) - config.block_size - 1, (batch,), generator=batches)
        windows = ids[starts[:, None] + offsets]  # (B, T + 1)
        p = random_prefix_lengths(config, batch, prefixes) if variant == "prefix, new" else None
        loss = model.loss(windows[:, :-1], windows[:, 1:], p)  # old: p = None reads every row with P
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    return model.eval()


@torch.no_grad()
def prompt_nll(variant: str, model: GPT, val: torch.Tensor, k: int, windows: int) -> float:
    """Mean −log p(x_k | x_0 … x_{k−1}) over ``windows`` k-character prompts, read as generation does."""
    starts = torch.linspace(0, len(val) - k - 2, windows).long()
    prompts = val[starts[:, None] + torch.arange(k)]  # (N, k)
    targets = val[starts + k]  # (N,)
    if variant == "prefix, old":
        logits = model(prompts).logits[:, -1]  # the old generation: the prompt read with p = P
    else:
        logits = ContextWindow(model, prompts, use_cache=True).logits  # what generation reads now
    return float(torch.nn.functional.cross_entropy(logits, targets))


@torch.no_grad()
def validation_loss(variant: str, model: GPT, val: torch.Tensor, windows: int) -> float:
    T = model.config.block_size
    starts = torch.linspace(0, len(val) - T - 2, windows).long()
    w = val[starts[:, None] + torch.arange(T + 1)]
    spread = variant == "prefix, new"
    p = spread_prefix_lengths(model.config, 0, windows) if spread else None
    return float(model.loss(w[:, :-1], w[:, 1:], p))


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--windows", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_dataset("python-docs")
    base = dict(vocab_size=data.tokenizer.vocab_size, block_size=32, n_layer=2, n_head=4, d_model=64)
    configs = {
        "causal": GPTConfig(**base),
        "prefix, old": GPTConfig(**base, mask="prefix", prefix_len=8),
        "prefix, new": GPTConfig(**base, mask="prefix", prefix_len=8),
    }
    print(f"python-docs, {base}, P = 8, {args.steps} steps of {args.batch} windows, seed {args.seed}")
    results: dict[str, list[float]] = {}
    for variant in VARIANTS:
        started = time.perf_counter()
        model = train(variant, configs[variant], data.train, args.steps, args.batch, args.seed)
        nll = [prompt_nll(variant, model, data.val, k, args.windows) for k in PROMPT_LENGTHS]
        results[variant] = nll + [validation_loss(variant, model, data.val, args.windows)]
        print(f"  trained {variant!r} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    rows = [f"k = {k}" for k in PROMPT_LENGTHS] + ["validation loss"]
    print(f"\n{'nats':<16}" + "".join(f"{v:>14}" for v in VARIANTS) + f"{'old / new':>12}")
    for i, label in enumerate(rows):
        values = [results[v][i] for v in VARIANTS]
        ratio = values[1] / values[2] if values[2] > 0 else math.inf
        print(f"{label:<16}" + "".join(f"{x:>14.3f}" for x in values) + f"{ratio:>12.2f}")


if __name__ == "__main__":
    main()
