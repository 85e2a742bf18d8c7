"""VAE model: shapes, and loss terms equal to hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from models.config_fields import config_from_dict
from models.vae import VAE, VAEConfig


@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_shapes_through_encode_reparameterize_decode(arch):
    config = VAEConfig(input_shape=(1, 28, 28), latent_dim=5, arch=arch)
    model = VAE(config)
    x = torch.rand(3, 1, 28, 28)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (3, 5)
    z = model.reparameterize(mu, logvar)
    assert z.shape == (3, 5)
    image = model.decode(z)
    assert image.shape == (3, 1, 28, 28)
    assert image.min().item() >= 0.0 and image.max().item() <= 1.0


def test_default_is_the_classic_784_400_20_mlp():
    model = VAE(VAEConfig())
    assert model.encoder[1][0].weight.shape == (400, 784)
    assert model.to_mu.weight.shape == (20, 400)


def test_reparameterize_is_mu_plus_sigma_times_eps():
    mu = torch.tensor([[1.0, -2.0]])
    logvar = torch.tensor([[math.log(4.0), 0.0]])
    eps = torch.tensor([[0.5, -1.0]])
    z = VAE.reparameterize(mu, logvar, eps)
    assert torch.allclose(z, torch.tensor([[1.0 + 2.0 * 0.5, -2.0 - 1.0]]))


def test_kl_is_zero_for_the_prior():
    kl = VAE.kl_per_example_and_dim(torch.zeros(4, 3), torch.zeros(4, 3))
    assert torch.equal(kl, torch.zeros(4, 3))


def test_kl_matches_closed_form():
    mu, logvar = torch.tensor([[1.0]]), torch.tensor([[math.log(0.25)]])
    expected = 0.5 * (1.0 + 0.25 - math.log(0.25) - 1.0)
    assert VAE.kl_per_example_and_dim(mu, logvar).item() == pytest.approx(expected)


def _tiny(likelihood: str) -> VAE:
    torch.manual_seed(0)
    return VAE(VAEConfig(input_shape=(1, 2, 2), latent_dim=2, hidden_dims=(3,), likelihood=likelihood))


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian", "laplace"])
def test_loss_terms_equal_hand_computation(likelihood):
    model = _tiny(likelihood)
    x = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]], [[[0.0, 1.0], [1.0, 1.0]]]])
    eps = torch.tensor([[0.3, -0.7], [1.1, 0.2]])
    terms = model.loss(x, beta=2.0, eps=eps)

    mu, logvar = model.encode(x)
    z = mu + torch.exp(0.5 * logvar) * eps
    out = model.decode_logits(z)
    if likelihood == "bernoulli":
        p = torch.sigmoid(out)
        nll = -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(dim=(1, 2, 3))
    elif likelihood == "gaussian":
        nll = (0.5 * (x - out) ** 2 + 0.5 * math.log(2 * math.pi)).sum(dim=(1, 2, 3))
    else:  # Laplace with b = 1
        nll = ((x - out).abs() + math.log(2.0)).sum(dim=(1, 2, 3))
    kl_dims = (0.5 * (mu**2 + logvar.exp() - logvar - 1)).mean(dim=0)
    assert terms.reconstruction.item() == pytest.approx(nll.mean().item(), rel=1e-5)
    assert torch.allclose(terms.kl_per_dim, kl_dims, atol=1e-6)
    assert terms.kl.item() == pytest.approx(kl_dims.sum().item(), rel=1e-5)
    assert terms.total.item() == pytest.approx(nll.mean().item() + 2.0 * kl_dims.sum().item(), rel=1e-5)


def test_laplace_nll_of_a_two_pixel_image_by_hand():
    model = VAE(VAEConfig(input_shape=(1, 2, 2), latent_dim=1, hidden_dims=(2,), likelihood="laplace"))
    x = torch.tensor([[[[1.0, 0.0]]]])  # one 1 × 2 image: the NLL only sums over pixels
    out = torch.tensor([[[[0.75, 0.5]]]])  # b = 1: |1 − ¾| + |0 − ½| + 2·log 2 = 0.75 + 1.386294…
    assert model.reconstruction_nll(x, out).item() == pytest.approx(0.75 + 2 * math.log(2.0), rel=1e-6)
    assert torch.equal(model.decode_logits(torch.zeros(1, 1)).clamp(0, 1), model.decode(torch.zeros(1, 1)))


def test_free_bits_floor_each_dimension():
    model = _tiny("bernoulli")
    x = torch.rand(4, 1, 2, 2).round()
    eps = torch.zeros(4, 2)
    plain = model.loss(x, beta=1.0, eps=eps)
    floored = model.loss(x, beta=1.0, free_bits=5.0, eps=eps)
    expected = plain.reconstruction + plain.kl_per_dim.clamp(min=5.0).sum()
    assert floored.total.item() == pytest.approx(expected.item(), rel=1e-6)
    assert floored.kl.item() == pytest.approx(plain.kl.item())  # the reported KL is never floored


def test_bce_agrees_with_torch():
    model = _tiny("bernoulli")
    x = torch.rand(2, 1, 2, 2)
    out = torch.randn(2, 1, 2, 2)
    expected = F.binary_cross_entropy_with_logits(out, x, reduction="sum") / 2
    assert model.reconstruction_nll(x, out).mean().item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize(
    "bad",
    [
        {"latent_dim": 10**8},
        {"latent_dim": 0},
        {"hidden_dims": [10**9]},
        {"input_shape": [1, 28, 27], "arch": "conv"},
    ],
)
def test_config_validation_refuses_absurd_values(bad):
    with pytest.raises(ValueError):
        config_from_dict(VAEConfig, bad)


def test_config_type_errors_are_readable():
    with pytest.raises(ValueError, match="latent_dim"):
        config_from_dict(VAEConfig, {"latent_dim": "twenty"})
    with pytest.raises(ValueError, match="unknown"):
        config_from_dict(VAEConfig, {"flux_capacitor": 1})
