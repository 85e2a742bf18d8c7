"""Choosing the compute device: ``auto`` picks the best available one."""

from __future__ import annotations

import torch

from app.engine.errors import DeviceError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_devices() -> list[str]:
    """Names of the devices this machine can train on, best first."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    if mps_available():
        found.append("mps")
    found.append("cpu")
    return found


def resolve_device(name: str = "auto") -> torch.device:
    """``auto|cpu|cuda|cuda:N|mps`` → a usable torch.device, or a DeviceError saying why not."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        return torch.device(available_devices()[0])
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise DeviceError("CUDA was requested but no CUDA GPU is available on this machine.")
        device = torch.device(name)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(
                f"{name} was requested but this machine has {torch.cuda.device_count()} CUDA GPU(s)."
            )
        return device
    if name == "mps":
        if not mps_available():
            raise DeviceError("MPS was requested but Apple's Metal backend is not available here.")
        return torch.device("mps")
    raise DeviceError(f"Unknown device '{name}'; choose one of {', '.join(DEVICE_CHOICES)}.")


def describe_device(device: torch.device) -> str:
    """A short human label, e.g. 'cuda:0 (NVIDIA H200)' or 'cpu (2 threads)'."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    if device.type == "cpu":
        threads = torch.get_num_threads()
        return f"cpu ({threads} thread{'' if threads == 1 else 's'})"
    return str(device)
