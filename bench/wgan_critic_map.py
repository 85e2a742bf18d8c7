"""The 2-D view's critic heat map: recompute at 100 × 100 and redraw, as the app does per snapshot.

    python bench/wgan_critic_map.py [--repeats 40] [--threads 1]

One refresh = load a published snapshot's weights into the view's own model, generate the
1000 points of the fixed noise, evaluate the critic on the 100 × 100 grid, take ∇ₓD at 160
generated points for the arrows, then draw heat map, contours, points and arrows and paint
the widget (offscreen). Alternates two snapshots so every refresh really loads new weights.
Target: ≤ 30 ms per refresh on CPU.
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
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.engine.data import load_dataset  # noqa: E402
from app.engine.inference.wgan_frames import FrameRenderer, plane_extent  # noqa: E402
from app.engine.setup import build_configs, create_task  # noqa: E402
from app.ui.wgan.critic_map import CriticMapView  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    app = QApplication.instance() or QApplication([])

    data = load_dataset("8gaussians")
    model_config, hparams, train = build_configs("wgan", data, {})
    task = create_task("wgan", data, model_config, hparams, train)
    batches = task.make_batches(0)
    snapshots = []
    for step in range(2):
        for _ in range(10):
            task.train_step(batches.next, step)
        snapshots.append(task.snapshot(step))
    noise = task.fixed_noise

    view = CriticMapView()
    view.resize(700, 640)
    view.show()
    view.set_real(data.val[:1000].numpy())
    extent = plane_extent(data.val.numpy())
    view.fit(extent)
    app.processEvents()
    renderer = FrameRenderer(resolution=100, adaptive=False)

    compute, draw, total = [], [], []
    for i in range(args.repeats + 3):
        started = time.perf_counter()
        frame = renderer.render(snapshots[i % 2], noise, view.view_extent())
        computed = time.perf_counter()
        view.show_frame(frame)
        view.viewport().repaint()  # paint now, synchronously
        done = time.perf_counter()
        if i >= 3:  # the first refreshes warm caches up
            compute.append(computed - started)
            draw.append(done - computed)
            total.append(done - started)
    assert frame.critic.shape == (100, 100)

    def ms(values: list[float]) -> str:
        ordered = sorted(values)
        p90 = ordered[int(0.9 * (len(ordered) - 1))]
        return f"median {1000 * statistics.median(values):5.1f} ms, p90 {1000 * p90:5.1f} ms"

    weights = sum(p.numel() for p in task.model.critic.parameters())
    print(f"torch {torch.__version__}, {args.threads} thread(s); critic {model_config.hidden_dims} "
          f"({weights:,} weights), map 100 × 100, {args.repeats} refreshes")  # fmt: skip
    print(f"  recompute (weights, G(z), D on grid, ∇D arrows): {ms(compute)}")
    print(f"  redraw (image, contours, points, arrows, paint):  {ms(draw)}")
    print(f"  recompute + redraw:                               {ms(total)}  (target ≤ 30 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
