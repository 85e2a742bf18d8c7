"""Settings of a training run that do not change the model's shape."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from app.engine.errors import ConfigError
from app.engine.schedules import SCHEDULES


@dataclass
class TrainConfig:
    steps: int = 2000
    batch_size: int = 128
    lr: float = 1e-3
    schedule: str = "constant"  # constant | cosine | warmup_cosine
    warmup_steps: int = 0
    min_lr_ratio: float = 0.0  # cosine decays to lr · min_lr_ratio
    grad_clip: float = 0.0  # max gradient norm; 0 turns clipping off
    val_every: int = 200  # steps between validations; 0 turns validation off
    val_batches: int = 8  # at most this many validation batches per validation
    early_stop_patience: int = 0  # validations without improvement before stopping; 0 = off
    early_stop_min_delta: float = 0.0
    early_stop_metric: str = "val_loss"
    checkpoint_every: int = 0  # steps between periodic checkpoints; 0 = only at the end
    seed: int = 0
    device: str = "auto"

    def validate(self) -> None:
        positive = {"steps": self.steps, "batch_size": self.batch_size}
        for name, value in positive.items():
            if value <= 0:
                raise ConfigError(f"{name} must be a positive whole number, not {value}.")
        if not self.lr > 0 or self.lr != self.lr or self.lr > 10:
            raise ConfigError(f"the learning rate must be above 0 and at most 10, not {self.lr}.")
        if self.batch_size > 65536:
            raise ConfigError(f"batch_size must be at most 65536, not {self.batch_size}.")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"unknown LR schedule '{self.schedule}'; choose one of {', '.join(SCHEDULES)}.")
        non_negative = {
            "warmup_steps": self.warmup_steps,
            "grad_clip": self.grad_clip,
            "val_every": self.val_every,
            "val_batches": self.val_batches,
            "early_stop_patience": self.early_stop_patience,
            "early_stop_min_delta": self.early_stop_min_delta,
            "checkpoint_every": self.checkpoint_every,
        }
        for name, value in non_negative.items():
            if value < 0:
                raise ConfigError(f"{name} must not be negative, not {value}.")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise ConfigError(f"min_lr_ratio must be between 0 and 1, not {self.min_lr_ratio}.")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
