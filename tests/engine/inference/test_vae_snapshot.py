"""The VAE views' own model: built once per config, refreshed from snapshots, loaded on use."""

from __future__ import annotations

import numpy as np
import torch

from app.engine.inference.vae_snapshot import DatasetEncoding, SnapshotVAE
from models.vae import VAE, VAEConfig
from tests.engine.inference.vae_models import snapshot_of


def test_snapshot_vae_builds_once_per_config_and_reloads_weights(model):
    vae = SnapshotVAE()
    assert vae.update(snapshot_of(model, 1)) is True
    built = vae.model
    z = np.array([[0.5, -1.0, 2.0]], np.float32)
    first = vae.decode(z)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1)
    assert vae.update(snapshot_of(model, 2)) is False
    assert vae.model is built and vae.step == 2  # the same module, new weights
    second = vae.decode(z)
    assert not np.allclose(first, second)
    np.testing.assert_allclose(second, model.decode(torch.from_numpy(z)).detach().numpy(), atol=1e-6)
    other = VAE(VAEConfig(input_shape=(1, 8, 8), latent_dim=5, hidden_dims=(16,)))
    assert vae.update(snapshot_of(other)) is True and vae.latent_dim == 5
    assert vae.update(None) is True and not vae.ready


def test_snapshot_vae_copies_the_weights(model):
    snapshot = snapshot_of(model)
    vae = SnapshotVAE()
    vae.update(snapshot)
    z = np.zeros((1, 3), np.float32)
    before = vae.decode(z)
    for tensor in snapshot.tensors.values():
        tensor.add_(1.0)  # the worker's copy changing must not reach the views' model
    np.testing.assert_array_equal(vae.decode(z), before)


def test_encode_in_chunks_matches_the_model(model):
    vae = SnapshotVAE()
    vae.update(snapshot_of(model))
    x = torch.rand(70, 1, 8, 8)
    mu, logvar = vae.encode(x, chunk=16)
    ref_mu, ref_logvar = model.encode(x)
    np.testing.assert_allclose(mu, ref_mu.detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(logvar, ref_logvar.detach().numpy(), atol=1e-6)
    job = DatasetEncoding(vae, x, chunk=16)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5)
    vae.update(snapshot_of(model))  # new weights arrive while the job runs
    assert job.advance(0.0) is False and job.position == 16  # one chunk per zero budget
    job_mu, _ = job.result()
    assert job.done and job.progress == 1.0
    np.testing.assert_allclose(job_mu, mu, atol=1e-6)  # the whole map from the weights it began with


def test_snapshot_weights_are_copied_in_only_when_a_view_uses_them(model, monkeypatch):
    vae = SnapshotVAE()
    vae.update(snapshot_of(model, 1))
    loads = []
    original = VAE.load_state_dict

    def counted_load(self, *args, **kwargs):
        loads.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(VAE, "load_state_dict", counted_load)
    for step in range(2, 12):  # snapshots while the visible tab needs no model: no copies
        vae.update(snapshot_of(model, step))
    assert loads == [] and vae.step == 11
    z = np.zeros((1, 3), np.float32)
    np.testing.assert_allclose(vae.decode(z), model.decode(torch.from_numpy(z)).detach().numpy(), atol=1e-6)
    vae.decode(z)
    assert loads == [1]  # the newest weights, copied in once
