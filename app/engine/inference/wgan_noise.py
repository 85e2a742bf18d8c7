"""The fixed noise behind the WGAN's sample grid, shared by the task and the views."""

from __future__ import annotations

import torch

from models.wgan import WGANConfig

FIXED_NOISE_SEED_OFFSET = 7919  # the sample grid's noise: seeded, so an opened checkpoint shows it too
FIXED_POINTS = 1000  # generated points shown in the 2-D view
FIXED_IMAGES = 64  # images in the sample grid (8 × 8)


def fixed_noise(config: WGANConfig, seed: int) -> torch.Tensor:
    """The z batch behind the sample grid: (64 or 1000, latent_dim), the same for a given seed.

    It is drawn from its own seeded CPU generator rather than the task's ``rng`` so that it does
    not depend on the device and the app can show the same grid for an opened checkpoint; it is
    also saved with the run state.
    """
    count = FIXED_IMAGES if config.is_image else FIXED_POINTS
    generator = torch.Generator().manual_seed(seed + FIXED_NOISE_SEED_OFFSET)
    return torch.randn(count, config.latent_dim, generator=generator)
