"""The CUDA path, checked on a machine with a GPU: every family trained in fp32, bf16 and compiled.

    python bench/cuda_check.py [--steps 300] [--out cuda-check/]

For each family and setup (fp32, bf16, fp32 compiled) it trains the family's default model
for ``--steps`` steps on ``cuda`` through the real task, prints ms/step (after 20 warm-up steps,
in which torch.compile compiles), saves the checkpoint, and opens it in the GUI offscreen the way
a user would (File ▸ Open). With two or more GPUs it also runs ``genplay train vae --nproc 2``
(DDP over NCCL) and opens that checkpoint too. Exits non-zero when anything fails.

Until this has run on a GPU, the CUDA path (autocast on CUDA, fp16 loss scaling, NCCL) is
unverified: the tests run on CPU (gloo, bf16 autocast on CPU, the "eager" compile backend).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from compile_precision import make_task, ms_per_step  # noqa: E402

from app.engine.trainer import Trainer  # noqa: E402

SETUPS = [("fp32", False), ("bf16", False), ("fp32", True)]
WARMUP = 20


def open_in_gui(paths: list[Path]) -> list[str]:
    """Open each checkpoint in the main window offscreen; the problems found."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from app.ui.launch import create_app
    from app.ui.main_window import MainWindow

    app = create_app()
    window = MainWindow()
    window.show()
    app.processEvents()
    problems = []
    for path in paths:
        if not window.open_checkpoint(path):
            problems.append(f"{path.name}: the window could not open it: {window.last_error}")
        else:
            print(f"  GUI opened {path.name}")
        app.processEvents()
    window.close()
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--out", default="cuda-check")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("cuda_check: no CUDA GPU here; run it on a machine with one.", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}; {args.steps} steps per setup")
    print(f"{'family':<6} {'setup':<14} {'ms/step':>9} {'final loss':>11}")
    saved, problems = [], []
    for family in ("vae", "wgan", "gpt"):
        data = None
        for precision, compile in SETUPS:
            label = precision + (" compiled" if compile else "")
            try:
                task, data = make_task(family, precision, compile, "cuda", data, steps=args.steps + WARMUP)
                ms = ms_per_step(task, args.steps, WARMUP)
                trainer = Trainer(task)
                trainer.step = args.steps + WARMUP
                metrics = task.train_step(trainer.batches.next, trainer.step)
                path = out / f"{family}-{precision}{'-compiled' if compile else ''}.safetensors"
                trainer.save(path)
                saved.append(path)
                loss = metrics.get("loss", metrics.get("critic_loss", float("nan")))
                print(f"{family:<6} {label:<14} {ms:>9.2f} {loss:>11.4g}", flush=True)
            except Exception as exc:  # noqa: BLE001 - report every setup, then fail
                problems.append(f"{family} {label}: {type(exc).__name__}: {exc}")
                print(f"{family:<6} {label:<14}   FAILED: {exc}", flush=True)
    if torch.cuda.device_count() >= 2:
        path = out / "vae-ddp.safetensors"
        start = time.perf_counter()
        command = [sys.executable, "-m", "app", "train", "vae", "--nproc", "2", "--device", "cuda",
                   "--steps", str(args.steps), "--quiet", "--out", str(path)]  # fmt: skip
        code = subprocess.call(command, cwd=ROOT)
        print(f"DDP: 2 GPUs, vae {args.steps} steps in {time.perf_counter() - start:.1f} s (exit {code})")
        if code == 0:
            saved.append(path)
        else:
            problems.append(f"genplay train vae --nproc 2 --device cuda exited with {code}")
    problems += open_in_gui(saved)
    if problems:
        print("cuda_check FAILED: " + "; ".join(problems), file=sys.stderr)
        return 1
    print("cuda_check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
