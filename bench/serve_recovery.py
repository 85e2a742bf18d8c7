"""Recovery from killed workers: time from SIGKILL to a ready replacement, and kills under load.

1. With the server idle, SIGKILL worker 0 several times and time each replacement from the kill
   to its READY state (target ≤ 2 s).
2. Under closed-loop load, SIGKILL a live worker again and again (50 kills by default) and count
   every answer: a lost request is an answer other than 200 or 429, or no answer at all
   (target: zero lost).

    python bench/serve_recovery.py [--kills 50] [--interval 0.8] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time

from serve_common import LoadPlan, LoadRun, machine_note, shipped_gpt_config, started

from app.engine.serve.api import WorkerState
from app.engine.serve.load import TRANSPORT_ERROR


def replacement_time(server, worker_id: int) -> float:
    before = server.stats().workers[worker_id].restarts
    killed = time.monotonic()
    server.kill_worker(worker_id)
    while True:
        worker = server.stats().workers[worker_id]
        if worker.restarts > before and worker.state in (WorkerState.READY, WorkerState.BUSY):
            return time.monotonic() - killed
        if time.monotonic() - killed > 60:
            raise SystemExit("a killed worker was not replaced within 60 s")
        time.sleep(0.005)


def kill_repeatedly(server, kills: int, interval_s: float, done: list[int]) -> None:
    """SIGKILL a live worker every ``interval_s``, alternating between them."""
    target = 0
    while done[0] < kills:
        time.sleep(interval_s)
        workers = server.stats().workers
        alive = [w.id for w in workers if w.state in (WorkerState.READY, WorkerState.BUSY)]
        if not alive:
            continue
        victim = alive[target % len(alive)]
        target += 1
        server.kill_worker(victim)
        done[0] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--interval", type=float, default=0.8, help="seconds between kills under load")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--replacements", type=int, default=5)
    args = parser.parse_args()
    print(f"{args.workers} workers; {machine_note()}")
    # the restart intensity is raised so that the bench's own kills never make the server give up
    config = shipped_gpt_config(workers=args.workers, max_restarts=10_000, restart_window_s=1.0)
    server = started(config)
    try:
        times = [replacement_time(server, 0) for _ in range(args.replacements)]
        print(
            f"SIGKILL → replacement ready: median {statistics.median(times):.2f} s, "
            f"max {max(times):.2f} s over {len(times)} kills  (target ≤ 2 s)"
        )

        plan = LoadPlan(concurrency=16, max_new_tokens=32)
        run = LoadRun(server.url, plan)
        done = [0]
        killer = threading.Thread(target=kill_repeatedly, args=(server, args.kills, args.interval, done))
        loader = threading.Thread(target=lambda: asyncio.run(run.run()))
        loader.start()
        killer.start()
        killer.join()
        run.finish()  # send no more; every request in flight is still awaited and counted
        loader.join()
        stats = run.stats()
        lost = sum(count for status, count in stats.by_status.items() if status not in (200, 429))
        lost += stats.sent - stats.completed
        unanswered = stats.sent - stats.completed
        print(
            f"{done[0]} kills under load: {stats.completed} answers {stats.by_status}, "
            f"lost {lost} (non-200/429 or transport errors: {stats.by_status.get(TRANSPORT_ERROR, 0)}), "
            f"{unanswered} never answered  (target: 0 lost)"
        )
        server_stats = server.stats()
        print(f"server: {server_stats.restarts} restarts, {server_stats.retries} retried batches")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
