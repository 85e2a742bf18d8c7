"""User datasets from files: a folder of images, or a ``.npy`` / ``.npz`` array."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from app.engine.data.info import DataKind
from app.engine.errors import DatasetError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
MAX_IMAGES = 200_000
MAX_SIDE = 256
MAX_ARRAY_BYTES = 2 << 30


def load_image_folder(folder: Path) -> torch.Tensor:
    """All images in ``folder`` (same size required) → (N, C, H, W) in [0, 1]; C is 1 or 3."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DatasetError(f"{folder} has no images ({', '.join(sorted(IMAGE_SUFFIXES))}).")
    if len(files) > MAX_IMAGES:
        raise DatasetError(f"{folder} has {len(files):,} images; genplay loads at most {MAX_IMAGES:,}.")
    arrays, size, colour = [], None, False
    for path in files:
        try:
            with Image.open(path) as img:
                img.load()
                colour = colour or img.mode not in ("1", "L", "LA", "I", "I;16", "F")
                if size is None:
                    size = img.size
                    if max(size) > MAX_SIDE:
                        raise DatasetError(
                            f"{path.name} is {size[0]}×{size[1]}; images may be at most "
                            f"{MAX_SIDE} pixels on a side."
                        )
                elif img.size != size:
                    raise DatasetError(
                        f"{path.name} is {img.size[0]}×{img.size[1]} but {files[0].name} is "
                        f"{size[0]}×{size[1]}; all images in a folder must have one size."
                    )
                arrays.append(img.convert("RGB"))
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            if isinstance(exc, DatasetError):
                raise
            raise DatasetError(f"{path.name} is not a readable image ({exc}).") from exc
    mode = "RGB" if colour else "L"
    data = np.stack([np.asarray(a.convert(mode), dtype=np.float32) / 255.0 for a in arrays])
    if data.ndim == 3:
        data = data[:, None]
    else:
        data = data.transpose(0, 3, 1, 2)
    return torch.from_numpy(np.ascontiguousarray(data))


def _scale_images(array: np.ndarray, name: str) -> np.ndarray:
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if not np.issubdtype(array.dtype, np.floating) and not np.issubdtype(array.dtype, np.integer):
        raise DatasetError(f"{name} holds {array.dtype} values, not numbers.")
    data = array.astype(np.float32)
    if not np.isfinite(data).all():
        raise DatasetError(f"{name} contains NaN or infinite values.")
    low, high = float(data.min()), float(data.max())
    if low < 0.0 or high > 1.0:
        if low >= 0.0 and high <= 255.0:
            return data / 255.0
        raise DatasetError(f"{name} has pixel values in [{low:g}, {high:g}]; expected [0, 1] or [0, 255].")
    return data


def load_array(path: Path) -> tuple[DataKind, torch.Tensor, torch.Tensor | None]:
    """A ``.npy``/``.npz`` file → (IMAGES, (N, C, H, W)) or (POINTS, (N, 2)), plus labels.

    Arrays are read with ``allow_pickle=False``: object arrays are refused, never unpickled.
    An ``.npz`` uses its ``x`` (or ``images``/``points``/first) array and optional ``y``/``labels``.
    """
    try:
        if path.stat().st_size > MAX_ARRAY_BYTES:
            raise DatasetError(f"{path.name} is larger than 2 GiB.")
        loaded = np.load(path, allow_pickle=False)
        labels = None
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                keys = list(loaded.files)
                if not keys:
                    raise DatasetError(f"{path.name} holds no arrays.")
                key = next((k for k in ("x", "images", "points", "data") if k in keys), keys[0])
                array = loaded[key]
                label_key = next((k for k in ("y", "labels") if k in keys), None)
                labels = loaded[label_key] if label_key else None
        else:
            array = loaded
    except DatasetError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{path.name} is not a readable NumPy array file ({exc}).") from exc
    if array.ndim == 2 and array.shape[1] == 2:
        points = array.astype(np.float32)
        if not np.isfinite(points).all():
            raise DatasetError(f"{path.name} contains NaN or infinite values.")
        return DataKind.POINTS, torch.from_numpy(points), _labels(labels, len(points), path.name)
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4 and array.shape[-1] in (1, 3) and array.shape[1] not in (1, 3):
        array = array.transpose(0, 3, 1, 2)  # (N, H, W, C) → (N, C, H, W)
    if array.ndim != 4 or array.shape[1] not in (1, 3):
        raise DatasetError(
            f"{path.name} has shape {array.shape}; expected images (N, H, W), (N, C, H, W) "
            "or 2-D points (N, 2)."
        )
    if max(array.shape[2:]) > MAX_SIDE:
        raise DatasetError(f"{path.name} has images larger than {MAX_SIDE} pixels on a side.")
    images = torch.from_numpy(np.ascontiguousarray(_scale_images(array, path.name)))
    return DataKind.IMAGES, images, _labels(labels, len(images), path.name)


def _labels(labels: np.ndarray | None, count: int, name: str) -> torch.Tensor | None:
    if labels is None:
        return None
    if labels.ndim != 1 or len(labels) != count or not np.issubdtype(labels.dtype, np.number):
        raise DatasetError(f"the labels in {name} must be one number per example.")
    return torch.from_numpy(labels.astype(np.int64))
