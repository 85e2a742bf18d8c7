"""`genplay train` N steps straight = N/2 steps, then `--resume` to N: bit for bit on the CPU.

The shorter run validates at its last step and the GPT captures its probe where the straight
run does not, so any randomness that validation or a capture drew from the training streams
would show here as different weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.engine.checkpoint import read_checkpoint
from app.engine.checkpoint.run_state import read_run_state
from app.entry import main

STEPS, HALF = 8, 4  # validations every 3 steps: at 3, 6, 8 straight; at 3, 4 | 6, 8 when resumed
FAMILY_ARGS = {
    "vae": ["--set", "latent_dim=3", "--set", "hidden_dims=16", "--batch-size", "16"],
    "wgan": [
        "--dataset",
        "8gaussians",
        "--set",
        "hidden_dims=16,16",
        "--set",
        "n_critic=2",
        "--batch-size",
        "32",
    ],  # fmt: skip
    "gpt": [
        "--set",
        "n_layer=1",
        "--set",
        "d_model=16",
        "--set",
        "n_head=2",
        "--set",
        "block_size=16",
        "--set",
        "dropout=0.2",
        "--set",
        "capture_every=3",
        "--set",
        "val_batches=2",
        "--batch-size",
        "4",
    ],  # fmt: skip
}
COMMON = ["--seed", "3", "--quiet", "--set", "val_every=3", "--set", "val_batches=2"]


def _dataset(family: str, folder) -> list[str]:
    """Tiny data of the family's kind (the WGAN samples its 2-D toy set itself)."""
    if family == "vae":
        images = (np.random.default_rng(0).random((96, 1, 8, 8)) > 0.5).astype(np.float32)
        np.save(folder / "bits.npy", images)
        return ["--dataset", str(folder / "bits.npy")]
    if family == "gpt":
        text = "".join(f"def f{i}(x):\n    return x * {i} + {i % 7}\n" for i in range(60))
        (folder / "code.txt").write_text(text, encoding="utf-8")
        return ["--dataset", str(folder / "code.txt")]
    return []


def _run_state(path):
    checkpoint = read_checkpoint(path)
    tensors, info = read_run_state(path.parent / checkpoint.state_file)
    return checkpoint, tensors, info


@pytest.mark.parametrize("family", ["vae", "wgan", "gpt"])
def test_half_the_steps_then_resume_equals_the_straight_run(family, tmp_path):
    args = [*_dataset(family, tmp_path), *FAMILY_ARGS[family], *COMMON]
    straight, halves = tmp_path / "straight.safetensors", tmp_path / "halves.safetensors"
    assert main(["train", family, "--steps", str(STEPS), "--out", str(straight), *args]) == 0
    assert main(["train", family, "--steps", str(HALF), "--out", str(halves), *args]) == 0
    assert read_checkpoint(halves).step == HALF
    assert main(["train", family, "--resume", str(halves), "--steps", str(STEPS), "--quiet"]) == 0

    a, a_state, a_info = _run_state(straight)
    b, b_state, b_info = _run_state(halves)
    assert a.step == b.step == STEPS
    assert a.tensors.keys() == b.tensors.keys()
    for name, value in a.tensors.items():
        assert torch.equal(value, b.tensors[name]), f"{family} weight {name} differs"
    # optimiser moments, random streams, data position, task extras: the whole training state
    assert a_state.keys() == b_state.keys()
    assert any(key.startswith("optim") for key in a_state)
    for name, value in a_state.items():
        assert torch.equal(value, b_state[name]), f"{family} training state {name} differs"
    assert a_info["optimizers"] == b_info["optimizers"]
    # validation noise is the same at every validation, so even the last validation agrees
    assert any(key.startswith("val_") for key in a.metrics)
    assert a.metrics == b.metrics
