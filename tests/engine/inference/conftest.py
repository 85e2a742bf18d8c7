"""Fixtures of the inference tests."""

from __future__ import annotations

import pytest
import torch

from models.vae import VAE
from tests.engine.inference.vae_models import CONFIG


@pytest.fixture
def model() -> VAE:
    """A tiny VAE (8 × 8 images, 3 latent dimensions) in eval mode, the same every time."""
    torch.manual_seed(0)
    return VAE(CONFIG).eval()
