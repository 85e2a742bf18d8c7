"""Turning model config dataclasses into JSON and back, with type and range checks.

Checkpoints store a config as JSON; a config read from a file is untrusted, so every
field is checked for its type before the dataclass is built, and the dataclass's own
``validate()`` then checks ranges (so an absurd size is refused before any allocation).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")

# field → (lowest, highest) allowed value, both included; a tuple field's entries each.
# Each config keeps one such table (its RANGES): validate() checks it and the settings forms
# read their bounds from it, so the two cannot disagree.
Ranges = Mapping[str, tuple[float, float]]
LAYER_WIDTHS = (1, 8192)  # an MLP's hidden layer
CONV_CHANNELS = (1, 512)  # a stride-2 conv layer


def config_to_dict(config: Any) -> dict[str, Any]:
    """Plain JSON-ready dict of a config dataclass (tuples become lists)."""
    out = {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        out[field.name] = list(value) if isinstance(value, tuple) else value
    return out


def _coerce(name: str, hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            choices = ", ".join(repr(a) for a in allowed)
            raise ValueError(f"config field '{name}' must be one of {choices}, not {value!r}")
        return value
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(hint):
            if option is type(None):
                if value is None:
                    return None
                continue
            try:
                return _coerce(name, option, value)
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError(errors[0] if errors else f"config field '{name}' has a bad value")
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis and isinstance(value, (int, float, str)):
            value = [value]  # "hidden_dims=400" means (400,)
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"config field '{name}' must be a list, not {type(value).__name__}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(name, args[0], v) for v in value)
        if len(args) != len(value):
            raise ValueError(f"config field '{name}' must have {len(args)} entries")
        return tuple(_coerce(name, a, v) for a, v in zip(args, value, strict=True))
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"config field '{name}' must be true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"config field '{name}' must be a whole number")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"config field '{name}' must be a number")
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"config field '{name}' must be a finite number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ValueError(f"config field '{name}' must be text")
        return value
    raise ValueError(f"config field '{name}' has an unsupported type")


def config_from_dict(cls: type[T], data: Any) -> T:
    """Build ``cls`` from untrusted ``data``; raises ValueError with one readable sentence."""
    if not isinstance(data, dict):
        raise ValueError("the model config must be a JSON object")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"the model config has unknown field(s): {', '.join(unknown[:5])}")
    # a key missing from stored JSON takes the behaviour the file was written with, where the class
    # says it differs from today's default (legacy_defaults)
    legacy_defaults = getattr(cls, "legacy_defaults", None)
    legacy = legacy_defaults(data) if callable(legacy_defaults) else {}
    legacy = {k: v for k, v in legacy.items() if k in names and k not in data}
    kwargs = {name: _coerce(name, hints[name], value) for name, value in {**legacy, **data}.items()}
    config = cls(**kwargs)
    validate = getattr(config, "validate", None)
    if callable(validate):
        validate()
    return config


def replace_config(config: T, **changes: Any) -> T:
    """A copy of ``config`` with ``changes`` applied, type-checked and validated."""
    merged = config_to_dict(config)
    merged.update(changes)
    return config_from_dict(type(config), merged)


def _number(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def check_range(name: str, value: float, low: float, high: float) -> None:
    """Raise ValueError unless low <= value <= high."""
    if not (low <= value <= high):
        raise ValueError(f"{name} must be between {_number(low)} and {_number(high)}, not {_number(value)}")


def check_ranges(config: Any, ranges: Ranges) -> None:
    """Raise ValueError unless every field named in ``ranges`` (each entry of a tuple field)
    lies within its range."""
    for name, (low, high) in ranges.items():
        value = getattr(config, name)
        if isinstance(value, tuple):
            for entry in value:
                check_range(f"each entry of {name}", entry, low, high)
        else:
            check_range(name, value, low, high)


def check_image_shape(channels: int, height: int, width: int) -> None:
    check_range("channels", channels, 1, 4)
    check_range("image height", height, 2, 256)
    check_range("image width", width, 2, 256)


def check_layer_lists(hidden_dims: tuple[int, ...], conv_channels: tuple[int, ...]) -> None:
    """How many layers both lists of an MLP-or-conv model have, whichever arch is chosen: a
    config is data from a file, and an unused list must not smuggle in an absurd size (the
    entries' sizes are in the config's RANGES)."""
    if not 1 <= len(hidden_dims) <= 8:
        raise ValueError("hidden_dims must list 1 to 8 layer widths")
    if not 1 <= len(conv_channels) <= 4:
        raise ValueError("conv_channels must list 1 to 4 channel counts")
