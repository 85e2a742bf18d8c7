"""The supervisor log: what changed between two polls, in words."""

from __future__ import annotations

from app.engine.serve.api import ServerStats, WorkerState, WorkerStatus
from app.ui.serve.supervisor_log import supervisor_events


def stats(*workers: WorkerStatus, ready: bool = True, reason: str | None = None,
          spare: WorkerState | None = None) -> ServerStats:  # fmt: skip
    return ServerStats(time_s=0.0, ready=ready, unready_reason=reason, queue_depth=0, queue_size=8,
                       workers=workers, spare=spare)  # fmt: skip


def test_a_worker_replaced_within_one_poll_is_told_as_a_death_and_a_restart():
    before = stats(WorkerStatus(0, 11, WorkerState.BUSY, 0, 3, 9), spare=WorkerState.READY)
    after = stats(WorkerStatus(0, 12, WorkerState.READY, 1, 3, 9), spare=WorkerState.STARTING)
    assert supervisor_events(before, after) == [
        "Worker 0 (pid 11) died; the supervisor restarted it (restart 1), now pid 12.",
        "A warm spare is loading the models.",
    ]


def test_death_loading_readiness_and_giving_up():
    assert supervisor_events(None, stats()) == []  # the first poll has nothing to compare with
    alive = stats(WorkerStatus(0, 11, WorkerState.READY, 0, 0, 0))
    dead = stats(WorkerStatus(0, None, WorkerState.DEAD, 0, 0, 0), ready=False, reason="no worker is up")
    assert supervisor_events(alive, dead) == [
        "Worker 0 (pid 11) died.",
        "The server is unready: no worker is up.",
    ]
    loading = stats(WorkerStatus(0, 13, WorkerState.STARTING, 1, 0, 0), ready=False)
    back = stats(WorkerStatus(0, 13, WorkerState.READY, 1, 0, 0))
    assert supervisor_events(dead, loading) == ["The supervisor restarted worker 0 (restart 1): pid 13."]
    assert supervisor_events(loading, back) == [
        "Worker 0 (pid 13) has loaded the models: ready.",
        "The server is ready.",
    ]
