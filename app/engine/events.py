"""What the trainer reports while it runs; plain data, so any client can consume it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only a type here: the inference package itself imports this module
    from app.engine.inference.visuals import Visuals


@dataclass
class MetricsEvent:
    step: int
    metrics: dict[str, float]
    kind: str = "train"  # "train" | "val" | "action"


@dataclass
class ProgressEvent:
    step: int
    total: int
    steps_per_s: float
    eta_s: float
    state: str  # "running" | "paused"


@dataclass
class VisualsEvent:
    step: int
    visuals: Visuals  # the family's record: VAEVisuals, WGANVisuals or GPTVisuals


@dataclass
class ModelSnapshot:
    """A CPU copy of the weights that another thread may use freely for inference."""

    family: str
    config: Any
    tensors: dict[str, Any]
    step: int
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass
class SnapshotEvent:
    step: int
    snapshot: ModelSnapshot


@dataclass
class CheckpointEvent:
    step: int
    path: str


@dataclass
class NoticeEvent:
    message: str
    level: str = "info"  # "info" | "warning" | "error"


@dataclass
class FinishedEvent:
    step: int
    reason: str  # "completed" | "stopped" | "early_stopped" | "error" | "non_finite"
    message: str
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.reason in ("error", "non_finite")
