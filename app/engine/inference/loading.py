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

from app.engine.checkpoint import Checkpoint, read_checkpoint
from app.engine.events import ModelSnapshot
from models.tokenizer import CharTokenizer


@dataclass
class ReadyModel:
    """A model in eval mode with what is needed to use it (its tokenizer for text families)."""

    family: str
    config: Any
    model: nn.Module
    step: int
    tokenizer: CharTokenizer | None = None
    data: dict[str, Any] = field(default_factory=dict)  # the checkpoint's dataset description
    path: Path | None = None

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device


def build_family_model(family: str, config: Any) -> nn.Module:
    """The untrained model that ``config`` describes (the family's own ``build_model``)."""
    from app.engine.tasks import get_task_class  # the registry, not a task module

    return get_task_class(family).build_model(config)


def _ready(
    family: str, config: Any, tensors: dict[str, torch.Tensor], device: str | torch.device
) -> nn.Module:
    model = build_family_model(family, config)
    model.load_state_dict(tensors, strict=True)  # copies: later changes to ``tensors`` don't leak in
    return model.to(device).eval()


def _tokenizer(metadata: Any) -> CharTokenizer | None:
    return CharTokenizer.from_metadata(metadata) if metadata is not None else None


def model_from_snapshot(snapshot: ModelSnapshot, device: str | torch.device = "cpu") -> ReadyModel:
    """A ready model from a trainer's published snapshot."""
    return ReadyModel(
        family=snapshot.family,
        config=snapshot.config,
        model=_ready(snapshot.family, snapshot.config, snapshot.tensors, device),
        step=snapshot.step,
        tokenizer=_tokenizer(snapshot.extras.get("tokenizer")),
    )


def model_from_checkpoint(checkpoint: Checkpoint, device: str | torch.device = "cpu") -> ReadyModel:
    """A ready model from a validated checkpoint."""
    return ReadyModel(
        family=checkpoint.family,
        config=checkpoint.config,
        model=_ready(checkpoint.family, checkpoint.config, checkpoint.tensors, device),
        step=checkpoint.step,
        tokenizer=_tokenizer(checkpoint.tokenizer),
        data=dict(checkpoint.data),
        path=checkpoint.path,
    )


def load_model(path: str | Path, device: str | torch.device = "cpu") -> ReadyModel:
    """Read, validate and build the model in ``path``; a bad file raises ``CheckpointError``."""
    return model_from_checkpoint(read_checkpoint(path), device)
