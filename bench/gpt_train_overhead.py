"""Training ms per step of the GPT task (and of the whole Trainer) vs a plain PyTorch loop.

Same model (the baby-GPT defaults on python-docs), same initial weights, same batches, same
AdamW groups and clipping; the repetitions of each path are interleaved so a busy machine
slows all of them alike. Prints the medians and the ratios (target: task / plain ≤ 1.05).

    python bench/gpt_train_overhead.py [--steps 20] [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.data import load_dataset  # noqa: E402
from app.engine.schedules import lr_factor  # noqa: E402
from app.engine.setup import build_configs, create_task  # noqa: E402
from app.engine.trainer import Trainer  # noqa: E402


class FixedBatches:
    """The trainer's batch source, replaying a fixed list."""

    def __init__(self, batches):
        self.batches, self.i = batches, 0

    def next(self):
        batch = self.batches[self.i % len(self.batches)]
        self.i += 1
        return batch

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


def plain_loop(model, optimizer, batches, steps, total, cfg) -> float:
    started = time.perf_counter()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = cfg.lr * lr_factor(cfg.schedule, step, total, cfg.warmup_steps, cfg.min_lr_ratio)
        x, y = batches[step % len(batches)]
        loss = model.loss(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        loss.item()
    return (time.perf_counter() - started) / steps


def task_loop(task, batches, steps, total, cfg) -> float:
    source = FixedBatches(batches)
    started = time.perf_counter()
    for step in range(steps):
        task.apply_lr_factor(lr_factor(cfg.schedule, step, total, cfg.warmup_steps, cfg.min_lr_ratio))
        task.train_step(source.next, step)
    return (time.perf_counter() - started) / steps


def trainer_loop(task, batches, steps) -> float:
    trainer = Trainer(task)
    trainer.batches = FixedBatches(batches)
    trainer.config.val_every = 0
    started = time.perf_counter()
    trainer.run(until=steps)
    return (time.perf_counter() - started) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="steps per timed repetition")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (1 is steadiest on a shared machine)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_dataset("python-docs")
    model_config, hparams, train = build_configs("gpt", data, {})
    task = create_task("gpt", data, model_config, hparams, train)
    source = task.make_batches(0)
    batches = [source.next() for _ in range(args.steps)]
    initial = copy.deepcopy(task.model.state_dict())

    def fresh_task():
        fresh = create_task("gpt", data, model_config, hparams, train)
        fresh.load_model_tensors(initial)
        return fresh

    def fresh_plain():
        fresh = fresh_task()  # the same model class, weights and AdamW groups
        return fresh.model, fresh.optimizers[0]

    times = {"plain": [], "task": [], "trainer": []}
    for repeat in range(args.repeats + 1):  # the first round warms up and is not counted
        model, optimizer = fresh_plain()
        plain = plain_loop(model, optimizer, batches, args.steps, train.steps, train)
        task_time = task_loop(fresh_task(), batches, args.steps, train.steps, train)
        trainer_time = trainer_loop(fresh_task(), batches, args.steps)
        if repeat:
            times["plain"].append(plain)
            times["task"].append(task_time)
            times["trainer"].append(trainer_time)
    median = {k: statistics.median(v) * 1000 for k, v in times.items()}
    print(
        f"baby GPT {model_config.n_layer}x{model_config.n_head}x{model_config.d_model}, block "
        f"{model_config.block_size}, batch {train.batch_size}, {torch.get_num_threads()} thread(s), "
        f"{args.repeats} interleaved repeats of {args.steps} steps"
    )
    for name in ("plain", "task", "trainer"):
        print(
            f"  {name:8s} {median[name]:7.2f} ms/step   (runs: "
            + ", ".join(f"{t * 1000:.1f}" for t in times[name])
            + ")"
        )
    print(f"ratio task / plain    = {median['task'] / median['plain']:.3f}   (target ≤ 1.05)")
    print(f"ratio trainer / plain = {median['trainer'] / median['plain']:.3f}")


if __name__ == "__main__":
    main()
