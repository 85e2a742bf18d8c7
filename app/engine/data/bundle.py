"""A loaded dataset: train and validation tensors plus what describes them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from app.engine.data.info import DataInfo, DataKind


@dataclass
class DataBundle:
    """One dataset, split into training and validation parts.

    kind "images": ``train``/``val`` are float tensors (N, C, H, W) in [0, 1].
    kind "points": ``train``/``val`` are float tensors (N, 2); ``sampler`` draws fresh points.
    kind "text":   ``train``/``val`` are int64 token ids (T,); ``tokenizer`` maps text ↔ ids.
    ``val_labels`` maps a label name ("label", or dSprites-style factors "shape", "scale",
    "rotation", "x", "y") to a tensor aligned with ``val``.
    """

    name: str
    kind: DataKind
    train: torch.Tensor
    val: torch.Tensor
    val_labels: dict[str, torch.Tensor] = field(default_factory=dict)
    label_names: dict[str, list[str]] = field(default_factory=dict)  # categorical value names
    sampler: Callable[[int, torch.Generator], torch.Tensor] | None = None
    tokenizer: Any = None
    source: str = ""  # the name or path the user gave

    @property
    def item_shape(self) -> tuple[int, ...]:
        return tuple(self.train.shape[1:])

    def describe(self) -> DataInfo:
        """What checkpoints store of this data (name, where it came from, sizes, normalisation)."""
        normalisation = {DataKind.IMAGES: "pixels scaled to [0, 1]", DataKind.POINTS: "raw coordinates"}
        return DataInfo(
            name=self.name,
            kind=self.kind,
            source=self.source or self.name,
            train_size=int(self.train.shape[0]),
            val_size=int(self.val.shape[0]),
            shape=self.item_shape if self.kind != DataKind.TEXT else (),
            normalisation=normalisation.get(self.kind, "character ids"),
        )
