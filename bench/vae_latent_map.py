"""The latent map with 10,000 points: refresh, render, recolour, pan and zoom frame times.

    python bench/vae_latent_map.py [--points 10000] [--frames 300]

A 28×28 MLP VAE (784-400-20) encodes 10,000 rendered shapes; the map (one pxMode
ScatterPlotItem fed with arrays, coloured by a factor through ≤ 48 shared brushes) is
shown at 900×700 and repainted synchronously after each pan or zoom step. A frame is
the time from moving the view to the end of its repaint; 16.7 ms is one 60 Hz frame.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.engine.data import load_shapes  # noqa: E402
from app.engine.data.bundle import DataBundle  # noqa: E402
from app.engine.events import ModelSnapshot  # noqa: E402
from app.engine.inference.vae_snapshot import SnapshotVAE  # noqa: E402
from models.vae import VAE, VAEConfig  # noqa: E402


def percentiles(ms: list[float]) -> str:
    a = np.asarray(ms)
    return f"p50 {np.percentile(a, 50):6.2f} ms  p95 {np.percentile(a, 95):6.2f} ms  max {a.max():6.2f} ms"


def frames(app: QApplication, latent_map, count: int, move) -> list[float]:
    view = latent_map.plot.getPlotItem().getViewBox()
    viewport = latent_map.plot.viewport()
    times = []
    for i in range(count):
        started = time.perf_counter()
        move(view, i)  # the view's transform and the axes follow at once
        viewport.repaint()  # the frame: points, axes and all, painted now
        times.append((time.perf_counter() - started) * 1000.0)
        app.processEvents()  # anything else queued (not part of the frame)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    from app.ui.vae.context import ViewContext
    from app.ui.vae.latent_map import LatentMap

    torch.manual_seed(0)
    config = VAEConfig(input_shape=(1, 28, 28), latent_dim=20, hidden_dims=(400,))
    model = VAE(config)
    vae = SnapshotVAE()
    vae.update(ModelSnapshot("vae", config, {k: v.clone() for k, v in model.state_dict().items()}, 0))
    shapes = load_shapes(seed=0, count=args.points * 10, size=28)  # validation = a tenth
    data = DataBundle("shapes28", "images", shapes.train[:10], shapes.val[: args.points],
                      val_labels={k: v[: args.points] for k, v in shapes.val_labels.items()},
                      label_names=shapes.label_names)  # fmt: skip
    context = ViewContext(vae, torch.Generator().manual_seed(0), lambda: data, lambda: None,
                          lambda: np.zeros(20, np.float32))  # fmt: skip
    latent_map = LatentMap(context)
    latent_map.resize(900, 700)
    latent_map.show()
    latent_map.reset_model()
    latent_map.set_data()
    app.processEvents()

    # a refresh as it runs in the app: chunks within a time budget per event-loop turn
    blocks = []
    started = time.perf_counter()
    latent_map.refresh(force=True)
    while latent_map.job is not None:
        t = time.perf_counter()
        latent_map._pump()
        blocks.append((time.perf_counter() - t) * 1000.0)
    latent_map.plot.viewport().repaint()
    refresh_ms = (time.perf_counter() - started) * 1000.0
    n, brushes = len(latent_map.coords), len(latent_map.colours.palette)
    print(f"{n:,} points, {brushes} shared brushes, torch threads {torch.get_num_threads()}")
    print(f"refresh (encode all, PCA, colour, first paint): {refresh_ms:7.1f} ms in {len(blocks)} "
          f"event-loop turns; longest turn {max(blocks):.1f} ms (set_codes + paint included)")  # fmt: skip

    def timed(label: str, action) -> None:
        started = time.perf_counter()
        action()
        latent_map.plot.viewport().repaint()
        print(f"{label:<46}{(time.perf_counter() - started) * 1000:7.1f} ms")

    timed("new weights, same points → drawn (moved only):", lambda: latent_map.set_codes(latent_map.mu + 0.1))
    for factor in ("x", "rotation", "shape"):
        timed(
            f"recolour by {factor} → drawn (restyled):",
            lambda f=factor: latent_map.colour_by.setCurrentText(f),
        )  # noqa: E501

    def pan(view, i):
        view.translateBy(x=0.02 * (1 if i % 80 < 40 else -1))

    def zoom(view, i):
        view.scaleBy((1.01, 1.01) if i % 80 < 40 else (0.99, 0.99))

    latent_map.colour_by.setCurrentText("x")
    for label, move in (("pan ", pan), ("zoom", zoom)):
        ms = frames(app, latent_map, args.frames, move)
        print(f"{label} frames ({args.frames}): {percentiles(ms)}  → {1000 / np.mean(ms):5.0f} frames/s")
    latent_map.axes_mode.setCurrentIndex(1)
    latent_map.manifold.setChecked(True)
    app.processEvents()
    print(f"pan with the manifold behind: {percentiles(frames(app, latent_map, args.frames, pan))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
