"""The W1-vs-JSD lab: why the Wasserstein distance gives the generator a signal where the
Jensen–Shannon divergence does not (Arjovsky et al., 2017, Example 1).

Real data is a point mass at 0, p_r = δ(0); the generator puts all its mass at θ,
p_g = δ(θ). With m = ½(p_r + p_g):

    JSD(p_r, p_g) = ½ KL(p_r ‖ m) + ½ KL(p_g ‖ m) = log 2 for every θ ≠ 0, and 0 at θ = 0
    W1(p_r, p_g)  = |θ|   (move all the mass a distance |θ|)

so dJSD/dθ = 0 everywhere it exists: gradient descent on the JSD never moves θ, while
dW1/dθ = sign(θ) always points back to the data.

Below the plots, one button per adversarial loss starts a live run of it on the Training tab
(``trainRequested``): the minimax GAN, the non-saturating GAN and WGAN-GP on the same 2-D toy.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

THETA_RANGE = 2.0
SLIDER_STEPS = 200  # slider units per unit of θ
DESCENT_RATE = 0.08  # η in θ ← θ − η · d/dθ
DESCENT_MS = 60
JSD_COLOR = (31, 119, 180)
W1_COLOR = (230, 110, 0)


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p ‖ q) = Σ p log(p / q) over the support of p (0 log 0 = 0)."""
    mask = p > 0
    return float(np.sum(p[mask] * np.log(p[mask] / q[mask])))


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> float:
    """JSD(p, q) = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = ½(p + q), for distributions on one support."""
    m = 0.5 * (p + q)
    return 0.5 * kl_divergence(p, m) + 0.5 * kl_divergence(q, m)


def point_mass_jsd(theta: float) -> float:
    """JSD(δ(0), δ(θ)) evaluated on the support {0, θ}."""
    if theta == 0.0:
        return jensen_shannon(np.array([1.0]), np.array([1.0]))  # the same single point
    return jensen_shannon(np.array([1.0, 0.0]), np.array([0.0, 1.0]))


def point_mass_w1(theta: float) -> float:
    """W1(δ(0), δ(θ)) = |θ|: all the mass travels from θ to 0."""
    return abs(theta)


def point_mass_gradients(theta: float) -> tuple[float, float]:
    """(dJSD/dθ, dW1/dθ): JSD is flat away from 0; W1 has slope sign(θ) (0 taken at θ = 0)."""
    return 0.0, float(np.sign(theta))


# (gan_loss, button text, tooltip): a live run of each on the Training tab
LIVE_RUNS = (
    ("minimax", "Train the minimax GAN",
     "The original GAN: its discriminator estimates the JSD. Watch D(G(z)) fall to 0 and the generator's "
     "push vanish (the saturating log(1 − D(G(z)))), and the samples gather on a few modes."),
    ("nonsaturating", "Train the non-saturating GAN",
     "The original GAN with −log D(G(z)): the push no longer vanishes, but the JSD's signal still lets "
     "the samples collapse onto some modes."),
    ("wasserstein", "Train WGAN-GP",
     "The critic estimates W1 under a gradient penalty: its slope reaches every sample, and the samples "
     "spread over every mode."),
)  # fmt: skip


class W1LabView(QWidget):
    trainRequested = Signal(str)  # a gan_loss: start a live run of it

    def __init__(self, name: str = "wganW1Lab", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        intro = QLabel(
            "<b>Real data</b> p<sub>r</sub> = δ(0) and a <b>generator</b> p<sub>g</sub> = δ(θ): both are "
            "single points. Drag θ and compare the two distances. The Jensen–Shannon divergence "
            "(what the original GAN's discriminator estimates) is log 2 whatever θ is, so its gradient "
            "is 0 and the generator learns nothing; the Wasserstein distance W1 = |θ| (what the WGAN's "
            "critic estimates) shrinks as θ approaches the data, and its gradient always points there."
        )
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("wganThetaSlider")
        self.slider.setRange(-int(THETA_RANGE * SLIDER_STEPS), int(THETA_RANGE * SLIDER_STEPS))
        self.slider.setValue(int(1.2 * SLIDER_STEPS))
        self.slider.setToolTip("θ: where the generator puts its single point")
        self.slider.valueChanged.connect(lambda _v: self._update())
        self.theta_label = QLabel()
        self.theta_label.setMinimumWidth(80)
        self.w1_button = QPushButton("Gradient descent on W1")
        self.w1_button.setObjectName("wganW1Descend")
        self.w1_button.setToolTip("θ ← θ − η·dW1/dθ, repeated: θ walks to the data")
        self.jsd_button = QPushButton("Gradient descent on JSD")
        self.jsd_button.setObjectName("wganJsdDescend")
        self.jsd_button.setToolTip("θ ← θ − η·dJSD/dθ, repeated: the gradient is 0, θ never moves")
        self.w1_button.clicked.connect(lambda: self.start_descent("w1"))
        self.jsd_button.clicked.connect(lambda: self.start_descent("jsd"))
        controls = QHBoxLayout()
        controls.addWidget(QLabel("θ"))
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.theta_label)
        controls.addWidget(self.w1_button)
        controls.addWidget(self.jsd_button)

        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground("w")
        self._build_plots()
        self.readout = QLabel()
        self.readout.setObjectName("wganW1Readout")
        self.readout.setWordWrap(True)
        self.readout.setTextFormat(Qt.TextFormat.RichText)

        live = QHBoxLayout()
        live_label = QLabel("See it on data, live:")
        live_label.setToolTip("Each button starts a fresh run on the Training tab with that loss and its "
                              "paper's settings, on the chosen 2-D toy set (8 Gaussians when the data are "
                              "images)")  # fmt: skip
        live.addWidget(live_label)
        self.live_buttons: dict[str, QPushButton] = {}
        for loss, text, tip in LIVE_RUNS:
            button = QPushButton(text)
            button.setObjectName(f"wganLabTrain_{loss}")
            button.setToolTip(tip)
            button.clicked.connect(lambda _c=False, chosen=loss: self.trainRequested.emit(chosen))
            live.addWidget(button)
            self.live_buttons[loss] = button
        live.addStretch(1)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(controls)
        layout.addWidget(self.plots, 1)
        layout.addWidget(self.readout)
        layout.addLayout(live)

        self.timer = QTimer(self)
        self.timer.setInterval(DESCENT_MS)
        self.timer.timeout.connect(self._descent_tick)
        self._descent: str | None = None
        self._ticks = 0
        self._update()

    # --- plots ----------------------------------------------------------------------------------
    def _build_plots(self) -> None:
        thetas = np.linspace(-THETA_RANGE, THETA_RANGE, 401)
        line = self.plots.addPlot(row=0, col=0, title="the two distributions on the line")
        line.setXRange(-THETA_RANGE - 0.2, THETA_RANGE + 0.2, padding=0)
        line.setYRange(0, 1.25, padding=0)
        line.hideAxis("left")
        line.setLabel("bottom", "x")
        line.setMouseEnabled(False, False)
        line.addItem(pg.PlotDataItem([0, 0], [0, 1], pen=pg.mkPen((20, 20, 20), width=3), symbol="o",
                                     symbolBrush=(20, 20, 20), symbolSize=9))  # fmt: skip
        real_label = pg.TextItem("p_r = δ(0)", color=(20, 20, 20), anchor=(1.05, 0))
        real_label.setPos(0, 1.2)
        line.addItem(real_label)
        self.fake_stem = pg.PlotDataItem(pen=pg.mkPen((220, 30, 60), width=3), symbol="o",
                                         symbolBrush=(220, 30, 60), symbolSize=9)  # fmt: skip
        line.addItem(self.fake_stem)
        self.fake_label = pg.TextItem("p_g = δ(θ)", color=(220, 30, 60), anchor=(-0.05, 0))
        line.addItem(self.fake_label)
        self.w1_arrow = pg.ArrowItem(angle=0, headLen=14, tailLen=30, tailWidth=3, brush=W1_COLOR, pen=None)
        line.addItem(self.w1_arrow)
        self.w1_arrow_label = pg.TextItem("−dW1/dθ", color=W1_COLOR, anchor=(0.5, 1.2))
        line.addItem(self.w1_arrow_label)

        distance = self.plots.addPlot(row=1, col=0, title="distance between p_r and p_g")
        distance.addLegend(offset=(-10, 5))
        distance.setLabel("bottom", "θ")
        distance.setMouseEnabled(False, False)
        jsd = np.where(thetas == 0.0, 0.0, math.log(2.0))
        jsd_curve = np.where(np.abs(thetas) < 1e-9, np.nan, jsd)  # a gap at 0: the jump
        distance.plot(thetas, jsd_curve, pen=pg.mkPen(JSD_COLOR, width=2), name="JSD (log 2 away from 0)",
                      connect="finite")  # fmt: skip
        distance.plot([0.0], [0.0], pen=None, symbol="o", symbolBrush=JSD_COLOR, symbolSize=7)
        distance.plot([0.0], [math.log(2.0)], pen=None, symbol="o", symbolBrush="w",  # the jump
                      symbolPen=pg.mkPen(JSD_COLOR, width=1.5), symbolSize=7)  # fmt: skip
        distance.plot(thetas, np.abs(thetas), pen=pg.mkPen(W1_COLOR, width=2), name="W1 = |θ|")
        self.jsd_dot = pg.ScatterPlotItem(size=12, brush=JSD_COLOR, pen=pg.mkPen("w", width=1.5))
        self.w1_dot = pg.ScatterPlotItem(size=12, brush=W1_COLOR, pen=pg.mkPen("w", width=1.5))
        distance.addItem(self.jsd_dot)
        distance.addItem(self.w1_dot)

        slope = self.plots.addPlot(row=2, col=0, title="gradient d/dθ (what the generator is told)")
        slope.setLabel("bottom", "θ")
        slope.addLegend(offset=(-10, 5))
        slope.setYRange(-1.3, 1.3, padding=0)
        slope.setMouseEnabled(False, False)
        slope.plot(thetas, np.zeros_like(thetas), pen=pg.mkPen(JSD_COLOR, width=2), name="dJSD/dθ = 0")
        sign = np.where(np.abs(thetas) < 1e-9, np.nan, np.sign(thetas))
        slope.plot(thetas, sign, pen=pg.mkPen(W1_COLOR, width=2), name="dW1/dθ = sign θ", connect="finite")
        self.jsd_slope_dot = pg.ScatterPlotItem(size=12, brush=JSD_COLOR, pen=pg.mkPen("w", width=1.5))
        self.w1_slope_dot = pg.ScatterPlotItem(size=12, brush=W1_COLOR, pen=pg.mkPen("w", width=1.5))
        slope.addItem(self.jsd_slope_dot)
        slope.addItem(self.w1_slope_dot)
        for plot in (distance, slope):
            plot.setXRange(-THETA_RANGE, THETA_RANGE, padding=0.03)
            plot.showGrid(x=True, y=True, alpha=0.2)
        distance.setYRange(-0.05, THETA_RANGE + 0.1, padding=0)

    # --- state ------------------------------------------------------------------------------------
    @property
    def theta(self) -> float:
        return self.slider.value() / SLIDER_STEPS

    def set_theta(self, theta: float) -> None:
        self.slider.setValue(int(round(theta * SLIDER_STEPS)))

    def _update(self) -> None:
        theta = self.theta
        jsd, w1 = point_mass_jsd(theta), point_mass_w1(theta)
        d_jsd, d_w1 = point_mass_gradients(theta)
        self.theta_label.setText(f"θ = {theta:+.2f}")
        self.fake_stem.setData([theta, theta], [0, 1])
        self.fake_label.setPos(theta, 1.2)
        self.w1_arrow.setVisible(theta != 0.0)
        self.w1_arrow_label.setVisible(theta != 0.0)
        self.w1_arrow.setStyle(angle=0 if theta > 0 else 180)  # the head points towards 0
        self.w1_arrow.setPos(theta - 0.27 * np.sign(theta), 0.55)  # the tail starts beside the stem
        self.w1_arrow_label.setPos(theta - 0.15 * np.sign(theta), 0.6)
        self.jsd_dot.setData([theta], [jsd])
        self.w1_dot.setData([theta], [w1])
        self.jsd_slope_dot.setData([theta], [d_jsd])
        self.w1_slope_dot.setData([theta], [d_w1])
        if theta == 0.0:
            text = ("At θ = 0 the generator matches the data: JSD = 0 and W1 = 0. Drag θ away and both "
                    "jump apart differently: JSD to log 2 at once, W1 only as far as θ goes.")  # fmt: skip
        else:
            direction = "left" if theta > 0 else "right"
            text = (
                f"At θ = {theta:+.2f}: <span style='color:rgb{JSD_COLOR}'><b>JSD = {jsd:.3f}</b> = log 2, "
                f"gradient {d_jsd:+.0f}</span>: descent leaves θ where it is. "
                f"<span style='color:rgb{W1_COLOR}'><b>W1 = {w1:.3f}</b>, gradient {d_w1:+.0f}</span>: "
                f"descent moves θ {direction}, towards the data, from any distance."
            )
        self.readout.setText(text)

    # --- gradient descent animation ---------------------------------------------------------------------
    def start_descent(self, divergence: str) -> None:
        """Animate θ ← θ − η · d/dθ of ``divergence`` ("w1" or "jsd")."""
        self._descent = divergence
        self._ticks = 0
        self.timer.start()

    def _descent_tick(self) -> None:
        self._ticks += 1
        d_jsd, d_w1 = point_mass_gradients(self.theta)
        gradient = d_w1 if self._descent == "w1" else d_jsd
        new_theta = self.theta - DESCENT_RATE * gradient
        if abs(new_theta) < DESCENT_RATE / 2:  # within one step of the data: arrive
            new_theta = 0.0
        self.set_theta(new_theta)
        if new_theta == 0.0 or self._ticks >= 40:
            self.timer.stop()
