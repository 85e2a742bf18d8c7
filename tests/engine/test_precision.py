"""Mixed precision (issue 15): bf16/fp16 autocast stays within a stated tolerance of fp32."""

from __future__ import annotations

import math

import pytest
import torch

from app.engine.data.text import text_bundle
from app.engine.distributed import SINGLE
from app.engine.distributed.replicas import EntryPoint, wrapped_entries
from app.engine.precision import AUTOCAST_DTYPES, scaler_of
from tests.engine.helpers import small_vae_task
from tests.engine.tasks.test_gpt_task import TEXT, make_task
from tests.engine.tasks.test_wgan_task import points_task

# bfloat16 keeps 8 bits of mantissa (relative rounding 2⁻⁸ ≈ 0.4 %), float16 11 bits; a loss sums
# many such products, so its relative error stays well under these bounds
TOLERANCE = {"bf16": 2e-2, "fp16": 5e-3}


def _total(loss) -> float:
    """The minimised total of a family's loss (the VAE returns its terms, the GPT one tensor)."""
    return float((loss[0] if isinstance(loss, tuple) else loss).detach())


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_vae_and_gpt_losses_under_autocast_are_within_tolerance_of_fp32(precision):
    for task in (small_vae_task(), make_task(text_bundle(TEXT, "cats", "cats"))):
        batch = task.make_batches(0).next()
        args = batch if isinstance(batch, tuple) else (batch,)
        kwargs = {} if isinstance(batch, tuple) else {"eps": torch.zeros(len(batch), 4)}
        reference = _total(task.model.loss(*args, **kwargs))
        entries = {"loss": EntryPoint(task.model, "loss")}
        call = wrapped_entries(entries, rank=SINGLE, precision=precision, compile=False, device=task.device)
        mixed = _total(call["loss"](*args, **kwargs))
        assert mixed == pytest.approx(reference, rel=TOLERANCE[precision])
    # autocast really ran in the lower precision: the GPT's logits (returned as float32) are rounded
    forward = {"logits": EntryPoint(task.model, "forward")}
    call = wrapped_entries(forward, rank=SINGLE, precision=precision, compile=False, device=task.device)
    mixed_logits, logits = call["logits"](batch[0]).logits, task.model(batch[0]).logits
    assert mixed_logits.dtype == torch.float32 and not torch.equal(mixed_logits, logits)
    rounded = mixed_logits.to(AUTOCAST_DTYPES[precision]).float()
    assert torch.equal(rounded, mixed_logits)  # exactly representable: computed in the lower precision


def test_bf16_training_follows_the_fp32_curve():
    losses = {}
    for precision in ("fp32", "bf16"):
        task = small_vae_task(precision=precision)
        batches = task.make_batches(0)
        losses[precision] = [task.train_step(batches.next, step)["loss"] for step in range(5)]
    for fp32, bf16 in zip(losses["fp32"], losses["bf16"], strict=True):
        assert bf16 == pytest.approx(fp32, rel=TOLERANCE["bf16"])


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_wgan_gp_trains_in_lower_precision(precision):
    """G(z) leaves autocast in float32, so the unwrapped critic of the generator update takes it."""
    reference = points_task().train_step(points_task().make_batches(0).next, 0)
    task = points_task(precision=precision)
    metrics = task.train_step(task.make_batches(0).next, 0)
    assert all(math.isfinite(v) for v in metrics.values())
    expected = reference["critic_loss"]
    assert metrics["critic_loss"] == pytest.approx(expected, rel=TOLERANCE[precision], abs=0.05)


def test_fp16_trains_with_a_gradient_scaler_and_fp32_without():
    task = small_vae_task(precision="fp16")
    scaler = scaler_of(task.optimizers[0])
    assert scaler is not None
    batches = task.make_batches(0)
    metrics = [task.train_step(batches.next, step) for step in range(3)]
    assert all(math.isfinite(m["loss"]) for m in metrics)
    assert scaler.get_scale() > 1.0  # the loss was scaled up for backward
    assert scaler_of(small_vae_task().optimizers[0]) is None
    task.train_config.precision = "fp32"
    task.prepare_training_calls()  # a live change of precision drops the scaler
    assert scaler_of(task.optimizers[0]) is None
