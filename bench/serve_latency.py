"""Latency below saturation: find the server's saturation throughput, then p50/p95/p99 at half of it.

Saturation is the closed-loop throughput with many clients (the most the server completes per
second); then an open loop starts requests at half that rate, on schedule whatever the answers,
and the latency percentiles of its answers are printed.

    python bench/serve_latency.py [--seconds 20] [--workers 2] [--max-new-tokens 32]
"""

from __future__ import annotations

from serve_common import (
    LoadPlan,
    bench_arguments,
    latency_line,
    load,
    machine_note,
    ok_per_s,
    shipped_gpt_config,
    started,
)

SATURATING_CLIENTS = 64


def main() -> None:
    args = bench_arguments(__doc__)
    print(f"{args.workers} workers, max-batch 16; {machine_note()}")
    server = started(shipped_gpt_config(workers=args.workers))
    try:
        tokens = args.max_new_tokens
        load(
            server.url, LoadPlan(concurrency=SATURATING_CLIENTS, max_new_tokens=tokens, duration_s=3.0)
        )  # warm-up
        saturated = load(
            server.url,
            LoadPlan(concurrency=SATURATING_CLIENTS, max_new_tokens=tokens, duration_s=args.seconds),
        )
        saturation = ok_per_s(saturated)
        print(f"saturation ({SATURATING_CLIENTS} clients, closed loop): {saturation:.1f} generations/s")
        print(f"  latency there: {latency_line(saturated)}")
        rate = saturation / 2
        half = load(server.url, LoadPlan(rate_per_s=rate, max_new_tokens=tokens, duration_s=args.seconds))
        print(f"at half of it ({rate:.1f} requests/s, open loop): {latency_line(half)}")
        print(f"  {ok_per_s(half):.1f} answered OK per second, statuses {half.stats().by_status}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
