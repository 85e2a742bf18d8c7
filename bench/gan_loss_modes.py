"""Modes of 8 Gaussians covered by the minimax GAN, the non-saturating GAN and WGAN-GP.

    OMP_NUM_THREADS=1 python bench/gan_loss_modes.py [--steps 1000] [--lr 1e-3] [--seeds 0 1 2]

Each loss trains from the same seed for the same number of generator updates, with its paper's
settings (the original GAN: one discriminator update per generator update, no constraint;
WGAN-GP: five critic updates and λ = 10), the same networks (3 × 128 MLPs), Adam (β = (0.5, 0.9))
and batch size. The learning rate is 1e-3 by default, ten times the page's, so that the
comparison fits in minutes on a CPU. Then 2000 samples are drawn and the modes counted as
``bench/wgan_modes.py`` does (a mode is hit when at least 1% of the samples lie within the radius
of its centre), at 3σ, 5σ and 10σ of the mixture's components. Also printed: the final
E[D(G(z))] (for the GANs, the discriminator's probability that a fake is real).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.data import load_dataset  # noqa: E402
from app.engine.setup import build_configs, create_task  # noqa: E402
from app.engine.trainer import Trainer  # noqa: E402
from bench.wgan_modes import coverage_lines  # noqa: E402

LOSSES = ("minimax", "nonsaturating", "wasserstein")
SAMPLES = 2000


def run(loss: str, steps: int, seed: int, batch_size: int, lr: float) -> dict:
    data = load_dataset("8gaussians")
    settings = {"gan_loss": loss, "steps": steps, "seed": seed, "batch_size": batch_size, "lr": lr,
                "val_every": 0}  # fmt: skip
    model_config, hparams, train = build_configs("wgan", data, settings)
    task = create_task("wgan", data, model_config, hparams, train)
    started = time.perf_counter()
    trainer = Trainer(task)
    trainer.run()
    seconds = time.perf_counter() - started
    task.model.eval()
    z = torch.randn(SAMPLES, model_config.latent_dim, generator=torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        points = task.model.sample(z).numpy()
    return {
        "loss": loss, "seed": seed, "lines": coverage_lines(points, "8gaussians"),
        "critic_updates": task.critic_updates,
        "generator_updates": task.generator_updates, "seconds": seconds,
        "d_fake": trainer.last_metrics.get("d_fake", float("nan")),
        "settings": (model_config.lipschitz, hparams.n_critic),
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="generator updates for every loss")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()
    print(f"8gaussians, {args.steps} generator updates, batch {args.batch_size}, lr {args.lr:g}, "
          f"{SAMPLES} samples; a mode is hit with ≥ 1% of the samples within the radius")  # fmt: skip
    for seed in args.seeds:
        for loss in LOSSES:
            r = run(loss, args.steps, seed, args.batch_size, args.lr)
            lipschitz, n_critic = r["settings"]
            print(
                f"seed {seed}  {loss} ({lipschitz}, n_critic {n_critic}): E[D(G(z))] {r['d_fake']:.3g}, "
                f"{r['critic_updates']} D updates, {r['seconds']:.0f} s",
                *r["lines"],
                sep="\n",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
