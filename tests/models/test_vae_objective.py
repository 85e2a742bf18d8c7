"""Free bits and KL warm-up change the VAE's loss exactly as their formulas say.

free bits:  loss = recon + β · Σ_i max(λ, KL_i)
warm-up:    β_t = β · min(1, t / N)
"""

from __future__ import annotations

import pytest
import torch

from app.engine.setup import build_configs, create_task
from app.engine.tasks.vae_task import VAEHparams
from models.vae import VAE, VAEConfig

CONFIG = VAEConfig(input_shape=(1, 8, 8), latent_dim=4, hidden_dims=(16,))


@pytest.fixture
def batch():
    generator = torch.Generator().manual_seed(0)
    x = (torch.rand(12, 1, 8, 8, generator=generator) > 0.5).float()
    eps = torch.randn(12, 4, generator=generator)
    torch.manual_seed(0)
    return VAE(CONFIG), x, eps


def test_free_bits_floor_each_dimensions_kl(batch):
    model, x, eps = batch
    plain = model.loss(x, beta=1.0, eps=eps)
    kl_i = plain.kl_per_dim.detach()
    # a floor between the smallest and largest KL_i: some dimensions are lifted, some are not
    lam = kl_i.sort().values[1:3].mean().item()
    assert (kl_i < lam).any() and (kl_i > lam).any()
    for beta in (1.0, 2.5):
        floored = model.loss(x, beta=beta, free_bits=lam, eps=eps)
        expected = plain.reconstruction + beta * torch.clamp(kl_i, min=lam).sum()
        assert floored.total.item() == pytest.approx(expected.item(), rel=1e-6)
        # the reported KL is never floored
        assert floored.kl.item() == pytest.approx(plain.kl.item(), rel=1e-6)
    no_floor = model.loss(x, beta=2.5, free_bits=0.0, eps=eps)
    assert no_floor.total.item() == pytest.approx((plain.reconstruction + 2.5 * plain.kl).item(), rel=1e-6)


def test_dimensions_below_the_floor_get_no_kl_gradient(batch):
    """Under the floor max(λ, KL_i) = λ is constant: only the reconstruction pulls on them."""
    model, x, eps = batch
    lam = 1e3  # above every KL_i
    floored = model.loss(x, beta=1.0, free_bits=lam, eps=eps)
    assert floored.total.item() == pytest.approx((floored.reconstruction + 4 * lam).item(), rel=1e-6)
    grads_floored = torch.autograd.grad(floored.total, list(model.parameters()))
    recon_only = model.loss(x, beta=0.0, eps=eps).total
    grads_recon = torch.autograd.grad(recon_only, list(model.parameters()))
    for g_floor, g_recon in zip(grads_floored, grads_recon, strict=True):
        torch.testing.assert_close(g_floor, g_recon)


def test_warmup_ramps_beta_linearly_from_zero():
    hparams = VAEHparams(beta=4.0, kl_warmup_steps=100)
    assert [hparams.beta_at(t) for t in (0, 25, 50, 100, 1000)] == [0.0, 1.0, 2.0, 4.0, 4.0]
    assert VAEHparams(beta=3.0, kl_warmup_steps=0).beta_at(0) == 3.0


def test_train_step_minimises_recon_plus_warmed_up_beta_times_floored_kl(small_shapes):
    model_config, hparams, train = build_configs(
        "vae", small_shapes,
        {"latent_dim": 3, "hidden_dims": [32], "batch_size": 16, "beta": 2.0, "kl_warmup_steps": 10},
    )  # fmt: skip
    task = create_task("vae", small_shapes, model_config, hparams, train)
    batches = task.make_batches(0)
    for step in (0, 5, 10, 20):
        metrics = task.train_step(batches.next, step)
        beta = 2.0 * min(1.0, step / 10)
        assert metrics["beta"] == pytest.approx(beta)
        assert metrics["objective"] == pytest.approx(metrics["recon"] + beta * metrics["kl"], rel=1e-5)
        assert metrics["loss"] == pytest.approx(metrics["recon"] + metrics["kl"], rel=1e-6)
    task.set_hparams(free_bits=50.0)  # above every KL_i: the floored KL is 3 · λ
    metrics = task.train_step(batches.next, 30)
    assert metrics["objective"] == pytest.approx(metrics["recon"] + 2.0 * 3 * 50.0, rel=1e-5)
    assert metrics["kl"] < 50.0
