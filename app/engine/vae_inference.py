"""Inference for the VAE page's views, from a snapshot of the weights (Qt-free).

The GUI thread never touches the model being trained: ``SnapshotVAE`` builds its own VAE
once per config and copies each published ``ModelSnapshot`` into it. Anything random
here (ε, prior samples) takes the caller's ``torch.Generator``: the global RNG belongs to
the training thread, whose runs must stay reproducible.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from app.engine.events import ModelSnapshot
from models.vae import VAE, VAEConfig

ENCODE_CHUNK = 256  # examples per forward pass when encoding a dataset


class SnapshotVAE:
    """The views' own VAE: rebuilt only when the config changes, reloaded from the newest snapshot
    when a view next uses it."""

    def __init__(self) -> None:
        self.model: VAE | None = None
        self._unloaded: dict[str, torch.Tensor] | None = None  # the newest weights, not yet copied in
        self.config: VAEConfig | None = None
        self.step: int | None = None
        self.snapshot: ModelSnapshot | None = None

    @property
    def ready(self) -> bool:
        return self.model is not None

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim if self.config is not None else 0

    def update(self, snapshot: ModelSnapshot | None) -> bool:
        """Show ``snapshot``'s weights; True when the model was (re)built for a new config."""
        self.snapshot = snapshot
        if snapshot is None:
            self.model, self.config, self.step, self._unloaded = None, None, None, None
            return True
        rebuilt = self.model is None or snapshot.config != self.config
        if rebuilt:
            self.model = VAE(snapshot.config).eval()
            self.config = snapshot.config
        # loaded when a view first asks for the model: during training, snapshots arrive twice a
        # second while the visible tab may need none of them, and copying them in costs GUI time
        self._unloaded = snapshot.tensors
        self.step = snapshot.step
        return rebuilt

    def copy(self) -> SnapshotVAE:
        """An independent model with the same weights (for jobs that span several snapshots)."""
        other = SnapshotVAE()
        if self.snapshot is not None:
            other.update(self.snapshot)
        return other

    # --- inference (all no-grad, CPU) ---------------------------------------------------------
    def _require(self) -> VAE:
        if self.model is None:
            raise RuntimeError("no model: train one or open a checkpoint")
        if self._unloaded is not None:
            self.model.load_state_dict(self._unloaded, strict=True)  # copies: no aliasing
            self._unloaded = None
        return self.model

    @torch.inference_mode()
    def decode(self, z: np.ndarray | torch.Tensor) -> np.ndarray:
        """Codes (N, latent_dim) → decoded images (N, C, H, W) in [0, 1], float32."""
        z = torch.as_tensor(np.asarray(z, dtype=np.float32)).reshape(-1, self.latent_dim)
        return self._require().decode(z).numpy()

    @torch.inference_mode()
    def encode(self, x: torch.Tensor, chunk: int = ENCODE_CHUNK) -> tuple[np.ndarray, np.ndarray]:
        """Images (N, C, H, W) → μ, log σ² as (N, latent_dim) float32 arrays."""
        model = self._require()
        mus, logvars = [], []
        for start in range(0, len(x), chunk):
            mu, logvar = model.encode(x[start : start + chunk].float())
            mus.append(mu)
            logvars.append(logvar)
        if not mus:
            empty = np.zeros((0, self.latent_dim), np.float32)
            return empty, empty.copy()
        return torch.cat(mus).numpy(), torch.cat(logvars).numpy()

    def draw_prior(self, generator: torch.Generator, n: int = 1) -> np.ndarray:
        """z ~ p(z) = N(0, I): (n, latent_dim)."""
        return torch.randn(n, self.latent_dim, generator=generator).numpy()


class DatasetEncoding:
    """Encodes a dataset a chunk at a time within a time budget, so the GUI never freezes.

    Holds its own model copy, so the whole map comes from one set of weights even when
    new snapshots arrive while it runs.
    """

    def __init__(self, vae: SnapshotVAE, x: torch.Tensor, chunk: int = ENCODE_CHUNK) -> None:
        self.vae = vae.copy()
        self.step = vae.step
        self.x = x
        self.chunk = chunk
        self.position = 0
        self._mus: list[np.ndarray] = []
        self._logvars: list[np.ndarray] = []

    @property
    def done(self) -> bool:
        return self.position >= len(self.x)

    @property
    def progress(self) -> float:
        return self.position / max(1, len(self.x))

    def advance(self, budget_s: float) -> bool:
        """Encode chunks until ``budget_s`` has passed (at least one chunk); True when done."""
        started = time.perf_counter()
        while not self.done:
            part = self.x[self.position : self.position + self.chunk]
            mu, logvar = self.vae.encode(part, chunk=self.chunk)
            self._mus.append(mu)
            self._logvars.append(logvar)
            self.position += len(part)
            if time.perf_counter() - started >= budget_s:
                break
        return self.done

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.done:
            self.advance(float("inf"))
        if not self._mus:
            empty = np.zeros((0, self.vae.latent_dim), np.float32)
            return empty, empty.copy()
        return np.concatenate(self._mus), np.concatenate(self._logvars)


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
    model = vae._require()
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
    model = vae._require()
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


@torch.inference_mode()
def reconstructions_and_kl(
    vae: SnapshotVAE, val: torch.Tensor, recon_examples: int, kl_examples: int
) -> dict:
    """What the VAE task's ``visuals()`` publishes during training, computed from a snapshot:
    the first ``recon_examples`` validation inputs with their reconstructions (decoded μ), and
    KL per dimension averaged over the first ``kl_examples``."""
    model = vae._require()
    x = val[:kl_examples].float()
    mu, logvar = vae.encode(x)
    mu_t, logvar_t = torch.from_numpy(mu), torch.from_numpy(logvar)
    kl_per_dim = model.kl_per_example_and_dim(mu_t, logvar_t).mean(dim=0)
    return {
        "inputs": x[:recon_examples].numpy(),
        "reconstructions": model.decode(mu_t[:recon_examples]).numpy(),
        "kl_per_dim": kl_per_dim.numpy().astype(np.float64),
    }
