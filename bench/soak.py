"""Soak: one long training run with the GUI open (offscreen), watching resident memory.

    QT_QPA_PLATFORM=offscreen python bench/soak.py --minutes 30 [--family vae]

Samples RSS every 15 s; prints the RSS after a 2-minute warm-up, at the end, the largest,
and the growth per 10 minutes after warm-up, plus the sizes of the bounded histories.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import psutil

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WARMUP_S = 120.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--family", default="vae")
    args = parser.parse_args()

    from app.ui.launch import create_app
    from app.ui.main_window import MainWindow

    app = create_app()
    window = MainWindow()
    window.show()
    page = window.show_page(args.family)
    page.form.set_values({"steps": 9_999_999})
    page.start()
    process = psutil.Process()
    started = time.perf_counter()
    end = started + args.minutes * 60
    samples: list[tuple[float, float]] = []
    next_sample = started
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.005)
        now = time.perf_counter()
        if now >= next_sample:
            next_sample = now + 15
            rss = process.memory_info().rss / 2**20
            samples.append((now - started, rss))
            step = page.thread.trainer.step if page.thread and page.thread.trainer else 0
            print(f"{(now - started) / 60:6.1f} min  step {step:>9,}  RSS {rss:8.1f} MiB", flush=True)
        if page.thread is None:
            print("the run ended early:", page.bar.status.text())
            break
    page.stop()
    while page.thread is not None:
        app.processEvents()
        time.sleep(0.01)
    warm = [rss for t, rss in samples if t >= WARMUP_S] or [samples[-1][1]]
    span_min = max(1e-9, (samples[-1][0] - WARMUP_S) / 60)
    print(f"RSS after warm-up {warm[0]:.1f} MiB, at the end {warm[-1]:.1f} MiB, largest {max(warm):.1f} MiB, "
          f"growth {10 * (warm[-1] - warm[0]) / span_min:+.1f} MiB per 10 min")  # fmt: skip
    sizes = {key: len(series.steps) for key, series in page.loss_plot.series.items()}
    print(f"loss-plot points held per curve: {sizes}; steps trained: {page.trainer.step:,}")
    window.close()


if __name__ == "__main__":
    main()
