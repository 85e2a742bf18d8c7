"""Checkpoints: round trip, exact resume, atomic saves, and refusal of bad files."""

from __future__ import annotations

import errno
import json
import os
import struct

import pytest
import torch
from safetensors.torch import save as st_save

from app.engine.checkpoint import CheckpointError, read_checkpoint, save_checkpoint
from app.engine.checkpoint.format import checkpoint_bytes
from app.engine.setup import create_task
from app.engine.trainer import Trainer
from tests.engine.helpers import small_vae_task, small_vae_trainer


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_round_trip_rebuilds_the_model(tmp_path):
    trainer = small_vae_trainer(steps=5, val_every=5)
    trainer.run()
    path = trainer.save(tmp_path / "vae.safetensors")
    ckpt = read_checkpoint(path)
    assert ckpt.family == "vae" and ckpt.step == 5
    assert ckpt.config == trainer.task.model_config
    assert "val_loss" in ckpt.metrics and ckpt.data.name == "shapes"
    assert ckpt.train["hparams"]["beta"] == 1.0
    model = ckpt.build_model()
    for key, value in trainer.task.model.state_dict().items():
        assert torch.equal(model.state_dict()[key], value)


def test_file_opens_with_plain_safetensors(tmp_path):
    from safetensors import safe_open

    trainer = small_vae_trainer(steps=1)
    trainer.run()
    path = trainer.save(tmp_path / "vae.safetensors")
    with safe_open(str(path), framework="pt") as handle:
        meta = handle.metadata()
        assert meta["genplay.format"] == "1" and meta["family"] == "vae"
        assert json.loads(meta["config"])["latent_dim"] == 4
        assert "to_mu.weight" in handle.keys()


def test_exact_resume_matches_a_straight_run(tmp_path):
    straight = small_vae_trainer(steps=12, seed=7)
    straight.run()

    first = small_vae_trainer(steps=12, seed=7)
    first.run(until=6)
    path = first.save(tmp_path / "half.safetensors")
    ckpt = read_checkpoint(path)
    task = create_task("vae", first.task.data, ckpt.config, first.task.hparams, first.task.train_config)
    resumed = Trainer(task)
    assert resumed.restore(ckpt) is True
    assert resumed.step == 6
    resumed.run()
    for key, value in straight.task.model.state_dict().items():
        assert torch.equal(resumed.task.model.state_dict()[key], value), key


def test_periodic_checkpoints_and_sidecar_cleanup(tmp_path):
    path = tmp_path / "run.safetensors"
    trainer = small_vae_trainer(steps=9, checkpoint_every=3, checkpoint_path=path)
    trainer.run()
    assert read_checkpoint(path).step == 9
    sidecars = list(tmp_path.glob("run.state-*.safetensors"))
    assert len(sidecars) == 1 and read_checkpoint(path).state_file == sidecars[0].name
    assert not list(tmp_path.glob("*.tmp"))


def test_save_into_a_read_only_folder_keeps_the_previous_file(tmp_path, monkeypatch):
    trainer = small_vae_trainer(steps=2)
    trainer.run()
    path = trainer.save(tmp_path / "keep.safetensors")
    original = path.read_bytes()
    trainer.run(until=None)

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr("tempfile.mkstemp", refuse)
    # the sidecar is written first, but the message names the file the user asked for
    with pytest.raises(CheckpointError, match=r"^Could not save keep\.safetensors: the folder is read-only"):
        trainer.save(path)
    assert path.read_bytes() == original


def test_full_disk_during_write_keeps_the_previous_file(tmp_path, monkeypatch):
    trainer = small_vae_trainer(steps=2)
    trainer.run()
    path = trainer.save(tmp_path / "keep.safetensors")
    original = path.read_bytes()

    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(CheckpointError, match=r"^Could not save keep\.safetensors: the disk is full"):
        trainer.save(path)
    assert path.read_bytes() == original
    assert read_checkpoint(path).step == 2
    assert not list(tmp_path.glob("*.tmp"))


# --- bad files ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def good_bytes():
    task = small_vae_task(steps=1)
    return checkpoint_bytes(
        family="vae", config=task.model_config, tensors=task.model_tensors(), step=3, metrics={"loss": 1.0}
    )


def _with_header(good: bytes, edit) -> bytes:
    (n,) = struct.unpack("<Q", good[:8])
    header = json.loads(good[8 : 8 + n])
    edit(header)
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + good[8 + n :]


def _meta(key, value):
    def edit(header):
        if value is None:
            header["__metadata__"].pop(key)
        else:
            header["__metadata__"][key] = value

    return edit


def _first_tensor(field, value):
    def edit(header):
        name = sorted(k for k in header if k != "__metadata__")[0]
        header[name][field] = value

    return edit


BAD_CASES = {
    "empty": (lambda g: b"", "too short"),
    "truncated header": (lambda g: g[:20], "truncated"),
    "truncated data": (lambda g: g[: len(g) - 100], "truncated or corrupt"),
    "huge header length": (lambda g: struct.pack("<Q", 10**12) + g[8:], "100 MB"),
    "non-utf8 header": (lambda g: struct.pack("<Q", 4) + b"\xff\xfe\xfd\xfc" + b"\0" * 8, "UTF-8"),
    "invalid json": (lambda g: struct.pack("<Q", 5) + b"{oops" + b"\0" * 8, "not valid JSON"),
    "pickle": (lambda g: b"\x80\x04\x95" + b"\0" * 64, "pickle"),
    "zip": (lambda g: b"PK\x03\x04" + b"\0" * 64, "zip"),
    "no format": (lambda g: _with_header(g, _meta("genplay.format", None)), "not a genplay checkpoint"),
    "future format": (lambda g: _with_header(g, _meta("genplay.format", "7")), "newer genplay"),
    "unknown family": (lambda g: _with_header(g, _meta("family", "diffusion")), "unknown family"),
    "bad config json": (lambda g: _with_header(g, _meta("config", "{")), "not valid JSON"),
    "absurd config": (
        lambda g: _with_header(g, _meta("config", json.dumps({"latent_dim": 10**8}))),
        "latent_dim",
    ),
    "wrong dtype": (lambda g: _with_header(g, _first_tensor("dtype", "F16")), "corrupt|stored as"),
    "int instead of float": (lambda g: _with_header(g, _first_tensor("dtype", "I32")), "stored as I32"),
    "bad offsets": (lambda g: _with_header(g, _first_tensor("data_offsets", [0, 10**9])), "outside"),
    "bad step": (lambda g: _with_header(g, _meta("step", "-4")), "invalid step"),
    "bad metrics": (lambda g: _with_header(g, _meta("metrics", '{"loss": "low"}')), "metrics"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_files_raise_one_readable_checkpoint_error(tmp_path, good_bytes, case):
    make, pattern = BAD_CASES[case]
    path = tmp_path / "bad.safetensors"
    path.write_bytes(make(good_bytes))
    with pytest.raises(CheckpointError) as info:
        read_checkpoint(path)
    message = str(info.value)
    assert "\n" not in message and len(message) < 300
    import re

    assert re.search(pattern, message), message


def test_missing_extra_and_misshapen_tensors_are_refused(tmp_path):
    task = small_vae_task(steps=1)
    tensors = dict(task.model_tensors())
    common = {"family": "vae", "config": task.model_config}
    missing = dict(tensors)
    missing.pop("to_mu.bias")
    extra = {**tensors, "sneaky": torch.zeros(2)}
    misshapen = {**tensors, "to_mu.bias": torch.zeros(99)}
    for name, bad, pattern in (("missing", missing, "missing tensor"), ("extra", extra, "unexpected"),
                               ("shape", misshapen, "has shape")):  # fmt: skip
        path = tmp_path / f"{name}.safetensors"
        save_checkpoint(path, tensors=bad, **common)
        with pytest.raises(CheckpointError, match=pattern):
            read_checkpoint(path)


def test_plain_safetensors_without_genplay_metadata_is_refused(tmp_path):
    path = tmp_path / "plain.safetensors"
    path.write_bytes(st_save({"w": torch.zeros(3)}))
    with pytest.raises(CheckpointError, match="not a genplay checkpoint"):
        read_checkpoint(path)


def test_nan_weights_are_refused(tmp_path):
    task = small_vae_task(steps=1)
    tensors = dict(task.model_tensors())
    tensors["to_mu.bias"] = torch.full_like(tensors["to_mu.bias"], float("nan"))
    path = save_checkpoint(
        tmp_path / "nan.safetensors", family="vae", config=task.model_config, tensors=tensors
    )
    with pytest.raises(CheckpointError, match="NaN"):
        read_checkpoint(path)


def test_saving_into_a_missing_folder_names_the_checkpoint_not_its_sidecar(tmp_path):
    trainer = small_vae_trainer(steps=1)
    trainer.run()
    missing = tmp_path / "nowhere"
    with pytest.raises(CheckpointError) as caught:
        trainer.save(missing / "x.safetensors")
    assert str(caught.value) == f"Cannot save x.safetensors: the folder {missing} does not exist."


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        read_checkpoint(tmp_path / "nope.safetensors")
    with pytest.raises(CheckpointError, match="folder"):
        read_checkpoint(tmp_path)


def test_saved_files_are_ordinary_documents_not_private_temp_files(tmp_path):
    trainer = small_vae_trainer(steps=1)
    trainer.run()
    path = trainer.save(tmp_path / "mode.safetensors")
    assert path.stat().st_mode & 0o777 == 0o644
    path.chmod(0o640)
    trainer.save(path)
    assert path.stat().st_mode & 0o777 == 0o640  # an existing file keeps its permissions


def test_reading_maps_the_file_instead_of_reading_it_whole(tmp_path, monkeypatch):
    from pathlib import Path

    path = tmp_path / "model.safetensors"
    small_vae_trainer(steps=2).save(path)

    def no_whole_reads(self):
        raise AssertionError(f"{self.name} was read whole into memory")

    monkeypatch.setattr(Path, "read_bytes", no_whole_reads)
    checkpoint = read_checkpoint(path)
    assert checkpoint.family == "vae" and checkpoint.step == 0
    assert checkpoint.build_model() is not None
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")  # an empty file cannot be mapped: still one sentence
    with pytest.raises(CheckpointError, match="too short"):
        read_checkpoint(empty)
