"""The VAE page: train a VAE live and explore what the ELBO does to its latent space.

Tabs: Training (ELBO readout, loss terms, reconstructions, KL per dimension), KL over the steps
(the KL per dimension of the whole run as a heat map, from the checkpoint's history and the live
run), Latent space (sliders → decoded image, latent map), Traversals, Interpolation,
Reparameterization.

Every view that runs inference uses ``self.inference``, a model of its own that is built
once per config and reloaded from each ``ModelSnapshot`` (published by the worker a few
times a second, or an opened checkpoint's weights) — never the model being trained.
Only the visible tab recomputes on a new snapshot; the others catch up when shown.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.engine.data.bundle import DataBundle
from app.engine.data.info import DataKind
from app.engine.events import ModelSnapshot, NoticeLevel, VisualsEvent
from app.engine.history import RunHistory
from app.engine.images import save_png_grid
from app.engine.inference.vae_snapshot import SnapshotVAE
from app.engine.inference.vae_terms import KL_EXAMPLES, estimate_elbo, reconstructions_and_kl
from app.engine.inference.visuals import VAEVisuals
from app.ui.pages.family_page import FamilyPage
from app.ui.vae import texts
from app.ui.vae.context import ViewContext
from app.ui.vae.elbo_readout import ElboReadout, TermRow
from app.ui.vae.explain import ExplainNote
from app.ui.vae.explorer import LatentExplorer
from app.ui.vae.interpolation import InterpolationView
from app.ui.vae.kl_bars import KlBars
from app.ui.vae.kl_history import KlHistoryMap
from app.ui.vae.reparameterization import ReparameterizationView
from app.ui.vae.traversal import TraversalView
from app.ui.widgets.exports import NO_MODEL_HINT, check_exportable, export_widget_png
from app.ui.widgets.image_view import ImageGrid
from app.ui.widgets.layout import scrolled
from app.ui.widgets.loss_plot import LossPlot
from app.ui.widgets.settings_form import FieldSpec

GUI_SEED = 2024  # the views' own generator (prior samples, ε); the trainer's RNG is never touched

BERNOULLI_TIP = (
    "Bernoulli: −log p(x|z) is the binary cross-entropy; suits black-and-white or nearly binary "
    "images (shapes, MNIST) because each pixel is treated as an on/off probability."
)
GAUSSIAN_TIP = (
    "Gaussian (σ² = 1): −log p(x|z) is ½‖x − x̂‖² + const; suits greyscale or colour images "
    "with in-between values, but with σ² = 1 the reconstruction term is weak next to the KL."
)
LAPLACE_TIP = (
    "Laplace (b = 1): −log p(x|z) is Σ|x − x̂| / b + log 2b per pixel, an ℓ1 reconstruction term; "
    "its gradient sign(x̂ − x)/b does not shrink with the error as the Gaussian's (x̂ − x) does, so "
    "small errors keep being corrected."
)


MODEL_FIELDS = (
    FieldSpec("latent_dim", "Latent dimensions",
              "Size of z. Unused dimensions collapse to the prior (KL ≈ 0)."),
    FieldSpec("arch", "Architecture",
              "mlp: fully connected (784→400→20 classic); conv: a small convolutional net."),
    FieldSpec("hidden_dims", "Hidden widths (mlp)",
              "Widths of the MLP's hidden layers, e.g. 400 or 512,256."),
    FieldSpec("conv_channels", "Channels (conv)", "Channels of each stride-2 conv layer, e.g. 32,64."),
    FieldSpec("likelihood", "Likelihood p(x|z)", f"{BERNOULLI_TIP}\n{GAUSSIAN_TIP}\n{LAPLACE_TIP}",
              choice_tooltips=(BERNOULLI_TIP, GAUSSIAN_TIP, LAPLACE_TIP)),
)  # fmt: skip
HPARAM_FIELDS = (
    FieldSpec("beta", "β (KL weight)",
              "loss = reconstruction + β·KL; β > 1 favours disentangled, blurrier codes.", live=True),
    FieldSpec("kl_warmup_steps", "KL warm-up steps",
              "β ramps linearly from 0 to β over N steps: β_t = β·min(1, t/N).", live=True),
    FieldSpec("free_bits", "Free bits λ (nats)",
              "Each dimension's KL is floored, Σ_i max(λ, KL_i), so dimensions stay in use.", live=True),
)  # fmt: skip


def with_note(widget: QWidget, name: str, title: str, html: str) -> QWidget:
    """``widget`` above its collapsible explanation."""
    holder = QWidget()
    layout = QVBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    layout.addWidget(widget, 1)
    layout.addWidget(ExplainNote(name, title, html))
    return holder


class VAEPage(FamilyPage):
    family = "vae"
    prefix = "vae"
    title = "VAE"
    model_fields = MODEL_FIELDS
    hparam_fields = HPARAM_FIELDS

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.inference = SnapshotVAE()
        self.gui_rng = torch.Generator().manual_seed(GUI_SEED)
        self.kl_values: np.ndarray | None = None
        self._view_data: DataBundle | None = None
        self._data_shown: object = None  # the bundle the views were last given (identity)
        self._stale: set[QWidget] = set()
        self.context = ViewContext(
            vae=self.inference,
            rng=self.gui_rng,
            data=lambda: self._view_data,
            kl=lambda: self.kl_values,
            code=lambda: self.explorer.sliders.code(),
        )
        self.recon_grid = ImageGrid("vaeReconGrid", "inputs (left) · reconstructions of μ (right)")
        self.kl_plot = KlBars()
        self.kl_history = KlHistoryMap()
        self.elbo_readout = ElboReadout()
        self.explorer = LatentExplorer(self.context)
        self.traversal = TraversalView(self.context)
        self.interpolation = InterpolationView(self.context)
        self.reparameterization = ReparameterizationView(self.context)
        self._build_layout()
        self.modelChanged.connect(self._model_changed)
        self.metricsArrived.connect(self.elbo_readout.show_metrics)
        self.form.liveChanged.connect(self._objective_changed)
        self.views.currentChanged.connect(self._tab_changed)
        self._objective_changed()

    # --- FamilyPage hooks ------------------------------------------------------------------
    def setup_loss_series(self, plot: LossPlot) -> None:
        plot.add_series("loss", "negative ELBO = recon + KL")
        plot.add_series("recon", "reconstruction −log p(x|z)")
        plot.add_series("kl", "KL(q(z|x) ‖ p(z))")
        plot.add_series("objective", "objective recon + β·Σ max(λ, KL_i)")
        plot.add_series("val_loss", "validation negative ELBO", smoothed=False)
        plot.add_series("beta", "β (warm-up)", smoothed=False, right_axis=True, color="#7f7f7f")
        beta_curve = plot.series["beta"].smooth_item  # a thin line: β changes every step, no dots
        beta_curve.setSymbol(None)
        beta_curve.setPen(pg.mkPen("#7f7f7f", width=1.5, style=Qt.PenStyle.DashLine))
        plot.plot.setLabel("left", "nats per image")
        plot.set_right_label("β")

    def exports(self) -> list[tuple[str, str, Any]]:
        """File → Export: every picture the page shows, plus the shared loss exports."""
        return [
            *super().exports(),
            ("Reconstruction grid as PNG…", "png", self._export_reconstructions),
            ("KL per dimension as PNG…", "png", self._export_kl),
            ("KL over the steps as PNG…", "png", self._export_kl_history),
            ("Traversal grid as PNG…", "png", self._export_traversal),
            ("Interpolation as PNG…", "png", self._export_interpolation),
            ("Latent map as PNG…", "png", self._export_latent_map),
        ]

    def _export_reconstructions(self, path) -> None:
        check_exportable(self.recon_grid.images is not None, "reconstruction grid")
        save_png_grid(self.recon_grid.images, path, columns=8, scale=4)

    def _export_kl(self, path) -> None:
        export_widget_png(self.kl_plot, path, self.kl_plot.values is not None, "KL per dimension")

    def _export_kl_history(self, path) -> None:
        self.kl_history.redraw()  # it catches up only when shown
        export_widget_png(self.kl_history, path, len(self.kl_history.records) > 0, "KL history")

    def _export_traversal(self, path) -> None:
        self.traversal.refresh()
        check_exportable(self.traversal.images is not None, "traversal grid", self._data_hint())
        self.traversal.export_png(path)

    def _export_interpolation(self, path) -> None:
        self.interpolation.refresh()
        check_exportable(self.interpolation.images is not None, "interpolation", self._data_hint())
        self.interpolation.export_png(path)

    def _export_latent_map(self, path) -> None:
        check_exportable(self.inference.ready, "latent map")
        check_exportable(self._view_data is not None, "latent map", self._data_hint())
        hint = "show the Latent space tab once, so that it encodes the validation images"
        export_widget_png(self.explorer.map, path, self.explorer.map.coords is not None, "latent map", hint)

    def _data_hint(self) -> str:
        if not self.inference.ready:
            return NO_MODEL_HINT
        return "choose a dataset whose images fit the model"

    def on_visuals(self, event: VisualsEvent) -> None:
        self.show_visuals(event.visuals, event.step)
        self.kl_history.add(event.step, event.visuals.kl_per_dim)

    def show_history(self, history: RunHistory) -> None:
        self.kl_history.set_history(history.kl)

    def forget_history(self) -> None:
        self.kl_history.clear_history()

    # --- the training tab's views ------------------------------------------------------------
    def show_visuals(self, visuals: VAEVisuals, step: int) -> None:
        self.show_reconstructions(visuals.inputs, visuals.reconstructions)
        self.show_kl(visuals.kl_per_dim, step)

    def show_reconstructions(self, inputs: np.ndarray, reconstructions: np.ndarray) -> None:
        pairs = np.empty((2 * len(inputs), *inputs.shape[1:]), dtype=np.float32)
        pairs[0::2], pairs[1::2] = inputs, reconstructions
        self.recon_grid.set_images(pairs, columns=8)

    def show_kl(self, kl_per_dim: np.ndarray, step: int | None = None) -> None:
        self.kl_values = np.asarray(kl_per_dim, dtype=np.float64)
        self.kl_plot.show_kl(self.kl_values, step)
        self.explorer.set_kl(self.kl_values)

    # --- following the weights -----------------------------------------------------------------
    def _model_changed(self, snapshot: ModelSnapshot | None) -> None:
        rebuilt = self.inference.update(snapshot)
        if snapshot is None:
            self._clear_views()
            return
        data = self._fitting_data(snapshot)
        if rebuilt:
            self.kl_values = None
            self.kl_plot.clear_kl()
            self.explorer.set_kl(None)
            self.explorer.reset_model()
            self._stale.update(self._inference_views())
        if rebuilt or data is not self._data_shown:
            self._view_data, self._data_shown = data, data
            for view in self._inference_views():
                view.set_data()
        if not self.is_active:  # an opened checkpoint: its own β and λ, no worker publishing visuals
            self._objective_changed()
            self._visuals_from_snapshot(snapshot)
        self._stale.update(self._inference_views())
        self._refresh_current()

    def _fitting_data(self, snapshot: ModelSnapshot) -> DataBundle | None:
        """The dataset for the views, or None (with a message) when its images do not fit."""
        data = self.current_data()
        if data is None:
            return None
        expected = tuple(snapshot.config.input_shape)
        if data.kind != DataKind.IMAGES or tuple(data.item_shape) != expected:
            if data is not self._data_shown:
                message = (
                    f"Dataset '{data.name}' has items of shape {tuple(data.item_shape)} but the "
                    f"model expects images of {expected}; the views that need data are off."
                )
                # after the page's own "Opened …" line, which follows this signal
                QTimer.singleShot(0, lambda: self.show_message(message, NoticeLevel.WARNING))
            self._data_shown = data
            return None
        return data

    def _visuals_from_snapshot(self, snapshot: ModelSnapshot) -> None:
        """No worker is publishing (an opened checkpoint): compute the training tab's views here."""
        data = self._view_data
        if data is None:
            return
        self.show_visuals(reconstructions_and_kl(self.inference.require(), data.val), snapshot.step)
        estimate = estimate_elbo(self.inference, data.val[:KL_EXAMPLES], self.gui_rng)
        self.elbo_readout.show_row(
            "validation",
            TermRow(f"validation ({estimate.count} images) · step {snapshot.step:,}",
                    estimate.reconstruction, estimate.kl),
        )  # fmt: skip
        metrics = self.loaded_checkpoint.metrics if self.loaded_checkpoint is not None else {}
        if "recon" in metrics and "kl" in metrics:
            self.elbo_readout.show_row(
                "training",
                TermRow(f"last training batch · step {snapshot.step:,}", metrics["recon"], metrics["kl"],
                        metrics.get("objective"), metrics.get("beta")),
            )  # fmt: skip

    def _clear_views(self) -> None:
        self.kl_values = None
        self._view_data, self._data_shown = None, None
        self.kl_plot.clear_kl()
        self.recon_grid.clear_image()
        self.elbo_readout.clear()
        self.explorer.set_kl(None)
        self.explorer.reset_model()
        for view in self._inference_views():
            view.set_data()
            view.refresh()  # without a model each view clears itself
        self._stale.clear()

    def _inference_views(self) -> list:
        return [self.explorer, self.traversal, self.interpolation, self.reparameterization]

    def current_view(self) -> QWidget:
        """The view on the visible tab (tabs wrap their view in a scroll area)."""
        current = self.views.currentWidget()
        return current.widget() if isinstance(current, QScrollArea) else current

    def show_view(self, view: QWidget) -> None:
        for index in range(self.views.count()):
            tab = self.views.widget(index)
            if tab is view or (isinstance(tab, QScrollArea) and tab.widget() is view):
                self.views.setCurrentIndex(index)
                return

    def _refresh_current(self) -> None:
        current = self.current_view()
        if current in self._stale:
            self._stale.discard(current)
            current.refresh()

    def _tab_changed(self, _index: int) -> None:
        self._refresh_current()

    def refresh_all(self) -> None:
        """Recompute every view now (exports, tests); normally only the visible tab refreshes."""
        for view in self._inference_views():
            view.refresh()
        self._stale.clear()

    def _objective_changed(self, *_args) -> None:
        try:
            beta, free_bits = self.form.value("beta"), self.form.value("free_bits")
        except ValueError:
            return
        self.elbo_readout.set_settings(beta, free_bits)
        self.kl_plot.set_floor(free_bits)
        try:
            self.kl_history.set_warmup(self.form.value("kl_warmup_steps"))
        except ValueError:
            pass

    # --- layout -----------------------------------------------------------------------------
    def _build_layout(self) -> None:
        scroll = self.settings_panel([("Model", "model"), ("Objective", "hparams"), ("Training", "train")])

        self.views = QTabWidget()
        self.views.setObjectName("vaeViews")
        training_view = QSplitter(Qt.Orientation.Vertical)
        training_view.addWidget(with_note(self.elbo_readout, "vaeElboNote", "the ELBO", texts.ELBO))
        training_view.addWidget(with_note(self.loss_plot, "vaeLossNote", "the loss curves", texts.LOSS_PLOT))
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(with_note(self.recon_grid, "vaeReconNote", "reconstructions", texts.RECONSTRUCTIONS))
        bottom.addWidget(with_note(self.kl_plot, "vaeKlNote", "KL per dimension", texts.KL_BARS))
        training_view.addWidget(bottom)
        training_view.setSizes([110, 380, 300])
        # scroll areas keep the window's minimum size small: a laptop screen still fits it
        self.views.addTab(scrolled(training_view), "Training")
        kl_history = with_note(self.kl_history, "vaeKlHistoryNote", "KL per dimension over the steps",
                               texts.KL_HISTORY)  # fmt: skip
        self.views.addTab(scrolled(kl_history), "KL over the steps")
        self.views.addTab(scrolled(self.explorer), "Latent space")
        self.views.addTab(scrolled(self.traversal), "Traversals")
        self.views.addTab(scrolled(self.interpolation), "Interpolation")
        self.views.addTab(scrolled(self.reparameterization), "Reparameterization")

        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(scroll)
        body.addWidget(self.views)
        body.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.bar)
        layout.addWidget(body, 1)
