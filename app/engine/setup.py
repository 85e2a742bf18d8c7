"""Building a ready-to-train task from names and settings, fresh or from a checkpoint."""

from __future__ import annotations

import dataclasses
from typing import Any

from app.engine.checkpoint import Checkpoint
from app.engine.data import DataBundle, load_dataset
from app.engine.devices import resolve_device
from app.engine.errors import ConfigError
from app.engine.tasks import get_task_class
from app.engine.tasks.base import Task
from app.engine.train_config import TrainConfig
from models.config_fields import config_from_dict, config_to_dict


def split_overrides(family: str, overrides: dict[str, Any]) -> tuple[dict, dict, dict]:
    """Sort ``key=value`` settings into (train config, model config, task hparams) changes."""
    task_cls = get_task_class(family)
    train_keys = {f.name for f in dataclasses.fields(TrainConfig)}
    model_keys = {f.name for f in dataclasses.fields(task_cls.config_class)}
    hparam_keys = {f.name for f in dataclasses.fields(task_cls.hparams_class)}
    train, model, hparams = {}, {}, {}
    for key, value in overrides.items():
        if key in train_keys:
            train[key] = value
        elif key in model_keys:
            model[key] = value
        elif key in hparam_keys:
            hparams[key] = value
        else:
            known = sorted(train_keys | model_keys | hparam_keys)
            raise ConfigError(f"unknown setting '{key}' for {family}; known: {', '.join(known)}.")
    return train, model, hparams


def build_configs(
    family: str,
    data: DataBundle,
    overrides: dict[str, Any] | None = None,
    base_model_config: Any = None,
    base_hparams: Any = None,
    base_train: TrainConfig | None = None,
) -> tuple[Any, Any, TrainConfig]:
    """The family's defaults (or the given bases) with ``overrides`` applied and validated."""
    task_cls = get_task_class(family)
    overrides = overrides or {}
    if base_model_config is None and base_hparams is None:  # a fresh run; a resumed one keeps its own
        overrides = {**task_cls.implied_settings(overrides), **overrides}
    train_changes, model_changes, hparam_changes = split_overrides(family, overrides)
    train = base_train or task_cls.default_train_config()
    train = TrainConfig.from_dict({**train.to_dict(), **train_changes})
    train.validate()
    task_cls.check_data_kind(data)  # the defaults below assume the family's kind of data
    model_config = base_model_config or task_cls.default_model_config(data)
    try:
        model_config = config_from_dict(
            task_cls.config_class, {**config_to_dict(model_config), **model_changes}
        )
        hparams = dataclasses.replace(base_hparams or task_cls.default_hparams(), **hparam_changes)
        if hasattr(hparams, "validate"):
            hparams.validate()
    except (ValueError, TypeError) as exc:
        raise ConfigError(str(exc)) from None
    return model_config, hparams, train


def create_task(family: str, data: DataBundle, model_config: Any, hparams: Any, train: TrainConfig) -> Task:
    """A fresh task: seeded, on the resolved device, its data checked against the model."""
    task_cls = get_task_class(family)
    train.validate()
    task_cls.check_data(data, model_config)
    device = resolve_device(train.device)
    return task_cls(model_config, hparams, train, data, device)


def configs_from_checkpoint(checkpoint: Checkpoint) -> tuple[Any, TrainConfig]:
    """(task hparams, train config) that the checkpoint's run used, where recorded."""
    task_cls = get_task_class(checkpoint.family)
    saved = checkpoint.train or {}
    hparams = task_cls.default_hparams()
    known = {f.name for f in dataclasses.fields(hparams)}
    try:
        hparams = dataclasses.replace(
            hparams, **{k: v for k, v in (saved.get("hparams") or {}).items() if k in known}
        )
    except (TypeError, ValueError):
        hparams = task_cls.default_hparams()
    train = task_cls.default_train_config()
    if isinstance(saved.get("train"), dict):
        train = TrainConfig.from_dict({**train.to_dict(), **saved["train"]})
    return hparams, train


def dataset_for_checkpoint(checkpoint: Checkpoint, spec: str | None, seed: int) -> DataBundle:
    """The dataset named by ``spec``, else the one the checkpoint was trained on."""
    source = spec or checkpoint.data.spec
    if not source:
        raise ConfigError("the checkpoint does not say which dataset it was trained on; pass one.")
    return load_dataset(source, seed=seed)
