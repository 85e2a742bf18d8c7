"""Only rank 0 writes: the checkpoint (and its sidecar), the metrics file and the progress bar.

Every rank holds the same weights after every step (DDP averages the gradients), so one
writer suffices; the others would only race it for the same files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.engine.distributed.ranks import RankInfo


@dataclass(frozen=True)
class WriterPolicy:
    rank: RankInfo

    def path(self, path: str | Path | None) -> str | Path | None:
        """``path`` on the writing rank, None (write nothing) on the others."""
        return path if self.rank.is_writer else None

    def quiet(self, asked: bool) -> bool:
        """No progress bar on the other ranks (nor on rank 0 when asked)."""
        return asked or not self.rank.is_writer
