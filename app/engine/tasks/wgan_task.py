"""The WGAN task: n_critic critic updates, then one generator update, per training step.

One trainer step = ``n_critic`` critic updates (each on a fresh real batch) + one generator
update. The slow-motion actions "critic" and "generator" perform a single update of one
player. Metrics of a step: the critic's loss, the Wasserstein estimate E[D(x)] − E[D(G(z))]
and the gradient penalty averaged over the step's critic updates; the generator's loss; and
the mean and spread of ‖∇x̂ D(x̂)‖₂ over the examples at which it was measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from app.engine.data.batches import SampledBatches, ShuffledBatches, fixed_batches
from app.engine.data.bundle import DataBundle
from app.engine.events import ModelSnapshot
from app.engine.inference.visuals import WGANVisuals
from app.engine.inference.wgan_architecture import default_conv_channels
from app.engine.inference.wgan_frames import Extent, FrameRenderer, plane_extent
from app.engine.inference.wgan_noise import fixed_noise
from app.engine.optim_step import guarded_update
from app.engine.tasks.base import NextBatch, Task
from app.engine.train_config import TrainConfig
from models.config_fields import Ranges, check_ranges
from models.wgan import WGAN, CriticLoss, WGANConfig, critic_loss, generator_loss

HISTORY_IMAGES = 16  # the history's sample grid: two rows of the live grid's 64
HISTORY_MAP_RESOLUTION = 50  # the history's critic map (the live view's is 100 × 100)
VAL_NOISE_SEED_OFFSET = 104729  # the validation noise: the same z at every validation


@dataclass
class WGANHparams:
    """WGAN training knobs from the theory; all may change while a run is paused."""

    n_critic: int = 5  # critic updates per generator update
    gp_lambda: float = 10.0  # λ, weight of the gradient penalty ("gp" only)
    clip_value: float = 0.01  # c: critic weights clipped to [−c, c] ("clip" only)
    adam_beta1: float = 0.5  # Adam's β₁: the paper's Algorithm 1 says 0, its released code 0.5 (ours)
    adam_beta2: float = 0.9  # Adam's β₂: 0.9 in both

    RANGES: ClassVar[Ranges] = {
        "n_critic": (1, 100),
        "gp_lambda": (0.0, 1000.0),
        "clip_value": (1e-6, 10.0),
        "adam_beta1": (0.0, 0.999),
        "adam_beta2": (0.0, 0.9999),
    }

    def validate(self) -> None:
        check_ranges(self, self.RANGES)


class WGANTask(Task):
    family = "wgan"
    title = "WGAN-GP"
    config_class = WGANConfig
    hparams_class = WGANHparams
    data_kinds = ("points", "images")
    default_dataset = "8gaussians"
    actions = {"critic": "one critic update", "generator": "one generator update"}

    def __init__(self, model_config: WGANConfig, hparams: WGANHparams, train_config: TrainConfig,
                 data: DataBundle, device: torch.device) -> None:  # fmt: skip
        super().__init__(model_config, hparams, train_config, data, device)
        self.fixed_noise = fixed_noise(model_config, train_config.seed).to(device)
        self._history_renderer: FrameRenderer | None = None  # frames for the checkpoint's history
        self._history_extent: Extent | None = None
        self.critic_updates = 0
        self.generator_updates = 0
        self.last_grad_norms = np.empty(0, dtype=np.float32)  # ‖∇x̂ D(x̂)‖₂ of the last measurement

    @property
    def critic_optimizer(self) -> torch.optim.Optimizer:
        return self.optimizers[0]

    @property
    def generator_optimizer(self) -> torch.optim.Optimizer:
        return self.optimizers[1]

    # --- building -------------------------------------------------------------------------
    @staticmethod
    def build_model(config: WGANConfig) -> WGAN:
        return WGAN(config)

    def build_optimizers(self) -> list[torch.optim.Optimizer]:
        """[critic, generator]: RMSProp with weight clipping (as in the original WGAN), else Adam."""
        lr = self.train_config.lr
        players = (self.model.critic, self.model.generator)
        if self.model_config.lipschitz == "clip":
            return [torch.optim.RMSprop(p.parameters(), lr=lr) for p in players]
        betas = (self.hparams.adam_beta1, self.hparams.adam_beta2)
        return [torch.optim.Adam(p.parameters(), lr=lr, betas=betas) for p in players]

    @classmethod
    def default_model_config(cls, data: DataBundle) -> WGANConfig:
        shape = tuple(data.item_shape)
        if data.kind == "points":
            return WGANConfig(data_shape=shape, latent_dim=2, arch="mlp")
        _, h, w = shape
        channels = default_conv_channels(h, w)
        if channels is not None:
            return WGANConfig(data_shape=shape, latent_dim=64, arch="conv", conv_channels=channels,
                              generator_upsampling="nearest", generator_batch_norm=True)  # fmt: skip
        return WGANConfig(data_shape=shape, latent_dim=64, arch="mlp", hidden_dims=(512, 512))

    @classmethod
    def default_train_config(cls) -> TrainConfig:
        return TrainConfig(steps=10000, batch_size=256, lr=1e-4, val_every=500,
                           early_stop_metric="val_wasserstein")  # fmt: skip

    @classmethod
    def expected_item_shape(cls, model_config: WGANConfig) -> tuple[int, ...]:
        return tuple(model_config.data_shape)

    # --- data -------------------------------------------------------------------------------
    def make_batches(self, seed: int) -> SampledBatches | ShuffledBatches:
        if self.data.sampler is not None:  # toy sets: fresh points every batch
            return SampledBatches(self.data.sampler, self.train_config.batch_size, self.device, seed)
        return ShuffledBatches(self.data.train, self.train_config.batch_size, self.device, seed)

    def validation_batches(self) -> Sequence[torch.Tensor]:
        tc = self.train_config
        return fixed_batches(self.data.val, tc.batch_size, tc.val_batches, self.device)

    # --- the two players' updates -------------------------------------------------------------
    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.model_config.latent_dim, generator=self.rng, device=self.device)

    def critic_update(self, real: torch.Tensor, step: int, measure: bool = True) -> CriticLoss:
        """One step of the critic on L_D = E[D(G(z))] − E[D(x)] + λ·GP (or with clipping / SN).

        ``measure`` also measures ‖∇x̂ D(x̂)‖₂ where the constraint does not need it (clip, SN).
        """
        critic, lipschitz = self.model.critic, self.model_config.lipschitz
        with torch.no_grad():
            fake = self.model.generator(self._noise(len(real)))  # G(z), no graph back into G
        penalised = lipschitz == "gp"
        alpha = None
        if penalised or measure:
            alpha = torch.rand(len(real), generator=self.rng, device=self.device)  # α ~ U(0, 1)
        gp_lambda = self.hparams.gp_lambda if penalised else 0.0
        terms = critic_loss(critic, real, fake, alpha, gp_lambda)
        guarded_update(terms.total, self.critic_optimizer, critic.parameters(), step=step,
                       grad_clip=self.train_config.grad_clip, loss_name="the critic loss")  # fmt: skip
        if lipschitz == "clip":
            critic.clip_weights(self.hparams.clip_value)
        self.critic_updates += 1
        if terms.grad_norms.numel():
            self.last_grad_norms = terms.grad_norms.float().cpu().numpy()
        return terms

    def generator_update(self, batch_size: int, step: int) -> float:
        """One step of the generator on L_G = −E[D(G(z))]; the critic is held fixed."""
        critic = self.model.critic
        critic.requires_grad_(False)  # no gradients for the critic's weights: they stay put
        try:
            loss = generator_loss(critic, self.model.generator(self._noise(batch_size)))
            guarded_update(loss, self.generator_optimizer, self.model.generator.parameters(), step=step,
                           grad_clip=self.train_config.grad_clip, loss_name="the generator loss")  # fmt: skip
        finally:
            critic.requires_grad_(True)
        self.generator_updates += 1
        return float(loss.detach())

    def train_step(self, next_batch: NextBatch, step: int) -> dict[str, float]:
        n_critic = self.hparams.n_critic
        terms = [self.critic_update(next_batch(), step, measure=i == n_critic - 1) for i in range(n_critic)]
        metrics = self._critic_metrics(terms)
        metrics["gen_loss"] = self.generator_update(self.train_config.batch_size, step)
        return metrics

    def run_action(self, name: str, next_batch: NextBatch, step: int) -> dict[str, float]:
        if name == "critic":
            return self._critic_metrics([self.critic_update(next_batch(), step)])
        if name == "generator":
            return {"gen_loss": self.generator_update(self.train_config.batch_size, step)}
        return super().run_action(name, next_batch, step)

    @staticmethod
    def _critic_metrics(terms: list[CriticLoss]) -> dict[str, float]:
        """Critic terms averaged over the updates; gradient-norm statistics over all measured x̂."""
        norms = torch.cat([t.grad_norms for t in terms])
        measured = [t.penalty for t in terms if t.grad_norms.numel()]
        return {
            "critic_loss": float(torch.stack([t.total.detach() for t in terms]).mean()),
            "wasserstein": float(torch.stack([t.wasserstein for t in terms]).mean()),
            "gp": float(torch.stack(measured).mean()),
            "grad_norm_mean": float(norms.mean()),
            "grad_norm_std": float(norms.std(correction=0)),
            "d_real": float(torch.stack([t.d_real for t in terms]).mean()),
            "d_fake": float(torch.stack([t.d_fake for t in terms]).mean()),
        }

    # --- validation and pictures ------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, batches: Sequence[torch.Tensor]) -> dict[str, float]:
        """The Wasserstein estimate E[D(x)] − E[D(G(z))] on held-out data and a fixed z."""
        if not batches:
            return {}
        self.model.eval()
        generator = torch.Generator().manual_seed(self.train_config.seed + VAL_NOISE_SEED_OFFSET)
        d_real = d_fake = 0.0
        count = 0
        for x in batches:
            z = torch.randn(len(x), self.model_config.latent_dim, generator=generator).to(self.device)
            d_real += float(self.model.critic(x).sum())
            d_fake += float(self.model.critic(self.model.generator(z)).sum())
            count += len(x)
        self.model.train()
        return {"wasserstein": (d_real - d_fake) / count, "d_real": d_real / count, "d_fake": d_fake / count}

    def visuals(self) -> WGANVisuals:
        """The gradient norms at x̂ from the latest critic update (for the histogram) and counters.

        Samples and the critic's surface are drawn by the app from the published snapshot.
        """
        return WGANVisuals(self.last_grad_norms.copy(), self.critic_updates, self.generator_updates)

    def record_history(self, history, step: int) -> None:
        """A timeline frame: G(z) of the fixed noise (a reduced grid for images) and, in 2-D, the
        critic over the data's view, rendered from a copy so the training generators are untouched."""
        if self._history_renderer is None:
            self._history_renderer = FrameRenderer(HISTORY_MAP_RESOLUTION, adaptive=False)
            if not self.model_config.is_image and self.data.val.shape[-1] == 2:
                self._history_extent = plane_extent(self.data.val.numpy())
        noise = self.fixed_noise.detach().to("cpu")
        if self.model_config.is_image:
            noise = noise[:HISTORY_IMAGES]
        with torch.random.fork_rng(devices=[]):  # building the copy's modules draws initial weights
            frame = self._history_renderer.render(self.snapshot(step), noise, self._history_extent,
                                                  gradients=False)  # fmt: skip
        history.add_frame(frame)

    def snapshot(self, step: int) -> ModelSnapshot:
        snapshot = super().snapshot(step)
        snapshot.extras["fixed_noise"] = self.fixed_noise.detach().to("cpu", copy=True)
        return snapshot

    # --- settings and state -------------------------------------------------------------------------
    def set_hparams(self, **changes: Any) -> None:
        super().set_hparams(**changes)
        for optimizer in self.optimizers:
            if isinstance(optimizer, torch.optim.Adam):
                for group in optimizer.param_groups:
                    group["betas"] = (self.hparams.adam_beta1, self.hparams.adam_beta2)

    def extra_state(self) -> dict[str, torch.Tensor]:
        counters = torch.tensor([self.critic_updates, self.generator_updates], dtype=torch.int64)
        return {"fixed_noise": self.fixed_noise, "updates": counters}

    def load_extra_state(self, tensors: dict[str, torch.Tensor]) -> None:
        noise = tensors["fixed_noise"]
        if noise.shape != self.fixed_noise.shape:
            raise ValueError(f"the saved sample noise has shape {list(noise.shape)}, "
                             f"not {list(self.fixed_noise.shape)}")  # fmt: skip
        self.fixed_noise = noise.to(self.device, torch.float32)
        if "updates" in tensors:
            self.critic_updates, self.generator_updates = (int(v) for v in tensors["updates"])
