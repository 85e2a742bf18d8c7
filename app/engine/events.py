"""What the trainer reports while it runs; plain data, so any client can consume it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only a type here: the inference package itself imports this module
    from app.engine.inference.visuals import Visuals


class RunState(StrEnum):
    """Where a page's run stands; a ``ProgressEvent`` reports the last two."""

    IDLE = "idle"  # no run
    STARTING = "starting"  # loading data and building the model
    RUNNING = "running"
    PAUSED = "paused"


class FinishReason(StrEnum):
    """Why a run ended (``FinishedEvent.reason``)."""

    COMPLETED = "completed"  # trained every step asked for
    STOPPED = "stopped"  # the user (or Ctrl-C) stopped it
    EARLY_STOPPED = "early_stopped"  # validation stopped improving
    ERROR = "error"  # a step or the setup raised
    NON_FINITE = "non_finite"  # a loss or gradient became NaN/Inf

    @property
    def failed(self) -> bool:
        return self in (FinishReason.ERROR, FinishReason.NON_FINITE)


class MetricsKind(StrEnum):
    """Which kind of step a ``MetricsEvent`` comes from."""

    TRAIN = "train"  # an optimisation step
    VAL = "val"  # a validation (names prefixed ``val_``)
    ACTION = "action"  # a slow-motion task action (e.g. one critic update), not a step


class NoticeLevel(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass
class MetricsEvent:
    step: int
    metrics: dict[str, float]
    kind: MetricsKind = MetricsKind.TRAIN

    def __post_init__(self) -> None:
        self.kind = MetricsKind(self.kind)  # a misspelt kind fails here, not in a view


@dataclass
class ProgressEvent:
    step: int
    total: int
    steps_per_s: float
    eta_s: float
    state: RunState  # RUNNING or PAUSED

    def __post_init__(self) -> None:
        self.state = RunState(self.state)


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
    level: NoticeLevel = NoticeLevel.INFO

    def __post_init__(self) -> None:
        self.level = NoticeLevel(self.level)


@dataclass
class SaveFailedEvent:
    """A checkpoint the user asked for during a run could not be written (``reason``: one sentence)."""

    step: int
    path: str
    reason: str


@dataclass
class FinishedEvent:
    step: int
    reason: FinishReason
    message: str
    metrics: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.reason = FinishReason(self.reason)

    @property
    def failed(self) -> bool:
        return self.reason.failed
