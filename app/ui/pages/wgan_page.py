"""The WGAN-GP page: train a critic and a generator, watch the samples evolve, see the critic's
surface, move each player by hand, and compare W1 with the JSD on the simplest example."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QStyle,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.engine.animation import FAKE_COLOR, REAL_COLOR, save_gif, save_strip
from app.engine.checkpoint import Checkpoint
from app.engine.data import BUILTIN_DATASETS
from app.engine.data.info import DataKind
from app.engine.data.kinds import guess_data_kind
from app.engine.data.toy2d import TOY_SETS, mode_coverage
from app.engine.events import MetricsKind, ModelSnapshot, NoticeLevel, RunState, VisualsEvent
from app.engine.history import RunHistory
from app.engine.inference.visuals import WGANVisuals
from app.engine.inference.wgan_architecture import default_conv_channels
from app.engine.inference.wgan_frames import (
    Extent,
    FrameRenderer,
    WGANFrame,
    evolution_pictures,
    plane_extent,
)
from app.engine.inference.wgan_noise import fixed_noise
from app.ui.pages.family_page import FamilyPage
from app.ui.wgan.critic_map import CriticMapView
from app.ui.wgan.grad_norm_hist import GradNormHistogram
from app.ui.wgan.timeline_bar import TimelineBar
from app.ui.wgan.w1_lab import W1LabView
from app.ui.widgets.exports import NothingToExport, check_exportable, export_widget_png
from app.ui.widgets.image_view import ImageGrid
from app.ui.widgets.loss_plot import LossPlot
from app.ui.widgets.save_dialog import ask_export_path
from app.ui.widgets.settings_form import FieldSpec
from models.wgan import ORIGINAL_GAN_SETTINGS, WGAN_GP_SETTINGS

REAL_POINTS_SHOWN = 1000
LOSS_TIP = (
    "critic loss L_D = E[D(G(z))] − E[D(x)] + λ·GP (averaged over the step's critic updates)\n"
    "generator loss L_G = −E[D(G(z))]\n"
    "gradient penalty GP = E[(‖∇D(x̂)‖₂ − 1)²] at x̂ = αx + (1 − α)G(z), α ~ U(0, 1)\n"
    "mean / std ‖∇D‖: the gradient norms at x̂ (target 1)\n"
    "W1 estimate E[D(x)] − E[D(G(z))] (right axis): falls as the generator gets closer to the data"
)
GAN_LOSS_TIP = (
    "discriminator loss L_D = −E[log D(x)] − E[log(1 − D(G(z)))], D = sigmoid(ℓ) (averaged over the step's "
    "updates)\n"
    "generator loss L_G = E[log(1 − D(G(z)))] (minimax) or −E[log D(G(z))] (non-saturating)\n"
    "mean / std ‖∇ℓ‖: gradient norms of D's logit at x̂ = αx + (1 − α)G(z) (unconstrained)\n"
    "JSD estimate log 2 − ½·L_D (right axis): the Jensen–Shannon divergence if D were optimal\n"
    "E[D(x)], E[D(G(z))] (right axis): D's probabilities; D(G(z)) → 0 is where the minimax generator "
    "stops learning"
)
# the loss plot's curves for each kind of objective: metric → legend label (in this order)
WGAN_CURVES = {
    "critic_loss": "critic loss",
    "gen_loss": "generator loss",
    "gp": "gradient penalty",
    "grad_norm_mean": "mean ‖∇D‖",
    "grad_norm_std": "std ‖∇D‖",
    "wasserstein": "W1 estimate",
    "val_wasserstein": "validation W1",
}
GAN_CURVES = {
    "critic_loss": "discriminator loss",
    "gen_loss": "generator loss",
    "grad_norm_mean": "mean ‖∇ℓ‖",
    "grad_norm_std": "std ‖∇ℓ‖",
    "jsd": "JSD estimate",
    "val_jsd": "validation JSD",
    "d_real": "E[D(x)]",
    "d_fake": "E[D(G(z))]",
}
WGAN_RIGHT_LABEL = "W1 estimate E[D(x)] − E[D(G(z))]"
GAN_RIGHT_LABEL = "JSD estimate · D's probabilities"
WGAN_ARROWS = ("→ ∇ₓD(x)", "Where the generator's loss −E[D(G(z))] pushes each sample: up the critic's slope")
GAN_ARROWS = ("→ −∇ₓL_G", "Where the generator's loss pushes each sample (the longest arrow is drawn at a "
              "fixed length; the map's title gives its size, “push”): for the minimax loss D(x)·∇ₓℓ, which "
              "vanishes where D rejects the fakes")  # fmt: skip
SAMPLES_TITLE = "samples G(z) from one fixed noise batch"
GP_TIP = "Gradient penalty (WGAN-GP): λ·E[(‖∇x̂ D(x̂)‖₂ − 1)²] keeps the critic 1-Lipschitz softly."
CLIP_TIP = "Weight clipping (original WGAN): every critic weight in [−c, c] after each update; RMSProp."
SPECTRAL_TIP = (
    "Spectral normalisation: each critic layer is divided by its operator norm (a linear layer's largest "
    "singular value; a convolution's norm on its input, by power iteration with the convolution and its "
    "transpose), so every layer and the whole critic are 1-Lipschitz: ‖∇D‖ ≤ 1 everywhere. This bounds "
    "‖∇D‖ from above only; unlike the penalty it does not push it up to 1."
)
NONE_TIP = "No constraint: the original GAN's discriminator has none (its sigmoid keeps D in (0, 1))."
OPERATOR_TIP = "operator: divide a convolution by its true norm as a map on its input (exactly 1-Lipschitz)."
KERNEL_TIP = (
    "kernel: PyTorch's spectral_norm, the largest singular value of the flattened kernel; it does not "
    "bound a convolution (overlapping windows reuse pixels: measured layer norms 1.25–1.70, ‖∇D‖ up to "
    "3.6). Checkpoints written before this choice existed use it."
)
WASSERSTEIN_TIP = (
    "wasserstein (WGAN-GP): the critic estimates W1; L_D = E[D(G(z))] − E[D(x)] + λ·GP, L_G = −E[D(G(z))]. "
    "Choosing it sets n_critic = 5 and the gradient penalty."
)
MINIMAX_TIP = (
    "minimax (the original GAN): D(x) = sigmoid(ℓ(x)) is a probability; L_D = −E[log D(x)] − "
    "E[log(1 − D(G(z)))], L_G = E[log(1 − D(G(z)))], which saturates (no gradient) when D rejects the "
    "fakes. Choosing it sets n_critic = 1 and no Lipschitz constraint, as Goodfellow et al. (2014) did."
)
NONSATURATING_TIP = (
    "nonsaturating: the original GAN with the paper's practical generator loss L_G = −E[log D(G(z))], "
    "strong where D rejects the fakes. Choosing it sets n_critic = 1 and no Lipschitz constraint."
)
# form values that suit each kind of data; applied when the chosen dataset changes kind
KIND_DEFAULTS = {
    DataKind.POINTS: {"latent_dim": 2, "arch": "mlp", "hidden_dims": (128, 128, 128), "batch_size": 256,
                      "steps": 10000},
    DataKind.IMAGES: {"latent_dim": 64, "arch": "conv", "conv_channels": (32, 64), "batch_size": 64,
                      "generator_upsampling": "nearest", "generator_batch_norm": True, "steps": 3000},
}  # fmt: skip
# an image folder's size is known only once loaded: two halvings fit both 28×28 and 32×32


MODEL_FIELDS = (
    FieldSpec("latent_dim", "Noise dimensions", "Size of z ~ N(0, I), the generator's input."),
    FieldSpec("arch", "Architecture",
              "mlp: fully connected (2-D points, small images); conv: small DCGAN-style nets "
              "for images (no batch norm in the critic)."),
    FieldSpec("hidden_dims", "Hidden widths (mlp)",
              "Widths of the hidden layers of both MLPs, e.g. 128,128,128."),
    FieldSpec("conv_channels", "Channels (conv)",
              "Channels of each stride-2 critic layer; the generator mirrors them."),
    FieldSpec("generator_upsampling", "Generator upsampling",
              "How the conv generator doubles its image: a stride-2 transposed convolution, "
              "or nearest-neighbour upsampling and a 3×3 convolution (no checkerboard "
              "artefacts; crisper edges)."),
    FieldSpec("generator_batch_norm", "Batch norm in G",
              "Batch normalisation in the conv generator (as in DCGAN); the critic never "
              "has it, since the gradient penalty is taken per example."),
    FieldSpec("gan_loss", "Adversarial loss", f"{WASSERSTEIN_TIP}\n{MINIMAX_TIP}\n{NONSATURATING_TIP}",
              choice_tooltips=(WASSERSTEIN_TIP, MINIMAX_TIP, NONSATURATING_TIP)),
    FieldSpec("lipschitz", "Lipschitz constraint", f"{GP_TIP}\n{CLIP_TIP}\n{SPECTRAL_TIP}\n{NONE_TIP}",
              choice_tooltips=(GP_TIP, CLIP_TIP, SPECTRAL_TIP, NONE_TIP)),
    FieldSpec("spectral_conv", "Spectral norm of a conv", f"{OPERATOR_TIP}\n{KERNEL_TIP}",
              choice_tooltips=(OPERATOR_TIP, KERNEL_TIP)),
)  # fmt: skip
HPARAM_FIELDS = (
    FieldSpec("n_critic", "Critic updates per G update",
              "n_critic: the critic is trained this many times (each on a fresh batch) "
              "before each generator update, so it stays near the optimal critic.", live=True),
    FieldSpec("gp_lambda", "Penalty weight λ",
              "L_D = E[D(G(z))] − E[D(x)] + λ·GP (gradient penalty only); 0 only measures GP.", live=True),
    FieldSpec("clip_value", "Clip value c", "Weight clipping only: critic weights are clamped to [−c, c].",
              live=True),
    FieldSpec("adam_beta1", "Adam β₁",
              "Adam's momentum. The WGAN-GP paper's Algorithm 1 lists β₁ = 0; its released code uses "
              "0.5, and so does genplay's default. Not used with weight clipping (RMSProp).", live=True),
    FieldSpec("adam_beta2", "Adam β₂", "Adam's second-moment decay; WGAN-GP uses 0.9.", live=True),
)  # fmt: skip


class WGANPage(FamilyPage):
    family = "wgan"
    prefix = "wgan"
    title = "WGAN-GP"
    model_fields = MODEL_FIELDS
    hparam_fields = HPARAM_FIELDS
    snapshot_interval_s = 0.3  # the critic map and samples are the point: ~3 frames a second

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.renderer = FrameRenderer()
        self.critic_map = CriticMapView("wganCriticMap")
        self.sample_grid = ImageGrid("wganSampleGrid", SAMPLES_TITLE)
        self.timeline_bar = TimelineBar("wgan")
        self.grad_hist = GradNormHistogram("wganGradNormHist")
        self.w1_lab = W1LabView("wganW1Lab")
        self.frame: WGANFrame | None = None  # the frame on screen (live or scrubbed back)
        self.last_metrics: dict[str, float] = {}
        self._noise_cache: tuple[tuple, torch.Tensor] | None = None
        self._plane_cache: tuple[int, np.ndarray | None, Extent | None] | None = None
        self._data_kind = BUILTIN_DATASETS[self.task_cls.default_dataset].kind
        self._applying_checkpoint = False
        self._fitted_extent: Extent | None = None

        self.critic_button = self._slow_button(
            "CriticStep", "1 critic update", "Perform exactly one critic update on a fresh batch, then pause"
        )
        self.generator_button = self._slow_button(
            "GeneratorStep", "1 generator update", "Perform exactly one generator update, then pause"
        )
        self.critic_button.clicked.connect(lambda: self.step_once("critic"))
        self.generator_button.clicked.connect(lambda: self.step_once("generator"))
        self.counters = QLabel("critic updates 0 · generator updates 0")
        self.counters.setObjectName("wganUpdateCounters")
        self.action_readout = QLabel("")
        self.action_readout.setObjectName("wganActionReadout")
        self.coverage = QLabel("")
        self.coverage.setObjectName("wganModeCoverage")
        self.coverage.setToolTip(
            "Modes of the mixture that hold at least 1% of the generated points within 3σ of their "
            "centre, and the share of points that are that close"
        )

        self.shown_objective: str | None = None  # "wgan" or "gan": what the curves and map are labelled for
        self.modelChanged.connect(self._model_changed)
        self.metricsArrived.connect(self._metrics_arrived)
        self.runStateChanged.connect(self._run_state_changed)
        self.timeline_bar.frameShown.connect(self.show_frame)
        self.critic_map.viewChanged.connect(self._map_view_changed)
        self.timeline_bar.exportGifClicked.connect(self._export_gif_dialog)
        self.timeline_bar.exportStripClicked.connect(self._export_strip_dialog)
        self.bar.dataset.currentTextChanged.connect(self._dataset_changed)
        self.form.editors["lipschitz"].currentTextChanged.connect(lambda _t: self._grey_out_unused_fields())
        self.form.editors["gan_loss"].currentTextChanged.connect(self._gan_loss_chosen)
        self.w1_lab.trainRequested.connect(self.train_with_loss)
        self.form.editors["arch"].currentTextChanged.connect(lambda _t: self._grey_out_unused_fields())
        self.form.valuesSet.connect(self._grey_out_unused_fields)
        self._grey_out_unused_fields()
        self._build_layout()
        self._run_state_changed(RunState.IDLE)
        self._show_placeholder()
        self.show_objective(self.form.value("gan_loss") != "wasserstein")

    def _slow_button(self, name: str, text: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(f"wgan{name}Button")
        button.setToolTip(tip)
        button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaSeekForward))
        return button

    # --- FamilyPage hooks ------------------------------------------------------------------------
    def setup_loss_series(self, plot: LossPlot) -> None:
        plot.add_series("critic_loss", "critic loss")
        plot.add_series("gen_loss", "generator loss")
        plot.add_series("gp", "gradient penalty")
        plot.add_series("grad_norm_mean", "mean ‖∇D‖")
        plot.add_series("grad_norm_std", "std ‖∇D‖")
        plot.add_series("wasserstein", "W1 estimate", right_axis=True, color="#111111")
        plot.add_series("val_wasserstein", "validation W1", smoothed=False, right_axis=True, color="#7f7f7f")
        plot.add_series("jsd", "JSD estimate", right_axis=True, color="#111111")
        plot.add_series("val_jsd", "validation JSD", smoothed=False, right_axis=True, color="#7f7f7f")
        plot.add_series("d_real", "E[D(x)]", right_axis=True, color="#2ca02c")
        plot.add_series("d_fake", "E[D(G(z))]", right_axis=True, color="#e377c2")
        plot.plot.setLabel("left", "losses · penalty · ‖∇D‖")
        plot.set_right_label(WGAN_RIGHT_LABEL)
        plot.plot.setToolTip(LOSS_TIP)

    def show_objective(self, probability: bool) -> None:
        """Label the curves, the map's arrows and the histogram for the WGAN's critic or, with
        ``probability``, the original GAN's discriminator D(x) = sigmoid(ℓ(x))."""
        objective = "gan" if probability else "wgan"
        if objective == self.shown_objective:
            return
        self.shown_objective = objective
        plot = self.loss_plot
        curves = GAN_CURVES if probability else WGAN_CURVES
        for series in plot.series.values():
            plot.legend.removeItem(series.smooth_item)
        for key, series in plot.series.items():
            shown = key in curves
            series.raw_item.setVisible(shown)
            series.smooth_item.setVisible(shown)
        for key, label in curves.items():
            series = plot.series[key]
            series.label = label
            plot.legend.addItem(series.smooth_item, f"{label} (right axis)" if series.right_axis else label)
        plot.plot.setLabel("left", "losses · ‖∇ℓ‖" if probability
                           else "losses · penalty · ‖∇D‖")  # fmt: skip
        plot.set_right_label(GAN_RIGHT_LABEL if probability else WGAN_RIGHT_LABEL)
        plot.plot.setToolTip(GAN_LOSS_TIP if probability else LOSS_TIP)
        plot.legend.updateSize()
        self.grad_hist.set_logit_norms(probability)
        text, tip = GAN_ARROWS if probability else WGAN_ARROWS
        self.arrows_box.setText(text)
        self.arrows_box.setToolTip(tip)

    def _gan_loss_chosen(self, loss: str) -> None:
        """The user chose a loss: its paper's n_critic and constraint (which they may change after)."""
        self.form.set_values(WGAN_GP_SETTINGS if loss == "wasserstein" else ORIGINAL_GAN_SETTINGS)
        if not self.is_active and self.snapshot is None:
            self.show_objective(loss != "wasserstein")

    def train_with_loss(self, loss: str) -> None:
        """From the W1-vs-JSD lab: a fresh live run of ``loss`` on a 2-D toy set, on the Training tab."""
        if self.is_active:
            self.show_message("A run is active: stop it first, then start the run from the lab.",
                              NoticeLevel.WARNING)  # fmt: skip
            return
        if guess_data_kind(self.bar.dataset.currentText()) != DataKind.POINTS:
            self.bar.dataset.setCurrentText("8gaussians")  # the form takes the 2-D defaults
        self.form.set_values({"gan_loss": loss})
        self._gan_loss_chosen(loss)
        self.new_model()
        self.views.setCurrentIndex(0)
        self.start()

    def on_visuals(self, event: VisualsEvent) -> None:
        visuals: WGANVisuals = event.visuals
        if len(visuals.grad_norms):
            self.grad_hist.set_norms(visuals.grad_norms)
        self._show_counters(visuals.critic_updates, visuals.generator_updates)

    # --- snapshots → frames ---------------------------------------------------------------------------
    def _model_changed(self, snapshot: ModelSnapshot | None) -> None:
        if snapshot is None:
            self.timeline_bar.clear()
            self._show_placeholder()
            return
        self.show_objective(snapshot.config.is_probability)
        frame = self.render_snapshot(snapshot)
        self.timeline_bar.add(frame)  # shows it when the timeline is live
        if self.trainer is None and not self.is_active:  # an opened checkpoint: no training visuals
            self._measure_gradient_norms(snapshot)

    def _measure_gradient_norms(self, snapshot: ModelSnapshot) -> None:
        """Fill the histogram for an opened checkpoint from its weights and the dataset."""
        data = self.current_data()
        if data is None or tuple(data.item_shape) != tuple(snapshot.config.data_shape):
            return
        self.grad_hist.set_norms(self.renderer.gradient_norms(data.val, self._noise_for(snapshot)))

    def render_snapshot(self, snapshot: ModelSnapshot) -> WGANFrame:
        """The frame for ``snapshot``: samples from the fixed noise (+ the critic map in 2-D)."""
        noise = self._noise_for(snapshot)
        extent = None
        if not snapshot.config.is_image and snapshot.config.data_shape == (2,):
            _real, data_extent = self._plane()
            if data_extent is not None and self._fitted_extent != data_extent:
                self._fitted_extent = data_extent
                self.critic_map.fit(data_extent)
            extent = self.critic_map.view_extent() if data_extent is not None else None
        return self.renderer.render(snapshot, noise, extent)

    def _map_view_changed(self) -> None:
        """The user panned or zoomed the 2-D view: recompute the newest frame over the new region."""
        if self.snapshot is None or not self.timeline_bar.live.isChecked():
            return
        if self.snapshot.config.is_image:
            return
        self.timeline_bar.add(self.render_snapshot(self.snapshot))

    def fit_map(self) -> None:
        if self._fitted_extent is not None:
            self.critic_map.fit(self._fitted_extent)
            self._map_view_changed()

    def _noise_for(self, snapshot: ModelSnapshot) -> torch.Tensor:
        """The run's fixed noise, or for an opened checkpoint the same noise from its seed."""
        noise = snapshot.extras.get("fixed_noise")
        if noise is not None:
            return noise
        seed = 0
        checkpoint = self.loaded_checkpoint
        if checkpoint is not None and isinstance(checkpoint.train.get("train"), dict):
            seed = int(checkpoint.train["train"].get("seed", 0) or 0)
        key = (snapshot.config, seed)
        if self._noise_cache is None or self._noise_cache[0] != key:
            self._noise_cache = (key, fixed_noise(snapshot.config, seed))
        return self._noise_cache[1]

    def _plane(self) -> tuple[np.ndarray | None, Extent | None]:
        """Real points to show and the view's extent, from the current 2-D dataset (cached)."""
        data = self.current_data()
        if data is None or data.kind != DataKind.POINTS:
            return None, None
        if self._plane_cache is None or self._plane_cache[0] != id(data):
            real = data.val[:REAL_POINTS_SHOWN].numpy()
            self._plane_cache = (id(data), real, plane_extent(data.val.numpy()))
            self.critic_map.set_real(real)
        return self._plane_cache[1], self._plane_cache[2]

    def show_frame(self, frame: WGANFrame) -> None:
        """Put ``frame`` on screen (live, or scrubbed back on the timeline)."""
        self.frame = frame
        if frame.is_image:
            self.views_stack.setCurrentWidget(self.sample_grid)
            self.sample_grid.set_images(frame.images01(), columns=8)
            title = f"{SAMPLES_TITLE} · step {frame.step:,}{self._kept_note(frame)}"
            self.sample_grid.ci.getItem(0, 0).setText(title)
            self.coverage.setText("")
        elif frame.critic is not None:
            self.views_stack.setCurrentWidget(self.plane_panel)
            self.critic_map.show_frame(frame)
            self._show_coverage(frame)

    def _kept_note(self, frame: WGANFrame) -> str:
        """Said of a frame from a checkpoint's history, which keeps fewer samples than the live grid."""
        frames = self.timeline_bar.frames()
        most = max((len(f.item.samples) for f in frames), default=len(frame.samples))
        if len(frame.samples) >= most:
            return ""
        return f" (history: the first {len(frame.samples)} of {most})"

    def _show_coverage(self, frame: WGANFrame) -> None:
        data = self.current_data()
        toy = TOY_SETS.get(data.name) if data is not None and data.kind == DataKind.POINTS else None
        if toy is None or toy.centers is None:
            self.coverage.setText("")
            return
        cover = mode_coverage(frame.samples, toy.centers().numpy(), 3.0 * toy.mode_std)
        self.coverage.setText(f"modes covered {cover.modes_hit}/{cover.modes} · "
                              f"{100 * cover.near_share:.0f}% of samples within 3σ of a mode")  # fmt: skip

    def _show_placeholder(self) -> None:
        self.frame = None
        self.critic_map.clear_frame()
        self.sample_grid.clear_image()
        self.grad_hist.clear_norms()
        self.coverage.setText("")
        self.views_stack.setCurrentWidget(self.placeholder)

    # --- readouts -----------------------------------------------------------------------------------
    def _show_counters(self, critic_updates: int, generator_updates: int) -> None:
        self.counters.setText(f"critic updates {critic_updates:,} · generator updates {generator_updates:,}")

    def _metrics_arrived(self, batch: list) -> None:
        for _step, kind, metrics in batch:
            if kind == MetricsKind.ACTION:
                self._describe_action(metrics)
            elif kind == MetricsKind.TRAIN:
                self.action_readout.setText("")  # a full step moved both players: the readout is old
            if kind in (MetricsKind.TRAIN, MetricsKind.ACTION):
                self.last_metrics.update(metrics)

    def _describe_action(self, metrics: dict[str, float]) -> None:
        before = self.last_metrics
        if "critic_loss" in metrics and "jsd" in metrics:
            text = f"1 discriminator update: JSD estimate {metrics['jsd']:.4f}"
            if "jsd" in before:
                text += f" (was {before['jsd']:.4f})"
            text += f", E[D(x)] {metrics['d_real']:.3f}, E[D(G(z))] {metrics['d_fake']:.3f}"
        elif "critic_loss" in metrics:
            text = f"1 critic update: W1 estimate {metrics['wasserstein']:+.4f}"
            if "wasserstein" in before:
                text += f" (was {before['wasserstein']:+.4f})"
            text += f", GP {metrics['gp']:.4f}"
        else:
            text = f"1 generator update: generator loss {metrics['gen_loss']:+.4f}"
            if "gen_loss" in before:
                text += f" (was {before['gen_loss']:+.4f})"
        self.action_readout.setText(text)

    def _run_state_changed(self, state: RunState) -> None:
        can_act = state in (RunState.IDLE, RunState.PAUSED)
        self.critic_button.setEnabled(can_act)
        self.generator_button.setEnabled(can_act)

    def _grey_out_unused_fields(self) -> None:
        """λ matters only with the penalty, c only with clipping, Adam's βs only without clipping;
        the widths only with MLPs, the channels and generator choices only with conv nets."""
        lipschitz, conv = self.form.value("lipschitz"), self.form.value("arch") == "conv"
        used = {
            "gp_lambda": lipschitz == "gp",
            "spectral_conv": lipschitz == "spectral" and conv,
            "clip_value": lipschitz == "clip",
            "adam_beta1": lipschitz != "clip",
            "adam_beta2": lipschitz != "clip",
            "hidden_dims": not conv,
            "conv_channels": conv,
            "generator_upsampling": conv,
            "generator_batch_norm": conv,
        }
        self.form.set_unused({key for key, on in used.items() if not on})

    # --- dataset, checkpoints, new model ------------------------------------------------------------------
    def _dataset_changed(self, name: str) -> None:
        if self.is_active:
            return
        self._data = None  # load the newly chosen dataset on next use
        kind = guess_data_kind(name)
        if kind not in KIND_DEFAULTS:
            return  # unknown, or data the WGAN-GP cannot train on (the base class says so)
        values = dict(KIND_DEFAULTS[kind]) if kind != self._data_kind else {}
        self._data_kind = kind
        if self._applying_checkpoint:
            return  # the form shows the checkpoint's own settings
        if kind == DataKind.IMAGES:
            values["conv_channels"] = self._conv_channels_for(name)
        if values:
            self.form.set_values(values)

    @staticmethod
    def _conv_channels_for(name: str) -> tuple[int, ...]:
        """The engine's choice where the image size is known without loading (built-in sets:
        three halvings for 32×32 shapes), else two, which fit 28×28 and 32×32 alike."""
        builtin = BUILTIN_DATASETS.get(name.strip())
        if builtin is not None and builtin.item_shape is not None:
            _, h, w = builtin.item_shape
            channels = default_conv_channels(h, w)
            if channels is not None:
                return channels
        return KIND_DEFAULTS[DataKind.IMAGES]["conv_channels"]

    def open_checkpoint(self, checkpoint: Checkpoint) -> bool:
        if self.is_active:
            return super().open_checkpoint(checkpoint)
        self.timeline_bar.clear()
        self.last_metrics = {}
        self.counters.setText("")
        self.action_readout.setText("")
        self._applying_checkpoint = True
        try:
            return super().open_checkpoint(checkpoint)
        finally:
            self._applying_checkpoint = False
            self._grey_out_unused_fields()

    def show_history(self, history: RunHistory) -> None:
        """The frames the opened run kept; the frame of the weights as opened follows them."""
        if history.frames is not None:
            self.timeline_bar.load_history(history.frames.frames())

    def new_model(self) -> None:
        if not self.is_active:
            self.last_metrics = {}
            self.action_readout.setText("")
            self._show_counters(0, 0)
        super().new_model()

    # --- export ------------------------------------------------------------------------------------------
    def exports(self) -> list[tuple[str, str, Any]]:
        """File → Export: the evolution (GIF, PNG strip) and every live view as a PNG."""
        return [
            *super().exports(),
            ("Evolution as animated GIF…", "gif", self.export_gif),
            ("Evolution as PNG strip…", "png", self.export_strip),
            ("Critic map as PNG…", "png", self._export_critic_map),
            ("Sample grid as PNG…", "png", self._export_sample_grid),
            ("Gradient-norm histogram as PNG…", "png", self._export_grad_hist),
            ("W1 vs JSD lab as PNG…", "png", lambda path: export_widget_png(self.w1_lab, path)),
        ]

    def _export_critic_map(self, path: str | Path) -> None:
        check_exportable(self.frame is not None, "critic map")
        if self.frame.is_image:
            raise NothingToExport("The critic map is drawn for 2-D points only, and this model makes "
                                  "images: export the sample grid instead.")  # fmt: skip
        export_widget_png(self.critic_map, path)

    def _export_sample_grid(self, path: str | Path) -> None:
        check_exportable(self.frame is not None, "sample grid")
        if not self.frame.is_image:
            raise NothingToExport("The sample grid is drawn for images only, and this model makes "
                                  "2-D points: export the critic map instead.")  # fmt: skip
        export_widget_png(self.sample_grid, path)

    def _export_grad_hist(self, path: str | Path) -> None:
        export_widget_png(self.grad_hist, path, self.grad_hist.norms is not None, "gradient-norm histogram")

    def _pictures(self) -> tuple[list, list[str]]:
        real, _extent = (None, None)
        frames = self.timeline_bar.frames()
        if frames and not frames[0].item.is_image:
            real, _extent = self._plane()
        pictures = evolution_pictures([f.item for f in frames], real)
        return pictures, [f"step {f.step:,}" for f in frames]

    def export_gif(self, path: str | Path) -> Path:
        check_exportable(len(self.timeline_bar.timeline) > 0, "evolution")
        pictures, _labels = self._pictures()
        return save_gif(pictures, path)

    def export_strip(self, path: str | Path) -> Path:
        check_exportable(len(self.timeline_bar.timeline) > 0, "evolution")
        pictures, labels = self._pictures()
        return save_strip(pictures, labels, path)

    def _export_dialog(self, kind: str) -> None:
        suffix = "gif" if kind == "gif" else "png"
        path = ask_export_path(self, "Export the evolution", f"wgan-evolution.{suffix}", suffix)
        if path is None:
            return
        try:
            written = self.export_gif(path) if kind == "gif" else self.export_strip(path)
        except NothingToExport as exc:
            self.show_message(str(exc), NoticeLevel.ERROR)
            return
        except (OSError, ValueError) as exc:
            self.show_message(f"Could not export: {exc}", NoticeLevel.ERROR)
            return
        self.show_message(f"Exported {len(self.timeline_bar.timeline)} snapshots to {written.name}.")

    def _export_gif_dialog(self) -> None:
        self._export_dialog("gif")

    def _export_strip_dialog(self) -> None:
        self._export_dialog("strip")

    # --- layout ---------------------------------------------------------------------------------------------
    def _build_layout(self) -> None:
        groups = [("Model", "model"), ("Objective (live)", "hparams"), ("Training", "train")]
        scroll = self.settings_panel(groups)

        slow = QHBoxLayout()
        slow.setContentsMargins(0, 0, 0, 0)
        slow.addWidget(QLabel("Slow motion:"))
        slow.addWidget(self.critic_button)
        slow.addWidget(self.generator_button)
        slow.addSpacing(12)
        slow.addWidget(self.counters)
        slow.addSpacing(12)
        slow.addWidget(self.coverage)
        slow.addSpacing(12)
        slow.addWidget(self.action_readout, 1)

        self.placeholder = QLabel("Start training (or open a checkpoint) to see the generator's samples "
                                  "and, on 2-D data, the critic's surface.")  # fmt: skip
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.plane_panel = QWidget()
        plane_layout = QVBoxLayout(self.plane_panel)
        plane_layout.setContentsMargins(0, 0, 0, 0)
        plane_layout.addWidget(self.critic_map, 1)
        options = QHBoxLayout()
        options.addWidget(QLabel("Show:"))
        legend = (
            ("real", "● real x", REAL_COLOR, "The data: real points x"),
            ("fake", "● generated G(z)", FAKE_COLOR, "The generator's samples from the fixed noise"),
            ("arrows", "→ ∇ₓD(x)", (150, 0, 30),
             "Where the generator's loss −E[D(G(z))] pushes each sample: up the critic's slope"),
            ("contours", "contours of D", (90, 90, 90), "Lines of equal critic value"),
        )  # fmt: skip
        for key, text, colour, tip in legend:
            box = QCheckBox(text)
            box.setObjectName(f"wganShow{key.capitalize()}")
            box.setToolTip(tip)
            box.setStyleSheet(f"QCheckBox {{ color: rgb{tuple(colour)}; }}")
            box.setChecked(True)
            box.toggled.connect(lambda on, k=key: self.critic_map.set_option(k, on))
            options.addWidget(box)
            if key == "arrows":
                self.arrows_box = box
        options.addStretch(1)
        fit = QPushButton("Fit view")
        fit.setObjectName("wganFitView")
        fit.setToolTip("Show the whole dataset again (drag to pan, wheel to zoom: the map follows)")
        fit.clicked.connect(self.fit_map)
        options.addWidget(fit)
        plane_layout.addLayout(options)
        self.views_stack = QStackedWidget()
        self.views_stack.setObjectName("wganViewsStack")
        for widget in (self.placeholder, self.plane_panel, self.sample_grid):
            self.views_stack.addWidget(widget)

        main_view = QWidget()
        main_layout = QVBoxLayout(main_view)
        main_layout.setContentsMargins(0, 0, 0, 0)
        main_layout.addWidget(self.views_stack, 1)
        main_layout.addWidget(self.timeline_bar)
        curves = QSplitter(Qt.Orientation.Vertical)
        curves.addWidget(self.loss_plot)
        curves.addWidget(self.grad_hist)
        curves.setSizes([520, 240])
        training_view = QSplitter(Qt.Orientation.Horizontal)
        training_view.addWidget(main_view)
        training_view.addWidget(curves)
        training_view.setStretchFactor(0, 1)
        training_view.setStretchFactor(1, 1)
        training_view.setSizes([600, 600])

        self.views = QTabWidget()
        self.views.setObjectName("wganViews")
        self.views.addTab(training_view, "Training")
        self.views.addTab(self.w1_lab, "W1 vs JSD lab")

        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(scroll)
        body.addWidget(self.views)
        body.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.bar)
        layout.addLayout(slow)
        layout.addWidget(body, 1)
