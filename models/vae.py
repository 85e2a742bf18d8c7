"""Variational autoencoder (Kingma & Welling, 2014).

    ELBO(x) = E_q(z|x)[log p(x|z)] − KL(q(z|x) ‖ p(z)),   q(z|x) = N(μ(x), diag σ²(x)),  p(z) = N(0, I)

We minimise the negative ELBO per example, in nats:

    loss = reconstruction + β · KL,  reconstruction = −log p(x|z),  KL = Σ_i KL_i
    KL_i = ½ (μ_i² + σ_i² − log σ_i² − 1)

With free bits λ > 0 each dimension's KL is floored: loss = reconstruction + β · Σ_i max(λ, KL_i).

The likelihood p(x|z) per pixel j, with the decoder's output o_j (fixed scales, so only o is learnt):

    bernoulli:  −log p = −[x_j log σ(o_j) + (1 − x_j) log(1 − σ(o_j))]      (BCE with logits)
    gaussian:   −log p = ½ (x_j − o_j)² + ½ log 2π                        (σ² = 1)
    laplace:    −log p = |x_j − o_j| / b + log 2b                          (b = 1: an ℓ1 term)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from models.config_fields import (
    CONV_CHANNELS,
    LAYER_WIDTHS,
    Ranges,
    check_image_shape,
    check_layer_lists,
    check_ranges,
)

LOG_2PI = math.log(2.0 * math.pi)
LAPLACE_SCALE = 1.0  # b of the Laplace likelihood, fixed like the Gaussian's σ = 1


@dataclass(frozen=True)
class VAEConfig:
    """Everything needed to rebuild a VAE; stored as JSON in each checkpoint."""

    input_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W)
    latent_dim: int = 20
    arch: Literal["mlp", "conv"] = "mlp"
    hidden_dims: tuple[int, ...] = (400,)  # MLP: 784 → 400 → 20, the classic example
    conv_channels: tuple[int, ...] = (32, 64)  # conv: each layer halves H and W
    likelihood: Literal["bernoulli", "gaussian", "laplace"] = "bernoulli"

    RANGES: ClassVar[Ranges] = {
        "latent_dim": (1, 512),
        "hidden_dims": LAYER_WIDTHS,
        "conv_channels": CONV_CHANNELS,
    }

    @property
    def input_dim(self) -> int:
        c, h, w = self.input_shape
        return c * h * w

    def validate(self) -> None:
        c, h, w = self.input_shape
        check_image_shape(c, h, w)
        check_ranges(self, self.RANGES)
        check_layer_lists(self.hidden_dims, self.conv_channels)
        factor = 2 ** len(self.conv_channels)
        if self.arch == "conv" and (h % factor or w % factor):
            raise ValueError(
                f"a conv VAE with {len(self.conv_channels)} layers needs image sides "
                f"divisible by {factor}, not {h}×{w}"
            )


class VAELoss(NamedTuple):
    """The negative ELBO and its terms, each averaged over the batch (nats per example)."""

    total: torch.Tensor  # scalar: reconstruction + β · (floored) KL — what is minimised
    reconstruction: torch.Tensor  # scalar: −log p(x|z)
    kl: torch.Tensor  # scalar: KL(q(z|x) ‖ p(z)) = Σ_i KL_i (never floored)
    kl_per_dim: torch.Tensor  # (latent_dim,): KL_i averaged over the batch


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class VAE(nn.Module):
    """Gaussian encoder q(z|x), standard-normal prior p(z), Bernoulli, Gaussian or Laplace decoder p(x|z)."""

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        c, h, w = config.input_shape
        if config.arch == "mlp":
            widths = list(config.hidden_dims)
            self.encoder = nn.Sequential(nn.Flatten(), _mlp([config.input_dim, *widths]))
            features = widths[-1]
            self.decoder_body = _mlp([config.latent_dim, *reversed(widths)])
            self.decoder_out = nn.Linear(widths[0], config.input_dim)
        else:
            chans = list(config.conv_channels)
            down: list[nn.Module] = []
            in_ch = c
            for ch in chans:
                down += [nn.Conv2d(in_ch, ch, 4, stride=2, padding=1), nn.ReLU()]
                in_ch = ch
            self.encoder = nn.Sequential(*down, nn.Flatten())
            factor = 2 ** len(chans)
            self._bottleneck = (chans[-1], h // factor, w // factor)
            features = chans[-1] * (h // factor) * (w // factor)
            self.decoder_body = nn.Sequential(nn.Linear(config.latent_dim, features), nn.ReLU())
            up: list[nn.Module] = []
            rev = list(reversed(chans))
            for i, ch in enumerate(rev):
                out_ch = rev[i + 1] if i + 1 < len(rev) else c
                up.append(nn.ConvTranspose2d(ch, out_ch, 4, stride=2, padding=1))
                if i + 1 < len(rev):
                    up.append(nn.ReLU())
            self.decoder_out = nn.Sequential(*up)
        self.to_mu = nn.Linear(features, config.latent_dim)
        self.to_logvar = nn.Linear(features, config.latent_dim)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x): x (B, C, H, W) → μ, log σ² each (B, latent_dim)."""
        features = self.encoder(x)  # (B, features)
        return self.to_mu(features), self.to_logvar(features)

    @staticmethod
    def reparameterize(
        mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor | None = None
    ) -> torch.Tensor:
        """z = μ + σ ⊙ ε with ε ~ N(0, I), so gradients flow through μ and σ."""
        sigma = torch.exp(0.5 * logvar)  # σ = exp(½ log σ²)
        if eps is None:
            eps = torch.randn_like(sigma)
        return mu + sigma * eps

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """p(x|z) parameters: z (B, latent_dim) → (B, C, H, W) logits (Bernoulli) or means (Gaussian,
        Laplace)."""
        hidden = self.decoder_body(z)
        if self.config.arch == "mlp":
            return self.decoder_out(hidden).view(-1, *self.config.input_shape)
        return self.decoder_out(hidden.view(-1, *self._bottleneck))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The decoded image in [0, 1]: z (B, latent_dim) → (B, C, H, W)."""
        out = self.decode_logits(z)
        if self.config.likelihood == "bernoulli":
            return torch.sigmoid(out)  # mean of Bernoulli(logits)
        return out.clamp(0.0, 1.0)  # mean of N(x̂, 1) or Laplace(x̂, b), shown clipped to the pixel range

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x → (decoder output, μ, log σ²) with one sampled z."""
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar)
        return self.decode_logits(z), mu, logvar

    def reconstruction_nll(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """−log p(x|z) per example, (B,), summed over pixels."""
        if self.config.likelihood == "bernoulli":
            # −Σ_j [x_j log p_j + (1 − x_j) log(1 − p_j)],  p = sigmoid(logits)
            nll = F.binary_cross_entropy_with_logits(out, x, reduction="none")
        elif self.config.likelihood == "gaussian":
            # −log N(x; x̂, 1) = ½ (x − x̂)² + ½ log 2π  per pixel
            nll = 0.5 * (x - out) ** 2 + 0.5 * LOG_2PI
        else:
            # −log Laplace(x; x̂, b) = |x − x̂| / b + log 2b  per pixel
            nll = (x - out).abs() / LAPLACE_SCALE + math.log(2.0 * LAPLACE_SCALE)
        return nll.flatten(1).sum(dim=1)

    @staticmethod
    def kl_per_example_and_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """KL(N(μ, σ²) ‖ N(0, 1)) per example and dimension, (B, latent_dim)."""
        return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0)

    def loss(
        self,
        x: torch.Tensor,
        beta: float = 1.0,
        free_bits: float = 0.0,
        eps: torch.Tensor | None = None,
    ) -> VAELoss:
        """Negative ELBO of a batch x (B, C, H, W), per example in nats, with its terms."""
        mu, logvar = self.encode(x)  # (B, latent_dim) each
        z = self.reparameterize(mu, logvar, eps)  # (B, latent_dim)
        reconstruction = self.reconstruction_nll(x, self.decode_logits(z)).mean()
        kl_per_dim = self.kl_per_example_and_dim(mu, logvar).mean(dim=0)  # (latent_dim,)
        kl = kl_per_dim.sum()
        kl_penalised = kl_per_dim.clamp(min=free_bits).sum() if free_bits > 0 else kl
        total = reconstruction + beta * kl_penalised
        return VAELoss(total, reconstruction, kl, kl_per_dim)
