"""Interpolation: decoded images along the path between the codes μ(x_A) and μ(x_B)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.engine.inference.vae_views import interpolate
from app.engine.labelled_grid import save_labelled_grid
from app.ui.vae import texts
from app.ui.vae.context import ViewContext
from app.ui.vae.example_picker import ExamplePicker
from app.ui.vae.explain import ExplainNote
from app.ui.vae.export import export_with_dialog
from app.ui.vae.grid_plot import LabelledGridPlot
from app.ui.widgets.layout import STRETCH, row

METHODS = {"linear": ["linear"], "spherical": ["spherical"], "both (compare)": ["linear", "spherical"]}
PATH_COLOURS = {"linear": "#1f77b4", "spherical": "#ff7f0e"}


class InterpolationView(QWidget):
    def __init__(self, context: ViewContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("vaeInterpolation")
        self.context = context
        self.paths: dict[str, np.ndarray] = {}  # method → codes (steps, latent_dim)
        self.images: np.ndarray | None = None  # (rows · steps, C, H, W) as shown
        self.rows: list[str] = []

        self.picker_a = ExamplePicker("vaeInterpolationA", "A", seed=2)
        self.picker_b = ExamplePicker("vaeInterpolationB", "B", seed=3)
        self.random_pair = QPushButton("Random pair")
        self.random_pair.setObjectName("vaeInterpolationRandomPair")
        self.random_pair.clicked.connect(self.pick_random_pair)
        self.steps = QSpinBox()
        self.steps.setObjectName("vaeInterpolationSteps")
        self.steps.setRange(2, 25)
        self.steps.setValue(10)
        self.steps.setToolTip("Images along the path, both ends included")
        self.method = QComboBox()
        self.method.setObjectName("vaeInterpolationMethod")
        self.method.addItems(list(METHODS))
        self.method.setToolTip("Linear: a straight line; spherical: along the great circle (slerp)")
        self.export_button = QPushButton("Export PNG…")
        self.export_button.setObjectName("vaeInterpolationExport")
        self.export_button.clicked.connect(self._export_dialog)
        self.message = QLabel()
        self.message.setStyleSheet("color: #c62828;")
        self.strip = LabelledGridPlot("vaeInterpolationStrip")
        self.norms = pg.PlotWidget()
        self.norms.setObjectName("vaeInterpolationNorms")
        self.norms.setLabel("bottom", "t")
        self.norms.setLabel("left", "‖z_t‖")
        self.norms.setTitle("length of the code along the path", size="9pt")
        self.norms.setMouseEnabled(False, False)
        self.norms.hideButtons()
        self.norms.addLegend(offset=(-10, 10))
        self.norm_curves = {
            m: self.norms.plot([], [], pen=pg.mkPen(c, width=2), name=m) for m, c in PATH_COLOURS.items()
        }
        self.radius_line = pg.InfiniteLine(
            angle=0, pen=pg.mkPen("#888", style=Qt.PenStyle.DashLine), label="√d",
            labelOpts={"position": 0.05, "color": "#555"},
        )  # fmt: skip
        self.norms.addItem(self.radius_line)

        controls = row(self.picker_a, self.picker_b, self.random_pair, 12, "Steps", self.steps,
                       "Path", self.method, STRETCH, self.export_button)  # fmt: skip
        body = QSplitter(Qt.Orientation.Vertical)
        body.addWidget(self.strip)
        body.addWidget(self.norms)
        body.setStretchFactor(0, 1)
        body.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.message)
        layout.addWidget(body, 1)
        layout.addWidget(ExplainNote("vaeInterpolationNote", "interpolation", texts.INTERPOLATION))
        for signal in (self.picker_a.exampleChanged, self.picker_b.exampleChanged, self.steps.valueChanged,
                       self.method.currentIndexChanged):  # fmt: skip
            signal.connect(self.refresh)

    def set_data(self) -> None:
        images = self.context.validation_images()
        for picker in (self.picker_a, self.picker_b):
            picker.set_images(images)
        if images is not None and len(images) > 1 and self.picker_a.index() == self.picker_b.index():
            self.picker_b.set_index(1)

    def pick_random_pair(self) -> None:
        self.picker_a.blockSignals(True)
        self.picker_a.pick_random()
        self.picker_a.blockSignals(False)
        self.picker_b.pick_random()
        self.refresh()

    def methods(self) -> list[str]:
        return METHODS[self.method.currentText()]

    def refresh(self) -> None:
        vae = self.context.vae
        image_a, image_b = self.picker_a.image(), self.picker_b.image()
        if not vae.ready or image_a is None or image_b is None:
            self.clear()
            if vae.ready:
                self.message.setText("Interpolation needs validation images that fit the model.")
            return
        self.message.setText("")
        mu, _ = vae.encode(torch.stack([image_a, image_b]))  # (2, latent_dim)
        steps = self.steps.value()
        self.paths = {m: interpolate(mu[0], mu[1], steps, m) for m in self.methods()}
        self.rows = list(self.paths)
        codes = np.concatenate([self.paths[m] for m in self.rows])
        self.images = vae.decode(codes)
        self.strip.set_grid(self.images, steps, self.rows, self.column_labels())
        for m, curve in self.norm_curves.items():
            if m in self.paths:
                curve.setData(np.linspace(0, 1, steps), np.linalg.norm(self.paths[m], axis=1))
            else:
                curve.setData([], [])
        self.radius_line.setValue(float(np.sqrt(vae.latent_dim)))

    def column_labels(self) -> list[str]:
        steps = self.steps.value()
        return [f"t={t:.2f}" for t in np.linspace(0, 1, steps)]

    def clear(self) -> None:
        self.paths, self.images, self.rows = {}, None, []
        self.strip.clear_grid()
        for curve in self.norm_curves.values():
            curve.setData([], [])

    def export_png(self, path: str | Path) -> Path:
        if self.images is None:
            raise ValueError("there is no interpolation to export yet")
        title = f"A = #{self.picker_a.index()} → B = #{self.picker_b.index()}"
        return save_labelled_grid(
            path, self.images, self.steps.value(), row_labels=self.rows,
            column_labels=self.column_labels(), title=title,
        )  # fmt: skip

    def _export_dialog(self) -> None:
        export_with_dialog(
            self,
            "Export interpolation",
            "interpolation.png",
            self.export_png,
            self.message,
            self.images is not None,
        )
