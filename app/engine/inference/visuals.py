"""What each family's ``Task.visuals()`` hands the views while it trains: one typed record per
family, carried by ``VisualsEvent`` (plain data, so any client can read it)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class VAEVisuals:
    """Validation inputs beside their reconstructions (decoded μ), and KL per latent dimension."""

    inputs: np.ndarray  # (R, C, H, W) in [0, 1]
    reconstructions: np.ndarray  # (R, C, H, W) in [0, 1]
    kl_per_dim: np.ndarray  # (latent_dim,) float64, nats, averaged over the first KL_EXAMPLES


@dataclass
class WGANVisuals:
    """The latest critic update's ‖∇x̂ D(x̂)‖₂ (for the histogram) and the players' update counts.

    Samples and the critic's surface are drawn by the views from the published snapshot.
    """

    grad_norms: np.ndarray  # (K,) float32; empty before the first critic update
    critic_updates: int
    generator_updates: int


@dataclass
class ProbeCaptures:
    """The probe text's attention at some training steps, and the mask that shapes it."""

    text: str  # the probe as the model read it (cut to the context, unknown characters replaced)
    replaced: list[int]  # positions of the replaced characters
    allowed: np.ndarray  # (T, T) bool: where the mask lets query i read key j
    captures: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (step, α (L, H, T, T) f16)


@dataclass
class TextSample:
    """Text the model wrote at a training step."""

    step: int
    text: str


@dataclass
class GPTVisuals:
    """What is new since the last call: probe captures and the newest text sample (each or None)."""

    probe: ProbeCaptures | None = None
    sample: TextSample | None = None

    @property
    def empty(self) -> bool:
        return self.probe is None and self.sample is None


Visuals = VAEVisuals | WGANVisuals | GPTVisuals
