"""The CLI's progress bar (tqdm: steps, steps/s and ETA for free) fed by trainer events."""

from __future__ import annotations

import sys
from pathlib import Path

from tqdm import tqdm

from app.engine.checkpoint import Checkpoint, read_checkpoint
from app.engine.events import (
    CheckpointEvent,
    FinishedEvent,
    MetricsEvent,
    MetricsKind,
    NoticeEvent,
    ProgressEvent,
)

SHOWN = ("loss", "recon", "kl", "critic_loss", "gen_loss", "wasserstein", "jsd", "val_loss")


class ProgressPrinter:
    def __init__(self, total: int, initial: int, quiet: bool = False) -> None:
        self.bar = tqdm(
            total=total, initial=initial, unit="step", dynamic_ncols=True, disable=quiet, file=sys.stderr
        )
        self.latest: dict[str, float] = {}

    def __call__(self, event: object) -> None:
        if isinstance(event, MetricsEvent):
            if event.kind == MetricsKind.TRAIN:
                self.bar.update(event.step - self.bar.n)
                self.latest.update(event.metrics)
            elif event.kind == MetricsKind.VAL:
                self.latest.update(event.metrics)
        elif isinstance(event, ProgressEvent):
            shown = {k: f"{self.latest[k]:.4g}" for k in SHOWN if k in self.latest}
            self.bar.set_postfix(shown, refresh=False)
        elif isinstance(event, NoticeEvent):
            tqdm.write(f"{event.level}: {event.message}", file=sys.stderr)
        elif isinstance(event, CheckpointEvent):
            pass
        elif isinstance(event, FinishedEvent):
            self.bar.close()

    def close(self) -> None:
        self.bar.close()


def read_with_progress(path: str | Path) -> Checkpoint:
    """``read_checkpoint`` with a byte count on stderr while a large model's weights are read
    (a Hugging Face GPT-2; tqdm stays quiet when stderr is not a terminal)."""
    bar: tqdm | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="B", unit_scale=True, desc="reading weights", file=sys.stderr,
                       leave=False, disable=None)  # fmt: skip
        bar.update(done - bar.n)

    try:
        return read_checkpoint(path, progress)
    finally:
        if bar is not None:
            bar.close()
