"""The VAE's loss terms outside training: what the views and ``VAETask.visuals()`` show (Qt-free).

- reconstructions and KL:  x̂ = decoder(μ(x));  KL_i = ½(μ_i² + σ_i² − log σ_i² − 1), averaged
                           over the first ``KL_EXAMPLES`` validation images (one function, used
                           by the task while training and by the page for an opened checkpoint)
- one reparameterization:  z = μ + σ ⊙ ε, with every intermediate
- an ELBO estimate:        the model's own loss (β = 1, no floor) over a set of examples
Anything random takes the caller's ``torch.Generator`` or ε, never the global RNG.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from app.engine.inference.vae_snapshot import ENCODE_CHUNK, SnapshotVAE
from app.engine.inference.visuals import VAEVisuals
from models.vae import VAE

RECON_EXAMPLES = 16  # validation images shown beside their reconstructions
KL_EXAMPLES = 512  # validation images over which the KL per dimension is averaged


@torch.no_grad()
def reconstructions_and_kl(
    model: VAE, images: torch.Tensor, recon_examples: int = RECON_EXAMPLES, kl_examples: int = KL_EXAMPLES
) -> VAEVisuals:
    """The first ``recon_examples`` of ``images`` with their reconstructions (decoded μ), and KL
    per dimension averaged over the first ``kl_examples``; the model is left in the mode it was in."""
    training = model.training
    model.eval()
    device = next(model.parameters()).device
    x = images[:kl_examples].to(device).float()  # (K, C, H, W)
    mu, logvar = model.encode(x)  # (K, latent_dim) each
    reconstructions = model.decode(mu[:recon_examples])
    kl_per_dim = model.kl_per_example_and_dim(mu, logvar).mean(dim=0)  # (latent_dim,)
    model.train(training)
    return VAEVisuals(
        inputs=x[:recon_examples].cpu().numpy(),
        reconstructions=reconstructions.cpu().numpy(),
        kl_per_dim=kl_per_dim.cpu().numpy().astype(np.float64),
    )


@dataclass
class ReparameterizationStep:
    """One pass through q(z|x) for one example, with every intermediate the learner may look at."""

    mu: np.ndarray  # (latent_dim,)           learned: encoder output
    sigma: np.ndarray  # (latent_dim,)        learned: σ = exp(½ log σ²)
    eps: np.ndarray  # (latent_dim,)          random: ε ~ N(0, I), the only noise
    z: np.ndarray  # (latent_dim,)            z = μ + σ ⊙ ε
    decoded: np.ndarray  # (C, H, W)          mean of p(x|z)
    reconstruction: float  # −log p(x|z) for this z, nats
    kl_per_dim: np.ndarray  # (latent_dim,)   KL_i = ½(μ_i² + σ_i² − log σ_i² − 1)

    @property
    def kl(self) -> float:
        return float(self.kl_per_dim.sum())

    @property
    def elbo(self) -> float:
        """One-sample estimate of this example's ELBO: log p(x|z) − KL."""
        return -self.reconstruction - self.kl


@torch.inference_mode()
def reparameterization_step(vae: SnapshotVAE, x: torch.Tensor, eps: torch.Tensor) -> ReparameterizationStep:
    """x (C, H, W) and ε (latent_dim,) → μ, σ, z = μ + σ ⊙ ε, the decoded image and its terms."""
    model = vae.require()
    x = x.float().unsqueeze(0)  # (1, C, H, W)
    mu, logvar = model.encode(x)  # (1, latent_dim) each
    eps = eps.reshape(1, -1).float()
    z = model.reparameterize(mu, logvar, eps)  # (1, latent_dim)
    logits = model.decode_logits(z)
    return ReparameterizationStep(
        mu=mu[0].numpy(),
        sigma=torch.exp(0.5 * logvar)[0].numpy(),
        eps=eps[0].numpy(),
        z=z[0].numpy(),
        decoded=model.decode(z)[0].numpy(),
        reconstruction=float(model.reconstruction_nll(x, logits)[0]),
        kl_per_dim=model.kl_per_example_and_dim(mu, logvar)[0].numpy().astype(np.float64),
    )


@dataclass
class ElboEstimate:
    """Terms of the ELBO averaged over a set of examples (one z sample each), nats per example."""

    reconstruction: float  # E[−log p(x|z)]
    kl: float  # E[KL(q(z|x) ‖ p(z))]
    kl_per_dim: np.ndarray  # (latent_dim,)
    count: int

    @property
    def elbo(self) -> float:
        return -self.reconstruction - self.kl


@torch.inference_mode()
def estimate_elbo(
    vae: SnapshotVAE, x: torch.Tensor, generator: torch.Generator, chunk: int = ENCODE_CHUNK
) -> ElboEstimate:
    """The model's own loss terms (β = 1, no floor) over ``x``, with ε from ``generator``."""
    model = vae.require()
    recon = kl = 0.0
    kl_per_dim = torch.zeros(vae.latent_dim, dtype=torch.float64)
    for start in range(0, len(x), chunk):
        part = x[start : start + chunk].float()
        eps = torch.randn(len(part), vae.latent_dim, generator=generator)
        terms = model.loss(part, beta=1.0, free_bits=0.0, eps=eps)
        n = len(part)
        recon += float(terms.reconstruction) * n
        kl += float(terms.kl) * n
        kl_per_dim += terms.kl_per_dim.double() * n
    count = len(x)
    if count == 0:
        return ElboEstimate(0.0, 0.0, np.zeros(vae.latent_dim), 0)
    return ElboEstimate(recon / count, kl / count, (kl_per_dim / count).numpy(), count)
