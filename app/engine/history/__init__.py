"""The story of a run kept inside its checkpoint: metric curves and each family's records over
the steps, recorded on the trainer's side and thinned evenly so they stay bounded."""

from app.engine.history.recorder import HistoryRecorder
from app.engine.history.run_history import Curve, FrameHistory, KLHistory, ProbeHistory, RunHistory

__all__ = ["Curve", "FrameHistory", "HistoryRecorder", "KLHistory", "ProbeHistory", "RunHistory"]
