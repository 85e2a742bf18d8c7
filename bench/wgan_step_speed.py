"""One generator update with its 5 critic updates: driven by the app vs a plain PyTorch loop.

    python bench/wgan_step_speed.py [--rounds 8] [--steps 20] [--threads 1]

The app side is the real thing: the engine's ``Trainer`` running the WGAN task (batch source,
guarded updates with their NaN checks, metrics, events). The plain side is the WGAN-GP loop
as one would write it by hand, on a copy of the same networks with the same optimisers, batch
size and data. Both run interleaved in one process, alternating which goes first, so machine
noise hits both alike. Prints time per generator update and the ratio plain / app (1.0 = no
overhead; the target is ≥ 0.95), for the default 2-D model and the default image model.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.data import load_dataset  # noqa: E402
from app.engine.setup import build_configs, create_task  # noqa: E402
from app.engine.trainer import Trainer  # noqa: E402


class PlainWGANGP:
    """The textbook loop: n_critic critic steps on L_D = E[D(G(z))] − E[D(x)] + λ·GP, one G step."""

    def __init__(self, task, seed: int = 0) -> None:
        self.generator = copy.deepcopy(task.model.generator)
        self.critic = copy.deepcopy(task.model.critic)
        lr, betas = task.train_config.lr, (task.hparams.adam_beta1, task.hparams.adam_beta2)
        self.opt_d = torch.optim.Adam(self.critic.parameters(), lr=lr, betas=betas)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=lr, betas=betas)
        self.batch_size = task.train_config.batch_size
        self.latent_dim = task.model_config.latent_dim
        self.n_critic, self.gp_lambda = task.hparams.n_critic, task.hparams.gp_lambda
        self.data = task.data
        self.gen = torch.Generator().manual_seed(seed)

    def real_batch(self) -> torch.Tensor:
        if self.data.sampler is not None:
            return self.data.sampler(self.batch_size, self.gen)
        index = torch.randint(len(self.data.train), (self.batch_size,), generator=self.gen)
        return self.data.train[index]

    def step(self) -> None:
        b = self.batch_size
        for _ in range(self.n_critic):
            real = self.real_batch()
            with torch.no_grad():
                fake = self.generator(torch.randn(b, self.latent_dim, generator=self.gen))
            alpha = torch.rand(b, generator=self.gen).view(-1, *[1] * (real.dim() - 1))
            x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
            (grad,) = torch.autograd.grad(self.critic(x_hat).sum(), x_hat, create_graph=True)
            gp = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
            loss = self.critic(fake).mean() - self.critic(real).mean() + self.gp_lambda * gp
            self.opt_d.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_d.step()
        self.critic.requires_grad_(False)
        loss = -self.critic(self.generator(torch.randn(b, self.latent_dim, generator=self.gen))).mean()
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        self.critic.requires_grad_(True)


def compare(dataset: str, overrides: dict, rounds: int, steps: int) -> float:
    data = load_dataset(dataset)
    model_config, hparams, train = build_configs("wgan", data, {"steps": 10**9, "val_every": 0, **overrides})
    task = create_task("wgan", data, model_config, hparams, train)
    trainer = Trainer(task)
    plain = PlainWGANGP(task)

    def app_round() -> float:
        started = time.perf_counter()
        trainer.run(until=trainer.step + steps)
        return time.perf_counter() - started

    def plain_round() -> float:
        started = time.perf_counter()
        for _ in range(steps):
            plain.step()
        return time.perf_counter() - started

    app_round(), plain_round()  # warm-up
    app_times, plain_times, ratios = [], [], []
    for r in range(rounds):
        if r % 2 == 0:
            a, p = app_round(), plain_round()
        else:
            p, a = plain_round(), app_round()
        app_times.append(a)
        plain_times.append(p)
        ratios.append(p / a)
    app_ms = 1000 * sum(app_times) / (rounds * steps)
    plain_ms = 1000 * sum(plain_times) / (rounds * steps)
    ratio = sum(plain_times) / sum(app_times)
    print(f"{dataset:>11} ({model_config.arch}, batch {train.batch_size}): app {app_ms:7.2f} ms, "
          f"plain {plain_ms:7.2f} ms per generator update (+{hparams.n_critic} critic updates); "
          f"ratio plain/app {ratio:.3f} (median of rounds {statistics.median(ratios):.3f})")  # fmt: skip
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--steps", type=int, default=20, help="generator updates per timed round")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), {args.rounds} interleaved rounds")
    compare("8gaussians", {}, args.rounds, args.steps)
    image_steps = max(2, args.steps // 5)  # a conv step costs far more than an MLP step
    compare("shapes", {"batch_size": 64}, args.rounds, image_steps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
