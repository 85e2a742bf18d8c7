"""What the WGAN views show at one moment, computed from a published ``ModelSnapshot``.

The GUI never touches the model being trained: ``FrameRenderer`` keeps its own WGAN (a
``SnapshotModel``, rebuilt only when the config changes), loads each snapshot's weights into it,
and computes a ``WGANFrame``: the generator's samples from the fixed noise and, for 2-D data,
the critic's values over the plane (for the original GAN's losses D(x) = sigmoid(ℓ(x)), a
probability) and the direction −∇ₓL_G in which the generator's loss pushes each sample (∇ₓD(x)
for the WGAN). Plain NumPy/PyTorch, no Qt.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from PIL import Image

from app.engine.animation import render_plane
from app.engine.events import ModelSnapshot
from app.engine.images import tile_images, to_pil
from app.engine.inference.loading import SnapshotModel
from models.wgan import WGAN, generator_loss_per_example, gradient_penalty

Extent = tuple[float, float, float, float]  # x0, x1, y0, y1
MAP_RESOLUTION = 100  # critic values on a 100 × 100 grid …
MIN_RESOLUTION = 40
MAP_WORK_BUDGET = 400e6  # … unless that costs more multiply-adds than this (very wide critics)
ARROW_CELLS = 14  # at most one gradient arrow per cell of a 14 × 14 grid over the view


@dataclass
class WGANFrame:
    step: int
    samples: np.ndarray  # images (N, C, H, W) uint8, or points (N, 2) float32
    critic: np.ndarray | None = None  # (R, R) float32: D at the grid, row 0 at y0 (2-D only)
    extent: Extent | None = None
    arrow_starts: np.ndarray | None = None  # (K, 2): generated points that get an arrow (2-D only)
    gradients: np.ndarray | None = None  # (K, 2): −∇ₓL_G at those points (∇ₓD for the WGAN)
    probability: bool = False  # critic holds D(x) = sigmoid(ℓ(x)) in (0, 1): the original GAN's losses

    @property
    def is_image(self) -> bool:
        return self.samples.ndim == 4

    @property
    def nbytes(self) -> int:
        arrays = (self.samples, self.critic, self.arrow_starts, self.gradients)
        return sum(a.nbytes for a in arrays if a is not None)

    def images01(self) -> np.ndarray:
        """The samples as floats in [0, 1] (images only)."""
        return self.samples.astype(np.float32) / 255.0


def plane_extent(points: np.ndarray, margin: float = 0.25) -> Extent:
    """A square view around the bulk of ``points`` (0.5–99.5 percentiles) with a margin."""
    points = np.asarray(points, dtype=np.float64)
    low = np.percentile(points, 0.5, axis=0)
    high = np.percentile(points, 99.5, axis=0)
    cx, cy = ((low + high) / 2.0).tolist()
    half = max(float((high - low).max()) / 2.0 * (1.0 + margin), 1e-3)
    return (cx - half, cx + half, cy - half, cy + half)


def grid_points(extent: Extent, resolution: int) -> torch.Tensor:
    """(R·R, 2) points of an R × R grid over ``extent``, row-major with row 0 at y0."""
    x0, x1, y0, y1 = extent
    xs = torch.linspace(x0, x1, resolution)
    ys = torch.linspace(y0, y1, resolution)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x.flatten(), grid_y.flatten()], dim=1)


def spread_out(points: np.ndarray, extent: Extent, cells: int = ARROW_CELLS) -> np.ndarray:
    """Indices of at most one point per cell of a cells × cells grid over ``extent``.

    Arrows at every sample would pile up where the samples do (on the modes); one per cell
    shows the field the generator follows everywhere it has samples, stray ones included.
    """
    x0, x1, y0, y1 = extent
    col = np.floor((points[:, 0] - x0) / (x1 - x0) * cells)
    row = np.floor((points[:, 1] - y0) / (y1 - y0) * cells)
    inside = (col >= 0) & (col < cells) & (row >= 0) & (row < cells)
    cell = (row * cells + col)[inside].astype(np.int64)
    _, first = np.unique(cell, return_index=True)
    return np.flatnonzero(inside)[first]


def map_resolution(critic: torch.nn.Module) -> int:
    """R for the R × R critic map: 100 unless the critic is too big to evaluate 10⁴ points quickly.

    An MLP critic does about one multiply-add per weight per point, so the default 3 × 128
    critic (33k weights) gets 100 × 100 and a 3 × 512 one (530k) a coarser grid that keeps
    the view live.
    """
    weights = sum(p.numel() for p in critic.parameters())
    affordable = int((MAP_WORK_BUDGET / max(weights, 1)) ** 0.5)
    return max(MIN_RESOLUTION, min(MAP_RESOLUTION, affordable))


class FrameRenderer:
    """Turns snapshots into frames with a private model (rebuilt only when the config changes)."""

    def __init__(self, resolution: int = MAP_RESOLUTION, adaptive: bool = True) -> None:
        self.resolution = resolution
        self.adaptive = adaptive
        self._follower = SnapshotModel()
        self._grid: torch.Tensor | None = None
        self._grid_key: tuple | None = None
        self.last_map_s = 0.0

    @property
    def model(self) -> WGAN | None:
        return self._follower.model

    def load(self, snapshot: ModelSnapshot) -> WGAN:
        if self._follower.update(snapshot):  # a new config: a new model
            self._follower.model.requires_grad_(False)
            if self.adaptive:
                self.resolution = map_resolution(self._follower.model.critic)
        return self._follower.require()

    def _grid_for(self, extent: Extent) -> torch.Tensor:
        key = (extent, self.resolution)
        if self._grid_key != key:
            self._grid, self._grid_key = grid_points(extent, self.resolution), key
        return self._grid

    @torch.no_grad()
    def critic_map(self, extent: Extent) -> np.ndarray:
        """D(x) on the grid over ``extent``: (R, R) float32; a probability for the GAN losses."""
        started = time.perf_counter()
        values = self.model.critic(self._grid_for(extent))  # (R·R,)
        if self.model.config.is_probability:
            values = torch.sigmoid(values)  # D(x) = sigmoid(ℓ(x))
        out = values.view(self.resolution, self.resolution).numpy().astype(np.float32)
        self.last_map_s = time.perf_counter() - started
        return out

    def critic_gradients(self, points: torch.Tensor) -> np.ndarray:
        """−∇ₓL_G at ``points`` (K, 2): where the generator's loss moves each generated sample
        (∇ₓD for the WGAN; for the minimax GAN it vanishes where D(x) ≈ 0)."""
        x = points.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            loss = generator_loss_per_example(self.model.critic(x), self.model.config.gan_loss)
            (grad,) = torch.autograd.grad(-loss.sum(), x)
        return grad.numpy().astype(np.float32)

    def gradient_norms(self, real: torch.Tensor, noise: torch.Tensor, count: int = 256) -> np.ndarray:
        """‖∇D(x̂)‖₂ at x̂ = αx + (1 − α)G(z) for up to ``count`` pairs (α from a fixed seed)."""
        n = min(count, len(real), len(noise))
        with torch.no_grad():
            fake = self.model.sample(noise[:n].to(torch.float32))
        alpha = torch.rand(n, generator=torch.Generator().manual_seed(0))
        with torch.enable_grad():
            penalty = gradient_penalty(self.model.critic, real[:n].to(torch.float32), fake, alpha,
                                       create_graph=False)  # fmt: skip
        return penalty.norms.numpy()

    def render(self, snapshot: ModelSnapshot, noise: torch.Tensor, extent: Extent | None = None,
               gradients: bool = True) -> WGANFrame:  # fmt: skip
        """The frame of ``snapshot``: G(noise), and for 2-D data the critic map over ``extent``."""
        model = self.load(snapshot)
        with torch.no_grad():
            samples = model.sample(noise.to(torch.float32))  # (N, *data_shape)
        if snapshot.config.is_image:
            pixels = (samples.clamp(0.0, 1.0) * 255.0 + 0.5).to(torch.uint8).numpy()
            return WGANFrame(snapshot.step, pixels)
        points = samples.numpy().astype(np.float32)
        if points.shape[1] != 2:
            return WGANFrame(snapshot.step, points)
        extent = extent or plane_extent(points)
        frame = WGANFrame(snapshot.step, points, self.critic_map(extent), extent,
                          probability=snapshot.config.is_probability)  # fmt: skip
        if gradients:
            chosen = spread_out(points, extent)
            frame.arrow_starts = points[chosen]
            frame.gradients = self.critic_gradients(samples[torch.from_numpy(chosen)])
        return frame


def frame_picture(frame: WGANFrame, real: np.ndarray | None = None, size: int = 320) -> Image.Image:
    """A Pillow picture of ``frame``: the 8-wide sample grid, or the critic map with the points."""
    if frame.is_image:
        grid = tile_images(frame.images01(), columns=8)
        return to_pil(grid, scale=max(1, size // grid.shape[1]) if grid.shape[1] < size else 1)
    return Image.fromarray(render_plane(frame.critic, frame.extent, real, frame.samples, size))


def evolution_pictures(frames: Sequence[WGANFrame], real: np.ndarray | None = None) -> list[Image.Image]:
    """One picture per frame, all of one size, for a GIF or a strip. Image frames show only the
    samples every frame holds: a checkpoint's history keeps the first 16 of the live grid's 64."""
    if frames and frames[0].is_image:
        shared = min(len(frame.samples) for frame in frames)
        frames = [replace(frame, samples=frame.samples[:shared]) for frame in frames]
    return [frame_picture(frame, real) for frame in frames]
