"""The WGAN task: the n_critic schedule, slow-motion actions, Lipschitz options, checkpoints, resume."""

from __future__ import annotations

import dataclasses
import json
import math
import struct

import numpy as np
import pytest
import torch

from app.engine.checkpoint import read_checkpoint
from app.engine.cli.commands import COMMANDS
from app.engine.cli.parser import build_parser
from app.engine.data import load_dataset
from app.engine.errors import ConfigError
from app.engine.inference.wgan_noise import fixed_noise
from app.engine.setup import build_configs, create_task
from app.engine.tasks.wgan_task import WGANTask
from app.engine.trainer import Trainer

SMALL_POINTS = {"hidden_dims": [16, 16], "batch_size": 32, "val_every": 0, "steps": 4}
SMALL_IMAGES = {"latent_dim": 8, "conv_channels": [4, 8], "batch_size": 8, "val_every": 0, "steps": 2}


def points_task(**overrides) -> WGANTask:
    data = load_dataset("8gaussians")
    model_config, hparams, train = build_configs("wgan", data, {**SMALL_POINTS, **overrides})
    return create_task("wgan", data, model_config, hparams, train)


def images_task(small_shapes, **overrides) -> WGANTask:
    model_config, hparams, train = build_configs("wgan", small_shapes, {**SMALL_IMAGES, **overrides})
    return create_task("wgan", small_shapes, model_config, hparams, train)


class Counting:
    """Wraps a task's optimisers and batch source to count updates and batches."""

    def __init__(self, task: WGANTask) -> None:
        self.task = task
        self.critic_steps = self.generator_steps = self.batches = 0
        self._wrap(task.critic_optimizer, "critic_steps")
        self._wrap(task.generator_optimizer, "generator_steps")
        self.source = task.make_batches(0)

    def _wrap(self, optimizer, counter: str) -> None:
        step = optimizer.step

        def counted(*args, **kwargs):
            setattr(self, counter, getattr(self, counter) + 1)
            return step(*args, **kwargs)

        optimizer.step = counted

    def next_batch(self):
        self.batches += 1
        return self.source.next()


def test_defaults_follow_the_wgan_gp_paper():
    train = WGANTask.default_train_config()
    hparams = WGANTask.default_hparams()
    assert WGANTask.default_dataset == "8gaussians"
    assert train.lr == 1e-4 and hparams.n_critic == 5 and hparams.gp_lambda == 10.0
    task = points_task()
    for optimizer in task.optimizers:
        assert isinstance(optimizer, torch.optim.Adam)
        assert optimizer.param_groups[0]["betas"] == (0.5, 0.9)


def test_each_training_step_makes_n_critic_critic_updates_then_one_generator_update():
    task = points_task()
    counter = Counting(task)
    for step in range(3):
        task.train_step(counter.next_batch, step)
    assert (counter.critic_steps, counter.generator_steps, counter.batches) == (15, 3, 15)
    task.set_hparams(n_critic=2)  # changed while "paused": applies from the next step
    task.train_step(counter.next_batch, 3)
    assert (counter.critic_steps, counter.generator_steps, counter.batches) == (17, 4, 17)
    assert (task.critic_updates, task.generator_updates) == (17, 4)


def test_a_step_reports_every_metric_of_the_issue():
    task = points_task()
    metrics = task.train_step(task.make_batches(0).next, 0)
    expected = {"critic_loss", "gen_loss", "wasserstein", "gp", "grad_norm_mean", "grad_norm_std"}
    assert expected <= set(metrics)
    assert all(math.isfinite(v) for v in metrics.values())
    assert metrics["wasserstein"] == pytest.approx(metrics["d_real"] - metrics["d_fake"])
    assert len(task.visuals().grad_norms) == SMALL_POINTS["batch_size"]  # the latest critic update


def test_slow_motion_actions_move_only_one_player():
    task = points_task()
    batches = task.make_batches(0)
    before = {k: v.clone() for k, v in task.model.state_dict().items()}

    def changed(prefix: str) -> bool:
        now = task.model.state_dict()
        return any(not torch.equal(before[k], now[k]) for k in before if k.startswith(prefix))

    metrics = task.run_action("critic", batches.next, 0)
    assert changed("critic.") and not changed("generator.")
    assert {"critic_loss", "wasserstein", "gp"} <= set(metrics)
    before = {k: v.clone() for k, v in task.model.state_dict().items()}
    metrics = task.run_action("generator", batches.next, 0)
    assert changed("generator.") and not changed("critic.")
    assert set(metrics) == {"gen_loss"}
    assert all(p.requires_grad for p in task.model.critic.parameters())  # restored after the G step
    with pytest.raises(ConfigError):
        task.run_action("both", batches.next, 0)


def test_live_hyperparameters_are_validated_and_betas_reach_adam():
    task = points_task()
    task.set_hparams(gp_lambda=1.0, adam_beta1=0.0, adam_beta2=0.99)
    assert task.hparams.gp_lambda == 1.0
    assert task.critic_optimizer.param_groups[0]["betas"] == (0.0, 0.99)
    with pytest.raises(ConfigError, match="n_critic"):
        task.set_hparams(n_critic=0)
    with pytest.raises(ConfigError, match="unknown"):
        task.set_hparams(lambda_gp=3)


@pytest.mark.parametrize("lipschitz", ["gp", "clip", "spectral"])
def test_each_lipschitz_option_trains_points_and_images(lipschitz, small_shapes):
    for task in (points_task(lipschitz=lipschitz), images_task(small_shapes, lipschitz=lipschitz)):
        batches = task.make_batches(0)
        for step in range(2):
            metrics = task.train_step(batches.next, step)
            assert all(math.isfinite(v) for v in metrics.values()), metrics
        if lipschitz == "clip":
            assert isinstance(task.critic_optimizer, torch.optim.RMSprop)
            c = task.hparams.clip_value
            assert all(float(p.detach().abs().max()) <= c + 1e-7 for p in task.model.critic.parameters())
        if lipschitz == "spectral":  # each layer's operator norm is 1, so ‖∇D‖ ≤ 1 (a pushed critic's
            assert metrics["grad_norm_mean"] <= 1.0 + 1e-2  # too: tests/models/test_wgan.py)


@pytest.mark.parametrize("lipschitz", ["gp", "clip", "spectral"])
def test_checkpoints_of_every_lipschitz_option_round_trip(lipschitz, tmp_path):
    task = points_task(lipschitz=lipschitz)
    trainer = Trainer(task)
    trainer.run()
    path = trainer.save(tmp_path / f"{lipschitz}.safetensors")
    checkpoint = read_checkpoint(path)  # validates every tensor against a meta-device model
    assert checkpoint.family == "wgan" and checkpoint.config == task.model_config
    model = checkpoint.build_model()
    task.model.eval()
    z = torch.randn(16, task.model_config.latent_dim)
    with torch.no_grad():
        assert torch.equal(model.sample(z), task.model.sample(z))
        x = torch.randn(16, 2)
        assert torch.allclose(model.critic(x), task.model.critic(x))


def test_a_checkpoint_from_before_the_conv_operator_norm_opens_with_its_own_critic(small_shapes, tmp_path):
    task = images_task(small_shapes, lipschitz="spectral", spectral_conv="kernel", steps=1)
    trainer = Trainer(task)
    trainer.run()
    path = trainer.save(tmp_path / "old.safetensors")
    data = path.read_bytes()  # rewrite its config as an older genplay wrote it: without the new keys
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    config = json.loads(header["__metadata__"]["config"])
    del config["spectral_conv"], config["gan_loss"]
    header["__metadata__"]["config"] = json.dumps(config)
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data[8 + size :])
    checkpoint = read_checkpoint(path)
    assert checkpoint.config.spectral_conv == "kernel" and checkpoint.config.gan_loss == "wasserstein"
    model = checkpoint.build_model()
    model.eval(), task.model.eval()
    x = torch.rand(4, *task.model_config.data_shape)
    with torch.no_grad():
        assert torch.allclose(model.critic(x), task.model.critic(x))


@pytest.mark.parametrize("lipschitz", ["gp", "clip", "spectral"])
def test_resume_restores_the_fixed_noise_and_continues_exactly(lipschitz, tmp_path):
    straight = points_task(steps=6, lipschitz=lipschitz)
    Trainer(straight).run()

    first = points_task(steps=6, lipschitz=lipschitz)
    first_trainer = Trainer(first)
    first_trainer.run(until=3)
    path = first_trainer.save(tmp_path / "half.safetensors")
    resumed = points_task(steps=6, lipschitz=lipschitz)
    resumed.fixed_noise = torch.zeros_like(resumed.fixed_noise)  # must come back from the sidecar
    trainer = Trainer(resumed)
    assert trainer.restore(read_checkpoint(path))
    assert torch.equal(resumed.fixed_noise, first.fixed_noise)
    assert (resumed.critic_updates, resumed.generator_updates) == (15, 3)
    trainer.run()
    for key, value in straight.model.state_dict().items():
        assert torch.allclose(value, resumed.model.state_dict()[key]), key


@pytest.mark.parametrize("gan_loss", ["minimax", "nonsaturating"])
def test_the_original_gan_losses_train_with_the_papers_settings_and_report_the_jsd(gan_loss):
    data = load_dataset("8gaussians")
    overrides = {**SMALL_POINTS, "gan_loss": gan_loss}
    model_config, hparams, _train = build_configs("wgan", data, overrides)
    assert (model_config.lipschitz, hparams.n_critic) == ("none", 1)  # Goodfellow et al.: k = 1
    kept, _h, _t = build_configs("wgan", data, {**overrides, "lipschitz": "gp"})
    assert kept.lipschitz == "gp"  # what the user sets wins over what the loss implies
    resumed = build_configs(
        "wgan", data, {**overrides, "lipschitz": "gp"}, base_hparams=WGANTask.default_hparams()
    )
    assert resumed[1].n_critic == 5  # a resumed run keeps its own hparams, whatever its loss implies
    task = points_task(gan_loss=gan_loss)
    metrics = task.train_step(task.make_batches(0).next, 0)
    assert "wasserstein" not in metrics and 0.0 <= metrics["d_real"] <= 1.0  # D is a probability
    assert metrics["jsd"] == pytest.approx(math.log(2.0) - metrics["critic_loss"] / 2, rel=1e-5)
    assert set(task.evaluate(task.validation_batches())) == {"jsd", "d_real", "d_fake"}


def test_fixed_noise_depends_only_on_the_seed_and_travels_with_snapshots():
    task = points_task()
    assert torch.equal(task.fixed_noise, fixed_noise(task.model_config, task.train_config.seed))
    assert tuple(task.fixed_noise.shape) == (1000, task.model_config.latent_dim)
    snapshot = task.snapshot(0)
    assert torch.equal(snapshot.extras["fixed_noise"], task.fixed_noise)


def test_validation_reports_a_wasserstein_estimate():
    task = points_task()
    values = task.evaluate(task.validation_batches())
    assert set(values) == {"wasserstein", "d_real", "d_fake"}
    assert values["wasserstein"] == pytest.approx(values["d_real"] - values["d_fake"])
    assert task.model.training  # back in training mode


def test_images_need_matching_shapes(small_shapes):
    config, _h, _t = build_configs("wgan", small_shapes, SMALL_IMAGES)
    assert config.data_shape == (1, 32, 32) and config.arch == "conv"
    with pytest.raises(ConfigError, match="expects items of shape"):
        WGANTask.check_data(load_dataset("8gaussians"), config)


def run_cli(*argv: str) -> int:
    args = build_parser().parse_args(list(argv))
    return COMMANDS[args.command](args)


def test_cli_trains_and_samples_points_and_images(tmp_path, small_shapes, monkeypatch):
    out = tmp_path / "toy.safetensors"
    settings = ["--set", "hidden_dims=16,16", "--set", "val_every=0"]
    assert run_cli("train", "wgan", "--steps", "3", "--batch-size", "16", "--out", str(out), "--quiet",
                   *settings) == 0  # fmt: skip
    points_path = tmp_path / "points.npy"
    assert run_cli("sample", str(out), "--n", "50", "--out", str(points_path)) == 0
    points = np.load(points_path)
    assert points.shape == (50, 2) and points.dtype == np.float32

    from app.engine import data as data_module

    small = dataclasses.replace(data_module.BUILTIN_DATASETS["shapes"], load=lambda seed: small_shapes)
    monkeypatch.setitem(data_module.BUILTIN_DATASETS, "shapes", small)
    image_out = tmp_path / "shapes.safetensors"
    assert run_cli("train", "wgan", "--dataset", "shapes", "--steps", "1", "--batch-size", "4",
                   "--out", str(image_out), "--quiet", "--set", "conv_channels=4,8",
                   "--set", "latent_dim=8", "--set", "val_every=0") == 0  # fmt: skip
    images_path = tmp_path / "images.npy"
    assert run_cli("sample", str(image_out), "--n", "6", "--out", str(images_path)) == 0
    images = np.load(images_path)
    assert images.shape == (6, 1, 32, 32) and 0.0 <= images.min() and images.max() <= 1.0
    assert run_cli("sample", str(image_out), "--n", "6", "--out", str(tmp_path / "grid.png")) == 0


def test_a_batch_norm_generator_round_trips_through_a_checkpoint(tmp_path, small_shapes):
    data = small_shapes
    model_config, hparams, train = build_configs("wgan", data, {"steps": 2, "batch_size": 16, "val_every": 0})
    assert model_config.conv_channels == (32, 64, 128)  # 32×32 images: three halvings
    assert model_config.generator_upsampling == "nearest" and model_config.generator_batch_norm
    trainer = Trainer(create_task("wgan", data, model_config, hparams, train))
    trainer.run()
    path = trainer.save(tmp_path / "bn.safetensors")
    checkpoint = read_checkpoint(path)
    assert checkpoint.config == model_config
    state = trainer.task.model.state_dict()
    assert int(state["generator.net.2.num_batches_tracked"]) == 2 * 6  # 5 critic + 1 generator forwards
    model = checkpoint.build_model()
    for key, value in state.items():
        assert torch.equal(model.state_dict()[key], value), key
    assert not model.training


def test_conv_channels_follow_the_image_size():
    from app.engine.inference.wgan_architecture import default_conv_channels

    assert default_conv_channels(32, 32) == (32, 64, 128)
    assert default_conv_channels(28, 28) == (32, 64)  # 28 = 4 · 7: only two halvings
    assert default_conv_channels(30, 30) is None  # an MLP then


def test_a_builtin_image_set_states_the_shape_it_loads():
    from app.engine.data import BUILTIN_DATASETS, load_shapes

    assert tuple(load_shapes(seed=0, count=20).item_shape) == BUILTIN_DATASETS["shapes"].item_shape
    assert BUILTIN_DATASETS["mnist"].item_shape == (1, 28, 28)
