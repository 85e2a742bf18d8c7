"""Inference for the VAE views: a model of their own, refreshed from snapshots, own RNG."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from app.engine.events import ModelSnapshot
from app.engine.labelled_grid import labelled_grid_image, save_labelled_grid
from app.engine.setup import build_configs, create_task
from app.engine.tasks.vae_task import KL_EXAMPLES, RECON_EXAMPLES
from app.engine.vae_inference import (
    DatasetEncoding,
    SnapshotVAE,
    estimate_elbo,
    reconstructions_and_kl,
    reparameterization_step,
)
from models.vae import VAE, VAEConfig

CONFIG = VAEConfig(input_shape=(1, 8, 8), latent_dim=3, hidden_dims=(16,))


def snapshot_of(model: VAE, step: int = 0) -> ModelSnapshot:
    tensors = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return ModelSnapshot("vae", model.config, tensors, step)


@pytest.fixture
def model():
    torch.manual_seed(0)
    return VAE(CONFIG).eval()


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


def test_reparameterization_step_separates_what_is_learned_from_what_is_random(model):
    vae = SnapshotVAE()
    vae.update(snapshot_of(model))
    x = torch.rand(1, 8, 8).round()
    eps_a, eps_b = torch.tensor([1.0, -0.5, 2.0]), torch.tensor([-1.0, 0.3, 0.0])
    a = reparameterization_step(vae, x, eps_a)
    b = reparameterization_step(vae, x, eps_b)
    np.testing.assert_allclose(a.z, a.mu + a.sigma * eps_a.numpy(), rtol=1e-6)
    with torch.no_grad():
        mu, logvar = model.encode(x[None])
    np.testing.assert_allclose(a.mu, mu[0].detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(a.sigma, torch.exp(0.5 * logvar[0]).detach().numpy(), rtol=1e-6)
    kl = 0.5 * (a.mu**2 + a.sigma**2 - np.log(a.sigma**2) - 1)
    np.testing.assert_allclose(a.kl_per_dim, kl, rtol=1e-4, atol=1e-6)
    with torch.no_grad():
        logits = model.decode_logits(torch.from_numpy(a.z)[None])
        nll = float(model.reconstruction_nll(x[None], logits)[0])
    assert a.reconstruction == pytest.approx(nll, rel=1e-5)
    assert a.elbo == pytest.approx(-a.reconstruction - a.kl)
    # new ε: the same μ, σ and KL; another z, image and reconstruction term
    np.testing.assert_array_equal(a.mu, b.mu)
    np.testing.assert_array_equal(a.kl_per_dim, b.kl_per_dim)
    assert not np.allclose(a.z, b.z) and a.reconstruction != b.reconstruction


def test_gui_randomness_never_touches_the_global_rng(model):
    vae = SnapshotVAE()
    vae.update(snapshot_of(model))
    x = torch.rand(10, 1, 8, 8)
    state = torch.get_rng_state()
    generator = torch.Generator().manual_seed(7)
    vae.draw_prior(generator, 4)
    estimate_elbo(vae, x, generator)
    reparameterization_step(vae, x[0], torch.randn(3, generator=generator))
    assert torch.equal(torch.get_rng_state(), state)


def test_estimate_elbo_is_the_models_own_loss(model):
    vae = SnapshotVAE()
    vae.update(snapshot_of(model))
    x = torch.rand(20, 1, 8, 8).round()
    estimate = estimate_elbo(vae, x, torch.Generator().manual_seed(3), chunk=8)
    generator = torch.Generator().manual_seed(3)
    recon = kl = 0.0
    for part in (x[:8], x[8:16], x[16:]):
        eps = torch.randn(len(part), 3, generator=generator)
        with torch.no_grad():
            terms = model.loss(part, eps=eps)
        recon += float(terms.reconstruction) * len(part)
        kl += float(terms.kl) * len(part)
    assert estimate.count == 20
    assert estimate.reconstruction == pytest.approx(recon / 20, rel=1e-5)
    assert estimate.kl == pytest.approx(kl / 20, rel=1e-5)
    assert estimate.kl_per_dim.sum() == pytest.approx(estimate.kl, rel=1e-5)
    assert estimate.elbo == pytest.approx(-(recon + kl) / 20, rel=1e-5)


def test_snapshot_visuals_equal_the_tasks_visuals(small_shapes):
    """An opened checkpoint shows the same reconstructions and KL bars as a live run would."""
    model_config, hparams, train = build_configs(
        "vae", small_shapes, {"latent_dim": 4, "hidden_dims": [32], "batch_size": 16}
    )
    task = create_task("vae", small_shapes, model_config, hparams, train)
    vae = SnapshotVAE()
    vae.update(task.snapshot(0))
    ours = reconstructions_and_kl(vae, small_shapes.val, RECON_EXAMPLES, KL_EXAMPLES)
    theirs = task.visuals()
    for key in ("inputs", "reconstructions", "kl_per_dim"):
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-5, atol=1e-6)


def test_labelled_grid_png_has_room_for_labels(tmp_path):
    images = np.random.default_rng(0).random((6, 1, 10, 10)).astype(np.float32)
    plain = labelled_grid_image(images, 3, scale=2)
    assert plain.size == ((3 * 12 + 2) * 2, (2 * 12 + 2) * 2)
    path = save_labelled_grid(
        tmp_path / "grid.png", images, 3, row_labels=["z0 · KL 1.00", "z7"],
        column_labels=["−1.0", "+0.0", "+1.0"], title="traversal",
    )  # fmt: skip
    with Image.open(path) as saved:
        assert saved.width > plain.width and saved.height > plain.height
        assert saved.mode == "RGB"


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
