"""Shared test setup: Qt offscreen, a private GENPLAY_HOME, few threads, small data."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)  # two CI cores: one for torch, one for Qt and Python


@pytest.fixture(autouse=True)
def genplay_home(tmp_path_factory, monkeypatch):
    """Every test gets its own cache/data folders; nothing touches the real user folders."""
    home = tmp_path_factory.mktemp("genplay-home")
    monkeypatch.setenv("GENPLAY_HOME", str(home))
    return home


@pytest.fixture
def small_shapes():
    """A small shapes dataset (fast to render) as a DataBundle."""
    from app.engine.data import load_shapes

    return load_shapes(seed=0, count=600, size=32)


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory):
    """(folder, reference model): a tiny random Hugging Face GPT-2, built once per test run."""
    from tests.tiny_gpt2 import make_tiny_gpt2

    folder = tmp_path_factory.mktemp("hf") / "tiny-gpt2"
    return folder, make_tiny_gpt2(folder)


@pytest.fixture(scope="session")
def history_files(tmp_path_factory):
    """Tiny checkpoints of each family trained 20 steps (images 4), with their history (read-only)."""
    from tests.engine.history.checkpoints import saved

    folder = tmp_path_factory.mktemp("history")
    files = {kind: saved(kind, folder, steps=20) for kind in ("gpt", "vae", "wgan")}
    return {**files, "wgan-images": saved("wgan-images", folder, steps=4)}
