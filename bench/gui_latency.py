"""GUI event-loop latency while the VAE trains at full speed from the page.

A QTimer heartbeat fires every 10 ms; each tick records how late it fired (actual gap
minus 10 ms). The VAE page trains meanwhile with all its live views (loss plot,
reconstructions, KL bars, snapshots). Prints p50 / p95 / p99 lateness (target p99 ≤ 50 ms)
and, for reference, the same heartbeat with no training.

    QT_QPA_PLATFORM=offscreen python bench/gui_latency.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

INTERVAL_MS = 10


def heartbeat_lateness(app, seconds: float) -> np.ndarray:
    from PySide6.QtCore import QEventLoop, QTimer

    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(INTERVAL_MS)
    timer.timeout.connect(tick)
    timer.start()
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()  # the real event loop, as in the running app
    timer.stop()
    return np.maximum(0.0, (np.asarray(gaps[1:]) - INTERVAL_MS / 1000.0) * 1000.0)


def report(name: str, late_ms: np.ndarray) -> None:
    p50, p95, p99 = np.percentile(late_ms, [50, 95, 99])
    print(f"{name}: {len(late_ms)} ticks, lateness p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
          f"p99 {p99:.1f} ms, max {late_ms.max():.1f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()

    from app.engine.data import load_dataset
    from app.ui.launch import create_app
    from app.ui.main_window import MainWindow

    app = create_app()
    window = MainWindow()
    window.show()
    load_dataset("shapes", seed=0)
    report("idle", heartbeat_lateness(app, 3.0))
    page = window.pages["vae"]
    page.form.set_values({"steps": 10_000_000, "val_every": 250, "checkpoint_every": 0})
    page.start()
    while page.state != "running":
        app.processEvents()
        time.sleep(0.005)
    late = heartbeat_lateness(app, args.seconds)
    steps = page.loss_plot.point_count("loss")
    page.stop()
    while page.thread is not None:
        app.processEvents()
        time.sleep(0.005)
    report(f"training ({steps} steps in the plot)", late)
    window.close()


if __name__ == "__main__":
    main()
