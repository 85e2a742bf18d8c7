"""Records a run's history on the trainer's thread, bounded in points and bytes.

Every series is a ``Timeline`` (app/engine/timeline.py): when it passes its cap in points or
bytes, every other record is dropped (the first and the newest stay) and the step gap doubles,
so a long run keeps an evenly spaced record of its whole story. The byte budget is shared:
the curves together get ``CURVES_SHARE`` of it, each family's records the rest.

The trainer feeds it its metrics and asks the task to add the family's records
(``Task.record_history``) every ``every`` steps, or less often once the records have thinned.
"""

from __future__ import annotations

import math

import numpy as np

from app.engine.events import MetricsKind
from app.engine.history.run_history import Curve, FrameHistory, KLHistory, ProbeHistory, RunHistory
from app.engine.inference.visuals import TextSample
from app.engine.inference.wgan_frames import WGANFrame
from app.engine.timeline import Timeline

CURVES_SHARE = 0.2  # of the byte budget, for all metric curves together
ATTENTION_SHARE = 0.7  # GPT: probe attention …
SAMPLES_SHARE = 0.1  # … and its text samples
RECORDS_SHARE = 0.8  # WGAN frames, VAE KL per dimension
CURVE_POINT_BYTES = 16  # a stored (step, value) row
STEP_BYTES = 8  # a record's step
RECORDS_PER_RUN = 500  # family records are due about this often over a run's steps


def _empty_steps(timeline: Timeline) -> np.ndarray:
    return np.asarray(timeline.steps, dtype=np.int64)


class HistoryRecorder:
    def __init__(self, max_points: int = 2000, max_bytes: int = 2_000_000, every: int = 1) -> None:
        self.max_points = max(2, int(max_points))
        self.max_bytes = max(0, int(max_bytes))
        self.every = max(1, int(every))
        self.curves: dict[str, Timeline[float]] = {}
        self.probe_text = ""
        self.probe_replaced: list[int] = []
        self.attention: Timeline[np.ndarray] = self._series(ATTENTION_SHARE)
        self.samples: Timeline[str] = self._series(SAMPLES_SHARE)
        self.frames: Timeline[WGANFrame] = self._series(RECORDS_SHARE)
        self.kl: Timeline[np.ndarray] = self._series(RECORDS_SHARE)
        self._last_record: int | None = None

    def _series(self, share: float) -> Timeline:
        return Timeline(self.max_points, int(self.max_bytes * share))

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    # --- settings ---------------------------------------------------------------------------
    def resize(self, max_points: int, max_bytes: int) -> None:
        """New caps (a setting changed); series over them thin at once."""
        self.max_points, self.max_bytes = max(2, int(max_points)), max(0, int(max_bytes))
        for series, share in ((self.attention, ATTENTION_SHARE), (self.samples, SAMPLES_SHARE),
                              (self.frames, RECORDS_SHARE), (self.kl, RECORDS_SHARE)):  # fmt: skip
            self._cap(series, self.max_points, int(self.max_bytes * share))
        self._cap_curves()

    @staticmethod
    def _cap(series: Timeline, max_points: int, max_bytes: int) -> None:
        series.max_frames, series.max_bytes = max_points, max_bytes
        while len(series) > 2 and (len(series) > max_points or series.total_bytes > max_bytes):
            series._thin()
        if series.total_bytes > max_bytes:
            series.clear()  # not even two records fit

    def _cap_curves(self) -> None:
        share = int(self.max_bytes * CURVES_SHARE / max(1, len(self.curves)))
        points = min(self.max_points, max(2, share // CURVE_POINT_BYTES))
        for curve in self.curves.values():
            self._cap(curve, points, share)

    # --- recording --------------------------------------------------------------------------
    def add_metrics(self, step: int, metrics: dict[str, float], kind: MetricsKind) -> None:
        """Training and validation metrics (names as logged: ``val_`` for validation)."""
        if not self.enabled or kind == MetricsKind.ACTION:
            return
        for name, value in metrics.items():
            if not math.isfinite(value):
                continue
            curve = self.curves.get(name)
            if curve is None:
                curve = self.curves[name] = Timeline(self.max_points, self.max_bytes)
                self._cap_curves()
            curve.add(step, float(value), CURVE_POINT_BYTES)

    def due(self, step: int) -> bool:
        """Whether the family's records (frames, KL) are due at ``step``."""
        if not self.enabled:
            return False
        if self._last_record is None or step < self._last_record:
            return True
        gap = max(self.every, self.frames.step_gap, self.kl.step_gap)
        return step - self._last_record >= gap

    def mark_recorded(self, step: int) -> None:
        self._last_record = step

    def add_attention(self, step: int, text: str, replaced: list[int], alpha: np.ndarray) -> None:
        """The probe's α (L, H, T, T) at ``step``; a new probe text starts the record afresh."""
        if not self.enabled:
            return
        if text != self.probe_text or (len(self.attention) and self.attention[0].item.shape != alpha.shape):
            self.attention.clear()
            self.probe_text, self.probe_replaced = text, list(replaced)
        self._add(self.attention, step, alpha.astype(np.float16), alpha.size * 2 + STEP_BYTES)

    def add_sample(self, step: int, text: str) -> None:
        if self.enabled:
            self._add(self.samples, step, text, len(text.encode()) + 4 + STEP_BYTES)  # text, quotes, comma

    def add_frame(self, frame: WGANFrame) -> None:
        """A WGAN frame (its gradient arrows are not kept); floats are stored as float16."""
        if self.enabled:
            kept = WGANFrame(frame.step, frame.samples, frame.critic, frame.extent)
            arrays = [a for a in (frame.samples, frame.critic) if a is not None]
            extent = 16 if frame.extent is not None else 0
            nbytes = sum(a.size * (1 if a.dtype == np.uint8 else 2) for a in arrays) + extent + STEP_BYTES
            self._add(self.frames, frame.step, kept, nbytes)

    def add_kl(self, step: int, kl_per_dim: np.ndarray) -> None:
        if self.enabled:
            values = np.asarray(kl_per_dim, dtype=np.float32)
            self._add(self.kl, step, values, values.nbytes + STEP_BYTES)

    @staticmethod
    def _add(series: Timeline, step: int, item, nbytes: int) -> None:
        if nbytes > series.max_bytes // 2:
            return  # one record would not leave room for two: keep none
        series.add(step, item, nbytes)

    # --- reading and continuing -------------------------------------------------------------
    @property
    def total_bytes(self) -> int:
        series = [*self.curves.values(), self.attention, self.samples, self.frames, self.kl]
        return sum(s.total_bytes for s in series)

    def history(self) -> RunHistory:
        """A copy of what is recorded, as arrays."""
        out = RunHistory()
        for name, curve in self.curves.items():
            if len(curve):
                values = np.asarray([f.item for f in curve], dtype=np.float64)
                out.curves[name] = Curve(_empty_steps(curve), values)
        if len(self.attention):
            alphas = np.stack([f.item for f in self.attention])
            out.probe = ProbeHistory(self.probe_text, list(self.probe_replaced), _empty_steps(self.attention),
                                     alphas)  # fmt: skip
        out.samples = [TextSample(f.step, f.item) for f in self.samples]
        if len(self.frames):
            out.frames = _frame_history([f.item for f in self.frames])
        if len(self.kl):
            out.kl = KLHistory(_empty_steps(self.kl), np.stack([f.item for f in self.kl]))
        return out

    def continue_from(self, history: RunHistory | None) -> None:
        """Start from a checkpoint's history: a resumed run extends its curves and records."""
        for series in (self.attention, self.samples, self.frames, self.kl):
            series.clear()
        self.curves = {}
        self._last_record = None
        if history is None:
            return
        for name, curve in history.curves.items():
            self.curves[name] = Timeline(self.max_points, self.max_bytes)
            for step, value in zip(curve.steps.tolist(), curve.values.tolist(), strict=True):
                self.curves[name].add(step, value, CURVE_POINT_BYTES)
        self._cap_curves()
        if history.probe is not None:
            for step, alpha in history.probe.captures():
                self.add_attention(step, history.probe.text, history.probe.replaced, alpha)
        for sample in history.samples:
            self.add_sample(sample.step, sample.text)
        if history.frames is not None:
            for frame in history.frames.frames():
                self.add_frame(frame)
        if history.kl is not None:
            for step, values in zip(history.kl.steps.tolist(), history.kl.values, strict=True):
                self.add_kl(step, values)
        records = [s for s in (history.frames, history.kl) if s is not None and len(s.steps)]
        if records:
            self._last_record = max(int(s.steps[-1]) for s in records)


def _frame_history(frames: list[WGANFrame]) -> FrameHistory:
    steps = np.asarray([f.step for f in frames], dtype=np.int64)
    samples = np.stack([f.samples for f in frames])
    if frames[0].critic is None or any(f.critic is None or f.extent is None for f in frames):
        return FrameHistory(steps, samples)
    critic = np.stack([f.critic for f in frames]).astype(np.float32)
    extents = np.asarray([f.extent for f in frames], dtype=np.float32)
    return FrameHistory(steps, samples, critic, extents)
