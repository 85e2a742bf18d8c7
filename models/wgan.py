"""Wasserstein GAN with gradient penalty (Gulrajani et al., 2017), and the original GAN beside it.

The critic D estimates the Wasserstein-1 distance between the data p_r and the generator's
distribution p_g through the Kantorovich–Rubinstein duality,

    W1(p_r, p_g) = sup_{‖D‖_L ≤ 1}  E_x~p_r[D(x)] − E_z~p(z)[D(G(z))],

so the two players minimise (gan_loss = "wasserstein")

    critic:     L_D = E[D(G(z))] − E[D(x)] + λ · GP
    generator:  L_G = −E[D(G(z))]

with the 1-Lipschitz constraint enforced by one of
    "gp":       GP = E[(‖∇_x̂ D(x̂)‖₂ − 1)²],  x̂ = α x + (1 − α) G(z),  α ~ U(0, 1) per example
    "clip":     every critic weight clipped to [−c, c] after each update (the original WGAN)
    "spectral": each critic layer's weight divided by its operator norm (Miyato et al.): a linear
                layer's largest singular value, a convolution's norm as a map on its input shape
                (``models/conv_spectral_norm.py``), so each layer is 1-Lipschitz and so is D
    "none":     no constraint (the original GAN's discriminator has none)

The original GAN (Goodfellow et al., 2014) instead has a discriminator D(x) = sigmoid(ℓ(x)), a
probability from the same network's output ℓ (a logit), and plays (gan_loss = "minimax")

    discriminator: L_D = −E[log D(x)] − E[log(1 − D(G(z)))]
    generator:     L_G = E[log(1 − D(G(z)))]          (minimax: saturates when D(G(z)) ≈ 0)
               or  L_G = −E[log D(G(z))]              (gan_loss = "nonsaturating", the paper's fix)

computed from logits: −log D = softplus(−ℓ), −log(1 − D) = softplus(ℓ). At the optimal D,
−L_D = 2·JSD(p_r ‖ p_g) − log 4, so log 2 − ½·L_D estimates the Jensen–Shannon divergence.

MLP networks for 2-D points; small convolutional networks for images. The critic has no
batch normalisation: the penalty is per example, and batch norm would couple the examples.
The image generator may use it (as DCGAN and the WGAN-GP paper's image generators do), and
may grow its images by nearest-neighbour upsampling and a 3×3 convolution instead of strided
transposed convolutions, which leave checkerboard artefacts on sharp-edged images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from models.config_fields import (
    CONV_CHANNELS,
    LAYER_WIDTHS,
    Ranges,
    check_image_shape,
    check_layer_lists,
    check_range,
    check_ranges,
)
from models.conv_spectral_norm import conv_operator_spectral_norm

Lipschitz = Literal["gp", "clip", "spectral", "none"]
GanLoss = Literal["wasserstein", "minimax", "nonsaturating"]
LOG_2 = math.log(2.0)
# what the original GAN paper does (Goodfellow et al., 2014, Algorithm 1: k = 1 discriminator step
# per generator step, "the least expensive option", and no constraint on D); the settings form
# and ``--set gan_loss=…`` apply these unless the user sets them too
ORIGINAL_GAN_SETTINGS: dict[str, Any] = {"lipschitz": "none", "n_critic": 1}
WGAN_GP_SETTINGS: dict[str, Any] = {"lipschitz": "gp", "n_critic": 5}


@dataclass(frozen=True)
class WGANConfig:
    """Everything needed to rebuild a WGAN; stored as JSON in each checkpoint."""

    data_shape: tuple[int, ...] = (2,)  # (2,) for points, (C, H, W) for images
    latent_dim: int = 2  # size of z ~ N(0, I)
    arch: Literal["mlp", "conv"] = "mlp"
    hidden_dims: tuple[int, ...] = (128, 128, 128)  # MLP: widths of the hidden layers
    conv_channels: tuple[int, ...] = (32, 64)  # conv: each critic layer halves H and W (CPU-sized)
    lipschitz: Lipschitz = "gp"
    # "spectral" on a conv layer: its operator norm (exact), or PyTorch's flattened-kernel norm,
    # which does not bound the layer; checkpoints written before this key existed used "kernel"
    spectral_conv: Literal["operator", "kernel"] = "operator"
    gan_loss: GanLoss = "wasserstein"
    # conv generator only; the defaults rebuild checkpoints written before these existed
    generator_upsampling: Literal["transposed", "nearest"] = "transposed"
    generator_batch_norm: bool = False

    RANGES: ClassVar[Ranges] = {
        "latent_dim": (1, 512),
        "hidden_dims": LAYER_WIDTHS,
        "conv_channels": CONV_CHANNELS,
    }

    @staticmethod
    def legacy_defaults(stored: dict[str, Any]) -> dict[str, Any]:
        """What a stored config written before a key existed meant by its absence, where that is
        not today's default: a spectrally normalised conv critic used PyTorch's kernel norm."""
        if stored.get("lipschitz") == "spectral" and stored.get("arch") == "conv":
            return {"spectral_conv": "kernel"}
        return {}

    @property
    def is_probability(self) -> bool:
        """True for the original GAN's losses: D(x) = sigmoid(network output) is a probability."""
        return self.gan_loss != "wasserstein"

    @property
    def is_image(self) -> bool:
        return len(self.data_shape) == 3

    @property
    def data_dim(self) -> int:
        size = 1
        for side in self.data_shape:
            size *= side
        return size

    def validate(self) -> None:
        if len(self.data_shape) == 1:
            check_range("point dimension", self.data_shape[0], 1, 64)
        elif len(self.data_shape) == 3:
            c, h, w = self.data_shape
            check_image_shape(c, h, w)
        else:
            raise ValueError(f"data_shape must be (D,) points or (C, H, W) images, not {self.data_shape}")
        check_ranges(self, self.RANGES)
        check_layer_lists(self.hidden_dims, self.conv_channels)
        if self.arch == "mlp":
            return
        if not self.is_image:
            raise ValueError("the conv architecture needs images (C, H, W); use mlp for points")
        _, h, w = self.data_shape
        factor = 2 ** len(self.conv_channels)
        if h % factor or w % factor:
            raise ValueError(
                f"a conv WGAN with {len(self.conv_channels)} layers needs image sides "
                f"divisible by {factor}, not {h}×{w}"
            )


class CriticLoss(NamedTuple):
    """The critic's (discriminator's) objective and its terms for one batch."""

    total: torch.Tensor  # scalar: the adversarial loss + λ·GP — what the critic minimises
    divergence: torch.Tensor  # scalar: the W1 estimate (wasserstein) or the JSD estimate (GAN losses)
    penalty: torch.Tensor  # scalar: GP = E[(‖∇x̂ D(x̂)‖₂ − 1)²]
    grad_norms: torch.Tensor  # (B,): ‖∇x̂ D(x̂)‖₂ per example, detached
    d_real: torch.Tensor  # scalar: E[D(x)] (a probability for the GAN losses)
    d_fake: torch.Tensor  # scalar: E[D(G(z))]


class AdversarialTerms(NamedTuple):
    loss: torch.Tensor  # scalar, differentiable: L_D without the penalty
    divergence: torch.Tensor  # scalar: E[D(x)] − E[D(G(z))] (W1) or log 2 − ½·L_D (JSD)
    d_real: torch.Tensor  # scalar: E[D(x)]
    d_fake: torch.Tensor  # scalar: E[D(G(z))]


class GradientPenalty(NamedTuple):
    penalty: torch.Tensor  # scalar: E[(‖∇x̂ D(x̂)‖₂ − 1)²]
    norms: torch.Tensor  # (B,): ‖∇x̂ D(x̂)‖₂


def _mlp(sizes: list[int], activation: type[nn.Module]) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers += [nn.Linear(sizes[i], sizes[i + 1]), activation()]
    return layers


class Generator(nn.Module):
    """G: z (B, latent_dim) → a sample (B, *data_shape); images through a sigmoid into [0, 1]."""

    def __init__(self, config: WGANConfig) -> None:
        super().__init__()
        self.config = config
        if config.arch == "mlp":
            widths = list(config.hidden_dims)
            body = _mlp([config.latent_dim, *widths], nn.ReLU)
            self.net = nn.Sequential(*body, nn.Linear(widths[-1], config.data_dim))
        else:
            self.net = self._conv_net(config)

    @staticmethod
    def _conv_net(config: WGANConfig) -> nn.Sequential:
        """z → (C₀, H/2ᴸ, W/2ᴸ), then L steps that double H and W, widest first (128 → 64 → …)."""
        c, h, w = config.data_shape
        chans = list(reversed(config.conv_channels))
        factor = 2 ** len(chans)
        start = (chans[0], h // factor, w // factor)
        norm = config.generator_batch_norm

        def settle(channels: int) -> list[nn.Module]:
            return [nn.BatchNorm2d(channels), nn.ReLU()] if norm else [nn.ReLU()]

        layers: list[nn.Module] = [
            nn.Linear(config.latent_dim, start[0] * start[1] * start[2]),
            nn.Unflatten(1, start),  # (B, C₀, H/2ᴸ, W/2ᴸ)
            *settle(start[0]),
        ]
        if config.generator_upsampling == "transposed":
            for i, ch in enumerate(chans):
                out_ch = chans[i + 1] if i + 1 < len(chans) else c
                layers.append(nn.ConvTranspose2d(ch, out_ch, 4, stride=2, padding=1))  # doubles H, W
                if i + 1 < len(chans):
                    layers += settle(out_ch)
        else:
            outs = [*chans[1:], max(1, chans[-1] // 2)]  # the last step keeps half the channels
            for ch, out_ch in zip(chans, outs, strict=True):
                layers += [nn.Upsample(scale_factor=2, mode="nearest"),  # doubles H, W
                           nn.Conv2d(ch, out_ch, 3, padding=1), *settle(out_ch)]  # fmt: skip
            layers.append(nn.Conv2d(outs[-1], c, 3, padding=1))  # (B, C, H, W)
        return nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.net(z).view(-1, *self.config.data_shape)  # (B, *data_shape)
        return torch.sigmoid(out) if self.config.is_image else out


class Critic(nn.Module):
    """D: x (B, *data_shape) → a real-valued score (B,); no sigmoid, no batch norm."""

    def __init__(self, config: WGANConfig) -> None:
        super().__init__()
        self.config = config
        if config.arch == "mlp":
            widths = list(config.hidden_dims)
            body = _mlp([config.data_dim, *widths], nn.ReLU)
            layers = [nn.Flatten(), *body, nn.Linear(widths[-1], 1)]
        else:
            c, h, w = config.data_shape
            chans = list(config.conv_channels)
            factor = 2 ** len(chans)
            layers = []
            in_ch = c
            for ch in chans:
                layers += [nn.Conv2d(in_ch, ch, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]  # halves H, W
                in_ch = ch
            layers += [nn.Flatten(), nn.Linear(chans[-1] * (h // factor) * (w // factor), 1)]
        if config.lipschitz == "spectral":
            layers = self._spectrally_normalised(layers, config)
        self.net = nn.Sequential(*layers)

    @staticmethod
    def _spectrally_normalised(layers: list[nn.Module], config: WGANConfig) -> list[nn.Module]:
        """Each Linear and Conv2d divided by its operator norm (conv: on the shape it is applied to)."""
        out: list[nn.Module] = []
        shape = tuple(config.data_shape)
        for layer in layers:
            if isinstance(layer, nn.Conv2d):
                if config.spectral_conv == "operator":
                    layer = conv_operator_spectral_norm(layer, shape)
                else:  # PyTorch's flattened-kernel norm: older checkpoints rebuild exactly
                    layer = spectral_norm(layer)
                _, h, w = shape
                shape = (layer.out_channels, h // 2, w // 2)  # each critic conv halves H and W
            elif isinstance(layer, nn.Linear):
                layer = spectral_norm(layer)  # a matrix: its largest singular value is its norm
            out.append(layer)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)  # (B,)

    @torch.no_grad()
    def clip_weights(self, c: float) -> None:
        """The original WGAN's constraint: every weight and bias into [−c, c]."""
        for param in self.parameters():
            param.clamp_(-c, c)


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor,
                     create_graph: bool = True) -> GradientPenalty:  # fmt: skip
    """GP = E[(‖∇x̂ D(x̂)‖₂ − 1)²] at x̂ = α x + (1 − α) G(z); alpha is (B,) in [0, 1].

    ``create_graph=True`` keeps the gradient differentiable, so the penalty can be minimised
    (a second-order backward); False only measures the norms.
    """
    alpha = alpha.view(-1, *[1] * (real.dim() - 1))  # (B, 1, …) broadcasts over each example
    x_hat = (alpha * real + (1.0 - alpha) * fake).detach().requires_grad_(True)  # (B, *data_shape)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=create_graph)
    norms = torch.sqrt(grad.flatten(1).pow(2).sum(dim=1) + 1e-12)  # ‖∇x̂ D(x̂)‖₂, (B,)
    return GradientPenalty(((norms - 1.0) ** 2).mean(), norms)


def adversarial_terms(real_scores: torch.Tensor, fake_scores: torch.Tensor,
                      gan_loss: GanLoss = "wasserstein") -> AdversarialTerms:  # fmt: skip
    """The critic's loss from its outputs on real (B,) and generated (B,) examples.

    wasserstein:  L_D = E[D(G(z))] − E[D(x)]
    minimax, nonsaturating (ℓ = the network's output, D = sigmoid(ℓ)):
                  L_D = −E[log D(x)] − E[log(1 − D(G(z)))] = E[softplus(−ℓ(x))] + E[softplus(ℓ(G(z)))]
    """
    if gan_loss == "wasserstein":
        d_real, d_fake = real_scores.mean(), fake_scores.mean()  # E[D(x)], E[D(G(z))]
        return AdversarialTerms(d_fake - d_real, (d_real - d_fake).detach(), d_real.detach(), d_fake.detach())
    real_term = F.softplus(-real_scores).mean()  # −E[log D(x)]
    fake_term = F.softplus(fake_scores).mean()  # −E[log(1 − D(G(z)))]
    loss = real_term + fake_term
    jsd = LOG_2 - 0.5 * loss.detach()  # log 2 − ½·L_D: the JSD at the optimal D
    return AdversarialTerms(loss, jsd, torch.sigmoid(real_scores).mean().detach(),
                            torch.sigmoid(fake_scores).mean().detach())  # fmt: skip


def critic_loss(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor | None,
                gp_lambda: float, gan_loss: GanLoss = "wasserstein") -> CriticLoss:  # fmt: skip
    """L_D + λ·GP for a batch (L_D from ``adversarial_terms``); ``fake`` must not carry G's graph.

    With λ = 0 (weight clipping, spectral norm, no constraint) GP is only measured, not
    minimised; with ``alpha=None`` it is not even measured (penalty NaN, no norms), which saves a
    backward pass.
    """
    terms = adversarial_terms(critic(real), critic(fake), gan_loss)
    total = terms.loss
    if alpha is None:
        penalty, norms = torch.full((), float("nan")), real.new_empty(0)
    else:
        gp = gradient_penalty(critic, real, fake, alpha, create_graph=gp_lambda > 0)
        penalty, norms = gp.penalty, gp.norms
        if gp_lambda > 0:
            total = total + gp_lambda * penalty
    return CriticLoss(total, terms.divergence, penalty.detach(), norms.detach(), terms.d_real, terms.d_fake)


def generator_loss_per_example(fake_scores: torch.Tensor, gan_loss: GanLoss = "wasserstein") -> torch.Tensor:
    """Each generated example's term of L_G, (B,), from the critic's outputs on G(z) (B,).

    wasserstein:    −D(G(z))
    minimax:        log(1 − D(G(z))) = −softplus(ℓ(G(z)))
    nonsaturating:  −log D(G(z))     = softplus(−ℓ(G(z)))
    """
    if gan_loss == "wasserstein":
        return -fake_scores
    if gan_loss == "minimax":
        return -F.softplus(fake_scores)
    return F.softplus(-fake_scores)


def generator_loss(critic: nn.Module, fake: torch.Tensor, gan_loss: GanLoss = "wasserstein") -> torch.Tensor:
    """L_G = the mean of ``generator_loss_per_example``: −E[D(G(z))] for the WGAN, moving the
    samples to where the critic scores them as real."""
    return generator_loss_per_example(critic(fake), gan_loss).mean()


class WGAN(nn.Module):
    """Both players in one module, so one state dict (and one checkpoint) holds the pair."""

    def __init__(self, config: WGANConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.generator = Generator(config)
        self.critic = Critic(config)

    def sample(self, z: torch.Tensor) -> torch.Tensor:
        """G(z): (B, latent_dim) → (B, *data_shape)."""
        return self.generator(z)
