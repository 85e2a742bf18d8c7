"""What a checkpoint remembers of its run: plain arrays, one row per recorded step.

Read by the pages (the loss plot drawn as it was, the GPT's attention replayed, the WGAN
timeline, the VAE's KL per dimension over the steps) and written by ``HistoryRecorder``;
``app/engine/checkpoint/history.py`` turns it into ``history.*`` tensors and back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from app.engine.inference.visuals import TextSample

if TYPE_CHECKING:
    from app.engine.inference.wgan_frames import WGANFrame


@dataclass
class Curve:
    """One metric over the steps (validation metrics are named ``val_…``)."""

    steps: np.ndarray  # (N,) int64, increasing
    values: np.ndarray  # (N,) float64

    def __len__(self) -> int:
        return len(self.steps)


@dataclass
class ProbeHistory:
    """The GPT probe's attention at recorded steps (all layers × heads)."""

    text: str  # the probe as the model read it
    replaced: list[int]  # positions of replaced characters
    steps: np.ndarray  # (N,) int64
    alphas: np.ndarray  # (N, L, H, T, T) float16

    def captures(self) -> list[tuple[int, np.ndarray]]:
        return [(int(step), self.alphas[i]) for i, step in enumerate(self.steps)]


@dataclass
class FrameHistory:
    """The WGAN's timeline: generated points (and the critic map) or a reduced sample grid."""

    steps: np.ndarray  # (N,) int64
    samples: np.ndarray  # (N, K, 2) float32 points, or (N, K, C, H, W) uint8 images
    critic: np.ndarray | None = None  # (N, R, R) float32, D over the view (2-D only)
    extents: np.ndarray | None = None  # (N, 4) float32: x0, x1, y0, y1 (2-D only)

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def is_image(self) -> bool:
        return self.samples.ndim == 5

    def frame(self, index: int) -> WGANFrame:
        from app.engine.inference.wgan_frames import WGANFrame  # its module loads models

        critic = self.critic[index] if self.critic is not None else None
        extent = tuple(float(v) for v in self.extents[index]) if self.extents is not None else None
        return WGANFrame(int(self.steps[index]), self.samples[index], critic, extent)

    def frames(self) -> list[WGANFrame]:
        return [self.frame(i) for i in range(len(self))]


@dataclass
class KLHistory:
    """The VAE's KL per latent dimension (nats) at recorded steps."""

    steps: np.ndarray  # (N,) int64
    values: np.ndarray  # (N, latent_dim) float32


@dataclass
class RunHistory:
    curves: dict[str, Curve] = field(default_factory=dict)
    probe: ProbeHistory | None = None
    samples: list[TextSample] = field(default_factory=list)
    frames: FrameHistory | None = None
    kl: KLHistory | None = None

    @property
    def empty(self) -> bool:
        return (
            not self.curves
            and self.probe is None
            and not self.samples
            and self.frames is None
            and (self.kl is None)
        )

    @property
    def last_step(self) -> int:
        """The latest step anything was recorded at (0 for an empty history)."""
        ends = [int(c.steps[-1]) for c in self.curves.values() if len(c)]
        ends += [s.step for s in self.samples[-1:]]
        for record in (self.probe, self.frames, self.kl):
            if record is not None and len(record.steps):
                ends.append(int(record.steps[-1]))
        return max(ends, default=0)

    def summary(self) -> dict[str, object]:
        """Counts per record kind, for ``genplay inspect``."""
        out: dict[str, object] = {
            "curves": {name: len(curve) for name, curve in self.curves.items()},
        }
        if self.probe is not None:
            out["attention_captures"] = len(self.probe.steps)
        if self.samples:
            out["text_samples"] = len(self.samples)
        if self.frames is not None:
            out["timeline_frames"] = len(self.frames)
        if self.kl is not None:
            out["kl_records"] = len(self.kl.steps)
        return out
