"""Naming the kind of a dataset spec without loading it: the pages warn before a run starts."""

from __future__ import annotations

import numpy as np

from app.engine.data.kinds import guess_data_kind


def test_built_in_names_and_files_are_told_apart_without_loading(tmp_path):
    assert guess_data_kind("8gaussians") == "points"
    assert guess_data_kind(" shapes ") == "images"
    assert guess_data_kind("python-docs") == "text"
    text = tmp_path / "corpus.txt"
    text.write_text("hello", encoding="utf-8")
    assert guess_data_kind(str(text)) == "text"
    points, images = tmp_path / "points.npy", tmp_path / "images.npy"
    np.save(points, np.zeros((10, 2), np.float32))
    np.save(images, np.zeros((4, 8, 8), np.float32))
    assert guess_data_kind(str(points)) == "points"
    assert guess_data_kind(str(images)) == "images"
    assert guess_data_kind(str(tmp_path)) == "images"  # a folder: IDX files or pictures


def test_what_cannot_be_told_is_none(tmp_path):
    broken = tmp_path / "broken.npy"
    broken.write_bytes(b"not an array")
    assert guess_data_kind(str(broken)) is None
    assert guess_data_kind(str(tmp_path / "missing.txt")) is None
    assert guess_data_kind("no-such-dataset") is None
