"""Data-parallel speed-up on CPU processes: 1 process with batch 2b against 2 DDP ranks of b.

    python bench/ddp_speedup.py [--steps 30] [--warmup 5] [--families vae,wgan,gpt]

Both sides train the same global batch per step (the runs are the same computation: see
tests/engine/distributed), so the ratio of their ms/step is the speed-up that a second
process buys. The two ranks are spawned processes joined over gloo on 127.0.0.1, each with one
torch thread (as torchrun sets OMP_NUM_THREADS=1); the single process is timed with one thread
and with two (on a busy machine two threads can be much slower than one). On a machine with
fewer free cores than processes the ranks only take turns.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import sys
from datetime import timedelta
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from compile_precision import make_task, ms_per_step  # noqa: E402

from app.engine.tasks import get_task_class  # noqa: E402


def rank_main(rank: int, port: int, families: list[str], steps: int, warmup: int, results) -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2, timeout=timedelta(seconds=120))
    try:
        for family in families:
            batch = get_task_class(family).default_train_config().batch_size
            task, _data = make_task(family, "fp32", False, "cpu", batch_size=batch)
            dist.barrier()
            ms = ms_per_step(task, steps, warmup)
            if rank == 0:
                results[family] = ms
    finally:
        dist.destroy_process_group()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--families", default="vae,wgan,gpt")
    args = parser.parse_args()
    families = args.families.split(",")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        results = manager.dict()
        ranks = [context.Process(target=rank_main, args=(r, port, families, args.steps, args.warmup, results))
                 for r in (0, 1)]  # fmt: skip
        for process in ranks:
            process.start()
        for process in ranks:
            process.join()
        two = dict(results)
    print(f"{os.cpu_count()} CPUs; {args.warmup} warm-up + {args.steps} timed steps; "
          "global batch = the family's default × 2")  # fmt: skip
    heading = f"{'family':<6} {'1 proc, 1 thread':>17} {'1 proc, 2 threads':>18} {'2 ranks':>9}"
    print(heading + "  speed-up (vs 1 thread, 2 threads)")
    for family in families:
        batch = get_task_class(family).default_train_config().batch_size
        task, _data = make_task(family, "fp32", False, "cpu", batch_size=2 * batch)
        one = {}
        for threads in (1, 2):
            torch.set_num_threads(threads)
            one[threads] = ms_per_step(task, args.steps, args.warmup)
        ranks = two[family]
        print(
            f"{family:<6} {one[1]:>15.1f}ms {one[2]:>16.1f}ms {ranks:>7.1f}ms  "
            f"{one[1] / ranks:.2f}×, {one[2] / ranks:.2f}×",
            flush=True,
        )


if __name__ == "__main__":
    main()
