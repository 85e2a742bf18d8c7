"""The genplay checkpoint: one safetensors file with the weights and JSON metadata.

Metadata keys (all text): ``genplay.format`` ("1"), ``family``, ``config`` (JSON of the
model config dataclass), ``data``, ``tokenizer`` (gpt), ``step``, ``metrics``, and
optionally ``train`` (run settings), ``aliases`` (tied weights) and ``state_file``
(the resumable-state sidecar), and ``history`` with the ``history.*`` tensors (the run's
story, see ``history.py``). Loading validates all of it, and every tensor's name, shape and
dtype against the config, before a model is built; nothing is unpickled.
"""

from __future__ import annotations

import json
import math
import mmap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors.torch import load as load_tensors_from_bytes
from safetensors.torch import load_file as load_safetensors_file
from safetensors.torch import save as save_tensors_to_bytes
from torch import nn

from app.engine.checkpoint.atomic import atomic_write_bytes
from app.engine.checkpoint.errors import CheckpointError
from app.engine.checkpoint.header import mapped_file, parse_header
from app.engine.checkpoint.hf_gpt2 import SUPPORTED, Progress, hf_source, read_hf_gpt2
from app.engine.data.info import DataInfo
from app.engine.errors import GenplayError
from models.config_fields import config_from_dict, config_to_dict

if TYPE_CHECKING:  # the history package imports inference code that imports this module
    from app.engine.history.run_history import RunHistory

FORMAT_KEY = "genplay.format"
FORMAT_VERSION = "1"
MAX_PARAMETERS = 200_000_000
TORCH_DTYPES = {
    "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}  # fmt: skip
DTYPE_NAMES = {v: k for k, v in TORCH_DTYPES.items()}


@dataclass
class Checkpoint:
    family: str
    config: Any
    tensors: dict[str, torch.Tensor]
    step: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    data: DataInfo = field(default_factory=DataInfo)
    tokenizer: Any = None
    train: dict[str, Any] = field(default_factory=dict)
    state_file: str | None = None
    path: Path | None = None
    origin: str = "genplay"  # or "Hugging Face GPT-2": a model genplay opened but did not write
    history: RunHistory | None = None  # the run's curves and records, if the file keeps them

    def build_model(self) -> nn.Module:
        """The model with these weights, on the CPU, in eval mode."""
        from app.engine.inference.loading import model_from_checkpoint

        return model_from_checkpoint(self).model


# --- writing ------------------------------------------------------------------------------
def _dedupe_tied(tensors: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Store each shared tensor once; return (unique tensors, alias → stored name)."""
    seen: dict[tuple, str] = {}
    unique: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    for name, tensor in tensors.items():
        key = (tensor.device, tensor.untyped_storage().data_ptr(), tensor.storage_offset(),
               tuple(tensor.shape), tuple(tensor.stride()), tensor.dtype)  # fmt: skip
        if tensor.numel() > 0 and key in seen:
            aliases[name] = seen[key]
            continue
        seen[key] = name
        unique[name] = tensor.detach().to("cpu").contiguous()
    return unique, aliases


def checkpoint_bytes(
    *,
    family: str,
    config: Any,
    tensors: dict[str, torch.Tensor],
    step: int = 0,
    metrics: dict[str, float] | None = None,
    data: DataInfo | None = None,
    tokenizer: Any = None,
    train: dict[str, Any] | None = None,
    state_file: str | None = None,
    history: RunHistory | None = None,
) -> bytes:
    from app.engine.checkpoint.history import HISTORY_KEY, history_tensors

    unique, aliases = _dedupe_tied(tensors)
    metadata = {
        FORMAT_KEY: FORMAT_VERSION,
        "family": family,
        "config": json.dumps(config_to_dict(config)),
        "data": json.dumps((data or DataInfo()).to_json()),
        "step": str(int(step)),
        "metrics": json.dumps({k: float(v) for k, v in (metrics or {}).items()}),
    }
    if tokenizer is not None:
        metadata["tokenizer"] = json.dumps(tokenizer)
    if train:
        metadata["train"] = json.dumps(train)
    if aliases:
        metadata["aliases"] = json.dumps(aliases)
    if state_file:
        metadata["state_file"] = state_file
    if history is not None and not history.empty:
        stored, meta = history_tensors(history)
        unique.update(stored)
        metadata[HISTORY_KEY] = json.dumps(meta)
    return save_tensors_to_bytes(unique, metadata=metadata)


def save_checkpoint(path: str | Path, **fields: Any) -> Path:
    """Write a checkpoint atomically (see ``checkpoint_bytes`` for the fields)."""
    path = Path(path)
    atomic_write_bytes(path, checkpoint_bytes(**fields))
    return path


# --- reading ------------------------------------------------------------------------------
def _json_field(metadata: dict[str, str], key: str, name: str, default: Any = None) -> Any:
    if key not in metadata:
        if default is not None:
            return default
        raise CheckpointError(f"{name} is missing the '{key}' metadata.")
    try:
        return json.loads(metadata[key])
    except (json.JSONDecodeError, RecursionError):
        raise CheckpointError(f"{name} has '{key}' metadata that is not valid JSON.") from None


def _check_format(metadata: dict[str, str], name: str) -> None:
    version = metadata.get(FORMAT_KEY)
    if version is None:
        raise CheckpointError(
            f"{name} is not a genplay checkpoint (its metadata has no format); {SUPPORTED}."
        )
    if version == FORMAT_VERSION:
        return
    if version.isdigit() and int(version) > int(FORMAT_VERSION):
        raise CheckpointError(
            f"{name} was written by a newer genplay (format {version}); "
            f"this version reads format {FORMAT_VERSION}."
        )
    raise CheckpointError(f"{name} has an unknown checkpoint format version {version!r}.")


def _sniff_foreign(data: bytes, name: str) -> None:
    if data[:4] == b"PK\x03\x04":
        raise CheckpointError(
            f"{name} is a zip file (a PyTorch .pt/.pth save?), not safetensors; "
            "genplay never unpickles files."
        )
    if data[:1] == b"\x80" and len(data) > 1 and 2 <= data[1] <= 5:
        raise CheckpointError(f"{name} is a Python pickle, not safetensors; genplay never unpickles files.")


def expected_tensors(
    family: str, config: Any
) -> tuple[dict[str, tuple[tuple[int, ...], torch.dtype]], dict[str, str]]:
    """Names → (shape, dtype) the config's model has, and its tied aliases; nothing is allocated."""
    from app.engine.tasks import get_task_class

    with torch.device("meta"):
        model = get_task_class(family).build_model(config)
    state = model.state_dict(keep_vars=True)
    shapes: dict[str, tuple[tuple[int, ...], torch.dtype]] = {}
    first_owner: dict[int, str] = {}
    aliases: dict[str, str] = {}
    total = 0
    for key, tensor in state.items():
        owner = first_owner.setdefault(id(tensor), key)
        if owner != key:
            aliases[key] = owner
            continue
        shapes[key] = (tuple(tensor.shape), tensor.dtype)
        total += math.prod(tensor.shape)
    if total > MAX_PARAMETERS:
        raise CheckpointError(
            f"the config describes a model with {total:,} numbers, more than genplay allows "
            f"({MAX_PARAMETERS:,})."
        )
    return shapes, aliases


def _check_tensors(header, expected, expected_aliases, file_aliases, name: str) -> None:
    if file_aliases != expected_aliases:
        raise CheckpointError(f"{name} ties weights differently from what its config builds.")
    stored = {k: v for k, v in header.tensors.items() if not k.startswith("history.")}  # checked apart
    missing = [k for k in expected if k not in stored]
    if missing:
        raise CheckpointError(f"{name} is missing tensor '{missing[0]}' that its config needs.")
    extra = [k for k in stored if k not in expected]
    if extra:
        raise CheckpointError(f"{name} has unexpected tensor '{extra[0]}' that its config lacks.")
    for key, (shape, dtype) in expected.items():
        info = stored[key]
        if info.shape != shape:
            raise CheckpointError(
                f"{name}: tensor '{key}' has shape {list(info.shape)} but the config needs {list(shape)}."
            )
        if TORCH_DTYPES.get(info.dtype) != dtype:
            raise CheckpointError(
                f"{name}: tensor '{key}' is stored as {info.dtype} but the model uses "
                f"{DTYPE_NAMES.get(dtype, dtype)}."
            )


def checkpoint_from_bytes(
    data: bytes | mmap.mmap,
    name: str = "the file",
    load_tensors: Callable[[], dict[str, torch.Tensor]] | None = None,
) -> Checkpoint:
    """Validate everything in ``data`` and return the checkpoint, or raise CheckpointError.

    ``load_tensors`` builds the tensors once everything is validated (default: decode ``data``).
    """
    from app.engine.checkpoint.history import HISTORY_KEY, history_from_tensors, is_history_tensor
    from app.engine.tasks import TASKS, get_task_class

    _sniff_foreign(data, name)
    header = parse_header(data, name)
    metadata = header.metadata
    _check_format(metadata, name)
    family = metadata.get("family")
    if family is None:
        raise CheckpointError(f"{name} does not say which model family it holds.")
    if family not in TASKS:
        raise CheckpointError(
            f"{name} holds a model of unknown family {family!r}; genplay knows {', '.join(TASKS)}."
        )
    task_cls = get_task_class(family)
    config_json = _json_field(metadata, "config", name)
    try:
        config = config_from_dict(task_cls.config_class, config_json)
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{name} has an invalid {family} config: {exc}.") from None
    step_text = metadata.get("step", "0")
    if not step_text.isdigit() or len(step_text) > 15:
        raise CheckpointError(f"{name} has an invalid step {step_text!r}.")
    metrics = _json_field(metadata, "metrics", name, default={})
    if not isinstance(metrics, dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in metrics.values()
    ):
        raise CheckpointError(f"{name} has metrics that are not a map of names to numbers.")
    file_aliases = _json_field(metadata, "aliases", name, default={})
    if not isinstance(file_aliases, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in file_aliases.items()
    ):
        raise CheckpointError(f"{name} has invalid tied-weight metadata.")
    try:
        data_info = DataInfo.from_json(_json_field(metadata, "data", name, default={}))
    except ValueError as exc:
        raise CheckpointError(f"{name} has {exc}.") from None
    train = _json_field(metadata, "train", name, default={})
    if not isinstance(train, dict):
        raise CheckpointError(f"{name} has 'train' metadata that is not a JSON object.")
    try:
        expected, expected_aliases = expected_tensors(family, config)
    except GenplayError:
        raise
    except Exception as exc:  # a config the model code rejects
        raise CheckpointError(f"{name} has a {family} config that cannot build a model ({exc}).") from None
    _check_tensors(header, expected, expected_aliases, file_aliases, name)
    tokenizer = None
    if "tokenizer" in metadata:
        tokenizer = _json_field(metadata, "tokenizer", name)
    try:
        task_cls.check_checkpoint_extras(config, tokenizer)
    except (ValueError, GenplayError) as exc:
        raise CheckpointError(f"{name}: {exc}") from None
    try:
        tensors = load_tensors() if load_tensors is not None else load_tensors_from_bytes(data)
    except Exception as exc:  # the safetensors library's own checks
        raise CheckpointError(f"{name} could not be decoded as safetensors ({exc}).") from None
    history_part = {k: tensors.pop(k) for k in [k for k in tensors if is_history_tensor(k)]}
    history = history_from_tensors(history_part, metadata.get(HISTORY_KEY), name, config)
    for alias, target in file_aliases.items():
        tensors[alias] = tensors[target]
    for key, tensor in tensors.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise CheckpointError(f"{name}: tensor '{key}' contains NaN or infinite values.")
    state_file = metadata.get("state_file")
    if state_file is not None and (Path(state_file).name != state_file or not state_file):
        raise CheckpointError(f"{name} names an invalid training-state file.")
    return Checkpoint(
        family=family,
        config=config,
        tensors=tensors,
        step=int(step_text),
        metrics={k: float(v) for k, v in metrics.items()},
        data=data_info,
        tokenizer=tokenizer,
        train=train,
        state_file=state_file,
        history=history,
    )


def read_checkpoint(path: str | Path, progress: Progress | None = None) -> Checkpoint:
    """Load and validate a checkpoint file, or a Hugging Face GPT-2 folder (or its
    model.safetensors); every problem is a CheckpointError. ``progress(done, total)`` hears the
    bytes read of a GPT-2's weights."""
    path = Path(path)
    hf = hf_source(path)
    if hf is not None:
        return read_hf_gpt2(*hf, progress=progress)
    with mapped_file(path) as data:  # validated from the mapping, never read whole into memory
        checkpoint = checkpoint_from_bytes(data, path.name, lambda: load_safetensors_file(path))
    checkpoint.path = path
    return checkpoint
