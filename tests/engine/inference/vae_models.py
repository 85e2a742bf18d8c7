"""A tiny VAE's config and its snapshots, for the tests of the VAE views' inference."""

from __future__ import annotations

from app.engine.events import ModelSnapshot
from models.vae import VAE, VAEConfig

CONFIG = VAEConfig(input_shape=(1, 8, 8), latent_dim=3, hidden_dims=(16,))


def snapshot_of(model: VAE, step: int = 0) -> ModelSnapshot:
    tensors = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return ModelSnapshot("vae", model.config, tensors, step)
