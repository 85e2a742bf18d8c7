"""Reading and validating a safetensors file by hand, before any tensor is built.

Layout: 8-byte little-endian header length N, N bytes of UTF-8 JSON, then the data.
Every claim of the header (length, dtypes, shapes, offsets) is checked against the
file so that a hostile file cannot make us allocate, read out of range or hang.
"""

from __future__ import annotations

import json
import math
import mmap
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.engine.checkpoint.errors import CheckpointError

MAX_HEADER_BYTES = 100 * 1024 * 1024
MAX_FILE_BYTES = 4 * 1024**3
DTYPE_SIZES = {
    "BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
}  # fmt: skip


@dataclass(frozen=True)
class TensorInfo:
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int


@dataclass(frozen=True)
class SafetensorsHeader:
    metadata: dict[str, str]
    tensors: dict[str, TensorInfo]
    data_start: int


def _check_readable(path: Path) -> int:
    """The file's size, or CheckpointError for a missing file, a folder or an absurd size."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise CheckpointError(f"{path} does not exist.") from None
    except OSError as exc:
        raise CheckpointError(f"Cannot read {path.name}: {exc.strerror or exc}.") from exc
    if path.is_dir():
        raise CheckpointError(f"{path.name} is a folder, not a checkpoint file.")
    if size > MAX_FILE_BYTES:
        raise CheckpointError(f"{path.name} is larger than 4 GiB; genplay checkpoints are small.")
    return size


def read_file_bytes(path: Path) -> bytes:
    path = Path(path)
    _check_readable(path)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"Cannot read {path.name}: {exc.strerror or exc}.") from exc


@contextmanager
def mapped_file(path: Path) -> Iterator[bytes | mmap.mmap]:
    """The file's bytes, memory-mapped read-only (the OS pages in what is read); slicing and
    len() work as on bytes. An empty file, which cannot be mapped, is b""."""
    path = Path(path)
    if _check_readable(path) == 0:
        yield b""
        return
    try:
        with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            yield mapped
    except OSError as exc:
        raise CheckpointError(f"Cannot read {path.name}: {exc.strerror or exc}.") from exc


def parse_header(data: bytes, name: str = "the file") -> SafetensorsHeader:
    """Validate the safetensors structure of ``data`` and return its header."""
    if len(data) < 8:
        raise CheckpointError(f"{name} is too short to be a safetensors file ({len(data)} bytes).")
    (length,) = struct.unpack("<Q", data[:8])
    if length > MAX_HEADER_BYTES:
        raise CheckpointError(f"{name} claims a {length:,}-byte header, more than the 100 MB allowed.")
    if 8 + length > len(data):
        raise CheckpointError(
            f"{name} is truncated or not a safetensors file: its header claims {length:,} bytes "
            f"but the file has {len(data) - 8:,} after the length field."
        )
    try:
        text = data[8 : 8 + length].decode("utf-8")
    except UnicodeDecodeError:
        raise CheckpointError(f"{name} has a header that is not UTF-8 text.") from None
    try:
        header = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise CheckpointError(f"{name} has a header that is not valid JSON.") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{name} has a header that is not a JSON object.")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise CheckpointError(f"{name} has metadata that is not a map of text to text.")
    data_len = len(data) - 8 - length
    tensors = {key: _tensor_info(name, key, entry, data_len) for key, entry in header.items()}
    spans = sorted((t.begin, t.end, k) for k, t in tensors.items() if t.end > t.begin)
    for (_b1, e1, k1), (b2, _e2, k2) in zip(spans, spans[1:], strict=False):
        if b2 < e1:
            raise CheckpointError(f"{name} is corrupt: tensors '{k1}' and '{k2}' overlap.")
    return SafetensorsHeader(metadata, tensors, 8 + length)


def _tensor_info(name: str, key: str, entry: object, data_len: int) -> TensorInfo:
    if not isinstance(entry, dict):
        raise CheckpointError(f"{name} is corrupt: the entry for tensor '{key}' is not an object.")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in DTYPE_SIZES:
        raise CheckpointError(f"{name} stores tensor '{key}' with unknown dtype {dtype!r}.")
    if (
        not isinstance(shape, list)
        or len(shape) > 8
        or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2**40 for d in shape)
    ):
        raise CheckpointError(f"{name} gives tensor '{key}' an invalid shape {shape!r}.")
    if not (
        isinstance(offsets, list)
        and len(offsets) == 2
        and all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
    ):
        raise CheckpointError(f"{name} gives tensor '{key}' invalid data offsets.")
    begin, end = offsets
    if not 0 <= begin <= end <= data_len:
        raise CheckpointError(f"{name} is truncated or corrupt: tensor '{key}' lies outside the file's data.")
    expected = math.prod(shape) * DTYPE_SIZES[dtype]
    if end - begin != expected:
        raise CheckpointError(
            f"{name} is corrupt: tensor '{key}' has {end - begin:,} bytes but its shape "
            f"{shape} and dtype {dtype} need {expected:,}."
        )
    return TensorInfo(dtype, tuple(shape), begin, end)
