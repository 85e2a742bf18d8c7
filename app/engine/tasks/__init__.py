"""Registry of model families: family name → its Task class (imported on first use)."""

from __future__ import annotations

import importlib

from app.engine.errors import ConfigError
from app.engine.tasks.base import Task

# family → "module:Class"; each family issue adds its own line
TASKS: dict[str, str] = {
    "vae": "app.engine.tasks.vae_task:VAETask",
    "wgan": "app.engine.tasks.wgan_task:WGANTask",
    "gpt": "app.engine.tasks.gpt_task:GPTTask",
}


def families() -> list[str]:
    return list(TASKS)


def get_task_class(family: str) -> type[Task]:
    try:
        target = TASKS[family]
    except KeyError:
        known = ", ".join(TASKS)
        raise ConfigError(f"unknown model family '{family}'; genplay knows {known}.") from None
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)
