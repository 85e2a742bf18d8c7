"""Pre-LN against Post-LN, with and without the learning-rate warm-up (issue 13, item 6).

The original Transformer normalises after each residual sum (Post-LN); its gradients near the
output are large at the start, and it is known to need a warm-up (Xiong et al., 2020, "On Layer
Normalization in the Transformer Architecture"). Four baby GPTs (the GPT page's default sizes,
or ``--n-layer`` deep) learn python-docs from the same initial weights and batches with AdamW,
under ``warmup_cosine`` (100 warm-up steps, the GPT default) and under ``cosine`` (no warm-up);
the table prints the mean training loss over a few windows of steps and the validation loss.

    python bench/gpt_norm_position.py [--steps 400] [--lr 1e-3] [--threads 1]
                                      [--position-encoding learned|sinusoidal] [--runs pre-warmup,post-none]
                                      [--n-layer 4] [--grad-clip 1.0]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.data import load_dataset  # noqa: E402
from app.engine.schedules import lr_factor  # noqa: E402
from models.transformer import GPT, GPTConfig  # noqa: E402

RUNS = {"pre-warmup": ("pre", "warmup_cosine"), "pre-none": ("pre", "cosine"),
        "post-warmup": ("post", "warmup_cosine"), "post-none": ("post", "cosine")}  # fmt: skip


def run(norm: str, schedule: str, ids, val, args) -> list[float]:
    torch.manual_seed(args.seed)
    vocab = int(ids.max()) + 1
    config = GPTConfig(
        vocab_size=vocab, n_layer=args.n_layer, norm_position=norm, position_encoding=args.position_encoding
    )
    model = GPT(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.99), weight_decay=0.1)
    batches = torch.Generator().manual_seed(args.seed)
    offsets = torch.arange(config.block_size + 1)
    losses = []
    for step in range(args.steps):
        for group in optimizer.param_groups:
            group["lr"] = args.lr * lr_factor(schedule, step, args.steps, 100, 0.1)
        starts = torch.randint(0, len(ids) - config.block_size - 1, (12,), generator=batches)
        windows = ids[starts[:, None] + offsets]
        loss = model.loss(windows[:, :-1], windows[:, 1:])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if args.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        optimizer.step()
        losses.append(loss.item())
    marks = [args.steps * i // 4 for i in range(5)]
    spans = [sum(losses[a:b]) / (b - a) for a, b in zip(marks, marks[1:], strict=False)]
    with torch.no_grad():
        model.eval()
        starts = torch.linspace(0, len(val) - config.block_size - 2, 200).long()
        w = val[starts[:, None] + offsets]
        spans.append(float(model.loss(w[:, :-1], w[:, 1:])))
    return spans


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-layer", type=int, default=4)
    parser.add_argument("--grad-clip", type=float, default=1.0, help="0 = no clipping")
    parser.add_argument("--position-encoding", choices=("learned", "sinusoidal"), default="learned")
    parser.add_argument(
        "--runs", default=",".join(RUNS), help="a comma-separated choice of " + ", ".join(RUNS)
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_dataset("python-docs")
    q = args.steps // 4
    header = [f"steps {i * q}-{(i + 1) * q}" for i in range(4)] + ["val loss"]
    print(
        f"baby GPT ({args.n_layer} layers, {args.position_encoding} positions) on python-docs, lr {args.lr}, "
        f"clip {args.grad_clip}, {args.steps} steps of 12 windows; mean training loss, nats"
    )
    print(f"{'':<26}" + "".join(f"{h:>14}" for h in header))
    for norm, schedule in (RUNS[name] for name in args.runs.split(",")):
        started = time.perf_counter()
        spans = run(norm, schedule, data.train, data.val, args)
        label = f"{norm}-LN, {'warm-up 100' if schedule == 'warmup_cosine' else 'no warm-up'}"
        print(f"{label:<26}" + "".join(f"{x:>14.3f}" for x in spans), flush=True)
        print(f"  ({time.perf_counter() - started:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
