"""``--metrics FILE.jsonl``: one JSON object per logged step, validation prefixed ``val_``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import IO


def _clean(value: float) -> float | str:
    # JSON has no NaN/Inf; write them as strings so every line stays valid JSON
    return value if math.isfinite(value) else str(value)


class MetricsLog:
    def __init__(self, path: str | Path, append: bool = False) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = self.path.open("a" if append else "w", encoding="utf-8")

    def write(self, step: int, metrics: dict[str, float]) -> None:
        if self._file is None:
            return
        record = {"step": step, **{k: _clean(float(v)) for k, v in metrics.items()}}
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_metrics(path: str | Path) -> list[dict[str, float]]:
    with Path(path).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
