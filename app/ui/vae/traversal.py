"""Traversal grid: one row per chosen latent dimension, columns sweeping it from −L to +L."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.engine.inference.vae_terms import KL_EXAMPLES
from app.engine.inference.vae_views import (
    TRAVERSAL_LIMIT,
    data_ranges,
    most_active_dims,
    parse_dims,
    sweep_values,
    traversal_codes,
)
from app.engine.labelled_grid import save_labelled_grid
from app.ui.vae import texts
from app.ui.vae.context import ViewContext
from app.ui.vae.example_picker import ExamplePicker
from app.ui.vae.explain import ExplainNote
from app.ui.vae.export import export_with_dialog
from app.ui.vae.grid_plot import LabelledGridPlot
from app.ui.vae.latent_sliders import ACTIVE_KL
from app.ui.widgets.layout import STRETCH, row

ROW_MODES = ("dimensions in use", "all dimensions", "these dimensions")
SWEEP_MODES = ("± L prior standard deviations", "the range of μ_i in the data")
BASE_MODES = ("zero (the prior's mean)", "the sliders' code", "μ of a validation image")
MAX_ROWS = 64


class TraversalView(QWidget):
    def __init__(self, context: ViewContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("vaeTraversalGrid")
        self.context = context
        self.dims: list[int] = []
        self.codes: np.ndarray | None = None
        self.images: np.ndarray | None = None
        self.values = sweep_values(7)
        self.ranges: list[tuple[float, float]] | None = None  # per row, in the data-range sweep
        self._data_mu: tuple[tuple, np.ndarray] | None = None  # ((step, data id), μ) cache

        self.rows_mode = QComboBox()
        self.rows_mode.setObjectName("vaeTraversalRows")
        self.rows_mode.addItems(ROW_MODES)
        self.rows_mode.setToolTip(
            "Which dimensions get a row; 'in use' are those with KL_i ≥ 0.1 nats (at most the count beside)"
        )
        self.count = QSpinBox()
        self.count.setObjectName("vaeTraversalCount")
        self.count.setRange(1, MAX_ROWS)
        self.count.setValue(8)
        self.count.setToolTip("At most this many rows: the dimensions with the largest KL_i")
        self.dims_edit = QLineEdit("0,1,2")
        self.dims_edit.setObjectName("vaeTraversalDims")
        self.dims_edit.setToolTip("Dimensions, e.g. 0,3,5-7")
        self.columns = QSpinBox()
        self.columns.setObjectName("vaeTraversalColumns")
        self.columns.setRange(3, 25)
        self.columns.setValue(7)
        self.columns.setToolTip("Images per row, evenly spaced from −L to +L")
        self.limit = QDoubleSpinBox()
        self.limit.setObjectName("vaeTraversalLimit")
        self.limit.setRange(0.5, 8.0)
        self.limit.setSingleStep(0.5)
        self.limit.setValue(TRAVERSAL_LIMIT)
        self.limit.setToolTip("L: each row sweeps z_i over [−L, L] (prior standard deviations)")
        self.sweep = QComboBox()
        self.sweep.setObjectName("vaeTraversalSweep")
        self.sweep.addItems(SWEEP_MODES)
        self.sweep.setToolTip(
            "± L: the prior's scale, the same for every row. Data range: from the 2nd to the 98th "
            "percentile of μ_i over validation images — where the codes of real images lie "
            "(a β-VAE's codes often fill much less than ±3, and beyond them the decoder improvises)"
        )
        self.base_mode = QComboBox()
        self.base_mode.setObjectName("vaeTraversalBase")
        self.base_mode.addItems(BASE_MODES)
        self.base_mode.setToolTip("The code the other dimensions keep")
        self.base_example = ExamplePicker("vaeTraversalExample", "image", seed=1)
        self.export_button = QPushButton("Export PNG…")
        self.export_button.setObjectName("vaeTraversalExport")
        self.export_button.clicked.connect(self._export_dialog)
        self.message = QLabel()
        self.message.setStyleSheet("color: #c62828;")
        self.grid = LabelledGridPlot("vaeTraversalGridPlot")

        top = row("Rows", self.rows_mode, self.count, self.dims_edit, 12, "Columns", self.columns,
                  "Sweep", self.sweep, self.limit, STRETCH, self.export_button)  # fmt: skip
        second = row("Other dimensions at", self.base_mode, self.base_example, self.message, STRETCH)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(second)
        layout.addWidget(self.grid, 1)
        layout.addWidget(ExplainNote("vaeTraversalNote", "traversals", texts.TRAVERSAL))
        self.setToolTip("")
        self.grid.setToolTip(texts.TRAVERSAL.replace("<b>", "").replace("</b>", ""))

        for signal in (self.rows_mode.currentIndexChanged, self.count.valueChanged,
                       self.columns.valueChanged, self.limit.valueChanged,
                       self.base_mode.currentIndexChanged, self.base_example.exampleChanged,
                       self.sweep.currentIndexChanged):  # fmt: skip
            signal.connect(self.refresh)
        self.dims_edit.editingFinished.connect(self.refresh)
        self._sync_controls()

    # --- choices ----------------------------------------------------------------------------
    def _sync_controls(self) -> None:
        mode = self.rows_mode.currentIndex()
        self.count.setVisible(mode == 0)
        self.dims_edit.setVisible(mode == 2)
        self.base_example.setVisible(self.base_mode.currentIndex() == 2)
        self.limit.setVisible(self.sweep.currentIndex() == 0)

    def chosen_dims(self) -> list[int]:
        latent_dim = self.context.vae.latent_dim
        mode = self.rows_mode.currentIndex()
        if mode == 1:
            return list(range(min(latent_dim, MAX_ROWS)))
        if mode == 2:
            return parse_dims(self.dims_edit.text(), latent_dim)[:MAX_ROWS]
        kl = self.context.kl()
        count = min(self.count.value(), latent_dim)
        if kl is None or len(kl) != latent_dim:
            return list(range(count))
        in_use = int((np.asarray(kl) >= ACTIVE_KL).sum())
        return most_active_dims(kl, min(count, max(1, in_use)))

    def base_code(self) -> np.ndarray:
        latent_dim = self.context.vae.latent_dim
        mode = self.base_mode.currentIndex()
        if mode == 1:
            code = self.context.code()
            if code.size == latent_dim:
                return code
        if mode == 2:
            image = self.base_example.image()
            if image is not None:
                mu, _ = self.context.vae.encode(image[None])
                return mu[0]
        return np.zeros(latent_dim, dtype=np.float32)

    # --- drawing ----------------------------------------------------------------------------
    def set_data(self) -> None:
        """The dataset (or model) changed: offer its validation images as base codes."""
        self.base_example.set_images(self.context.validation_images())

    def refresh(self) -> None:
        self._sync_controls()
        vae = self.context.vae
        if not vae.ready:
            self.clear()
            return
        try:
            dims = self.chosen_dims()
        except ValueError as exc:
            self.message.setText(str(exc))
            return
        self.message.setText("")
        columns = self.columns.value()
        limit = self.limit.value()
        self.values = sweep_values(columns, limit)
        self.dims = dims
        self.ranges = self.data_ranges(dims) if self.sweep.currentIndex() == 1 else None
        self.codes = traversal_codes(self.base_code(), dims, columns, limit, self.ranges)
        self.images = vae.decode(self.codes)
        self.grid.set_grid(self.images, columns, self.row_labels(), self.column_labels())

    def data_ranges(self, dims: list[int]) -> list[tuple[float, float]] | None:
        """2nd–98th percentile of μ_d over (up to) KL_EXAMPLES validation images, cached per snapshot."""
        images = self.context.validation_images()
        if images is None:
            return None
        key = (id(self.context.vae.model), self.context.vae.step, id(images))
        if self._data_mu is None or self._data_mu[0] != key:
            mu, _ = self.context.vae.encode(images[:KL_EXAMPLES])
            self._data_mu = (key, mu)
        return data_ranges(self._data_mu[1], dims)

    def row_labels(self) -> list[str]:
        kl = self.context.kl()
        labels = []
        for index, d in enumerate(self.dims):
            label = f"z{d} · KL {kl[d]:.2f}" if kl is not None and d < len(kl) else f"z{d}"
            if self.ranges is not None:
                low, high = self.ranges[index]
                label += f" · {low:+.1f}…{high:+.1f}".replace("-", "−")
            labels.append(label)
        return labels

    def column_labels(self) -> list[str]:
        if self.ranges is not None:  # the values differ per row: mark where the sweep starts and ends
            return ["p2"] + [""] * (len(self.values) - 2) + ["p98"]
        return [f"{v:+.1f}".replace("-", "−") for v in self.values]

    def clear(self) -> None:
        self.dims, self.codes, self.images = [], None, None
        self.grid.clear_grid()

    # --- export -----------------------------------------------------------------------------
    def export_png(self, path: str | Path) -> Path:
        if self.images is None:
            raise ValueError("there is no traversal to export yet")
        step = self.context.vae.step
        title = f"VAE traversals, step {step:,}" if step is not None else "VAE traversals"
        return save_labelled_grid(
            path, self.images, self.columns.value(), row_labels=self.row_labels(),
            column_labels=self.column_labels(), title=title,
        )  # fmt: skip

    def _export_dialog(self) -> None:
        export_with_dialog(
            self,
            "Export traversal grid",
            "traversal.png",
            self.export_png,
            self.message,
            self.images is not None,
        )
