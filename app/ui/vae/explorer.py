"""The latent-space explorer: sliders → decoded image, beside the latent map of the data."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.ui.vae import texts
from app.ui.vae.context import ViewContext
from app.ui.vae.example_picker import ExamplePicker
from app.ui.vae.explain import ExplainNote
from app.ui.vae.latent_map import LatentMap
from app.ui.vae.latent_sliders import LatentSliders
from app.ui.widgets.image_view import ImagePanel

MANIFOLD_DELAY_MS = 80  # coalesce manifold redraws while a slider is dragged


class LatentExplorer(QWidget):
    def __init__(self, context: ViewContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("vaeExplorer")
        self.context = context
        self.sliders = LatentSliders()
        self.decoded = ImagePanel("vaeDecodedImage", "decoder(z): the mean of p(x|z)")
        self.decoded.setMinimumSize(200, 200)
        self.decoded.setToolTip(texts.DECODED)
        self.map = LatentMap(context)

        self.reset_button = QPushButton("Reset to 0")
        self.reset_button.setObjectName("vaeResetCode")
        self.reset_button.setToolTip("z = 0: the prior's mean")
        self.prior_button = QPushButton("Sample prior")
        self.prior_button.setObjectName("vaeSamplePrior")
        self.prior_button.setToolTip("Draw z ~ p(z) = N(0, I): what generating a new image means")
        self.encode_button = QPushButton("Encode")
        self.encode_button.setObjectName("vaeEncodeExample")
        self.encode_button.setToolTip("Set z = μ(x) of the chosen validation image (its reconstruction)")
        self.picker = ExamplePicker("vaeExplorerExample", "Image")
        self.track = QCheckBox("keep encoding it as the model trains")
        self.track.setObjectName("vaeTrackExample")
        self.track.setToolTip("Re-encode the chosen image on every new snapshot of the weights")

        buttons = QHBoxLayout()
        buttons.addWidget(self.reset_button)
        buttons.addWidget(self.prior_button)
        encode_row = QHBoxLayout()
        encode_row.addWidget(self.picker, 1)
        encode_row.addWidget(self.encode_button)
        code_box = QGroupBox("Latent code z")
        code_layout = QVBoxLayout(code_box)
        code_layout.addLayout(buttons)
        code_layout.addLayout(encode_row)
        code_layout.addWidget(self.track)
        code_layout.addWidget(self.sliders, 1)
        code_layout.addWidget(ExplainNote("vaeSlidersNote", "the latent sliders", texts.SLIDERS))

        body = QSplitter(Qt.Orientation.Horizontal)
        body.setObjectName("vaeExplorerSplitter")
        body.addWidget(code_box)
        body.addWidget(self.decoded)
        body.addWidget(self.map)
        body.setStretchFactor(2, 1)
        body.setSizes([320, 300, 460])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(body)

        self.manifold_timer = QTimer(self)
        self.manifold_timer.setSingleShot(True)
        self.manifold_timer.setInterval(MANIFOLD_DELAY_MS)
        self.manifold_timer.timeout.connect(self.map.refresh_manifold)
        self.sliders.codeChanged.connect(self._code_changed)
        self.reset_button.clicked.connect(self.sliders.reset)
        self.prior_button.clicked.connect(self.sample_prior)
        self.encode_button.clicked.connect(self.encode_example)
        self.picker.exampleChanged.connect(self._example_changed)
        self.map.codePicked.connect(self.sliders.set_code)

    # --- actions -----------------------------------------------------------------------------------
    def sample_prior(self) -> None:
        if self.context.vae.ready:
            self.sliders.set_code(self.context.vae.draw_prior(self.context.rng)[0])

    def encode_example(self) -> None:
        """z = μ(x) of the chosen image: the sliders then show (exactly) its reconstruction."""
        image = self.picker.image()
        if image is None or not self.context.vae.ready:
            return
        mu, _ = self.context.vae.encode(image[None])
        self.sliders.set_code(mu[0])

    def _example_changed(self) -> None:
        if self.track.isChecked():
            self.encode_example()

    # --- following the model -------------------------------------------------------------------------
    def reset_model(self) -> None:
        """A new config (or none): rebuild the sliders and the map's axes."""
        self.map.reset_model()
        self.sliders.set_latent_dim(self.context.vae.latent_dim)
        if not self.context.vae.ready:
            self.decoded.clear_image()

    def set_data(self) -> None:
        self.picker.set_images(self.context.validation_images())
        self.map.set_data()

    def refresh(self) -> None:
        """New weights: redraw the decoded image (and re-encode a tracked image), refresh the map."""
        if self.track.isChecked() and self.picker.image() is not None:
            self.encode_example()  # emits codeChanged → decode
        else:
            self.decode()
        self.map.refresh()  # re-encodes at most every few seconds; redraws the manifold with it

    def decode(self) -> None:
        vae = self.context.vae
        code = self.sliders.code()
        if not vae.ready or code.size != vae.latent_dim:
            self.decoded.clear_image()
            return
        self.decoded.set_image(vae.decode(code[None])[0].transpose(1, 2, 0))

    def _code_changed(self) -> None:
        self.map.hold()  # the user is moving through z: the picture first, the map's refresh later
        self.decode()
        self.map.show_code(self.sliders.code())
        if self.map.manifold.isChecked() and self.context.vae.latent_dim > 2:
            self.manifold_timer.start()

    def set_kl(self, kl_per_dim: np.ndarray | None) -> None:
        self.sliders.set_kl(kl_per_dim)
