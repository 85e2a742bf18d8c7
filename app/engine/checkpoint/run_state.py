"""The resumable-training sidecar: optimiser moments, step, RNG states, data position.

It is a safetensors file too. Its name carries a random id that the checkpoint's
``state_file`` metadata points to, and it is written *before* the checkpoint, so the
newest complete checkpoint always has its own complete sidecar, whatever moment a
save is interrupted at.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_tensors_from_bytes
from safetensors.torch import save as save_tensors_to_bytes

from app.engine.checkpoint.atomic import atomic_write_bytes
from app.engine.checkpoint.errors import CheckpointError
from app.engine.checkpoint.header import parse_header, read_file_bytes

STATE_FORMAT = "1"


def new_state_name(checkpoint_path: Path) -> str:
    return f"{checkpoint_path.stem}.state-{secrets.token_hex(4)}.safetensors"


def optimizer_to_tensors(
    optimizer: torch.optim.Optimizer, prefix: str
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Flatten ``optimizer.state_dict()`` into tensors plus JSON-able values."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for param_id, entries in state["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.{param_id}.{key}"] = value.detach().to("cpu").contiguous()
            else:
                scalars.setdefault(str(param_id), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def optimizer_from_tensors(
    optimizer: torch.optim.Optimizer, prefix: str, tensors: dict[str, torch.Tensor], info: dict
) -> None:
    """Inverse of ``optimizer_to_tensors``; checks shapes against the optimiser's parameters."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    groups = info.get("param_groups")
    if not isinstance(groups, list) or len(groups) != len(optimizer.param_groups):
        raise CheckpointError("the saved optimiser does not match this model's optimiser.")
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if not key.startswith(prefix + "."):
            continue
        param_text, _, name = key[len(prefix) + 1 :].partition(".")
        if not param_text.isdigit() or int(param_text) >= len(params):
            raise CheckpointError(f"the training state has an unknown optimiser entry '{key}'.")
        param = params[int(param_text)]
        if value.dim() > 0 and value.shape != param.shape:
            raise CheckpointError(f"the optimiser entry '{key}' does not match its parameter's shape.")
        state.setdefault(int(param_text), {})[name] = value.to(param.device)
    for param_text, entries in info.get("scalars", {}).items():
        state.setdefault(int(param_text), {}).update(entries)
    try:
        optimizer.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"the saved optimiser state does not fit this model ({exc}).") from None


def save_run_state(
    path: Path, tensors: dict[str, torch.Tensor], info: dict[str, Any], checkpoint: Path
) -> None:
    """Write the sidecar ``path`` of ``checkpoint``; a failure names the checkpoint, not the sidecar."""
    metadata = {"genplay.state": STATE_FORMAT, "info": json.dumps(info)}
    atomic_write_bytes(path, save_tensors_to_bytes(tensors, metadata=metadata), shown_name=checkpoint.name)


def read_run_state(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    data = read_file_bytes(path)
    header = parse_header(data, path.name)
    if header.metadata.get("genplay.state") != STATE_FORMAT:
        raise CheckpointError(f"{path.name} is not a genplay training-state file.")
    try:
        info = json.loads(header.metadata.get("info", ""))
    except (json.JSONDecodeError, RecursionError):
        raise CheckpointError(f"{path.name} has invalid training-state metadata.") from None
    if not isinstance(info, dict):
        raise CheckpointError(f"{path.name} has invalid training-state metadata.")
    try:
        tensors = load_tensors_from_bytes(data)
    except Exception as exc:
        raise CheckpointError(f"{path.name} could not be decoded ({exc}).") from None
    return tensors, info


def remove_stale_states(checkpoint_path: Path, keep: str) -> None:
    """Delete older sidecars of this checkpoint once a newer one is in place."""
    for old in checkpoint_path.parent.glob(f"{checkpoint_path.stem}.state-*.safetensors"):
        if old.name != keep:
            try:
                old.unlink()
            except OSError:
                pass
