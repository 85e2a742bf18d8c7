"""The VAE task: trains ``models.vae.VAE`` on images by minimising the negative ELBO."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch

from app.engine.data.batches import ShuffledBatches, fixed_batches
from app.engine.data.bundle import DataBundle
from app.engine.data.info import DataKind
from app.engine.inference.vae_terms import reconstructions_and_kl
from app.engine.inference.visuals import VAEVisuals
from app.engine.optim_step import guarded_update
from app.engine.random_streams import Consumer
from app.engine.tasks.base import NextBatch, Task
from app.engine.train_config import TrainConfig
from models.config_fields import Ranges, check_ranges
from models.vae import VAE, VAEConfig


@dataclass
class VAEHparams:
    """VAE training knobs from the theory; all may change while a run is paused."""

    beta: float = 1.0  # weight of the KL term
    kl_warmup_steps: int = 0  # β ramps linearly from 0 to β over this many steps
    free_bits: float = 0.0  # λ: floor on each dimension's KL, Σ_i max(λ, KL_i)

    RANGES: ClassVar[Ranges] = {
        "beta": (0.0, 1000.0),
        "kl_warmup_steps": (0, 10_000_000),
        "free_bits": (0.0, 100.0),
    }

    def validate(self) -> None:
        check_ranges(self, self.RANGES)

    def beta_at(self, step: int) -> float:
        """β after warm-up: β · min(1, step / N)."""
        if self.kl_warmup_steps <= 0:
            return self.beta
        return self.beta * min(1.0, step / self.kl_warmup_steps)


class VAETask(Task):
    family = "vae"
    title = "VAE"
    config_class = VAEConfig
    hparams_class = VAEHparams
    data_kinds = (DataKind.IMAGES,)
    default_dataset = "shapes"

    @staticmethod
    def build_model(config: VAEConfig) -> VAE:
        return VAE(config)

    def build_optimizers(self) -> list[torch.optim.Optimizer]:
        return [torch.optim.Adam(self.model.parameters(), lr=self.train_config.lr)]

    @classmethod
    def default_model_config(cls, data: DataBundle) -> VAEConfig:
        return VAEConfig(input_shape=tuple(data.item_shape))

    @classmethod
    def default_train_config(cls) -> TrainConfig:
        return TrainConfig(steps=3000, batch_size=128, lr=1e-3, val_every=250)

    @classmethod
    def expected_item_shape(cls, model_config: VAEConfig) -> tuple[int, ...]:
        return tuple(model_config.input_shape)

    def make_batches(self, seed: int) -> ShuffledBatches:
        return ShuffledBatches(self.data.train, self.source_batch_size, self.device, seed)

    def validation_batches(self) -> Sequence[torch.Tensor]:
        tc = self.train_config
        return fixed_batches(self.data.val, self.source_batch_size, tc.val_batches, self.device)

    def _loss(
        self,
        x: torch.Tensor,
        beta: float,
        free_bits: float,
        eps: torch.Tensor | None = None,
        training: bool = False,
    ):
        """The terms at ε, ε ~ N(0, I) of shape (B, latent_dim): given, or drawn from the training
        stream (a training step draws this rank's slice of the global batch's ε)."""

        def draw(n: int) -> torch.Tensor:
            return torch.randn((n, self.model_config.latent_dim), generator=self.rng, device=x.device,
                               dtype=x.dtype)  # fmt: skip

        if eps is None:
            eps = self.draw_for_rank(x.shape[0], draw) if training else draw(x.shape[0])
        loss = self.train_call("loss") if training else self.model.loss
        return loss(x, beta=beta, free_bits=free_bits, eps=eps)

    def train_step(self, next_batch: NextBatch, step: int) -> dict[str, float]:
        x = next_batch()  # (B, C, H, W)
        beta = self.hparams.beta_at(step)
        terms = self._loss(x, beta, self.hparams.free_bits, training=True)
        grad_norm = guarded_update(
            terms.total,
            self.optimizers[0],
            self.model.parameters(),
            step=step,
            grad_clip=self.train_config.grad_clip,
            loss_name="the negative ELBO",
        )
        recon, kl = terms.reconstruction.item(), terms.kl.item()
        return {
            "loss": recon + kl,  # negative ELBO (β = 1, no floor): the true bound
            "objective": terms.total.item(),  # what was minimised: recon + β·(floored) KL
            "recon": recon,
            "kl": kl,
            "beta": beta,
            "grad_norm": grad_norm,
        }

    @torch.no_grad()
    def evaluate(self, batches: Sequence[torch.Tensor]) -> dict[str, float]:
        self.model.eval()
        total = recon = kl = 0.0
        count = 0
        noise = self.streams.for_use(Consumer.VALIDATION)  # the same ε at every validation
        for x in batches:
            eps = torch.randn(x.shape[0], self.model_config.latent_dim, generator=noise)
            terms = self._loss(x, 1.0, 0.0, eps.to(x.device, x.dtype))
            n = x.shape[0]
            recon += float(terms.reconstruction) * n
            kl += float(terms.kl) * n
            count += n
        self.model.train()
        if count == 0:
            return {}
        total = (recon + kl) / count
        return {"loss": total, "recon": recon / count, "kl": kl / count}

    def record_history(self, history, step: int) -> None:
        """KL per latent dimension, averaged over validation images (no sampling: μ and σ only)."""
        history.add_kl(step, reconstructions_and_kl(self.model, self.data.val, recon_examples=1).kl_per_dim)

    def visuals(self) -> VAEVisuals:
        """Validation inputs with their reconstructions (decoded μ) and KL per dimension."""
        return reconstructions_and_kl(self.model, self.data.val)
