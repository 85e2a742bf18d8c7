"""How much WGAN-GP samples on `shapes` look like the data, in numbers a picture hides.

Every image of `shapes` holds exactly one white object. For n samples of a checkpoint and
n validation images this prints, after thresholding at 0.5:
  - the share of images with exactly one object (4-connected), none, or several;
  - the object area in pixels (median and 10th–90th percentile), real vs generated;
  - how much of the bounding box the object fills (a square fills 1, an ellipse π/4 ≈ 0.79).

    python bench/wgan_shapes_quality.py weights/wgan-shapes.safetensors [--n 1000]
"""

from __future__ import annotations

import argparse
import sys
from collections import deque
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.checkpoint import read_checkpoint  # noqa: E402
from app.engine.data import load_dataset  # noqa: E402
from app.engine.inference import model_from_checkpoint  # noqa: E402
from app.engine.inference.sampling import draw_samples  # noqa: E402


def components(mask: np.ndarray) -> list[np.ndarray]:
    """The 4-connected white regions of a 2-D boolean mask, each as an (k, 2) array of pixels."""
    seen = np.zeros_like(mask, dtype=bool)
    regions = []
    h, w = mask.shape
    for start in zip(*np.nonzero(mask), strict=True):
        if seen[start]:
            continue
        seen[start] = True
        queue, pixels = deque([start]), []
        while queue:
            y, x = queue.popleft()
            pixels.append((y, x))
            for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    queue.append((ny, nx))
        regions.append(np.array(pixels))
    return regions


def describe(images: np.ndarray) -> dict[str, float]:
    counts, areas, fills = [], [], []
    for image in images[:, 0] > 0.5:
        regions = components(image)
        counts.append(len(regions))
        if len(regions) == 1:
            pixels = regions[0]
            box = (np.ptp(pixels[:, 0]) + 1) * (np.ptp(pixels[:, 1]) + 1)
            areas.append(len(pixels))
            fills.append(len(pixels) / box)
    counts = np.array(counts)
    return {
        "one": float(np.mean(counts == 1)),
        "none": float(np.mean(counts == 0)),
        "several": float(np.mean(counts > 1)),
        "area": np.percentile(areas, [10, 50, 90]) if areas else np.full(3, np.nan),
        "fill": np.percentile(fills, [10, 50, 90]) if fills else np.full(3, np.nan),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("checkpoint")
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    checkpoint = read_checkpoint(args.checkpoint)
    real = load_dataset("shapes", seed=0).val[: args.n].numpy()
    fake = draw_samples(model_from_checkpoint(checkpoint), args.n, seed=0).images
    print(f"{args.checkpoint}: step {checkpoint.step:,}, {len(fake)} samples, {len(real)} validation images")
    for name, images in (("real", real), ("generated", fake)):
        d = describe(images)
        area, fill = d["area"], d["fill"]
        print(f"{name:>9}: one object {d['one']:.1%}, none {d['none']:.1%}, several {d['several']:.1%}; "
              f"area {area[1]:.0f} px ({area[0]:.0f}–{area[2]:.0f}); "
              f"box filled {fill[1]:.2f} ({fill[0]:.2f}–{fill[2]:.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
