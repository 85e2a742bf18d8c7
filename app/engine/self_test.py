"""``genplay --self-test`` (headless part): every family builds, steps and round-trips, and
every shipped checkpoint loads, runs a forward pass and trains one step."""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from app.engine.checkpoint import read_checkpoint
from app.engine.data import load_dataset
from app.engine.errors import GenplayError
from app.engine.setup import build_configs, configs_from_checkpoint, create_task
from app.engine.tasks import TASKS, get_task_class
from app.engine.trainer import Trainer
from weights import shipped_checkpoint

Report = Callable[[str], None]


def _one_step(trainer: Trainer) -> dict[str, float]:
    finished = trainer.run(until=trainer.step + 1)
    if finished.failed:
        raise GenplayError(finished.message)
    metrics = finished.metrics
    if not metrics or not all(math.isfinite(v) for v in metrics.values()):
        raise GenplayError(f"the training step gave non-finite metrics {metrics}")
    return metrics


def check_shipped(family: str, report: Report) -> None:
    path = shipped_checkpoint(family)
    if path is None:
        raise GenplayError(f"no shipped {family} checkpoint in weights/")
    checkpoint = read_checkpoint(path)
    if checkpoint.family != family:
        raise GenplayError(f"{path.name} holds a {checkpoint.family} model, not {family}")
    hparams, train = configs_from_checkpoint(checkpoint)
    source = checkpoint.data.spec or get_task_class(family).default_dataset
    data = load_dataset(source, seed=train.seed)
    quick = {"device": "cpu", "val_every": 0, "checkpoint_every": 0, "batch_size": min(train.batch_size, 16)}
    _, _, train = build_configs(family, data, quick, base_train=train)
    task = create_task(family, data, checkpoint.config, hparams, train)
    trainer = Trainer(task)
    trainer.restore(checkpoint)
    forward = task.evaluate(list(task.validation_batches())[:1])
    if not forward or not all(math.isfinite(v) for v in forward.values()):
        raise GenplayError(f"the forward pass of {path.name} gave {forward}")
    trainer.config.steps = trainer.step + 1
    metrics = _one_step(trainer)
    report(f"  {family}: {path.name} (step {checkpoint.step}) forward {_short(forward)}; "
           f"one step {_short(metrics)}")  # fmt: skip


def check_round_trip(family: str, report: Report) -> None:
    task_cls = get_task_class(family)
    data = load_dataset(task_cls.default_dataset, seed=0)
    model_config, hparams, train = build_configs(family, data, {"device": "cpu", "steps": 2, "val_every": 0})
    task = create_task(family, data, model_config, hparams, train)
    trainer = Trainer(task)
    _one_step(trainer)
    with tempfile.TemporaryDirectory() as folder:
        path = trainer.save(Path(folder) / f"{family}.safetensors")
        model = read_checkpoint(path).build_model()
        for key, value in task.model_tensors().items():
            if not torch.equal(model.state_dict()[key].cpu(), value.cpu()):
                raise GenplayError(f"{family}: tensor {key} changed in a save/load round trip")
    report(f"  {family}: fresh model trains a step and round-trips through safetensors")


def _short(values: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in list(values.items())[:3])


def run_self_test(report: Report = print) -> list[str]:
    """Returns the problems found (empty when everything works)."""
    problems: list[str] = []
    started = time.perf_counter()
    for family in TASKS:
        for check in (check_round_trip, check_shipped):
            try:
                check(family, report)
            except Exception as exc:  # noqa: BLE001 - the self-test reports everything
                problems.append(f"{family}: {exc}")
                report(f"  {family}: FAILED: {exc}")
    report(f"headless checks took {time.perf_counter() - started:.1f} s")
    return problems
