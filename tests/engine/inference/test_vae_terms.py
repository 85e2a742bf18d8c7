"""The VAE's loss terms outside training, each against a hand computation or the model's own loss."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from app.engine.inference.vae_snapshot import SnapshotVAE
from app.engine.inference.vae_terms import estimate_elbo, reconstructions_and_kl, reparameterization_step
from tests.engine.inference.vae_models import snapshot_of


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


def test_reconstructions_and_kl_by_hand(model):
    """Encoder heads fixed to μ = (1, 0, −2), σ² = (1, 4, ¼) for every image:
    KL_i = ½(μ_i² + σ_i² − log σ_i² − 1) = (½, ½(3 − log 4), ½(3.25 + log 4))."""
    with torch.no_grad():
        for head, bias in (
            (model.to_mu, [1.0, 0.0, -2.0]),
            (model.to_logvar, [0.0, math.log(4), math.log(0.25)]),
        ):
            head.weight.zero_()
            head.bias.copy_(torch.tensor(bias))
    images = torch.rand(10, 1, 8, 8)
    model.train()
    visuals = reconstructions_and_kl(model, images, recon_examples=4, kl_examples=6)
    assert model.training  # left in the mode it was in
    expected = [0.5, 0.5 * (3 - math.log(4)), 0.5 * (3.25 + math.log(4))]
    np.testing.assert_allclose(visuals.kl_per_dim, expected, rtol=1e-6)
    assert visuals.kl_per_dim.dtype == np.float64
    np.testing.assert_array_equal(visuals.inputs, images[:4].numpy())
    with torch.no_grad():
        decoded = model.eval().decode(torch.tensor([[1.0, 0.0, -2.0]]))[0].numpy()
    assert visuals.reconstructions.shape == (4, 1, 8, 8)
    for reconstruction in visuals.reconstructions:  # every image has the same μ, so the same x̂
        np.testing.assert_allclose(reconstruction, decoded, atol=1e-6)


def test_reconstructions_and_kl_average_over_the_first_kl_examples(model):
    images = torch.rand(10, 1, 8, 8)
    visuals = reconstructions_and_kl(model, images, recon_examples=3, kl_examples=5)
    with torch.no_grad():
        mu, logvar = (t.double().numpy() for t in model.encode(images[:5]))
    by_hand = 0.5 * (mu**2 + np.exp(logvar) - logvar - 1)  # (5, latent_dim)
    np.testing.assert_allclose(visuals.kl_per_dim, by_hand.mean(axis=0), rtol=1e-5, atol=1e-7)
    with torch.no_grad():
        np.testing.assert_allclose(visuals.reconstructions, model.decode(model.encode(images[:3])[0]).numpy(),
                                   atol=1e-6)  # fmt: skip
