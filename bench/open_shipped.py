"""How long each shipped checkpoint takes to read, and to open on its page with its history.

    QT_QPA_PLATFORM=offscreen OMP_NUM_THREADS=1 python bench/open_shipped.py [--runs 3]

For every file in weights/ it prints its size, the history it keeps, the best time of
``read_checkpoint`` alone and of reading plus ``page.open_checkpoint`` (curves, timeline or
attention replay, and the views drawn once events are processed).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from app.engine.checkpoint import read_checkpoint
    from app.engine.checkpoint.history import history_line
    from app.ui.launch import create_app
    from app.ui.main_window import MainWindow
    from weights import shipped_checkpoints

    app = create_app()
    window = MainWindow()
    for path in shipped_checkpoints():
        reads, opens = [], []
        for _ in range(args.runs):
            started = time.perf_counter()
            checkpoint = read_checkpoint(path)
            read = time.perf_counter()
            window.pages[checkpoint.family].open_checkpoint(checkpoint)
            app.processEvents()
            reads.append(read - started)
            opens.append(time.perf_counter() - started)
        print(f"{path.name}: {path.stat().st_size / 1e6:.1f} MB; read {min(reads) * 1e3:.0f} ms, "
              f"read and open on its page {min(opens) * 1e3:.0f} ms")  # fmt: skip
        print(f"  history: {history_line(checkpoint.history)}")
    window.close()


if __name__ == "__main__":
    main()
