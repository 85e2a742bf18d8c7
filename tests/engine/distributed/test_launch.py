"""``genplay train --nproc N`` hands the same command to torchrun, less its --nproc."""

from __future__ import annotations

import sys

from app.engine.distributed.launch import torchrun_command


def test_torchrun_runs_the_same_train_command_without_nproc():
    argv = ["train", "vae", "--nproc", "2", "--steps", "5", "--nproc=3", "--quiet"]
    assert torchrun_command(2, argv) == [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
        "-m", "app", "train", "vae", "--steps", "5", "--quiet",
    ]  # fmt: skip
