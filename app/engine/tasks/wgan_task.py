"""The WGAN task: n_critic critic updates, then one generator update, per training step.

One trainer step = ``n_critic`` critic updates (each on a fresh real batch) + one generator
update. The slow-motion actions "critic" and "generator" perform a single update of one
player. Metrics of a step: the critic's loss, the Wasserstein estimate E[D(x)] − E[D(G(z))]
(``wasserstein``; with the original GAN's losses the JSD estimate log 2 − ½·L_D, ``jsd``) and
the gradient penalty averaged over the step's critic updates; the generator's loss; and the
mean and spread of ‖∇x̂ D(x̂)‖₂ over the examples at which it was measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from app.engine.data.batches import SampledBatches, ShuffledBatches, fixed_batches
from app.engine.data.bundle import DataBundle
from app.engine.data.info import DataKind
from app.engine.distributed.replicas import EntryPoint
from app.engine.events import ModelSnapshot
from app.engine.inference.visuals import WGANVisuals
from app.engine.inference.wgan_architecture import default_conv_channels
from app.engine.inference.wgan_frames import Extent, FrameRenderer, plane_extent
from app.engine.inference.wgan_noise import fixed_noise
from app.engine.optim_step import guarded_update
from app.engine.random_streams import Consumer
from app.engine.tasks.base import NextBatch, Task
from app.engine.train_config import TrainConfig
from models.config_fields import Ranges, check_ranges
from models.wgan import (
    ORIGINAL_GAN_SETTINGS,
    WGAN,
    WGAN_GP_SETTINGS,
    CriticLoss,
    WGANConfig,
    adversarial_terms,
    critic_loss,
    generator_loss,
)

HISTORY_IMAGES = 16  # the history's sample grid: two rows of the live grid's 64
HISTORY_MAP_RESOLUTION = 50  # the history's critic map (the live view's is 100 × 100)


@dataclass
class WGANHparams:
    """WGAN training knobs from the theory; all may change while a run is paused."""

    n_critic: int = 5  # critic updates per generator update (the original GAN: k = 1)
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
    data_kinds = (DataKind.POINTS, DataKind.IMAGES)
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

    @classmethod
    def implied_settings(cls, overrides: dict[str, Any]) -> dict[str, Any]:
        """Choosing gan_loss also chooses what its paper does with the settings not given:
        the original GAN's k = 1 and no constraint on D, or WGAN-GP's n_critic = 5 and penalty."""
        loss = overrides.get("gan_loss")
        if loss is None:
            return {}
        return dict(WGAN_GP_SETTINGS if loss == "wasserstein" else ORIGINAL_GAN_SETTINGS)

    @property
    def divergence_metric(self) -> str:
        """The metric estimating the divergence the critic measures: W1, or the JSD."""
        return "jsd" if self.model_config.is_probability else "wasserstein"

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
        if data.kind == DataKind.POINTS:
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
            return SampledBatches(self.data.sampler, self.source_batch_size, self.device, seed)
        return ShuffledBatches(self.data.train, self.source_batch_size, self.device, seed)

    def validation_batches(self) -> Sequence[torch.Tensor]:
        tc = self.train_config
        return fixed_batches(self.data.val, self.source_batch_size, tc.val_batches, self.device)

    # --- the two players' updates -------------------------------------------------------------
    def entry_points(self) -> dict[str, EntryPoint]:
        # the critic is differentiated twice for its gradient penalty, which torch.compile cannot do
        critic = EntryPoint(self.model.critic, compilable=self.model_config.lipschitz != "gp")
        return {"critic": critic, "generator": EntryPoint(self.model.generator)}

    def _noise(self, n: int) -> torch.Tensor:
        """z ~ N(0, I) for this rank's ``n`` examples (see ``draw_for_rank``)."""
        return self.draw_for_rank(
            n, lambda m: torch.randn(m, self.model_config.latent_dim, generator=self.rng, device=self.device)
        )

    def critic_update(self, real: torch.Tensor, step: int, measure: bool = True) -> CriticLoss:
        """One step of the critic on L_D + λ·GP (or with clipping / SN / no constraint); L_D is
        E[D(G(z))] − E[D(x)], or the original GAN's −E[log D(x)] − E[log(1 − D(G(z)))].

        ``measure`` also measures ‖∇x̂ D(x̂)‖₂ where the constraint does not need it.
        """
        critic, lipschitz = self.model.critic, self.model_config.lipschitz
        with torch.no_grad():
            fake = self.model.generator(self._noise(len(real)))  # G(z), no graph back into G
        penalised = lipschitz == "gp"
        alpha = None
        if penalised or measure:
            alpha = self.draw_for_rank(  # α ~ U(0, 1)
                len(real), lambda m: torch.rand(m, generator=self.rng, device=self.device)
            )
        gp_lambda = self.hparams.gp_lambda if penalised else 0.0
        terms = critic_loss(
            self.train_call("critic"), real, fake, alpha, gp_lambda, self.model_config.gan_loss
        )
        guarded_update(terms.total, self.critic_optimizer, critic.parameters(), step=step,
                       grad_clip=self.train_config.grad_clip, loss_name="the critic loss")  # fmt: skip
        if lipschitz == "clip":
            critic.clip_weights(self.hparams.clip_value)
        self.critic_updates += 1
        if terms.grad_norms.numel():
            self.last_grad_norms = terms.grad_norms.float().cpu().numpy()
        return terms

    def generator_update(self, batch_size: int, step: int) -> float:
        """One step of the generator on L_G (−E[D(G(z))], or the GAN's E[log(1 − D(G(z)))] /
        −E[log D(G(z))]); the critic is held fixed."""
        critic = self.model.critic
        critic.requires_grad_(False)  # no gradients for the critic's weights: they stay put
        try:
            fake = self.train_call("generator")(self._noise(batch_size))
            loss = generator_loss(critic, fake, self.model_config.gan_loss)
            guarded_update(loss, self.generator_optimizer, self.model.generator.parameters(), step=step,
                           grad_clip=self.train_config.grad_clip, loss_name="the generator loss")  # fmt: skip
        finally:
            critic.requires_grad_(True)
        self.generator_updates += 1
        return float(loss.detach())

    def train_step(self, next_batch: NextBatch, step: int) -> dict[str, float]:
        n_critic = self.hparams.n_critic
        terms = [self.critic_update(next_batch(), step, measure=i == n_critic - 1) for i in range(n_critic)]
        metrics = self._critic_metrics(terms, self.divergence_metric)
        metrics["gen_loss"] = self.generator_update(self.train_config.batch_size, step)
        return metrics

    def run_action(self, name: str, next_batch: NextBatch, step: int) -> dict[str, float]:
        if name == "critic":
            return self._critic_metrics([self.critic_update(next_batch(), step)], self.divergence_metric)
        if name == "generator":
            return {"gen_loss": self.generator_update(self.train_config.batch_size, step)}
        return super().run_action(name, next_batch, step)

    @staticmethod
    def _critic_metrics(terms: list[CriticLoss], divergence: str) -> dict[str, float]:
        """Critic terms averaged over the updates; gradient-norm statistics over all measured x̂;
        the divergence estimate under its own name (``wasserstein`` or ``jsd``)."""
        norms = torch.cat([t.grad_norms for t in terms])
        measured = [t.penalty for t in terms if t.grad_norms.numel()]
        return {
            "critic_loss": float(torch.stack([t.total.detach() for t in terms]).mean()),
            divergence: float(torch.stack([t.divergence for t in terms]).mean()),
            "gp": float(torch.stack(measured).mean()),
            "grad_norm_mean": float(norms.mean()),
            "grad_norm_std": float(norms.std(correction=0)),
            "d_real": float(torch.stack([t.d_real for t in terms]).mean()),
            "d_fake": float(torch.stack([t.d_fake for t in terms]).mean()),
        }

    # --- validation and pictures ------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, batches: Sequence[torch.Tensor]) -> dict[str, float]:
        """The W1 estimate E[D(x)] − E[D(G(z))] (or the GAN's JSD estimate) on held-out data and a
        fixed z; d_real, d_fake are E[D(x)], E[D(G(z))] (probabilities for the GAN losses)."""
        if not batches:
            return {}
        self.model.eval()
        generator = self.streams.for_use(Consumer.VALIDATION)  # the same z at every validation
        real_scores, fake_scores = [], []
        for x in batches:
            z = torch.randn(len(x), self.model_config.latent_dim, generator=generator).to(self.device)
            real_scores.append(self.model.critic(x))
            fake_scores.append(self.model.critic(self.model.generator(z)))
        self.model.train()
        terms = adversarial_terms(torch.cat(real_scores), torch.cat(fake_scores), self.model_config.gan_loss)
        return {self.divergence_metric: float(terms.divergence), "d_real": float(terms.d_real),
                "d_fake": float(terms.d_fake)}  # fmt: skip

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
