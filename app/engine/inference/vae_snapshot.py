"""The VAE views' own model, following the published snapshots (Qt-free).

The GUI thread never touches the model being trained: ``SnapshotVAE`` keeps a VAE of its own
(a ``SnapshotModel``: rebuilt only when the config changes, the newest weights copied in when a
view next uses it). Anything random here (prior samples) takes the caller's
``torch.Generator``: the global RNG belongs to the training thread, whose runs must stay
reproducible.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from app.engine.events import ModelSnapshot
from app.engine.inference.loading import SnapshotModel
from models.vae import VAE, VAEConfig

ENCODE_CHUNK = 256  # examples per forward pass when encoding a dataset


class SnapshotVAE:
    """The views' own VAE: rebuilt only when the config changes, reloaded from the newest snapshot
    when a view next uses it."""

    def __init__(self) -> None:
        self._follower = SnapshotModel()

    @property
    def model(self) -> VAE | None:
        return self._follower.model

    @property
    def snapshot(self) -> ModelSnapshot | None:
        return self._follower.snapshot

    @property
    def config(self) -> VAEConfig | None:
        return self._follower.config

    @property
    def step(self) -> int | None:
        return self._follower.step

    @property
    def ready(self) -> bool:
        return self.model is not None

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim if self.config is not None else 0

    def update(self, snapshot: ModelSnapshot | None) -> bool:
        """Show ``snapshot``'s weights; True when the model was (re)built for a new config."""
        return self._follower.update(snapshot)

    def copy(self) -> SnapshotVAE:
        """An independent model with the same weights (for jobs that span several snapshots)."""
        other = SnapshotVAE()
        if self.snapshot is not None:
            other.update(self.snapshot)
        return other

    # --- inference (all no-grad, CPU) ---------------------------------------------------------
    def require(self) -> VAE:
        """The model with the newest weights; RuntimeError when there is none."""
        return self._follower.require()

    @torch.inference_mode()
    def decode(self, z: np.ndarray | torch.Tensor) -> np.ndarray:
        """Codes (N, latent_dim) → decoded images (N, C, H, W) in [0, 1], float32."""
        z = torch.as_tensor(np.asarray(z, dtype=np.float32)).reshape(-1, self.latent_dim)
        return self.require().decode(z).numpy()

    @torch.inference_mode()
    def encode(self, x: torch.Tensor, chunk: int = ENCODE_CHUNK) -> tuple[np.ndarray, np.ndarray]:
        """Images (N, C, H, W) → μ, log σ² as (N, latent_dim) float32 arrays."""
        model = self.require()
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
