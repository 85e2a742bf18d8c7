"""What a checkpoint stores of its data: written and read back, lenient to unknown keys, strict on types."""

from __future__ import annotations

import pytest

from app.engine.data import load_toy
from app.engine.data.info import DataInfo, DataKind


def test_a_bundle_describes_itself_and_the_description_survives_json():
    info = load_toy("8gaussians", seed=0).describe()
    assert (info.name, info.kind, info.shape, info.spec) == ("8gaussians", "points", (2,), "8gaussians")
    assert info.train_size > 0 and info.val_size > 0
    assert info.to_json()["kind"] == "points"
    read_back = DataInfo.from_json(info.to_json())
    assert read_back == info and read_back.kind is DataKind.POINTS


def test_empty_fields_are_not_written_and_a_spec_falls_back_to_the_name():
    assert DataInfo().to_json() == {}
    assert DataInfo(name="shapes").to_json() == {"name": "shapes"}
    assert DataInfo(name="shapes").spec == "shapes"
    assert DataInfo(name="corpus", source="/home/me/corpus.txt").spec == "/home/me/corpus.txt"


def test_keys_genplay_does_not_know_are_ignored():
    assert DataInfo.from_json({"name": "mnist", "licence": "CC BY-SA"}) == DataInfo(name="mnist")


WRONG = [
    [1, 2],
    {"name": 3},
    {"kind": "video"},
    {"shape": [1, -2, 2]},
    {"shape": "2x2"},
    {"train_size": True},
    {"val_size": -1},
]


@pytest.mark.parametrize("bad", WRONG)
def test_wrong_types_are_refused_with_the_field_named(bad):
    with pytest.raises(ValueError, match="'data' metadata"):
        DataInfo.from_json(bad)
