"""The one way weights become a model ready for inference.

A training snapshot (``ModelSnapshot``, published by the trainer thread), an opened checkpoint
(``Checkpoint``) or a file on disk all end here: the family's model is built from the config,
loaded with ``strict=True`` (the tensors are copied in, so the caller's dict is never aliased),
put in eval mode on the requested device. Views, ``genplay sample`` and the server's worker
processes all go through ``model_from_snapshot`` / ``model_from_checkpoint`` / ``load_model``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from app.engine.bpe_tokenizer import BPETokenizer
from app.engine.checkpoint import Checkpoint, read_checkpoint
from app.engine.data.info import DataInfo
from app.engine.events import ModelSnapshot
from app.engine.random_streams import untouched_global_generator
from models.tokenizer import CharTokenizer, TextTokenizer


@dataclass
class ReadyModel:
    """A model in eval mode with what is needed to use it (its tokenizer for text families)."""

    family: str
    config: Any
    model: nn.Module
    step: int
    tokenizer: TextTokenizer | None = None
    data: DataInfo = field(default_factory=DataInfo)  # the checkpoint's dataset description
    path: Path | None = None

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device


def build_family_model(family: str, config: Any) -> nn.Module:
    """The untrained model that ``config`` describes (the family's own ``build_model``); its
    throw-away initial weights leave the global generator, and so any run's dropout, alone."""
    from app.engine.tasks import get_task_class  # the registry, not a task module

    with untouched_global_generator():
        return get_task_class(family).build_model(config)


def _ready(
    family: str, config: Any, tensors: dict[str, torch.Tensor], device: str | torch.device
) -> nn.Module:
    model = build_family_model(family, config)
    model.load_state_dict(tensors, strict=True)  # copies: later changes to ``tensors`` don't leak in
    return model.to(device).eval()


def tokenizer_from_metadata(metadata: Any) -> TextTokenizer | None:
    """The tokenizer a checkpoint or snapshot carries (text families), else None: characters, or
    a GPT-2's byte-level BPE; ValueError with one sentence when the metadata is malformed."""
    if metadata is None:
        return None
    if isinstance(metadata, dict) and metadata.get("type") == "bpe":
        return BPETokenizer.from_metadata(metadata)
    return CharTokenizer.from_metadata(metadata)


def model_from_snapshot(snapshot: ModelSnapshot, device: str | torch.device = "cpu") -> ReadyModel:
    """A ready model from a trainer's published snapshot."""
    return ReadyModel(
        family=snapshot.family,
        config=snapshot.config,
        model=_ready(snapshot.family, snapshot.config, snapshot.tensors, device),
        step=snapshot.step,
        tokenizer=tokenizer_from_metadata(snapshot.extras.get("tokenizer")),
    )


def model_from_checkpoint(checkpoint: Checkpoint, device: str | torch.device = "cpu") -> ReadyModel:
    """A ready model from a validated checkpoint."""
    return ReadyModel(
        family=checkpoint.family,
        config=checkpoint.config,
        model=_ready(checkpoint.family, checkpoint.config, checkpoint.tensors, device),
        step=checkpoint.step,
        tokenizer=tokenizer_from_metadata(checkpoint.tokenizer),
        data=checkpoint.data,
        path=checkpoint.path,
    )


class SnapshotModel:
    """A model that follows a stream of snapshots (the views' own copy of the weights).

    Built through ``build_family_model`` only when the family or config changes; the newest
    snapshot's weights are copied in when the model is next used, not when the snapshot arrives:
    during training snapshots come twice a second while the visible view may need none of them,
    and every copy costs GUI time.
    """

    def __init__(self) -> None:
        self.model: nn.Module | None = None
        self.snapshot: ModelSnapshot | None = None
        self._unloaded: dict[str, torch.Tensor] | None = None  # the newest weights, not yet copied in

    @property
    def config(self) -> Any:
        return self.snapshot.config if self.snapshot is not None else None

    @property
    def step(self) -> int | None:
        return self.snapshot.step if self.snapshot is not None else None

    def update(self, snapshot: ModelSnapshot | None) -> bool:
        """Follow ``snapshot`` (None: no model); True when the model was (re)built."""
        previous, self.snapshot = self.snapshot, snapshot
        if snapshot is None:
            self.model = self._unloaded = None
            return True
        kind = (snapshot.family, snapshot.config)
        rebuilt = self.model is None or (previous.family, previous.config) != kind
        if rebuilt:
            self.model = build_family_model(snapshot.family, snapshot.config).eval()
        self._unloaded = snapshot.tensors
        return rebuilt

    def require(self) -> nn.Module:
        """The model with the newest weights; RuntimeError when there is none."""
        if self.model is None:
            raise RuntimeError("no model: train one or open a checkpoint")
        if self._unloaded is not None:
            self.model.load_state_dict(self._unloaded, strict=True)  # copies: no aliasing
            self._unloaded = None
        return self.model


def load_model(path: str | Path, device: str | torch.device = "cpu") -> ReadyModel:
    """Read, validate and build the model in ``path``; a bad file raises ``CheckpointError``."""
    return model_from_checkpoint(read_checkpoint(path), device)
