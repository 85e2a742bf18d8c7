"""The reparameterization trick for one example, step by step: μ, σ, ε, z = μ + σ ⊙ ε."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.engine.inference.vae_terms import ReparameterizationStep, reparameterization_step
from app.ui.vae import texts
from app.ui.vae.context import ViewContext
from app.ui.vae.example_picker import ExamplePicker
from app.ui.vae.explain import ExplainNote
from app.ui.widgets.image_view import ImagePanel
from app.ui.widgets.layout import STRETCH, row

LEARNED = "#1f77b4"
RANDOM = "#ff7f0e"
SAMPLE = "#d62728"
IMAGE_MAX_HEIGHT = 240  # taller panels would only add white space above and below the image
COLUMNS = [
    ("μ_i", "learned: the encoder's mean for this image", LEARNED),
    ("σ_i", "learned: σ = exp(½ log σ²), the encoder's spread", LEARNED),
    ("ε_i", "random: drawn from N(0, 1), the only noise", RANDOM),
    ("z_i = μ_i + σ_i·ε_i", "the sampled code the decoder sees", SAMPLE),
    ("KL_i", "½(μ_i² + σ_i² − log σ_i² − 1): depends on μ and σ only", "#333333"),
]


class ReparameterizationView(QWidget):
    def __init__(self, context: ViewContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("vaeReparameterization")
        self.context = context
        self.eps: torch.Tensor | None = None  # (latent_dim,), kept until "Draw ε again"
        self.result: ReparameterizationStep | None = None

        self.picker = ExamplePicker("vaeReparamExample", "Image", seed=4)
        self.picker.exampleChanged.connect(self.refresh)
        self.redraw_button = QPushButton("Draw ε again")
        self.redraw_button.setObjectName("vaeReparamDrawEps")
        self.redraw_button.setToolTip("Keep μ and σ, draw new noise ε ~ N(0, I)")
        self.redraw_button.clicked.connect(self.draw_eps)
        # short titles fit a narrow column; the tooltips say the rest
        self.input_view = ImagePanel("vaeReparamInput", "x (input)")
        self.sample_view = ImagePanel("vaeReparamDecoded", "decoder(z)")
        self.mean_view = ImagePanel("vaeReparamMean", "decoder(μ)")
        self.input_view.setToolTip("The chosen validation image x")
        self.sample_view.setToolTip("The decoder's mean for the sampled code z = μ + σ⊙ε: changes with ε")
        self.mean_view.setToolTip("The decoder's mean for z = μ, without noise, for comparison")
        for view in (self.input_view, self.sample_view, self.mean_view):
            view.setMaximumHeight(IMAGE_MAX_HEIGHT)
        self.terms = QLabel()
        self.terms.setObjectName("vaeReparamTerms")
        self.terms.setTextFormat(Qt.TextFormat.RichText)
        self.terms.setWordWrap(True)

        self.plot = pg.PlotWidget()
        self.plot.setObjectName("vaeReparamPlot")
        self.plot.setLabel("bottom", "latent dimension i")
        self.plot.setLabel("left", "value")
        self.plot.setTitle("learned μ_i ± σ_i, sampled z_i; grey band: the prior's ±1", size="9pt")
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.addLegend(offset=(-10, 10))
        prior = pg.LinearRegionItem((-1, 1), orientation="horizontal", movable=False,
                                    brush=pg.mkBrush(0, 0, 0, 18), pen=pg.mkPen(None))  # fmt: skip
        self.plot.addItem(prior)
        self.spread = pg.ErrorBarItem(x=np.zeros(0), y=np.zeros(0), height=np.zeros(0),
                                      pen=pg.mkPen(LEARNED, width=2), beam=0.25)  # fmt: skip
        self.plot.addItem(self.spread)
        self.mu_points = pg.ScatterPlotItem(size=8, brush=pg.mkBrush(LEARNED), pen=None, name="μ_i ± σ_i")
        self.z_points = pg.ScatterPlotItem(size=11, symbol="x", brush=pg.mkBrush(SAMPLE),
                                           pen=pg.mkPen(SAMPLE), name="z_i = μ_i + σ_i ε_i")  # fmt: skip
        self.plot.addItem(self.mu_points)
        self.plot.addItem(self.z_points)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("vaeReparamTable")
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for c, (title, tip, colour) in enumerate(COLUMNS):
            item = QTableWidgetItem(title)
            item.setToolTip(tip)
            item.setForeground(QBrush(QColor(colour)))
            self.table.setHorizontalHeaderItem(c, item)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setDefaultSectionSize(20)

        controls = row(self.picker, self.redraw_button, STRETCH)
        images = QHBoxLayout()
        for view in (self.input_view, self.sample_view, self.mean_view):
            images.addWidget(view)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(controls)
        left_layout.addLayout(images)
        left_layout.addWidget(self.terms)
        left_layout.addStretch(1)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.plot)
        right.addWidget(self.table)
        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(left)
        body.addWidget(right)
        body.setSizes([450, 550])
        layout = QVBoxLayout(self)
        layout.addWidget(body, 1)
        layout.addWidget(
            ExplainNote("vaeReparamNote", "the reparameterization trick", texts.REPARAMETERIZATION)
        )

    def set_data(self) -> None:
        self.picker.set_images(self.context.validation_images())

    def draw_eps(self) -> None:
        """New noise ε ~ N(0, I) from the GUI's own generator; μ and σ stay as they are."""
        latent_dim = self.context.vae.latent_dim
        if latent_dim:
            self.eps = torch.randn(latent_dim, generator=self.context.rng)
        self.refresh()

    def refresh(self) -> None:
        vae = self.context.vae
        image = self.picker.image()
        if not vae.ready or image is None:
            self.clear()
            if vae.ready:
                self.terms.setText("This view needs validation images that fit the model.")
            return
        if self.eps is None or len(self.eps) != vae.latent_dim:
            self.eps = torch.randn(vae.latent_dim, generator=self.context.rng)
        step = reparameterization_step(vae, image, self.eps)
        self.result = step
        self.input_view.set_image(image.numpy().transpose(1, 2, 0))
        self.sample_view.set_image(step.decoded.transpose(1, 2, 0))
        self.mean_view.set_image(vae.decode(step.mu[None])[0].transpose(1, 2, 0))
        self._show_terms(step)
        self._show_plot(step)
        self._show_table(step)

    def _show_terms(self, step: ReparameterizationStep) -> None:
        self.terms.setText(
            f"<b>−log p(x|z)</b> = {step.reconstruction:.2f} nats "
            f"<span style='color:#888'>(changes with ε)</span><br>"
            f"<b>KL(q(z|x) ‖ p(z))</b> = Σ<sub>i</sub> KL<sub>i</sub> = {step.kl:.2f} nats "
            f"<span style='color:#888'>(μ and σ only)</span><br>"
            f"one-sample ELBO = log p(x|z) − KL = <b>{step.elbo:.2f}</b> nats"
        )

    def _show_plot(self, step: ReparameterizationStep) -> None:
        x = np.arange(len(step.mu), dtype=np.float64)
        self.spread.setData(x=x, y=step.mu.astype(np.float64), height=2.0 * step.sigma.astype(np.float64))
        self.mu_points.setData(x=x, y=step.mu)
        self.z_points.setData(x=x, y=step.z)
        self.plot.setXRange(-0.7, len(x) - 0.3, padding=0)

    def _show_table(self, step: ReparameterizationStep) -> None:
        columns = (step.mu, step.sigma, step.eps, step.z, step.kl_per_dim)
        self.table.setRowCount(len(step.mu))
        for r in range(len(step.mu)):
            for c, values in enumerate(columns):
                text = f"{float(values[r]):+.3f}" if c != 4 else f"{float(values[r]):.3f}"
                item = self.table.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    self.table.setItem(r, c, item)
                item.setText(text.replace("-", "−"))
        self.table.setVerticalHeaderLabels([f"z{r}" for r in range(len(step.mu))])

    def clear(self) -> None:
        self.result = None
        for view in (self.input_view, self.sample_view, self.mean_view):
            view.clear_image()
        self.terms.setText("Train a model or open a checkpoint to see one code being drawn.")
        self.spread.setData(x=np.zeros(0), y=np.zeros(0), height=np.zeros(0))
        self.mu_points.setData([], [])
        self.z_points.setData([], [])
        self.table.setRowCount(0)
