"""Engine test fixtures."""

from __future__ import annotations

import pytest

from app.engine import data as data_module


@pytest.fixture
def small_shapes_builtin(monkeypatch):
    """The built-in "shapes" dataset, small: CLI runs load it by name."""
    small = data_module.BuiltinDataset("images", lambda seed: data_module.load_shapes(seed, count=400), "")
    monkeypatch.setitem(data_module.BUILTIN_DATASETS, "shapes", small)
