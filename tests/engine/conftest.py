"""Engine test fixtures."""

from __future__ import annotations

import dataclasses

import pytest

from app.engine import data as data_module


@pytest.fixture
def small_shapes_builtin(monkeypatch):
    """The built-in "shapes" dataset, small: CLI runs load it by name."""
    small = dataclasses.replace(
        data_module.BUILTIN_DATASETS["shapes"], load=lambda seed: data_module.load_shapes(seed, count=400)
    )
    monkeypatch.setitem(data_module.BUILTIN_DATASETS, "shapes", small)
