"""Tiny trained checkpoints of each family that carry a history (shared with the UI tests)."""

from __future__ import annotations

from pathlib import Path

from app.engine.data import load_shapes
from app.engine.data.text import text_bundle
from app.engine.data.toy2d import load_toy
from app.engine.setup import build_configs, create_task
from app.engine.trainer import Trainer

TEXT = "the cat sat on the mat. the dog sat on the log.\n" * 40
SETTINGS = {
    "gpt": {"n_layer": 1, "n_head": 2, "d_model": 16, "block_size": 32, "batch_size": 8, "capture_every": 5,
            "sample_every": 10, "sample_length": 20, "val_every": 10},
    "vae": {"latent_dim": 3, "hidden_dims": [16], "batch_size": 32, "val_every": 10, "kl_warmup_steps": 10},
    "wgan": {"latent_dim": 2, "hidden_dims": [16], "batch_size": 32, "val_every": 10},
    "wgan-images": {"latent_dim": 4, "conv_channels": [4, 8], "batch_size": 8, "val_every": 0},
}  # fmt: skip


def family_data(kind: str):
    if kind == "gpt":
        return text_bundle(TEXT, "cats", "cats")
    if kind == "wgan":
        return load_toy("8gaussians")
    return load_shapes(seed=0, count=200)


def trained(kind: str, steps: int, **overrides) -> Trainer:
    """A trainer of ``kind`` (a family, or ``wgan-images``) after ``steps`` CPU steps."""
    family = "wgan" if kind.startswith("wgan") else kind
    data = family_data(kind)
    settings = {**SETTINGS[kind], "steps": steps, "device": "cpu", **overrides}
    model_config, hparams, train = build_configs(family, data, settings)
    trainer = Trainer(create_task(family, data, model_config, hparams, train))
    trainer.run()
    return trainer


def saved(kind: str, folder: Path, steps: int = 30, **overrides) -> Path:
    return trained(kind, steps, **overrides).save(folder / f"{kind}.safetensors")
