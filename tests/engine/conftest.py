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


@pytest.fixture(scope="session")
def history_files(tmp_path_factory):
    """Tiny checkpoints of each family trained 20 steps (images 4), with their history (read-only)."""
    from tests.engine.history.checkpoints import saved

    folder = tmp_path_factory.mktemp("history")
    files = {kind: saved(kind, folder, steps=20) for kind in ("gpt", "vae", "wgan")}
    return {**files, "wgan-images": saved("wgan-images", folder, steps=4)}
