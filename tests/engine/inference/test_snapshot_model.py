"""SnapshotModel: the views' model built once per config through the family's builder, loaded on use."""

from __future__ import annotations

import pytest
import torch

from app.engine.events import ModelSnapshot
from app.engine.inference.loading import SnapshotModel
from models.vae import VAE, VAEConfig
from models.wgan import WGAN, WGANConfig

VAE_CONFIG = VAEConfig(input_shape=(1, 8, 8), latent_dim=2, hidden_dims=(8,))


def snapshot(model: torch.nn.Module, family: str, step: int) -> ModelSnapshot:
    return ModelSnapshot(family, model.config, {k: v.clone() for k, v in model.state_dict().items()}, step)


def test_built_once_per_config_and_loaded_when_used():
    source = VAE(VAE_CONFIG)
    follower = SnapshotModel()
    assert follower.update(snapshot(source, "vae", 1)) is True
    built = follower.model
    assert isinstance(built, VAE) and not built.training
    with torch.no_grad():
        source.to_mu.bias.add_(1.0)
    assert follower.update(snapshot(source, "vae", 2)) is False and follower.step == 2
    assert not torch.equal(built.to_mu.bias, source.to_mu.bias)  # not copied until it is used
    assert follower.require() is built and torch.equal(built.to_mu.bias, source.to_mu.bias)


def test_a_new_config_or_family_rebuilds_and_none_clears():
    follower = SnapshotModel()
    follower.update(snapshot(VAE(VAE_CONFIG), "vae", 0))
    bigger = VAEConfig(input_shape=(1, 8, 8), latent_dim=3, hidden_dims=(8,))
    assert follower.update(snapshot(VAE(bigger), "vae", 0)) is True and follower.config == bigger
    assert follower.update(snapshot(WGAN(WGANConfig(hidden_dims=(4,))), "wgan", 0)) is True
    assert isinstance(follower.require(), WGAN)
    assert follower.update(None) is True and follower.model is None and follower.step is None
    with pytest.raises(RuntimeError, match="no model"):
        follower.require()
