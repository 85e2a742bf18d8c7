"""A small trained VAE checkpoint for the explorer's GUI tests (trained once per module)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QSlider, QStyle, QStyleOptionSlider, QWidget

from app.engine.checkpoint import read_checkpoint
from app.engine.data import load_shapes
from app.engine.setup import build_configs, create_task
from app.engine.trainer import Trainer

# the same small shapes set the GUI fixture substitutes for "shapes" (600 images, seed 0)
SETTINGS = {"latent_dim": 4, "hidden_dims": [64], "batch_size": 32, "steps": 150, "val_every": 0, "seed": 0}


def train_small_checkpoint(folder: Path) -> Path:
    data = load_shapes(seed=0, count=600)
    model_config, hparams, train = build_configs("vae", data, SETTINGS)
    task = create_task("vae", data, model_config, hparams, train)
    path = folder / "small-vae.safetensors"
    Trainer(task, checkpoint_path=path).run()
    return path


def decode_with(path: Path, code: np.ndarray) -> np.ndarray:
    """decoder(z) from the checkpoint itself, independent of the page: (C, H, W)."""
    model = read_checkpoint(path).build_model()
    with torch.no_grad():
        return model.decode(torch.as_tensor(code, dtype=torch.float32)[None])[0].numpy()


def shown(panel) -> np.ndarray:
    """The image an ImagePanel shows, as (C, H, W)."""
    image = np.asarray(panel.image)
    return image[None] if image.ndim == 2 else image.transpose(2, 0, 1)


def handle_centre(slider: QSlider) -> QPoint:
    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    rect = slider.style().subControlRect(
        QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderHandle, slider
    )
    return rect.center()


def drag(widget: QWidget, start: QPoint, end: QPoint, steps: int = 6) -> None:
    """Press, move in ``steps`` and release the left button, as a hand on a mouse does."""

    def send(kind, pos: QPoint, buttons) -> None:
        local = QPointF(pos)
        event = QMouseEvent(kind, local, widget.mapToGlobal(local), Qt.MouseButton.LeftButton, buttons,
                            Qt.KeyboardModifier.NoModifier)  # fmt: skip
        QApplication.sendEvent(widget, event)

    left = Qt.MouseButton.LeftButton
    send(QMouseEvent.Type.MouseButtonPress, start, left)
    for i in range(1, steps + 1):
        send(QMouseEvent.Type.MouseMove, start + (end - start) * (i / steps), left)
    send(QMouseEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton)
