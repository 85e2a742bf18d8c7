"""Throughput of batching: max-batch 16 vs 1, at 64 concurrent clients, on the shipped GPT.

Both servers run the same closed loop (64 clients, each sending its next generation when its
answer is back) for the same time; the ratio of completed generations per second is printed.
Target: batching ≥ 4× the throughput of one request per batch.

    python bench/serve_batching.py [--seconds 20] [--workers 2] [--max-new-tokens 32]
"""

from __future__ import annotations

from serve_common import LoadPlan, bench_arguments, load, machine_note, ok_per_s, shipped_gpt_config, started

CLIENTS = 64


def throughput(max_batch: int, seconds: float, workers: int, max_new_tokens: int) -> float:
    server = started(shipped_gpt_config(workers=workers, max_batch=max_batch, max_wait_ms=5.0))
    try:
        warm = LoadPlan(concurrency=CLIENTS, max_new_tokens=max_new_tokens, duration_s=min(3.0, seconds / 4))
        load(server.url, warm)  # the workers' first batches (allocations, caches) are not measured
        run = load(
            server.url, LoadPlan(concurrency=CLIENTS, max_new_tokens=max_new_tokens, duration_s=seconds)
        )
        stats = server.stats()
        mean_batch = stats.batched_requests / max(stats.batches, 1)
        print(
            f"max-batch {max_batch:>2}: {ok_per_s(run):7.1f} generations/s of {max_new_tokens} characters, "
            f"mean batch {mean_batch:.1f}, statuses {run.stats().by_status}"
        )
        return ok_per_s(run)
    finally:
        server.stop()


def main() -> None:
    args = bench_arguments(__doc__)
    print(f"{CLIENTS} clients, {args.workers} workers; {machine_note()}")
    batched = throughput(16, args.seconds, args.workers, args.max_new_tokens)
    single = throughput(1, args.seconds, args.workers, args.max_new_tokens)
    print(
        f"batching speed-up (max-batch 16 / max-batch 1): {batched / max(single, 1e-9):.2f}×  (target ≥ 4×)"
    )


if __name__ == "__main__":
    main()
