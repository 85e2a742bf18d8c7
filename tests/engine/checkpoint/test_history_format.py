"""A run's history in its checkpoint: written by the trainer, read back exactly, validated,
continued on resume, summarised by ``genplay inspect``; a checkpoint without one still opens."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from app.engine.checkpoint import CheckpointError, read_checkpoint
from app.engine.checkpoint.history import HISTORY_KEY
from app.engine.setup import build_configs, create_task
from app.engine.trainer import Trainer
from tests.engine.history.checkpoints import family_data, trained


@pytest.fixture
def files(history_files):
    return history_files


def test_each_family_keeps_its_story_one_row_per_recorded_step(files):
    gpt = read_checkpoint(files["gpt"]).history
    assert gpt.curves["loss"].steps.tolist() == list(range(1, 21))
    assert gpt.curves["val_loss"].steps.tolist() == [10, 20]
    assert gpt.probe.steps.tolist() == [0, 5, 10, 15, 20]  # attention from step 0
    assert gpt.probe.alphas.shape == (5, 1, 2, len(gpt.probe.text), len(gpt.probe.text))
    assert [s.step for s in gpt.samples] == [10, 20] and all(len(s.text) == 20 for s in gpt.samples)
    vae = read_checkpoint(files["vae"]).history
    assert vae.kl.steps[0] == 0 and vae.kl.steps[-1] == 20 and vae.kl.values.shape[1] == 3
    wgan = read_checkpoint(files["wgan"]).history
    assert wgan.frames.samples.shape[1:] == (1000, 2) and wgan.frames.critic.shape[1:] == (50, 50)
    assert wgan.frames.steps[0] == 0 and wgan.frames.steps[-1] == 20
    images = read_checkpoint(files["wgan-images"]).history
    assert images.frames.is_image and images.frames.samples.shape[1:] == (16, 1, 32, 32)
    assert images.frames.samples.dtype == np.uint8


def test_the_history_reads_back_exactly_and_the_weights_are_untouched(tmp_path):
    trainer = trained("vae", 12)
    path = trainer.save(tmp_path / "vae.safetensors")
    opened = read_checkpoint(path)
    recorded = trainer.history.history()
    assert opened.history.curves.keys() == recorded.curves.keys()
    for name, curve in recorded.curves.items():
        assert np.array_equal(opened.history.curves[name].values, curve.values)
    assert np.array_equal(opened.history.kl.values, recorded.kl.values)
    assert not any(name.startswith("history.") for name in opened.tensors)
    stored = load_file(path)
    assert stored["history.kl.values"].shape[0] == stored["history.kl.steps"].shape[0]  # one row a record


def test_recording_the_history_does_not_change_training():
    with_history = trained("wgan", 4)
    without = trained("wgan", 4, history_mb=0.0)
    assert with_history.last_metrics == without.last_metrics
    assert without.history.history().empty


def test_a_resumed_run_continues_the_curves_and_records(files, tmp_path):
    checkpoint = read_checkpoint(files["vae"])
    data = family_data("vae")
    settings = {"steps": 30, "device": "cpu", "latent_dim": 3, "hidden_dims": [16], "batch_size": 32}
    model_config, hparams, train = build_configs("vae", data, settings)
    trainer = Trainer(create_task("vae", data, model_config, hparams, train))
    assert trainer.restore(checkpoint)
    trainer.run()
    history = read_checkpoint(trainer.save(tmp_path / "more.safetensors")).history
    assert history.curves["loss"].steps.tolist() == list(range(1, 31))
    assert history.kl.steps[0] == 0 and history.kl.steps[-1] == 30
    assert history.curves["val_loss"].steps.tolist() == [10, 20, 30]  # the first session's, then this one's


def test_a_checkpoint_without_history_still_opens(files, tmp_path):
    tensors = {k: v for k, v in load_file(files["vae"]).items() if not k.startswith("history.")}
    metadata = {k: v for k, v in read_metadata(files["vae"]).items() if k != HISTORY_KEY}
    save_file(tensors, tmp_path / "old.safetensors", metadata=metadata)
    assert read_checkpoint(tmp_path / "old.safetensors").history is None


def read_metadata(path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as handle:
        return handle.metadata()


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda t, m: t.update({"history.kl.values": t["history.kl.values"][:-1]}), "rows"),
        (lambda t, m: t.update({"history.curve.loss": t["history.curve.loss"].flip(0)}), "increasing"),
        (lambda t, m: t.update({"history.extra": torch.ones(2)}), "unexpected history tensor"),
        (lambda t, m: t.update({"history.kl.values": t["history.kl.values"] * float("nan")}), "NaN"),
        (lambda t, m: m.update({HISTORY_KEY: "{"}), "not valid JSON"),
        (lambda t, m: m.update({HISTORY_KEY: json.dumps({"version": 1, "curves": ["a b"]})}), "curve names"),
    ],
)
def test_a_damaged_history_is_refused_with_one_sentence(files, tmp_path, change, says):
    tensors, metadata = load_file(files["vae"]), read_metadata(files["vae"])
    change(tensors, metadata)
    save_file(tensors, tmp_path / "bad.safetensors", metadata=metadata)
    with pytest.raises(CheckpointError, match=says):
        read_checkpoint(tmp_path / "bad.safetensors")
