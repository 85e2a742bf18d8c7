"""Checkpoints: safetensors files with metadata, atomic writes, validated loading."""

from app.engine.checkpoint.errors import CheckpointError
from app.engine.checkpoint.format import (
    FORMAT_VERSION,
    Checkpoint,
    checkpoint_bytes,
    checkpoint_from_bytes,
    read_checkpoint,
    save_checkpoint,
)
from app.engine.checkpoint.hf_gpt2 import is_openable

__all__ = [
    "FORMAT_VERSION",
    "Checkpoint",
    "CheckpointError",
    "checkpoint_bytes",
    "checkpoint_from_bytes",
    "is_openable",
    "read_checkpoint",
    "save_checkpoint",
]
