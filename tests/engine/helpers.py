"""Small builders shared by the engine tests."""

from __future__ import annotations

from app.engine.data import load_shapes
from app.engine.setup import build_configs, create_task
from app.engine.trainer import Trainer

# `genplay train vae` arguments for a tiny, quick model
SMALL_VAE_ARGS = ["--set", "latent_dim=3", "--set", "hidden_dims=16", "--batch-size", "32", "--quiet"]


def small_vae_task(steps: int = 20, seed: int = 0, **overrides):
    data = load_shapes(seed=seed, count=600)
    settings = {"steps": steps, "batch_size": 32, "val_every": 0, "seed": seed, "device": "cpu",
                "latent_dim": 4, "hidden_dims": [32], **overrides}  # fmt: skip
    model_config, hparams, train = build_configs("vae", data, settings)
    return create_task("vae", data, model_config, hparams, train)


def small_vae_trainer(steps: int = 20, sink=None, **kwargs):
    trainer_keys = {"control", "checkpoint_path", "metrics_path", "snapshot_interval", "visuals_interval"}
    trainer_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in trainer_keys}
    task = small_vae_task(steps, **kwargs)
    return Trainer(task, sink=sink, **trainer_kwargs)


class EventLog(list):
    def __call__(self, event):
        self.append(event)

    def of(self, kind):
        return [e for e in self if isinstance(e, kind)]
