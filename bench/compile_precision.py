"""ms per training step with and without torch.compile and bf16, for each family, in one run.

    python bench/compile_precision.py [--device cpu] [--steps 30] [--warmup 5] [--threads 0]

Each family trains its default model (the VAE and the WGAN on their default data, the GPT on
a text file of the repository, so no download is needed) through the real task: the same
``train_step`` the trainer runs. The four setups of a family are built side by side, each
warmed up by ``warmup`` steps (torch.compile compiles during them), then timed in ``rounds``
interleaved rounds of ``steps`` steps, the order rotating each round, so a busy machine slows
all alike. Prints the median ms/step over the rounds and the speed-up over fp32 uncompiled
(> 1: faster). On a CPU without native bfloat16 (AVX-512 BF16 / AMX) bf16 is usually *slower*:
the casts cost more than the smaller products save.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.engine.data import load_dataset  # noqa: E402
from app.engine.setup import build_configs, create_task  # noqa: E402
from app.engine.tasks import get_task_class  # noqa: E402

SETUPS = [("fp32", False), ("fp32", True), ("bf16", False), ("bf16", True)]
DATASETS = {"vae": "shapes", "wgan": "8gaussians", "gpt": "REPOSITORY_TEXT"}


def repository_text() -> str:
    """The README and docs as one .txt file (≈ 100 KB of English): GPT data without a download."""
    path = Path(tempfile.gettempdir()) / "genplay-bench-text.txt"
    parts = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    path.write_text("\n".join(p.read_text(encoding="utf-8") for p in parts), encoding="utf-8")
    return str(path)


def make_task(family: str, precision: str, compile: bool, device: str, data=None, **settings):
    if data is None:
        spec = DATASETS[family]
        data = load_dataset(repository_text() if spec == "REPOSITORY_TEXT" else spec, seed=0)
    overrides = {"precision": precision, "compile": compile, "device": device, "seed": 0, **settings}
    model_config, hparams, train = build_configs(family, data, overrides)
    return create_task(family, data, model_config, hparams, train), data


def ms_per_step(task, steps: int, warmup: int) -> float:
    """Mean wall time of ``steps`` training steps after ``warmup`` untimed ones."""
    batches = task.training_batches(0)
    for step in range(warmup):
        task.train_step(batches.next, step)
    sync = torch.cuda.synchronize if task.device.type == "cuda" else (lambda: None)
    sync()
    start = time.perf_counter()
    for step in range(warmup, warmup + steps):
        task.train_step(batches.next, step)
    sync()
    return (time.perf_counter() - start) / steps * 1000.0


def interleaved_ms(tasks: list, rounds: int, steps: int, warmup: int) -> list[float]:
    """Median ms/step of each task over ``rounds`` rotating rounds of ``steps`` steps."""
    sources = [task.training_batches(0) for task in tasks]
    for task, batches in zip(tasks, sources, strict=True):
        for step in range(warmup):
            task.train_step(batches.next, step)
    times: list[list[float]] = [[] for _ in tasks]
    step = warmup
    for r in range(rounds):
        order = list(range(len(tasks)))
        order = order[r % len(order) :] + order[: r % len(order)]
        for i in order:
            start = time.perf_counter()
            for k in range(steps):
                tasks[i].train_step(sources[i].next, step + k)
            times[i].append((time.perf_counter() - start) / steps * 1000.0)
        step += steps
    return [statistics.median(t) for t in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=5, help="steps per setup and round")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's choice)")
    parser.add_argument("--families", default="vae,wgan,gpt")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"device {args.device}, {torch.get_num_threads()} threads, torch {torch.__version__}; "
          f"{args.warmup} "
          f"warm-up steps, then {args.rounds} interleaved rounds of {args.steps} steps")  # fmt: skip
    print(f"{'family':<6} {'setup':<14} {'ms/step':>9} {'vs fp32':>8}")
    for family in args.families.split(","):
        data, tasks = None, []
        batch = get_task_class(family).default_train_config().batch_size
        for precision, compile in SETUPS:
            task, data = make_task(family, precision, compile, args.device, data, batch_size=batch)
            tasks.append(task)
        times = interleaved_ms(tasks, args.rounds, args.steps, args.warmup)
        for (precision, compile), ms in zip(SETUPS, times, strict=True):
            label = precision + (" compiled" if compile else "")
            print(f"{family:<6} {label:<14} {ms:>9.2f} {times[0] / ms:>7.2f}×", flush=True)


if __name__ == "__main__":
    main()
