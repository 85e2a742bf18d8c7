"""What a checkpoint says of the data its model learned from, stored as JSON in its metadata."""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any


class DataKind(StrEnum):
    """What a dataset's items are (each family trains on some of them)."""

    IMAGES = "images"  # float tensors (N, C, H, W) in [0, 1]
    POINTS = "points"  # float tensors (N, 2)
    TEXT = "text"  # int64 token ids (T,)

    @property
    def in_words(self) -> str:
        return "2-D points" if self is DataKind.POINTS else self.value


@dataclass(frozen=True)
class DataInfo:
    """The dataset behind a model; empty fields are unknown (a Hugging Face model, an old file)."""

    name: str = ""  # the dataset's own name: "shapes", or a file's or folder's name
    kind: DataKind | None = None
    source: str = ""  # the name or path the user gave, which loads it again
    train_size: int = 0
    val_size: int = 0
    shape: tuple[int, ...] = ()  # one item's shape: (C, H, W) or (2,); () for text
    normalisation: str = ""

    @property
    def spec(self) -> str:
        """What to give ``load_dataset`` for this data again ("" when the file does not say)."""
        return self.source or self.name

    def to_json(self) -> dict[str, Any]:
        """The known fields, as stored in a checkpoint's ``data`` metadata."""
        out: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value not in ("", 0, (), None):
                out[item.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_json(cls, value: Any) -> DataInfo:
        """Read a checkpoint's ``data`` metadata; keys genplay does not know are ignored.

        Raises ValueError, saying what is wrong, for anything but an object of valid fields."""
        if not isinstance(value, dict):
            raise ValueError("'data' metadata that is not a JSON object")
        known: dict[str, Any] = {}
        for item in fields(cls):
            if item.name not in value:
                continue
            raw = value[item.name]
            if item.name == "shape":
                ok = isinstance(raw, list) and all(isinstance(n, int) and n > 0 for n in raw)
                raw = tuple(raw) if ok else None
            elif item.name == "kind":
                ok = isinstance(raw, str) and raw in {kind.value for kind in DataKind}
                raw = DataKind(raw) if ok else None
            elif item.name.endswith("_size"):
                ok = isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0
            else:
                ok = isinstance(raw, str)
            if not ok:
                raise ValueError(f"'data' metadata whose '{item.name}' is not valid")
            known[item.name] = raw
        return cls(**known)
