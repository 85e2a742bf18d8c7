"""Recovery from killed workers: time from SIGKILL to a ready replacement, and kills under load.

1. With the server idle, SIGKILL worker 0 several times and time each replacement from the kill
   to its READY state (target ≤ 2 s).
2. Under closed-loop load, SIGKILL a live worker again and again (50 kills by default) and count
   every answer: a lost request is an answer other than 200 or 429, or no answer at all
   (target: zero lost). The kills stop at ``--kill-seconds``: on a busy machine a replacement
   takes longer to load, fewer kills fit, and the line says how many there were.

A dead worker's batch is retried once (the supervisor's rule); a job whose retry dies too is
answered 503 with that reason. The default pace, a kill every 2 s, leaves a retried batch the
second or so it needs to finish; ``--interval 1`` kills retries too, and the 503s it then
counts are answers that say why, not silence.

    python bench/serve_recovery.py [--kills 50] [--interval 2.0] [--kill-seconds 150] [--workers 2]
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


def all_loaded(server) -> bool:
    """Every slot's worker and the warm spare have loaded the model."""
    stats = server.stats()
    slots_ready = all(w.state in (WorkerState.READY, WorkerState.BUSY) for w in stats.workers)
    spare_ready = stats.spare is WorkerState.READY or not server.config.warm_spare
    return slots_ready and spare_ready


def replacement_time(server, worker_id: int) -> float:
    """Seconds from SIGKILL to the slot's new worker being ready, once everything was loaded."""
    wait_for(lambda: all_loaded(server), "the workers and the spare loading")
    before = server.stats().workers[worker_id].restarts
    killed = time.monotonic()
    server.kill_worker(worker_id)
    wait_for(lambda: replaced(server, worker_id, before), "a killed worker being replaced")
    return time.monotonic() - killed


def replaced(server, worker_id: int, restarts_before: int) -> bool:
    worker = server.stats().workers[worker_id]
    return worker.restarts > restarts_before and worker.state in (WorkerState.READY, WorkerState.BUSY)


def wait_for(condition, what: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not happen within {timeout_s:.0f} s")
        time.sleep(0.005)


def kill_repeatedly(server, kills: int, interval_s: float, deadline: float, done: list[int]) -> None:
    """SIGKILL a live worker every ``interval_s``, alternating, until ``kills`` or the deadline."""
    target = 0
    while done[0] < kills and time.monotonic() < deadline:
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
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between kills under load")
    parser.add_argument("--kill-seconds", type=float, default=150.0, help="at most this long for the kills")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--replacements", type=int, default=3)
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
        deadline = time.monotonic() + args.kill_seconds
        killer = threading.Thread(
            target=kill_repeatedly, args=(server, args.kills, args.interval, deadline, done)
        )
        loader = threading.Thread(target=lambda: asyncio.run(run.run()))
        loader.start()
        killer.start()
        killer.join()
        run.finish()  # send no more; every request in flight is still awaited and counted
        loader.join()
        stats = run.stats()
        unanswered = stats.sent - stats.completed
        failed = sum(count for status, count in stats.by_status.items() if status not in (200, 429))
        print(
            f"{done[0]} kills under load ({args.kills} asked, {args.kill_seconds:.0f} s at most): "
            f"{stats.completed} answers {stats.by_status}; lost {failed + unanswered} "
            f"({failed} non-200/429 answers of which {stats.by_status.get(TRANSPORT_ERROR, 0)} transport "
            f"errors, {unanswered} never answered)  (target: 0 lost)"
        )
        server_stats = server.stats()
        print(f"server: {server_stats.restarts} restarts, {server_stats.retries} retried batches")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
