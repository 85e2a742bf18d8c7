"""``genplay export CKPT --onnx OUT.onnx``: a checkpoint's generating network for inference engines.

What each family exports (the part that turns noise or text into output, float32, batch dynamic):

    gpt   tokens (B, T) int64 → logits (B, T, V);  T dynamic, 1 ≤ T ≤ block_size
    vae   the decoder: z (B, latent_dim) → images (B, C, H, W) in [0, 1]
    wgan  the generator: z (B, latent_dim) → samples (B, *data_shape)

PyTorch's torch.export-based exporter writes the file (the default since PyTorch 2.9; it needs
the ``onnx`` and ``onnxscript`` packages: ``pip install genplay[onnx]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from app.engine.checkpoint import Checkpoint
from app.engine.errors import ConfigError
from app.engine.inference import model_from_checkpoint

MAX_BATCH = 65536
OPSET = 18
OPTIMIZE = True  # onnxscript's graph clean-up (constant folding, fused ops): smaller, slower to export


class GPTLogits(nn.Module):
    """The GPT's next-token logits alone (its forward also returns attention when asked)."""

    def __init__(self, gpt: nn.Module) -> None:
        super().__init__()
        self.gpt = gpt

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.gpt(tokens).logits


class VAEDecoder(nn.Module):
    """p(x|z)'s mean: the decoder and its output link (sigmoid or clamp)."""

    def __init__(self, vae: nn.Module) -> None:
        super().__init__()
        self.vae = vae

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(z)


@dataclass(frozen=True)
class ExportPlan:
    """One family's exported graph: the module, an example input and the names in the file."""

    module: nn.Module
    example: torch.Tensor
    input_name: str
    output_name: str
    dynamic: dict[int, torch.export.Dim]  # the input's dynamic dimensions


def export_plan(checkpoint: Checkpoint) -> ExportPlan:
    ready = model_from_checkpoint(checkpoint, "cpu")
    model, config = ready.model.eval(), checkpoint.config
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    if checkpoint.family == "gpt":
        tokens = torch.zeros(2, min(8, config.block_size), dtype=torch.int64)
        sequence = torch.export.Dim("sequence", min=1, max=config.block_size)
        return ExportPlan(GPTLogits(model), tokens, "tokens", "logits", {0: batch, 1: sequence})
    if checkpoint.family == "vae":
        return ExportPlan(VAEDecoder(model), torch.zeros(2, config.latent_dim), "z", "images", {0: batch})
    if checkpoint.family == "wgan":
        return ExportPlan(model.generator, torch.zeros(2, config.latent_dim), "z", "samples", {0: batch})
    raise ConfigError(f"there is no ONNX export for {checkpoint.family} checkpoints.")


def export_onnx(checkpoint: Checkpoint, out: Path) -> ExportPlan:
    """Write ``checkpoint``'s generating network to ``out``; returns what was exported."""
    try:
        import onnx  # noqa: F401 - the exporter needs it; say so plainly when it is missing
        import onnxscript  # noqa: F401
    except ImportError:
        raise ConfigError("ONNX export needs the onnx extra: pip install 'genplay[onnx]'.") from None
    plan = export_plan(checkpoint)
    plan.module.eval()
    torch.onnx.export(
        plan.module,
        (plan.example,),
        str(out),
        dynamo=True,
        input_names=[plan.input_name],
        output_names=[plan.output_name],
        dynamic_shapes=({**plan.dynamic},),
        opset_version=OPSET,
        optimize=OPTIMIZE,
        verbose=False,
    )
    return plan


def onnxruntime_difference(plan: ExportPlan, path: Path) -> float | None:
    """The largest |ONNX Runtime − PyTorch| over the example input and a differently shaped one
    (batch 3; for the GPT also a shorter sequence); None when onnxruntime is not installed."""
    try:
        import onnxruntime
    except ImportError:
        return None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    example = plan.example
    other = example[:1].repeat(3, *([1] * (example.dim() - 1)))
    if example.dtype == torch.int64 and example.shape[1] > 1:
        other = other[:, : example.shape[1] // 2 + 1]
    largest = 0.0
    for x in (example, other if other.dtype == torch.int64 else torch.randn_like(other)):
        (got,) = session.run(None, {plan.input_name: x.numpy()})
        with torch.no_grad():
            expected = plan.module(x)
        largest = max(largest, float((torch.from_numpy(got) - expected).abs().max()))
    return largest
