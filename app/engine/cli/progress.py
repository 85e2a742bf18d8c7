"""The CLI's progress bar (tqdm: steps, steps/s and ETA for free) fed by trainer events."""

from __future__ import annotations

import sys

from tqdm import tqdm

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
