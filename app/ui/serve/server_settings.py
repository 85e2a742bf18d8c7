"""The server's knobs as spin boxes, starting at the engine's own defaults (ServeConfig's fields)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QFormLayout, QSpinBox, QWidget

from app.engine.serve.api import ModelSpec, ServeConfig


def field_defaults(cls: type) -> dict[str, object]:
    """A dataclass's defaults by field name: the engine states each default once."""
    return {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}


DEFAULTS = field_defaults(ServeConfig)


@dataclass(frozen=True)
class Knob:
    key: str  # the ServeConfig field
    label: str
    low: float
    high: float
    tooltip: str
    suffix: str = ""


KNOBS = (
    Knob("workers", "Workers", 1, 16, "Worker processes; each loads every served model."),
    Knob("max_batch", "Max batch", 1, 256, "The batcher hands a worker at most this many requests at once."),
    Knob("max_wait_ms", "Max wait", 0, 1000,
         "How long the batcher waits for more requests to fill a batch once one is waiting.", " ms"),
    Knob("queue_size", "Queue size", 1, 100_000,
         "Requests that may wait; when the queue is full, new ones are answered 429 at once."),
    Knob("port", "Port", 0, 65535, "The port on 127.0.0.1 (0: any free port)."),
)  # fmt: skip
WARM_SPARE_TIP = (
    "Keep one extra worker with the models loaded: a dead worker's place is taken at once. "
    "Turn it off to watch a killed worker go dead, start again and load the models."
)


class ServerSettings(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.boxes: dict[str, QSpinBox | QDoubleSpinBox] = {}
        for knob in KNOBS:
            default = DEFAULTS[knob.key]
            box = QDoubleSpinBox() if isinstance(default, float) else QSpinBox()
            if isinstance(box, QDoubleSpinBox):
                box.setDecimals(1)
            box.setRange(knob.low, knob.high)
            box.setValue(default)
            box.setSuffix(knob.suffix)
            box.setToolTip(knob.tooltip)
            box.setObjectName(f"serve{knob.key.title().replace('_', '')}Spin")
            self.boxes[knob.key] = box
            form.addRow(knob.label, box)
        self.warm_spare = QCheckBox("Warm spare worker")
        self.warm_spare.setObjectName("serveWarmSpareCheck")
        self.warm_spare.setChecked(DEFAULTS["warm_spare"])
        self.warm_spare.setToolTip(WARM_SPARE_TIP)
        form.addRow(self.warm_spare)

    def set_values(self, warm_spare: bool | None = None, **values: float) -> None:
        for key, value in values.items():
            self.boxes[key].setValue(value)
        if warm_spare is not None:
            self.warm_spare.setChecked(warm_spare)

    def config(self, models: tuple[ModelSpec, ...]) -> ServeConfig:
        values = {key: box.value() for key, box in self.boxes.items()}
        return ServeConfig(models=models, warm_spare=self.warm_spare.isChecked(), **values)
