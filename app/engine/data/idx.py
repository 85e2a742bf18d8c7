"""MNIST-format IDX files (MNIST, Fashion-MNIST, KMNIST, …), raw or gzip-compressed.

IDX layout: two zero bytes, a type code, the number of dimensions, one big-endian
uint32 per dimension, then the values. Every claim in the header is checked against
the file before anything is allocated.
"""

from __future__ import annotations

import gzip
import math
import re
import zlib
from pathlib import Path

import numpy as np
import torch

from app.engine.errors import DatasetError

IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
MAX_IDX_BYTES = 1 << 30  # refuse to inflate more than 1 GiB from one file
GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"Cannot read {path.name}: {exc.strerror or exc}.") from exc
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip wrapper
        data = inflater.decompress(raw, MAX_IDX_BYTES + 1)
    except zlib.error as exc:
        raise DatasetError(f"{path.name} is not a valid gzip file ({exc}).") from exc
    if len(data) > MAX_IDX_BYTES:
        raise DatasetError(f"{path.name} inflates to more than {MAX_IDX_BYTES:,} bytes; refusing to load it.")
    if not inflater.eof:
        raise DatasetError(f"{path.name} is a truncated gzip file.")
    return data


def parse_idx(data: bytes, name: str = "IDX file") -> np.ndarray:
    """Decode IDX ``data`` into an array, or raise DatasetError saying what is wrong."""
    if len(data) < 4:
        raise DatasetError(f"{name} is too short to be an IDX file ({len(data)} bytes).")
    if data[0] != 0 or data[1] != 0 or data[2] not in IDX_TYPES:
        raise DatasetError(
            f"{name} is not an IDX file: bad magic number 0x{data[:4].hex()} "
            "(expected 0x0000 followed by a type code and a dimension count)."
        )
    dtype, ndim = IDX_TYPES[data[2]], data[3]
    if not 1 <= ndim <= 4:
        raise DatasetError(f"{name} claims {ndim} dimensions; IDX datasets have 1 to 4.")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{name} is truncated inside its header.")
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    count = math.prod(dims)
    expected = count * dtype.itemsize
    actual = len(data) - header
    if expected != actual:
        shape = "×".join(str(d) for d in dims)
        problem = "is truncated" if actual < expected else "has extra bytes"
        raise DatasetError(
            f"{name} {problem}: its header says {shape} values ({expected:,} bytes) "
            f"but {actual:,} bytes follow."
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)


def read_idx(path: Path) -> np.ndarray:
    return parse_idx(_read_bytes(path), path.name)


_IMAGES = re.compile(r"^(?P<split>.+?)[-_.]images[-_.]idx3[-_.]ubyte(\.gz)?$", re.I)
_LABELS = re.compile(r"^(?P<split>.+?)[-_.]labels[-_.]idx1[-_.]ubyte(\.gz)?$", re.I)


def find_idx_pairs(folder: Path) -> dict[str, tuple[Path, Path | None]]:
    """Split prefix ("train", "t10k") → (images file, labels file or None)."""
    images: dict[str, Path] = {}
    labels: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        for pattern, target in ((_IMAGES, images), (_LABELS, labels)):
            match = pattern.match(path.name)
            if match and path.is_file():
                target.setdefault(match["split"].lower(), path)
    return {split: (img, labels.get(split)) for split, img in images.items()}


def _load_pair(images_path: Path, labels_path: Path | None) -> tuple[torch.Tensor, torch.Tensor]:
    images = read_idx(images_path)
    if images.ndim != 3:
        raise DatasetError(f"{images_path.name} should hold N×H×W images but has {images.ndim} dimensions.")
    if images.dtype != np.uint8:
        raise DatasetError(f"{images_path.name} should hold unsigned bytes (pixel values 0–255).")
    pixels = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)  # (N, 1, H, W)
    if labels_path is None:
        return pixels, torch.full((len(pixels),), -1, dtype=torch.int64)
    labels = read_idx(labels_path)
    if labels.ndim != 1:
        raise DatasetError(f"{labels_path.name} should hold one label per image.")
    if len(labels) != len(images):
        raise DatasetError(
            f"{labels_path.name} has {len(labels):,} labels but {images_path.name} "
            f"has {len(images):,} images."
        )
    return pixels, torch.from_numpy(labels.astype(np.int64))


def load_idx_folder(
    folder: Path,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """(train images, train labels, test images, test labels) from an MNIST-style folder."""
    pairs = find_idx_pairs(folder)
    if not pairs:
        raise DatasetError(
            f"No MNIST-format files in {folder}: expected names like "
            "'train-images-idx3-ubyte(.gz)' and 'train-labels-idx1-ubyte(.gz)'."
        )
    train_key = "train" if "train" in pairs else sorted(pairs)[0]
    train_x, train_y = _load_pair(*pairs[train_key])
    test = next((k for k in ("t10k", "test") if k in pairs and k != train_key), None)
    if test is None:
        return train_x, train_y, None, None
    test_x, test_y = _load_pair(*pairs[test])
    if test_x.shape[1:] != train_x.shape[1:]:
        raise DatasetError(
            f"the test images are {tuple(test_x.shape[2:])} but the training images are "
            f"{tuple(train_x.shape[2:])}."
        )
    return train_x, train_y, test_x, test_y


def write_idx(path: Path, array: np.ndarray, compress: bool | None = None) -> None:
    """Write ``array`` (uint8) as an IDX file; used by tests and to export data."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    payload = header + array.tobytes()
    if compress is None:
        compress = path.suffix == ".gz"
    path.write_bytes(gzip.compress(payload, mtime=0) if compress else payload)
