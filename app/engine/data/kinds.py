"""What kind of data a dataset spec names, without loading it (the pages warn before a run)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.engine.data import BUILTIN_DATASETS
from app.engine.data.info import DataKind


def guess_data_kind(spec: str) -> DataKind | None:
    """The kind of a built-in name or a path, without loading it (None: unknown)."""
    spec = spec.strip()
    if spec in BUILTIN_DATASETS:
        return BUILTIN_DATASETS[spec].kind
    path = Path(spec).expanduser()
    if path.is_dir():
        return DataKind.IMAGES  # IDX files or a folder of pictures
    if path.suffix.lower() == ".txt" and path.is_file():
        return DataKind.TEXT
    if path.suffix.lower() == ".npy" and path.is_file():
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)  # reads the header only
        except (OSError, ValueError):
            return None
        return DataKind.POINTS if array.ndim == 2 and array.shape[1] == 2 else DataKind.IMAGES
    return None
