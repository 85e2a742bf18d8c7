"""What each process of the 2-rank tests runs (spawned: module-level functions, importable).

One spawn per test module: the ranks join one gloo group, train each family through the real
``genplay train`` command (the group already up, the command uses it), record gradients after
one step, and last, rank 1 dies mid-run so rank 0 must notice and exit.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
import traceback
from datetime import timedelta
from pathlib import Path

STEPS = 10
PER_RANK_BATCH = 4
TINY = {  # family → (dataset, settings) of a model small enough for a test; TEXT: the test's text file
    "vae": ("shapes", {"latent_dim": 3, "hidden_dims": [16]}),
    "wgan": ("8gaussians", {"hidden_dims": [16, 16], "n_critic": 2}),
    "gpt": ("TEXT", {"n_layer": 1, "n_head": 2, "d_model": 16, "block_size": 8}),
}


def small_builtin_shapes():
    """The built-in "shapes" set made small (as the engine tests' fixture) in this process;
    returns the original entry for ``restore_builtin_shapes``."""
    from app.engine import data as data_module

    original = data_module.BUILTIN_DATASETS["shapes"]
    data_module.BUILTIN_DATASETS["shapes"] = dataclasses.replace(
        original, load=lambda seed: data_module.load_shapes(seed, count=200, size=16)
    )
    return original


def restore_builtin_shapes(original) -> None:
    from app.engine import data as data_module

    data_module.BUILTIN_DATASETS["shapes"] = original


def train_args(family: str, out: Path, name: str, batch: int, text: Path, steps: int = STEPS) -> list[str]:
    dataset, settings = TINY[family]
    return ["train", family, "--dataset", str(text) if dataset == "TEXT" else dataset, "--steps", str(steps),
            "--batch-size", str(batch), "--seed", "3", "--device", "cpu", "--quiet", "--set", "val_every=5",
            "--set", "val_batches=1", "--out", str(out / f"{name}.safetensors"),
            "--metrics", str(out / f"{name}.jsonl"),
            *(a for k, v in settings.items() for a in ("--set", f"{k}={json.dumps(v)}"))]  # fmt: skip


def resume_args(checkpoint: Path, out: Path, batch: int) -> list[str]:
    """Continue ``checkpoint`` (10 steps) to step 15."""
    return ["train", "vae", "--resume", str(checkpoint), "--steps", str(STEPS + 5),
            "--batch-size", str(batch), "--quiet", "--out", f"{out}.safetensors"]  # fmt: skip


def _gradients_after_one_step(family: str, text: Path) -> dict:

    from app.engine.data import load_dataset
    from app.engine.setup import build_configs, create_task

    dataset, settings = TINY[family]
    overrides = {**settings, "batch_size": PER_RANK_BATCH, "seed": 3, "device": "cpu"}
    data = load_dataset(str(text) if dataset == "TEXT" else dataset, seed=3)
    model_config, hparams, train = build_configs(family, data, overrides)
    task = create_task(family, data, model_config, hparams, train)
    batches = task.training_batches(3)
    first = batches.next()
    task.train_step(lambda: first, 0)
    params = task.model.named_parameters()
    grads = {f"grad.{n}": p.grad.detach().clone() for n, p in params if p.grad is not None}
    first = first[0] if isinstance(first, tuple) else first
    return {**grads, "batch": first.float().clone()}


def rank_main(rank: int, port: int, out: str, text: str) -> None:
    """One rank: the families' runs, the gradients, then the killed-rank scenario."""
    out_dir, text_path = Path(out), Path(text)
    log = open(out_dir / f"rank{rank}.log", "w")  # noqa: SIM115 - this process's stderr, to the end
    sys.stderr = log
    os.environ.update(RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port), GENPLAY_DIST_TIMEOUT="20")  # fmt: skip
    try:
        import torch
        import torch.distributed as dist
        from safetensors.torch import save_file

        torch.set_num_threads(1)
        from app.entry import main

        small_builtin_shapes()
        dist.init_process_group("gloo", timeout=timedelta(seconds=20))
        codes = {}
        for family in TINY:
            name = f"{family}-2p-rank{rank}"
            codes[family] = main(train_args(family, out_dir, name, PER_RANK_BATCH, text_path))
            grads = _gradients_after_one_step(family, text_path)
            save_file(grads, out_dir / f"grads-{family}-rank{rank}.safetensors")
        dist.barrier()  # rank 0's VAE checkpoint is on disk: continue it with 2 processes
        two = out_dir / "vae-2p-rank0.safetensors"
        codes["resumed"] = main(resume_args(two, out_dir / f"vae-2to2-rank{rank}", PER_RANK_BATCH))
        (out_dir / f"codes-rank{rank}.json").write_text(json.dumps(codes))
        dist.barrier()
        # the killed rank: rank 1 dies at its 4th step; rank 0 must stop with a clear message
        if rank == 1:
            from app.engine.tasks.vae_task import VAETask

            original = VAETask.train_step

            def dying_step(self, next_batch, step):
                if step == 3:
                    os.kill(os.getpid(), signal.SIGKILL)
                return original(self, next_batch, step)

            VAETask.train_step = dying_step
        code = main(train_args("vae", out_dir, f"killed-rank{rank}", PER_RANK_BATCH, text_path, steps=50))
        (out_dir / f"killed-code-rank{rank}.json").write_text(json.dumps(code))
    except BaseException:  # noqa: BLE001 - the parent reads the log
        traceback.print_exc(file=log)
        raise
    finally:
        log.flush()
        try:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()
        except Exception:  # noqa: BLE001 - the group of a dead peer
            pass
