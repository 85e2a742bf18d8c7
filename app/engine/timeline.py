"""A bounded history of snapshots of a run (sample grids, 2-D frames) for scrubbing back.

Frames arrive as training goes on; the timeline keeps at most ``max_frames`` of them and at
most ``max_bytes`` in total. When either cap is passed it is *thinned*: every other frame is
dropped (the first and the newest always stay) and the minimum step gap between kept frames
doubles, so an hour-long run keeps an evenly spaced record of its whole history in bounded
memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Frame(Generic[T]):
    step: int
    item: T
    nbytes: int


class Timeline(Generic[T]):
    def __init__(self, max_frames: int = 240, max_bytes: int = 64 << 20) -> None:
        if max_frames < 2:
            raise ValueError("a timeline keeps at least 2 frames")
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self.frames: list[Frame[T]] = []
        self.step_gap = 0  # a new frame must be at least this many steps after the last kept one
        self.total_bytes = 0

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int) -> Frame[T]:
        return self.frames[index]

    def __iter__(self) -> Iterator[Frame[T]]:
        return iter(self.frames)

    @property
    def steps(self) -> list[int]:
        return [frame.step for frame in self.frames]

    def clear(self) -> None:
        self.frames, self.step_gap, self.total_bytes = [], 0, 0

    def add(self, step: int, item: T, nbytes: int = 0) -> None:
        """Keep ``item`` as the newest frame, at ``step``.

        The newest frame is always the latest one added; it replaces the previous newest when
        that one is closer than ``step_gap`` to the frame before it (or at the same step, e.g.
        after a slow-motion action). A step before the newest (a new run) starts afresh.
        """
        if self.frames:
            last = self.frames[-1]
            if step == last.step:
                self.total_bytes += nbytes - last.nbytes
                self.frames[-1] = Frame(step, item, nbytes)
                return
            if step < last.step:
                self.clear()
            elif len(self.frames) > 1 and step - self.frames[-2].step < self.step_gap:
                self.total_bytes += nbytes - last.nbytes
                self.frames[-1] = Frame(step, item, nbytes)
                return
        self.frames.append(Frame(step, item, nbytes))
        self.total_bytes += nbytes
        while len(self.frames) > self.max_frames or (
            self.total_bytes > self.max_bytes and len(self.frames) > 2
        ):
            self._thin()

    def _thin(self) -> None:
        """Drop every other frame (keeping the first and the newest); double the step gap."""
        kept = self.frames[:-1:2] + [self.frames[-1]]
        self.frames = kept
        self.total_bytes = sum(frame.nbytes for frame in kept)
        span = kept[-1].step - kept[0].step
        # new frames come no closer than the kept ones stand: when the byte cap (not the count)
        # thins, fewer than max_frames / 2 are kept, and only their own spacing keeps it even
        spacing = span // max(1, len(kept) - 1)
        self.step_gap = max(2 * self.step_gap, 1, span // max(1, self.max_frames // 2), spacing)
