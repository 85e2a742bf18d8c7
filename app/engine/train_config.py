"""Settings of a training run that do not change the model's shape."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from app.engine.errors import ConfigError
from app.engine.precision import PRECISIONS, Precision
from app.engine.schedules import SCHEDULES, Schedule
from models.config_fields import Ranges, check_ranges


@dataclass
class TrainConfig:
    steps: int = 2000
    batch_size: int = 128
    lr: float = 1e-3
    schedule: Schedule = "constant"
    warmup_steps: int = 0
    min_lr_ratio: float = 0.0  # cosine decays to lr · min_lr_ratio
    grad_clip: float = 0.0  # max gradient norm; 0 turns clipping off
    val_every: int = 200  # steps between validations; 0 turns validation off
    val_batches: int = 8  # at most this many validation batches per validation
    early_stop_patience: int = 0  # validations without improvement before stopping; 0 = off
    early_stop_min_delta: float = 0.0
    early_stop_metric: str = "val_loss"
    early_stop_restore_best: bool = True  # an early stop leaves the best validation's weights
    checkpoint_every: int = 0  # steps between periodic checkpoints; 0 = only at the end
    seed: int = 0
    device: str = "auto"
    precision: Precision = "fp32"  # autocast of the forward passes: fp32, bf16 or fp16 (with loss scaling)
    compile: bool = False  # torch.compile the training step's modules
    history_points: int = 2000  # the checkpoint's history keeps at most this many points per curve …
    history_mb: float = 2.0  # … and at most this many megabytes in all (thinned evenly); 0 = none

    RANGES: ClassVar[Ranges] = {
        "steps": (1, 10**9),  # the run's total, the steps of earlier sessions included
        "batch_size": (1, 65536),
        "lr": (1e-8, 10.0),
        "warmup_steps": (0, 1_000_000),
        "min_lr_ratio": (0.0, 1.0),
        "grad_clip": (0.0, 1e6),
        "val_every": (0, 1_000_000),
        "val_batches": (0, 100_000),
        "early_stop_patience": (0, 10_000),
        "early_stop_min_delta": (0.0, 1e6),
        "checkpoint_every": (0, 10_000_000),
        "seed": (0, 2**31 - 1),
        "history_points": (2, 1_000_000),
        "history_mb": (0.0, 1000.0),
    }

    def validate(self) -> None:
        try:
            check_ranges(self, self.RANGES)
        except ValueError as exc:
            raise ConfigError(f"{exc}.") from None
        if not isinstance(self.early_stop_restore_best, bool):
            raise ConfigError(
                f"early_stop_restore_best must be true or false, not {self.early_stop_restore_best!r}."
            )
        if not isinstance(self.compile, bool):
            raise ConfigError(f"compile must be true or false, not {self.compile!r}.")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"unknown precision '{self.precision}'; choose one of {', '.join(PRECISIONS)}.")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"unknown LR schedule '{self.schedule}'; choose one of {', '.join(SCHEDULES)}.")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
