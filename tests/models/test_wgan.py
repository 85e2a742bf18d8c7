"""models/wgan.py: the losses match their formulas; the networks have the documented shapes."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from models.wgan import (
    WGAN,
    Critic,
    WGANConfig,
    critic_loss,
    generator_loss,
    gradient_penalty,
)


class LinearCritic(nn.Module):
    """D(x) = w·vec(x) + b: its gradient is w everywhere, so ‖∇D‖₂ = ‖w‖₂ at every x̂."""

    def __init__(self, weights: list[float], bias: float = 0.5) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(weights))
        self.b = nn.Parameter(torch.tensor(bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) @ self.w + self.b


def test_gradient_penalty_of_a_linear_critic_equals_the_hand_computed_value():
    critic = LinearCritic([3.0, 4.0])  # ‖w‖ = 5 → GP = (5 − 1)² = 16
    real, fake = torch.randn(7, 2), torch.randn(7, 2)
    gp = gradient_penalty(critic, real, fake, torch.rand(7))
    assert torch.allclose(gp.norms, torch.full((7,), 5.0))
    assert gp.penalty.item() == pytest.approx(16.0, rel=1e-6)
    # create_graph: the penalty is differentiable in w, d/dw (‖w‖ − 1)² = 2(‖w‖ − 1) w / ‖w‖
    gp.penalty.backward()
    assert torch.allclose(critic.w.grad, torch.tensor([4.8, 6.4]), atol=1e-5)


def test_gradient_penalty_on_images_uses_the_norm_over_all_pixels():
    weights = [0.5] * 16  # a 1×4×4 image: ‖w‖ = √(16·0.25) = 2 → GP = 1
    critic = LinearCritic(weights)
    gp = gradient_penalty(critic, torch.rand(3, 1, 4, 4), torch.rand(3, 1, 4, 4), torch.rand(3))
    assert torch.allclose(gp.norms, torch.full((3,), 2.0))
    assert gp.penalty.item() == pytest.approx(1.0, rel=1e-6)


def test_critic_loss_is_fake_minus_real_plus_lambda_gp():
    critic = LinearCritic([3.0, 4.0], bias=0.0)
    real = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # D = 3, 4 → E[D(x)] = 3.5
    fake = torch.tensor([[0.0, 0.0], [0.5, 0.5]])  # D = 0, 3.5 → E[D(G(z))] = 1.75
    terms = critic_loss(critic, real, fake, torch.rand(2), gp_lambda=10.0)
    assert terms.d_real.item() == pytest.approx(3.5)
    assert terms.d_fake.item() == pytest.approx(1.75)
    assert terms.wasserstein.item() == pytest.approx(3.5 - 1.75)
    assert terms.total.item() == pytest.approx(1.75 - 3.5 + 10.0 * 16.0)
    assert generator_loss(critic, fake).item() == pytest.approx(-1.75)


def test_critic_loss_without_lambda_only_measures_and_without_alpha_skips_the_penalty():
    critic = LinearCritic([3.0, 4.0], bias=0.0)
    real, fake = torch.randn(4, 2), torch.randn(4, 2)
    measured = critic_loss(critic, real, fake, torch.rand(4), gp_lambda=0.0)
    assert measured.penalty.item() == pytest.approx(16.0)
    assert measured.total.item() == pytest.approx((measured.d_fake - measured.d_real).item())
    skipped = critic_loss(critic, real, fake, None, gp_lambda=0.0)
    assert math.isnan(skipped.penalty.item()) and skipped.grad_norms.numel() == 0


@pytest.mark.parametrize(
    ("config", "batch_shape"),
    [
        (WGANConfig(), (5, 2)),
        (
            WGANConfig(data_shape=(1, 28, 28), latent_dim=6, arch="conv", conv_channels=(8, 16)),
            (5, 1, 28, 28),
        ),
        (
            WGANConfig(data_shape=(3, 32, 32), latent_dim=8, arch="conv", conv_channels=(4, 8, 8)),
            (5, 3, 32, 32),
        ),
        (WGANConfig(data_shape=(1, 10, 10), latent_dim=4, arch="mlp", hidden_dims=(32,)), (5, 1, 10, 10)),
        (
            WGANConfig(data_shape=(1, 32, 32), latent_dim=8, arch="conv", conv_channels=(8, 16, 32),
                       generator_upsampling="nearest", generator_batch_norm=True),
            (5, 1, 32, 32),
        ),
        (
            WGANConfig(data_shape=(1, 28, 28), latent_dim=8, arch="conv", conv_channels=(8, 16),
                       generator_upsampling="nearest"),
            (5, 1, 28, 28),
        ),
    ],
)  # fmt: skip
def test_generator_and_critic_shapes(config, batch_shape):
    model = WGAN(config)
    with torch.no_grad():
        x = model.sample(torch.randn(5, config.latent_dim))
    assert tuple(x.shape) == batch_shape
    if config.is_image:
        assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0  # a sigmoid into the pixel range
    assert tuple(model.critic(x).shape) == (5,)


def test_the_nearest_generator_upsamples_then_convolves_and_may_normalise():
    config = WGANConfig(data_shape=(1, 32, 32), latent_dim=8, arch="conv", conv_channels=(8, 16, 32),
                        generator_upsampling="nearest", generator_batch_norm=True)  # fmt: skip
    generator = WGAN(config).generator
    kinds = [type(m) for m in generator.net]
    assert kinds.count(nn.Upsample) == 3 and nn.ConvTranspose2d not in kinds
    convs = [m for m in generator.net if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(32, 16), (16, 8), (8, 4), (4, 1)]
    assert [m.num_features for m in generator.net if isinstance(m, nn.BatchNorm2d)] == [32, 16, 8, 4]
    generator.eval()  # running statistics: a sample does not depend on the rest of its batch
    z = torch.randn(6, 8)
    with torch.no_grad():
        assert torch.allclose(generator(z)[:1], generator(z[:1]), atol=1e-6)


def test_the_transposed_generator_keeps_the_names_of_older_checkpoints():
    config = WGANConfig(data_shape=(1, 32, 32), latent_dim=8, arch="conv")  # the defaults of old files
    names = [k for k in WGAN(config).generator.state_dict() if k.startswith("net.")]
    assert names == ["net.0.weight", "net.0.bias", "net.3.weight", "net.3.bias", "net.5.weight", "net.5.bias"]


def test_the_conv_critic_has_no_batch_norm():
    critic = Critic(WGANConfig(data_shape=(1, 32, 32), latent_dim=8, arch="conv"))
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in critic.modules())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"latent_dim": 100_000}, "latent_dim"),
        ({"hidden_dims": (10**6,)}, "each entry of hidden_dims"),
        ({"arch": "conv"}, "needs images"),
        ({"data_shape": (1, 30, 30), "arch": "conv"}, "divisible by 4"),
        ({"data_shape": (1, 2)}, "data_shape"),
        ({"data_shape": (9, 32, 32)}, "channels"),
    ],
)
def test_validate_refuses_absurd_configs_before_allocating(changes, message):
    config = WGANConfig(**changes)
    with pytest.raises(ValueError, match=message):
        config.validate()


def test_spectral_norm_makes_each_critic_layer_1_lipschitz():
    torch.manual_seed(0)  # power iteration converges at a rate set by the random weights
    critic = Critic(WGANConfig(hidden_dims=(64, 64), lipschitz="spectral"))
    for _ in range(100):  # power iterations run on each forward in training mode
        critic(torch.randn(8, 2))
    critic.eval()
    for layer in critic.net:
        if isinstance(layer, nn.Linear):
            sigma = torch.linalg.matrix_norm(layer.weight.detach(), ord=2)
            assert sigma.item() == pytest.approx(1.0, abs=0.02)


def test_spectral_norm_model_builds_on_the_meta_device():
    with torch.device("meta"):
        model = WGAN(WGANConfig(data_shape=(1, 32, 32), latent_dim=8, arch="conv", lipschitz="spectral"))
    names = list(model.state_dict())
    assert any(name.endswith("parametrizations.weight.original") for name in names)
    assert any(name.endswith("._u") for name in names)


def test_clip_weights_puts_every_critic_weight_in_range():
    critic = Critic(WGANConfig(lipschitz="clip"))
    critic.clip_weights(0.01)
    assert all(float(p.detach().abs().max()) <= 0.01 for p in critic.parameters())
