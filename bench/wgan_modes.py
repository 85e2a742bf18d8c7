"""Mode coverage of WGAN samples on a Gaussian-mixture toy set (8gaussians, 25gaussians).

    python -m app train wgan --dataset 8gaussians --out wgan-8g.safetensors
    python -m app sample wgan-8g.safetensors --n 2000 --out points.npy
    python bench/wgan_modes.py points.npy --dataset 8gaussians

Prints how many modes are hit (a mode is hit when at least 1% of the samples lie within
the radius of its centre) and the share of samples near some mode, at 3σ of the mixture's
components (the usual "high-quality sample" radius) and at looser radii.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.data.toy2d import TOY_SETS, mode_coverage  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("points", help=".npy file of shape (N, 2) from `genplay sample`")
    parser.add_argument("--dataset", default="8gaussians", choices=["8gaussians", "25gaussians"])
    parser.add_argument("--min-share", type=float, default=0.01, help="share of samples that makes a hit")
    args = parser.parse_args()
    points = np.load(args.points, allow_pickle=False)
    if points.ndim != 2 or points.shape[1] != 2:
        print(f"{args.points} has shape {points.shape}, not (N, 2)", file=sys.stderr)
        return 2
    toy = TOY_SETS[args.dataset]
    modes = len(toy.centers())
    print(f"{len(points)} samples, {args.dataset}: {modes} modes, component σ = {toy.mode_std:.4f}")
    for line in coverage_lines(points, args.dataset, args.min_share):
        print(line)
    return 0


def coverage_lines(points: np.ndarray, dataset: str, min_share: float = 0.01) -> list[str]:
    """One line per radius (3σ, 5σ, 10σ): modes hit, the share of samples near a mode, per mode."""
    toy = TOY_SETS[dataset]
    centers = toy.centers().numpy()
    lines = []
    for sigmas in (3, 5, 10):
        radius = sigmas * toy.mode_std
        cover = mode_coverage(points, centers, radius, min_share)
        lines.append(
            f"  within {sigmas:>2}σ ({radius:.3f}): modes hit {cover.modes_hit}/{cover.modes}, "
            f"samples near a mode {100 * cover.near_share:.1f}%  per mode {cover.counts.tolist()}"
        )
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
