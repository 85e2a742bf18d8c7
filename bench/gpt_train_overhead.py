"""Training ms per step of the GPT task (and of the whole Trainer) vs a plain PyTorch loop.

Same model (the baby-GPT defaults on python-docs), same initial weights, same batches, same
AdamW groups, learning-rate schedule and clipping. The three paths take turns step by step,
so a busy machine slows all of them alike; the medians of the per-step times are compared
(target: task / plain ≤ 1.05). The Trainer path is called for one step at a time, so it also
pays ``Trainer.run``'s start and finish each step: an upper bound on its overhead.

    python bench/gpt_train_overhead.py [--steps 100] [--threads 1]
"""

from __future__ import annotations

import argparse
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
    """A batch source replaying a fixed list (what every path trains on)."""

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="timed steps of each path")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (1 is steadiest on a shared machine)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_dataset("python-docs")
    model_config, hparams, train = build_configs("gpt", data, {"val_every": 0})
    first = create_task("gpt", data, model_config, hparams, train)
    source = first.make_batches(0)
    batches = [source.next() for _ in range(32)]
    initial = {k: v.clone() for k, v in first.model.state_dict().items()}

    def fresh_task():
        task = create_task("gpt", data, model_config, hparams, train)
        task.load_model_tensors(initial)
        return task

    # plain: the same model class, weights and AdamW groups, driven by hand
    plain = fresh_task()
    model, optimizer = plain.model, plain.optimizers[0]
    task = fresh_task()
    task_batches = FixedBatches(batches)
    trainer = Trainer(fresh_task())
    trainer.batches = FixedBatches(batches)
    cfg = train

    def plain_step(step: int) -> None:
        for group in optimizer.param_groups:
            group["lr"] = cfg.lr * lr_factor(
                cfg.schedule, step, cfg.steps, cfg.warmup_steps, cfg.min_lr_ratio
            )
        x, y = batches[step % len(batches)]
        loss = model.loss(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        loss.item()

    def task_step(step: int) -> None:
        task.apply_lr_factor(lr_factor(cfg.schedule, step, cfg.steps, cfg.warmup_steps, cfg.min_lr_ratio))
        task.train_step(task_batches.next, step)

    def trainer_step(step: int) -> None:
        trainer.run(until=step + 1)

    paths = {"plain": plain_step, "task": task_step, "trainer": trainer_step}
    times: dict[str, list[float]] = {name: [] for name in paths}
    warmup = 5
    for step in range(args.steps + warmup):
        for name, run in paths.items():
            started = time.perf_counter()
            run(step)
            if step >= warmup:
                times[name].append(time.perf_counter() - started)
    median = {name: 1000 * statistics.median(values) for name, values in times.items()}
    print(
        f"baby GPT {model_config.n_layer}x{model_config.n_head}x{model_config.d_model}, block "
        f"{model_config.block_size}, batch {train.batch_size}, {torch.get_num_threads()} thread(s), "
        f"{args.steps} steps per path, taking turns step by step"
    )
    for name in paths:
        print(f"  {name:8s} median {median[name]:6.2f} ms/step")
    print(f"ratio task / plain    = {median['task'] / median['plain']:.3f}   (target ≤ 1.05)")
    print(f"ratio trainer / plain = {median['trainer'] / median['plain']:.3f}")


if __name__ == "__main__":
    main()
