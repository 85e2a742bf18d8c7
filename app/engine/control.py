"""Thread-safe run control: start, pause, resume, single steps, actions and stop.

The trainer asks ``next_command()`` at every step boundary; the GUI (or any other
thread) calls ``pause()``, ``resume()``, ``step_once()``, ``request_action()``,
``stop()`` and ``submit()`` at any time. Work handed to ``submit()`` runs on the
trainer's thread at the next boundary, so settings change between steps and the
model is never touched from two threads at once.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class CommandKind(StrEnum):
    RUN = "run"  # train the next step
    STEP = "step"  # train exactly one step, then stay paused
    ACTION = "action"  # one task action (``Command.action``), then stay paused
    STOP = "stop"


@dataclass(frozen=True)
class Command:
    kind: CommandKind
    action: str | None = None


RUN = Command(CommandKind.RUN)
STEP = Command(CommandKind.STEP)
STOP = Command(CommandKind.STOP)


class RunControl:
    def __init__(self, start_paused: bool = False) -> None:
        self._cond = threading.Condition()
        self._paused = start_paused
        self._stopped = False
        self._queued: deque[Command] = deque()
        self._pending: list[Callable[[], None]] = []
        self._waiting = False

    @property
    def paused(self) -> bool:
        with self._cond:
            return self._paused

    @property
    def waiting(self) -> bool:
        """True while the trainer sits paused at a step boundary (no step in flight)."""
        with self._cond:
            return self._waiting

    @property
    def stop_requested(self) -> bool:
        with self._cond:
            return self._stopped

    def pause(self) -> None:
        with self._cond:
            self._paused = True
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def step_once(self) -> None:
        """Perform exactly one training step, then stay paused."""
        self.request_action(None)

    def request_action(self, action: str | None) -> None:
        """Queue one step (``None``) or one task action (e.g. ``"critic"``) and pause after it."""
        with self._cond:
            self._paused = True
            self._queued.append(STEP if action is None else Command(CommandKind.ACTION, action))
            self._cond.notify_all()

    def stop(self) -> None:
        """Stop at the next step boundary (also wakes a paused run)."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def submit(self, work: Callable[[], None]) -> None:
        """Run ``work`` on the trainer's thread at the next step boundary, paused or not."""
        with self._cond:
            self._pending.append(work)
            self._cond.notify_all()

    def take_pending(self) -> list[Callable[[], None]]:
        with self._cond:
            work, self._pending = self._pending, []
            return work

    def next_command(self, run_pending: Callable[[list[Callable[[], None]]], None]) -> Command:
        """Block while paused; return what the trainer should do next.

        ``run_pending`` is called (outside the lock) with any submitted work first.
        """
        while True:
            work = self.take_pending()
            if work:
                run_pending(work)
                continue
            with self._cond:
                if self._pending:
                    continue
                if self._stopped:
                    return STOP
                if self._queued:
                    return self._queued.popleft()
                if not self._paused:
                    return RUN
                self._waiting = True
                self._cond.wait(timeout=0.5)
                self._waiting = False
