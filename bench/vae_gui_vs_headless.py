"""VAE training speed: driven from the GUI worker vs the same task in a plain headless loop.

Both run in this one process, interleaved round by round so machine noise hits both alike:
  headless: for step: task.train_step(batches.next, step)      (no trainer, no events)
  gui:      the VAE page's Start button → TrainingThread → Trainer → throttled Qt signals,
            with the main window shown (offscreen), the loss plot redrawing on its timer,
            reconstructions and KL bars updating and snapshots published.
Prints steps/s of each and the ratio gui/headless (target ≥ 0.95).

The machine's speed drifts by ±5 % over tens of seconds, more than the effect measured, so
the runs are short and paired: each round is one headless run and the GUI run right after
it, and the figure is the median of the per-round ratios (the ratio of the medians is
printed too).

    QT_QPA_PLATFORM=offscreen python bench/vae_gui_vs_headless.py [--steps 500] [--rounds 12]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from app.engine.data import load_dataset  # noqa: E402
from app.engine.setup import build_configs, create_task  # noqa: E402

SETTINGS = {"batch_size": 128, "val_every": 0, "device": "cpu", "latent_dim": 20, "checkpoint_every": 0}


def headless_steps_per_s(steps: int, threads: int) -> float:
    torch.set_num_threads(threads)  # the thread count the GUI's trainer uses, for a fair match
    data = load_dataset("shapes", seed=0)
    model_config, hparams, train = build_configs("vae", data, {**SETTINGS, "steps": steps})
    task = create_task("vae", data, model_config, hparams, train)
    batches = task.make_batches(train.seed)
    for step in range(20):  # warm-up
        task.train_step(batches.next, step)
    started = time.perf_counter()
    for step in range(steps):
        task.train_step(batches.next, step)
    return steps / (time.perf_counter() - started)


def gui_steps_per_s(app, window, steps: int) -> float:
    from PySide6.QtCore import QEventLoop

    page = window.pages["vae"]
    page.new_model()
    page.form.set_values({**SETTINGS, "steps": steps + 20})
    page.start()
    marks: dict[str, float] = {}

    def watch(batch):
        for step, kind, _ in batch:
            if kind == "train" and step >= 20 and "start" not in marks:
                marks["start"], marks["start_step"] = time.perf_counter(), step
            if kind == "train" and step >= steps + 20:
                marks["end"], marks["end_step"] = time.perf_counter(), step

    page.metricsArrived.connect(watch)
    loop = QEventLoop()  # the real event loop, as in the running app (no polling)
    page.runStateChanged.connect(lambda state: loop.quit() if state == "idle" else None)
    loop.exec()
    page.metricsArrived.disconnect(watch)
    return (marks["end_step"] - marks["start_step"]) / (marks["end"] - marks["start"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=12)
    args = parser.parse_args()

    from app.ui.launch import create_app
    from app.ui.main_window import MainWindow

    app = create_app()
    window = MainWindow()
    window.show()
    app.processEvents()
    load_dataset("shapes", seed=0)  # render once, outside the timings
    from app.ui.training.thread import trainer_thread_count

    threads = trainer_thread_count()
    print(f"torch threads: {threads} (what the GUI's trainer uses on this machine)")
    headless, gui = [], []
    for round_index in range(args.rounds):
        headless.append(headless_steps_per_s(args.steps, threads))
        gui.append(gui_steps_per_s(app, window, args.steps))
        print(f"round {round_index + 1}: headless {headless[-1]:.1f} steps/s, gui {gui[-1]:.1f} steps/s, "
              f"ratio {gui[-1] / headless[-1]:.3f}")  # fmt: skip
    ratios = sorted(g / h for g, h in zip(gui, headless, strict=True))
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    h, g = statistics.median(headless), statistics.median(gui)
    print(f"median headless {h:.1f} steps/s, gui worker {g:.1f} steps/s (ratio of medians {g / h:.3f})")
    print(
        f"ratio gui/headless = {statistics.median(ratios):.3f} (median of {len(ratios)} paired rounds; "
        f"quartiles {quartiles[0]:.3f}–{quartiles[2]:.3f})"
    )
    window.close()


if __name__ == "__main__":
    main()
