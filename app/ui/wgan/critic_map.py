"""The 2-D view: the critic's value over the plane as a heat map with contours, real and
generated points on top, and arrows of −∇ₓL_G at the generated points (the direction in
which the generator's loss pushes each sample: ∇ₓD(x) for the WGAN's −E[D(G(z))]).

For the original GAN's losses the map shows D(x) = P(x is real) on a fixed 0–1 scale, so a
discriminator that has saturated (0 on the fakes, 1 on the data) is seen as such.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QTimer, Signal
from PySide6.QtWidgets import QWidget

from app.engine.animation import CONTOUR_LEVELS, CRITIC_COLORS, FAKE_COLOR, REAL_COLOR
from app.engine.inference.wgan_frames import WGANFrame
from app.ui.wgan.contours import contour_segments

WGAN_TITLE = "critic D(x) over the plane"
PROBABILITY_LABEL = "D(x) = P(real)"
ARROW_FRACTION = 0.06  # the longest arrow is this fraction of the view's width
HEAD_ANGLE = np.deg2rad(28.0)
HEAD_FRACTION = 0.35  # arrowhead length / arrow length


def critic_colormap() -> pg.ColorMap:
    positions = [p for p, _ in CRITIC_COLORS]
    return pg.ColorMap(positions, [c for _, c in CRITIC_COLORS], name="critic")


def arrow_segments(starts: np.ndarray, vectors: np.ndarray, length: float) -> np.ndarray:
    """Shafts and two-stroke heads for arrows from ``starts`` along ``vectors`` (K, 2).

    Lengths are scaled so the longest arrow is ``length``; returns (6K, 2) segment endpoints.
    """
    norms = np.linalg.norm(vectors, axis=1)
    scale = length / max(float(norms.max(initial=0.0)), 1e-12)
    tips = starts + vectors * scale
    back = (starts - tips) * HEAD_FRACTION  # from the tip towards the start
    cos, sin = np.cos(HEAD_ANGLE), np.sin(HEAD_ANGLE)
    left = np.stack([cos * back[:, 0] - sin * back[:, 1], sin * back[:, 0] + cos * back[:, 1]], axis=1)
    right = np.stack([cos * back[:, 0] + sin * back[:, 1], -sin * back[:, 0] + cos * back[:, 1]], axis=1)
    segments = np.stack([starts, tips, tips, tips + left, tips, tips + right], axis=1)  # (K, 6, 2)
    return segments.reshape(-1, 2)


class CriticMapView(pg.GraphicsLayoutWidget):
    """``show_frame(frame)`` draws one ``WGANFrame``; ``set_real(points)`` the data points.

    The map is computed over the visible region (``view_extent``): after the user pans or
    zooms, ``viewChanged`` fires (debounced) so the page can recompute it for the new region.
    """

    viewChanged = Signal()

    def __init__(self, name: str = "wganCriticMap", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setBackground("w")
        self.ci.setContentsMargins(4, 4, 4, 4)
        self.plot = self.addPlot(row=0, col=0)
        self.plot.setAspectLocked(True)
        self.plot.setLabel("bottom", "x₁")
        self.plot.setLabel("left", "x₂")
        self.plot.setTitle(WGAN_TITLE, size="10pt")
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self._view_timer = QTimer(self)
        self._view_timer.setSingleShot(True)
        self._view_timer.setInterval(150)
        self._view_timer.timeout.connect(self.viewChanged)
        self.plot.vb.sigRangeChangedManually.connect(lambda *_: self._view_timer.start())
        self.plot.vb.sigResized.connect(lambda *_: self._view_timer.start())
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(critic_colormap())
        self.image.setZValue(-10)
        self.plot.addItem(self.image)
        self.contours = pg.PlotCurveItem(pen=pg.mkPen((40, 40, 40, 110), width=1), connect="pairs")
        self.real = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(*REAL_COLOR, 150))
        self.fake = pg.ScatterPlotItem(size=5, pen=pg.mkPen(255, 255, 255, 160, width=0.6),
                                       brush=pg.mkBrush(*FAKE_COLOR, 220))  # fmt: skip
        self.arrows = pg.PlotCurveItem(pen=pg.mkPen((150, 0, 30, 230), width=1.3), connect="pairs")
        for item in (self.contours, self.fake, self.arrows, self.real):  # real points on top
            self.plot.addItem(item)
        self.colorbar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=critic_colormap(), label="D(x)",
                                        interactive=False, width=14, colorMapMenu=False)  # fmt: skip
        self.addItem(self.colorbar, row=0, col=1)
        self.readout = pg.TextItem("", color=(20, 20, 20), anchor=(0, 1), fill=pg.mkBrush(255, 255, 255, 200))
        self.readout.setZValue(20)
        self.plot.addItem(self.readout, ignoreBounds=True)
        self.readout.hide()
        self.scene().sigMouseMoved.connect(self._mouse_moved)

        self.frame: WGANFrame | None = None
        self.real_points: np.ndarray | None = None
        self.options = {"real": True, "fake": True, "arrows": True, "contours": True}
        self.setMinimumSize(260, 240)

    # --- what to draw ---------------------------------------------------------------------------
    def set_option(self, key: str, on: bool) -> None:
        self.options[key] = on
        if self.frame is not None:
            self.show_frame(self.frame)
        elif key == "real":
            self.real.setVisible(on)

    def set_real(self, points: np.ndarray | None) -> None:
        self.real_points = points
        if points is None:
            self.real.setData([], [])
        else:
            self.real.setData(points[:, 0], points[:, 1])
        self.real.setVisible(self.options["real"])

    def clear_frame(self) -> None:
        """Show nothing (no model). Not ``clear``: the layout widget's ``clear`` removes all items."""
        self.frame = None
        self.image.clear()
        for item in (self.contours, self.arrows):
            item.setData([], [])
        self.fake.setData([], [])
        self.plot.setTitle(WGAN_TITLE, size="10pt")

    def show_frame(self, frame: WGANFrame) -> None:
        """Draw the critic map, contours, generated points and arrows of ``frame``."""
        self.frame = frame
        values = frame.critic
        x0, x1, y0, y1 = frame.extent
        rows, cols = values.shape
        dx, dy = (x1 - x0) / (cols - 1), (y1 - y0) / (rows - 1)
        low, high = float(values.min()), float(values.max())
        if high <= low:
            high = low + 1e-6
        scale = (0.0, 1.0) if frame.probability else (low, high)  # a probability: always the whole range
        self.image.setImage(values, levels=scale, autoLevels=False)
        self.image.setRect(QRectF(x0 - dx / 2, y0 - dy / 2, x1 - x0 + dx, y1 - y0 + dy))
        self.colorbar.setLevels(scale)
        self.colorbar.getAxis("left").setLabel(
            PROBABILITY_LABEL if frame.probability else "D(x)"
        )  # its label
        if self.options["contours"]:
            levels = np.linspace(low, high, CONTOUR_LEVELS + 2)[1:-1]
            segments = contour_segments(values, levels)
            self.contours.setData(x0 + segments[:, 0] * dx, y0 + segments[:, 1] * dy, connect="pairs")
        else:
            self.contours.setData([], [])
        points = frame.samples
        if self.options["fake"]:
            self.fake.setData(points[:, 0], points[:, 1])
        else:
            self.fake.setData([], [])
        if self.options["arrows"] and frame.gradients is not None and len(frame.gradients):
            starts = frame.arrow_starts.astype(np.float64)
            segments = arrow_segments(starts, frame.gradients.astype(np.float64), ARROW_FRACTION * (x1 - x0))
            self.arrows.setData(segments[:, 0], segments[:, 1], connect="pairs")
        else:
            self.arrows.setData([], [])
        self.real.setVisible(self.options["real"])
        inside = (points[:, 0] >= x0) & (points[:, 0] <= x1) & (points[:, 1] >= y0) & (points[:, 1] <= y1)
        outside = int(len(points) - inside.sum())
        # kept short: a title wider than the plot pushes the colour bar out of the widget
        parts = [PROBABILITY_LABEL if frame.probability else "critic D(x)", f"step {frame.step:,}"]
        if frame.probability and frame.gradients is not None and len(frame.gradients):
            # arrows are drawn at one length: the push's size is what shows the minimax loss saturating
            parts.append(f"push {float(np.linalg.norm(frame.gradients, axis=1).max()):.1e}")
        if outside:
            parts.append(f"{outside} off the map" if frame.probability else
                         f"{outside} of {len(points)} samples off the map")  # fmt: skip
        elif not frame.probability:
            parts[0] += " over the plane"
        title = " · ".join(parts)
        self.plot.setTitle(title, size="10pt")

    # --- the region shown ------------------------------------------------------------------------
    def fit(self, extent: tuple[float, float, float, float]) -> None:
        """Show ``extent`` (aspect kept: the longer side of the widget shows a little more)."""
        x0, x1, y0, y1 = extent
        self.plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.0)

    def view_extent(self) -> tuple[float, float, float, float]:
        """The region the plot shows, as (x0, x1, y0, y1), widened to the widget's aspect ratio.

        (The view box applies its locked aspect only when it next lays out, so the requested
        range is widened here the way it will be.)
        """
        view = self.plot.vb
        (x0, x1), (y0, y1) = view.targetRange()
        width, height = view.width(), view.height()
        if width > 0 and height > 0 and x1 > x0 and y1 > y0:
            wanted = width / height  # data units per pixel equal on both axes
            if (x1 - x0) / (y1 - y0) < wanted:
                grow = ((y1 - y0) * wanted - (x1 - x0)) / 2
                x0, x1 = x0 - grow, x1 + grow
            else:
                grow = ((x1 - x0) / wanted - (y1 - y0)) / 2
                y0, y1 = y0 - grow, y1 + grow
        return (float(x0), float(x1), float(y0), float(y1))

    # --- hover readout ------------------------------------------------------------------------------
    def value_at(self, x: float, y: float) -> float | None:
        """The critic value of the shown frame at the grid point nearest (x, y)."""
        frame = self.frame
        if frame is None or frame.critic is None:
            return None
        x0, x1, y0, y1 = frame.extent
        rows, cols = frame.critic.shape
        j = int(round((x - x0) / (x1 - x0) * (cols - 1)))
        i = int(round((y - y0) / (y1 - y0) * (rows - 1)))
        if not (0 <= i < rows and 0 <= j < cols):
            return None
        return float(frame.critic[i, j])

    def _mouse_moved(self, position: QPointF) -> None:
        if not self.plot.sceneBoundingRect().contains(position):
            self.readout.hide()
            return
        point = self.plot.vb.mapSceneToView(position)
        value = self.value_at(point.x(), point.y())
        if value is None:
            self.readout.hide()
            return
        self.readout.setText(f"D({point.x():.2f}, {point.y():.2f}) = {value:.3f}")
        self.readout.setPos(point)
        self.readout.show()

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.readout.hide()
        super().leaveEvent(event)
