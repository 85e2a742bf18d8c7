"""Datasets: built-in names and user paths → a ``DataBundle`` with train/validation parts.

``load_dataset("shapes")`` renders the built-in dSprites-style set; a path may be a
folder of MNIST-format IDX files, a folder of images, a ``.npy``/``.npz`` array or
(for text families) a UTF-8 text file. Families add their own built-ins to
``BUILTIN_DATASETS``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from app.engine.data.bundle import DataBundle
from app.engine.data.download import DOWNLOADS, dataset_folder, download_dataset, is_downloaded
from app.engine.data.files import load_array, load_image_folder
from app.engine.data.idx import find_idx_pairs, load_idx_folder
from app.engine.data.info import DataKind
from app.engine.data.shapes import SHAPE_NAMES, make_shapes
from app.engine.data.text import downloadable_text, load_python_docs, load_python_source, load_text_file
from app.engine.data.toy2d import TOY_SETS, load_toy
from app.engine.errors import DatasetError

VAL_FRACTION = 0.1


@dataclass(frozen=True)
class BuiltinDataset:
    kind: DataKind
    load: Callable[[int], DataBundle]  # seed → bundle
    description: str
    item_shape: tuple[int, ...] | None = None  # (C, H, W) of each image, known without loading


def random_split(
    data: torch.Tensor, labels: dict[str, torch.Tensor], seed: int, val_fraction: float = VAL_FRACTION
) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """Shuffle once with ``seed``; the last ``val_fraction`` becomes validation."""
    n = len(data)
    if n < 2:
        raise DatasetError(f"a dataset needs at least 2 examples to split, not {n}.")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = max(1, int(round(n * val_fraction)))
    train_idx, val_idx = order[: n - n_val], order[n - n_val :]
    return data[train_idx], data[val_idx], {k: v[val_idx] for k, v in labels.items()}


@functools.lru_cache(maxsize=2)
def _shapes_cached(count: int, size: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    return make_shapes(count=count, size=size, seed=1234)


def load_shapes(seed: int = 0, count: int = 24000, size: int = 32) -> DataBundle:
    images, factors = _shapes_cached(count, size)
    train, val, val_labels = random_split(images, factors, seed)
    return DataBundle(
        name="shapes",
        kind=DataKind.IMAGES,
        train=train,
        val=val,
        val_labels=val_labels,
        label_names={"shape": list(SHAPE_NAMES)},
        source="shapes",
    )


def _idx_bundle(folder: Path, name: str, seed: int) -> DataBundle:
    train_x, train_y, test_x, test_y = load_idx_folder(folder)
    if test_x is None:
        train_x, test_x, labels = random_split(train_x, {"label": train_y}, seed)
        test_y = labels["label"]
    has_labels = bool((test_y >= 0).any())
    return DataBundle(
        name=name,
        kind=DataKind.IMAGES,
        train=train_x,
        val=test_x,
        val_labels={"label": test_y} if has_labels else {},
        source=str(folder),
    )


def _downloadable(name: str) -> Callable[[int], DataBundle]:
    def load(seed: int) -> DataBundle:
        folder = dataset_folder(name) if is_downloaded(name) else download_dataset(name)
        return _idx_bundle(folder, name, seed)

    return load


BUILTIN_DATASETS: dict[str, BuiltinDataset] = {
    "shapes": BuiltinDataset(
        DataKind.IMAGES,
        load_shapes,
        "dSprites-style squares, ellipses and hearts, 32×32, rendered here",
        (1, 32, 32),
    ),
    "mnist": BuiltinDataset(
        DataKind.IMAGES, _downloadable("mnist"), "handwritten digits (downloads once)", (1, 28, 28)
    ),
    "fashion-mnist": BuiltinDataset(
        DataKind.IMAGES, _downloadable("fashion-mnist"), "clothing pictures (downloads once)", (1, 28, 28)
    ),
    **{
        name: BuiltinDataset(DataKind.POINTS, lambda seed, name=name: load_toy(name, seed), toy.description)
        for name, toy in TOY_SETS.items()
    },
    "python-docs": BuiltinDataset(DataKind.TEXT, load_python_docs, "the Python documentation topics, 0.5 MB"),
    "python-source": BuiltinDataset(
        DataKind.TEXT, load_python_source, "Python standard-library source, 2 MB"
    ),
    "tiny-shakespeare": BuiltinDataset(
        DataKind.TEXT, downloadable_text("tiny-shakespeare"), "Shakespeare's plays, 1.1 MB (downloads once)"
    ),
}


def builtin_names(kind: DataKind | None = None) -> list[str]:
    return [n for n, d in BUILTIN_DATASETS.items() if kind is None or d.kind == kind]


def load_path(path: Path, seed: int = 0) -> DataBundle:
    """Load a user dataset from a folder or file, or raise DatasetError saying why not."""
    if not path.exists():
        raise DatasetError(f"{path} does not exist.")
    if path.is_dir():
        if find_idx_pairs(path):
            return _idx_bundle(path, path.name, seed)
        images = load_image_folder(path)
        train, val, _ = random_split(images, {}, seed)
        return DataBundle(path.name, DataKind.IMAGES, train, val, source=str(path))
    suffix = path.suffix.lower()
    if suffix in (".npy", ".npz"):
        kind, data, labels = load_array(path)
        label_dict = {"label": labels} if labels is not None else {}
        train, val, val_labels = random_split(data, label_dict, seed)
        return DataBundle(path.stem, kind, train, val, val_labels=val_labels, source=str(path))
    loader = FILE_LOADERS.get(suffix)
    if loader is not None:
        return loader(path, seed)
    raise DatasetError(
        f"{path.name} is not a dataset genplay can read: use a folder of MNIST IDX files or "
        "images, a .npy/.npz array, or a UTF-8 .txt file."
    )


# suffix → loader for file types that families add (e.g. ".txt" for the GPT)
FILE_LOADERS: dict[str, Callable[[Path, int], DataBundle]] = {".txt": load_text_file}


def load_dataset(spec: str, seed: int = 0) -> DataBundle:
    """A built-in name (``shapes``, ``mnist``, …) or a path → DataBundle."""
    spec = (spec or "").strip()
    if not spec:
        raise DatasetError("no dataset was given.")
    if spec in BUILTIN_DATASETS:
        return BUILTIN_DATASETS[spec].load(seed)
    path = Path(spec).expanduser()
    if path.exists():
        return load_path(path, seed)
    names = ", ".join(BUILTIN_DATASETS)
    raise DatasetError(f"'{spec}' is neither a built-in dataset ({names}) nor an existing path.")


__all__ = [
    "BUILTIN_DATASETS",
    "DOWNLOADS",
    "DataBundle",
    "FILE_LOADERS",
    "builtin_names",
    "load_dataset",
    "load_path",
    "random_split",
]
