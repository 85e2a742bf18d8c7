"""Copy a trained checkpoint into weights/ for shipping: the weights, metadata and history.

    python tools/ship_weights.py RUN.safetensors weights/<family>-<dataset>.safetensors

The resumable-state sidecar (optimiser moments, RNG states) is left behind: shipped models
are for looking at and fine-tuning, and the sidecar would double the size. The run's history
(``history.*`` tensors: curves, attention, timeline, KL) is kept, so the app shows how it learned.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.checkpoint import read_checkpoint, save_checkpoint  # noqa: E402
from app.engine.checkpoint.history import history_line  # noqa: E402


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    ckpt = read_checkpoint(source)
    fields = {
        "family": ckpt.family,
        "config": ckpt.config,
        "tensors": ckpt.tensors,
        "step": ckpt.step,
        "metrics": ckpt.metrics,
        "data": ckpt.data,
        "tokenizer": ckpt.tokenizer,
        "train": ckpt.train,
        "history": ckpt.history,
    }
    save_checkpoint(target, **fields)
    shipped = read_checkpoint(target)
    print(
        f"{target}: {ckpt.family} at step {ckpt.step}, {target.stat().st_size / 1e6:.1f} MB; "
        f"history: {history_line(shipped.history)}"
    )


if __name__ == "__main__":
    main()
