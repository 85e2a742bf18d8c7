"""What the VAE views share: the snapshot model, a GUI-side RNG, the data and the live KL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from app.engine.data.bundle import DataBundle
from app.engine.inference.vae_snapshot import SnapshotVAE


@dataclass
class ViewContext:
    vae: SnapshotVAE  # the views' own model, reloaded from each snapshot
    rng: torch.Generator  # ε and prior samples on the GUI side (never the global RNG)
    data: Callable[[], DataBundle | None]  # the dataset when its images fit the model, else None
    kl: Callable[[], np.ndarray | None]  # the latest KL per dimension
    code: Callable[[], np.ndarray]  # the latent sliders' code

    def validation_images(self) -> torch.Tensor | None:
        data = self.data()
        return None if data is None else data.val
