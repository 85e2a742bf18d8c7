"""A run's history inside its checkpoint: ``history.*`` tensors plus the ``history`` metadata.

One row per recorded step, so a tensor's first dimension counts its records:

    history.curve.<metric>    (N, 2) F64            [step, value] of one metric (val_… for validation)
    history.probe.steps       (N,) I64              GPT: steps of the probe captures
    history.probe.attention   (N, L, H, T, T) F16   … the probe's α in every layer and head
    history.samples.steps     (N,) I64              GPT: steps of the text samples (texts in the metadata)
    history.frames.steps      (N,) I64              WGAN timeline: steps of the frames
    history.frames.samples    (N, K, 2) F16 points, or (N, K, C, H, W) U8 images (a reduced grid)
    history.frames.critic     (N, R, R) F16         2-D only: D over the view …
    history.frames.extent     (N, 4) F32            … whose x0, x1, y0, y1 these are
    history.kl.steps          (N,) I64              VAE: steps of the KL records
    history.kl.values         (N, latent_dim) F32   … KL per latent dimension (nats)

The ``history`` metadata is JSON: ``{"version": 1, "curves": [names], "probe": {"text", "replaced"},
"samples": [texts]}``. Reading validates every name, shape, dtype and step before anything is
used; a problem is a ``CheckpointError`` with one sentence.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import torch

from app.engine.checkpoint.errors import CheckpointError
from app.engine.history.run_history import Curve, FrameHistory, KLHistory, ProbeHistory, RunHistory
from app.engine.inference.visuals import TextSample

HISTORY_PREFIX = "history."
HISTORY_KEY = "history"
HISTORY_VERSION = 1
MAX_RECORDS = 1_000_000
_METRIC_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")


def is_history_tensor(name: str) -> bool:
    return name.startswith(HISTORY_PREFIX)


# --- writing ------------------------------------------------------------------------------
def history_tensors(history: RunHistory) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The ``history.*`` tensors and the metadata JSON object that describe ``history``."""
    tensors: dict[str, torch.Tensor] = {}
    meta: dict[str, Any] = {"version": HISTORY_VERSION, "curves": []}
    for name, curve in history.curves.items():
        if not _METRIC_NAME.match(name) or not len(curve):
            continue
        rows = np.stack([curve.steps.astype(np.float64), curve.values.astype(np.float64)], axis=1)
        tensors[f"history.curve.{name}"] = torch.from_numpy(np.ascontiguousarray(rows))
        meta["curves"].append(name)
    if history.probe is not None and len(history.probe.steps):
        tensors["history.probe.steps"] = _steps(history.probe.steps)
        tensors["history.probe.attention"] = torch.from_numpy(history.probe.alphas.astype(np.float16))
        meta["probe"] = {"text": history.probe.text, "replaced": list(history.probe.replaced)}
    if history.samples:
        tensors["history.samples.steps"] = _steps(np.asarray([s.step for s in history.samples]))
        meta["samples"] = [s.text for s in history.samples]
    frames = history.frames
    if frames is not None and len(frames):
        tensors["history.frames.steps"] = _steps(frames.steps)
        samples = frames.samples if frames.is_image else frames.samples.astype(np.float16)
        tensors["history.frames.samples"] = torch.from_numpy(np.ascontiguousarray(samples))
        if frames.critic is not None and frames.extents is not None:
            tensors["history.frames.critic"] = torch.from_numpy(frames.critic.astype(np.float16))
            tensors["history.frames.extent"] = torch.from_numpy(frames.extents.astype(np.float32))
    if history.kl is not None and len(history.kl.steps):
        tensors["history.kl.steps"] = _steps(history.kl.steps)
        tensors["history.kl.values"] = torch.from_numpy(history.kl.values.astype(np.float32))
    return tensors, meta


def _steps(steps: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(steps, dtype=np.int64))


def history_nbytes(history: RunHistory) -> int:
    """What ``history`` takes in a checkpoint: its tensors and its metadata text."""
    tensors, meta = history_tensors(history)
    return sum(t.numel() * t.element_size() for t in tensors.values()) + len(json.dumps(meta).encode())


# --- reading ------------------------------------------------------------------------------
def history_from_tensors(
    tensors: dict[str, torch.Tensor], meta_text: str | None, name: str, config: Any = None
) -> RunHistory | None:
    """The history stored in ``tensors`` (the ``history.*`` ones) and ``meta_text``; None if none."""
    if not tensors and meta_text is None:
        return None
    if meta_text is None:
        raise CheckpointError(f"{name} has history tensors but no 'history' metadata.")
    try:
        meta = json.loads(meta_text)
    except (json.JSONDecodeError, RecursionError):
        raise CheckpointError(f"{name} has 'history' metadata that is not valid JSON.") from None
    if not isinstance(meta, dict) or meta.get("version") != HISTORY_VERSION:
        raise CheckpointError(f"{name} has history metadata of an unknown version.")
    reader = _Reader(tensors, name)
    history = RunHistory()
    curves = meta.get("curves", [])
    if not isinstance(curves, list) or not all(isinstance(c, str) and _METRIC_NAME.match(c) for c in curves):
        raise CheckpointError(f"{name} has a history whose curve names are not a list of metric names.")
    for curve_name in curves:
        rows = reader.take(f"history.curve.{curve_name}", torch.float64, ndim=2)
        if rows.shape[1] != 2:
            raise CheckpointError(f"{name}: history curve '{curve_name}' is not [step, value] rows.")
        steps = _check_steps(rows[:, 0], f"history curve '{curve_name}'", name)
        history.curves[curve_name] = Curve(steps, rows[:, 1].copy())
    if "probe" in meta:
        history.probe = _read_probe(reader, meta["probe"], name, config)
    if "samples" in meta:
        texts = meta["samples"]
        steps = reader.steps("history.samples.steps")
        texts_ok = isinstance(texts, list) and all(isinstance(t, str) for t in texts)
        if not texts_ok or len(texts) != len(steps):
            raise CheckpointError(f"{name}: the history's text samples do not match their steps.")
        history.samples = [TextSample(int(s), t) for s, t in zip(steps.tolist(), texts, strict=True)]
    if "history.frames.steps" in tensors:
        history.frames = _read_frames(reader, name)
    if "history.kl.steps" in tensors:
        steps = reader.steps("history.kl.steps")
        values = reader.take("history.kl.values", torch.float32, ndim=2, rows=len(steps))
        latent = getattr(config, "latent_dim", values.shape[1])
        if values.shape[1] != latent:
            raise CheckpointError(f"{name}: the history's KL has {values.shape[1]} dimensions, not {latent}.")
        history.kl = KLHistory(steps, values)
    reader.check_all_used()
    return history


def _read_probe(reader: _Reader, probe: Any, name: str, config: Any) -> ProbeHistory:
    if not isinstance(probe, dict) or not isinstance(probe.get("text"), str) or not probe["text"]:
        raise CheckpointError(f"{name}: the history's probe text is missing.")
    replaced = probe.get("replaced", [])
    text = probe["text"]
    if not isinstance(replaced, list) or not all(isinstance(i, int) and 0 <= i < len(text) for i in replaced):
        raise CheckpointError(f"{name}: the history's probe has invalid replaced positions.")
    steps = reader.steps("history.probe.steps")
    alphas = reader.take("history.probe.attention", torch.float16, ndim=5, rows=len(steps))
    expected = (getattr(config, "n_layer", alphas.shape[1]), getattr(config, "n_head", alphas.shape[2]),
                len(text), len(text))  # fmt: skip
    if alphas.shape[1:] != expected:
        raise CheckpointError(
            f"{name}: the history's attention has shape {list(alphas.shape[1:])} per step, "
            f"not {list(expected)} (layers, heads, probe length²)."
        )
    return ProbeHistory(text, list(replaced), steps, alphas)


def _read_frames(reader: _Reader, name: str) -> FrameHistory:
    steps = reader.steps("history.frames.steps")
    samples_info = reader.tensors.get("history.frames.samples")
    if samples_info is None:
        raise CheckpointError(f"{name}: the history's timeline has steps but no samples.")
    if samples_info.dtype == torch.uint8:
        samples = reader.take("history.frames.samples", torch.uint8, ndim=5, rows=len(steps))
    else:
        samples = reader.take("history.frames.samples", torch.float16, ndim=3, rows=len(steps))
        if samples.shape[2] != 2:
            raise CheckpointError(f"{name}: the history's timeline points are not 2-D.")
        samples = samples.astype(np.float32)
    critic = extents = None
    if "history.frames.critic" in reader.tensors or "history.frames.extent" in reader.tensors:
        critic = reader.take("history.frames.critic", torch.float16, ndim=3, rows=len(steps))
        critic = critic.astype(np.float32)
        extents = reader.take("history.frames.extent", torch.float32, ndim=2, rows=len(steps))
        if critic.shape[1] != critic.shape[2] or extents.shape[1] != 4:
            raise CheckpointError(f"{name}: the history's critic maps or their extents have the wrong shape.")
        if not (np.all(extents[:, 1] > extents[:, 0]) and np.all(extents[:, 3] > extents[:, 2])):
            raise CheckpointError(f"{name}: the history's timeline has an empty view.")
    return FrameHistory(steps, samples, critic, extents)


def _check_steps(steps: np.ndarray, what: str, name: str) -> np.ndarray:
    bad = np.any(steps < 0) or np.any(steps > 1e15) or np.any(np.diff(steps) < 0)
    if len(steps) and (bad or np.any(steps != np.round(steps))):
        raise CheckpointError(f"{name}: {what} has steps that are not increasing whole numbers.")
    return steps.astype(np.int64)


class _Reader:
    """Takes each history tensor once, checking its dtype, rank, row count and values."""

    def __init__(self, tensors: dict[str, torch.Tensor], name: str) -> None:
        self.tensors, self.name, self.used = tensors, name, set()

    def take(self, key: str, dtype: torch.dtype, ndim: int, rows: int | None = None) -> np.ndarray:
        tensor = self.tensors.get(key)
        if tensor is None:
            raise CheckpointError(f"{self.name} is missing the history tensor '{key}'.")
        if tensor.dtype != dtype or tensor.dim() != ndim:
            raise CheckpointError(f"{self.name}: history tensor '{key}' has the wrong type or rank.")
        if tensor.shape[0] > MAX_RECORDS or (rows is not None and tensor.shape[0] != rows):
            raise CheckpointError(f"{self.name}: history tensor '{key}' has a wrong number of rows.")
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise CheckpointError(f"{self.name}: history tensor '{key}' contains NaN or infinite values.")
        self.used.add(key)
        return tensor.numpy()

    def steps(self, key: str) -> np.ndarray:
        return _check_steps(self.take(key, torch.int64, ndim=1), f"history tensor '{key}'", self.name)

    def check_all_used(self) -> None:
        unused = sorted(set(self.tensors) - self.used)
        if unused:
            raise CheckpointError(f"{self.name} has an unexpected history tensor '{unused[0]}'.")


def history_line(history: RunHistory | None) -> str:
    """One line for ``genplay inspect``: what the history holds, its steps and its size."""
    if history is None or history.empty:
        return "none"
    parts = []
    if history.curves:
        longest = max(len(c) for c in history.curves.values())
        parts.append(f"{len(history.curves)} curves ({', '.join(history.curves)}; up to {longest:,} points)")
    counts = (("attention captures", history.probe), ("timeline frames", history.frames),
              ("KL-per-dimension records", history.kl))  # fmt: skip
    for what, record in counts:
        if record is not None:
            parts.append(f"{len(record.steps):,} {what}")
    if history.samples:
        parts.append(f"{len(history.samples):,} text samples")
    size = history_nbytes(history) / 1e6
    return f"{'; '.join(parts)}; steps 0–{history.last_step:,}; {size:.2f} MB"
