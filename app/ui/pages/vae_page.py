"""The VAE page: train a VAE live and watch the ELBO's terms, reconstructions and KL per dimension."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGroupBox,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.engine.events import VisualsEvent
from app.ui.pages.family_page import FamilyPage
from app.ui.widgets.image_view import ImageGrid
from app.ui.widgets.loss_plot import LossPlot
from app.ui.widgets.settings_form import FieldSpec

BERNOULLI_TIP = (
    "Bernoulli: −log p(x|z) is the binary cross-entropy; suits black-and-white or nearly binary "
    "images (shapes, MNIST) because each pixel is treated as an on/off probability."
)
GAUSSIAN_TIP = (
    "Gaussian (σ² = 1): −log p(x|z) is ½‖x − x̂‖² + const; suits greyscale or colour images "
    "with in-between values, but with σ² = 1 the reconstruction term is weak next to the KL."
)


def vae_fields() -> list[FieldSpec]:
    return [
        FieldSpec("latent_dim", "Latent dimensions", "int", 20, 1, 512, group="model",
                  tooltip="Size of z. Unused dimensions collapse to the prior (KL ≈ 0)."),
        FieldSpec("arch", "Architecture", "choice", "mlp", choices=("mlp", "conv"), group="model",
                  tooltip="mlp: fully connected (784→400→20 classic); conv: a small convolutional net."),
        FieldSpec("hidden_dims", "Hidden widths (mlp)", "ints", (400,), 1, 8192, group="model",
                  tooltip="Widths of the MLP's hidden layers, e.g. 400 or 512,256."),
        FieldSpec("conv_channels", "Channels (conv)", "ints", (32, 64), 1, 512, group="model",
                  tooltip="Channels of each stride-2 conv layer, e.g. 32,64."),
        FieldSpec("likelihood", "Likelihood p(x|z)", "choice", "bernoulli",
                  choices=("bernoulli", "gaussian"), group="model",
                  tooltip=f"{BERNOULLI_TIP}\n{GAUSSIAN_TIP}",
                  choice_tooltips=(BERNOULLI_TIP, GAUSSIAN_TIP)),
        FieldSpec("beta", "β (KL weight)", "float", 1.0, 0.0, 1000.0, group="hparams", live=True,
                  tooltip="loss = reconstruction + β·KL; β > 1 favours disentangled, blurrier codes."),
        FieldSpec("kl_warmup_steps", "KL warm-up steps", "int", 0, 0, 10_000_000, group="hparams",
                  live=True, tooltip="β ramps linearly from 0 to β over N steps: β_t = β·min(1, t/N)."),
        FieldSpec("free_bits", "Free bits λ (nats)", "float", 0.0, 0.0, 100.0, group="hparams", live=True,
                  tooltip="Each dimension's KL is floored, Σ_i max(λ, KL_i), so dimensions stay in use."),
    ]  # fmt: skip


class VAEPage(FamilyPage):
    family = "vae"
    prefix = "vae"
    title = "VAE"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.recon_grid = ImageGrid("vaeReconGrid", "inputs (left) · reconstructions of μ (right)")
        self.kl_plot = pg.PlotWidget()
        self.kl_plot.setObjectName("vaeKlBars")
        self.kl_plot.setLabel("bottom", "latent dimension i")
        self.kl_plot.setLabel("left", "KL_i (nats)")
        self.kl_plot.setTitle("KL per dimension (bars at 0: collapsed dimensions)", size="10pt")
        self.kl_bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush="#1f77b4")
        self.kl_plot.addItem(self.kl_bars)
        self.kl_values: np.ndarray | None = None
        self._build_layout()

    # --- FamilyPage hooks ------------------------------------------------------------------
    def field_specs(self) -> list[FieldSpec]:
        return vae_fields() + super().field_specs()

    def setup_loss_series(self, plot: LossPlot) -> None:
        plot.add_series("loss", "negative ELBO")
        plot.add_series("recon", "reconstruction −log p(x|z)")
        plot.add_series("kl", "KL(q(z|x) ‖ p(z))")
        plot.add_series("val_loss", "validation negative ELBO", smoothed=False)
        plot.plot.setLabel("left", "nats per image")

    def on_visuals(self, event: VisualsEvent) -> None:
        visuals = event.visuals
        if "inputs" in visuals:
            self.show_reconstructions(visuals["inputs"], visuals["reconstructions"])
        if "kl_per_dim" in visuals:
            self.show_kl(visuals["kl_per_dim"])

    # --- views ------------------------------------------------------------------------------
    def show_reconstructions(self, inputs: np.ndarray, reconstructions: np.ndarray) -> None:
        pairs = np.empty((2 * len(inputs), *inputs.shape[1:]), dtype=np.float32)
        pairs[0::2], pairs[1::2] = inputs, reconstructions
        self.recon_grid.set_images(pairs, columns=8)

    def show_kl(self, kl_per_dim: np.ndarray) -> None:
        self.kl_values = np.asarray(kl_per_dim, dtype=np.float64)
        x = np.arange(len(self.kl_values))
        self.kl_bars.setOpts(x=x, height=self.kl_values, width=0.8)
        self.kl_plot.setXRange(-0.6, len(x) - 0.4, padding=0)
        self.kl_plot.setYRange(0, max(0.1, float(self.kl_values.max()) * 1.1), padding=0)

    def _build_layout(self) -> None:
        settings = QWidget()
        settings_layout = QVBoxLayout(settings)
        for title, group in (("Model", "model"), ("Objective", "hparams"), ("Training", "train")):
            box = QGroupBox(title)
            inner = QVBoxLayout(box)
            inner.addWidget(self._form_subset(group))
            settings_layout.addWidget(box)
        settings_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(settings)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(300)
        scroll.setMaximumWidth(380)

        self.views = QTabWidget()
        self.views.setObjectName("vaeViews")
        training_view = QSplitter(Qt.Orientation.Vertical)
        training_view.addWidget(self.loss_plot)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.recon_grid)
        bottom.addWidget(self.kl_plot)
        training_view.addWidget(bottom)
        training_view.setSizes([400, 300])
        self.views.addTab(training_view, "Training")

        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(scroll)
        body.addWidget(self.views)
        body.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.bar)
        layout.addWidget(body, 1)

    def _form_subset(self, group: str) -> QWidget:
        """The settings of one group, as rows of the page's single form."""
        return self.form.group_widget(group)
