"""The latent map: the encoded validation set as one scatter, coloured by a label or factor.

Encoding runs a chunk at a time inside a small time budget per event-loop turn, with its
own copy of the weights, so neither the map nor the sliders stutter while it refreshes.
All points live in one pxMode ScatterPlotItem fed with arrays; clicks are resolved with a
vectorised nearest-point search, never with per-point objects.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGraphicsItem,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.engine.images import tile_images
from app.engine.inference.vae_snapshot import DatasetEncoding
from app.engine.inference.vae_views import TRAVERSAL_LIMIT, PrincipalPlane, manifold_codes, principal_plane
from app.ui.vae import texts
from app.ui.vae.context import ViewContext
from app.ui.vae.explain import ExplainNote
from app.ui.vae.point_colours import PLAIN, colour_points
from app.ui.widgets.layout import STRETCH, row

MAX_POINTS = 10_000
POINT_PX = 5
PICK_RADIUS_PX = 7
REFRESH_INTERVAL_S = 2.0  # at most one re-encoding every 2 s while training
ENCODE_BUDGET_S = 0.003  # encoding time per event-loop turn
ENCODE_CHUNK = 64  # forward passes short enough that any input waits at most a few ms
HOLD_AFTER_INPUT_S = 0.4  # no background encoding while the user drags a slider, and just after
MANIFOLD_SIDE = 15
AXES_MODES = ("principal components of μ", "two dimensions")


class LatentMap(QWidget):
    """``codePicked(code)`` when the user clicks a point (its μ) or empty space (that spot)."""

    codePicked = Signal(object)
    refreshed = Signal()

    def __init__(self, context: ViewContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("vaeLatentMap")
        self.context = context
        self.mu: np.ndarray | None = None  # (N, latent_dim)
        self.labels: dict[str, np.ndarray] = {}
        self.label_names: dict[str, list[str]] = {}
        self.plane: PrincipalPlane | None = None
        self.coords: np.ndarray | None = None  # (N, 2) as drawn
        self.colours = colour_points(None)
        self.selected: int | None = None
        self.step: int | None = None
        self.job: DatasetEncoding | None = None
        self._wanted = False
        self._last_start = -1e9
        self._hold_until = 0.0

        self.axes_mode = QComboBox()
        self.axes_mode.setObjectName("vaeLatentMapAxes")
        self.axes_mode.addItems(AXES_MODES)
        self.axes_mode.setToolTip(
            "Project the codes on their first two principal components, or pick two dimensions"
        )
        self.dim_x = QSpinBox()
        self.dim_x.setObjectName("vaeLatentMapDimX")
        self.dim_y = QSpinBox()
        self.dim_y.setObjectName("vaeLatentMapDimY")
        for spin, tip in ((self.dim_x, "horizontal"), (self.dim_y, "vertical")):
            spin.setPrefix("z")
            spin.setToolTip(f"Latent dimension on the {tip} axis")
        self.colour_by = QComboBox()
        self.colour_by.setObjectName("vaeLatentMapColour")
        self.colour_by.setToolTip("Colour each point by a label or, on shapes, by a true factor")
        self.manifold = QCheckBox("Manifold")
        self.manifold.setObjectName("vaeLatentMapManifold")
        self.manifold.setToolTip(
            "Decode a grid of codes over ±3 on the two shown dimensions, drawn behind the points"
        )
        self.live = QCheckBox("Follow training")
        self.live.setObjectName("vaeLatentMapLive")
        self.live.setChecked(True)
        self.live.setToolTip("Re-encode the validation set about once a second while training runs")
        self.status = QLabel()
        self.status.setObjectName("vaeLatentMapStatus")
        self.legend = QLabel()
        self.legend.setObjectName("vaeLatentMapLegend")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)

        self.plot = pg.PlotWidget()
        self.plot.setObjectName("vaeLatentMapPlot")
        self.plot.setAspectLocked(True)
        # no grid: its lines are drawn with every repaint of the axes, i.e. with every marker move
        self.manifold_item = pg.ImageItem()
        self.manifold_item.setZValue(-10)
        self.plot.addItem(self.manifold_item)
        self.scatter = pg.ScatterPlotItem(pxMode=True, size=POINT_PX, pen=None, brush=PLAIN)
        # drawn once into a device-space pixmap: a moving marker or a pan then blits, not redraws
        self.scatter.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.plot.addItem(self.scatter)
        self.picked_marker = pg.ScatterPlotItem(size=14, pen=pg.mkPen("k", width=2), brush=None)
        self.code_marker = pg.ScatterPlotItem(size=16, symbol="+", pen=pg.mkPen("#d62728", width=3),
                                              brush=pg.mkBrush("#d62728"))  # fmt: skip
        self.code_marker.setToolTip("The sliders' code")
        # markers move with every slider drag: keep them out of auto-range, or each move rescales the view
        self.plot.addItem(self.picked_marker, ignoreBounds=True)
        self.plot.addItem(self.code_marker, ignoreBounds=True)
        self.plot.scene().sigMouseClicked.connect(self._clicked)

        # two short rows rather than one long one: the map must fit beside the sliders at 1400 px
        axes_row = row(self.axes_mode, self.dim_x, self.dim_y, STRETCH, self.live)
        colour_row = row("Colour", self.colour_by, self.manifold, STRETCH)
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(axes_row)
        layout.addLayout(colour_row)
        layout.addWidget(self.legend)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.status)
        layout.addWidget(ExplainNote("vaeLatentMapNote", "the latent map", texts.LATENT_MAP))

        self.timer = QTimer(self)
        self.timer.setInterval(0)
        self.timer.timeout.connect(self._pump)
        self.later = QTimer(self)
        self.later.setSingleShot(True)
        self.later.timeout.connect(lambda: self.refresh(force=True))
        self.resume = QTimer(self)
        self.resume.setSingleShot(True)
        self.resume.timeout.connect(self._resume)
        self.axes_mode.currentIndexChanged.connect(self._axes_changed)
        self.dim_x.valueChanged.connect(self._axes_changed)
        self.dim_y.valueChanged.connect(self._axes_changed)
        self.colour_by.currentIndexChanged.connect(self._recolour)
        self.manifold.toggled.connect(self._manifold_toggled)
        self._sync_controls()

    # --- model and data ---------------------------------------------------------------------
    def reset_model(self) -> None:
        """The model's config changed (or there is none): forget old codes, adapt the axes."""
        self.cancel()
        self.mu, self.coords, self.plane, self.selected, self.step = None, None, None, None, None
        self.scatter.setData([], [])
        self.picked_marker.setData([], [])
        self.code_marker.setData([], [])
        self.manifold_item.clear()
        latent_dim = self.context.vae.latent_dim
        for spin, value in ((self.dim_x, 0), (self.dim_y, 1)):
            spin.blockSignals(True)
            spin.setRange(0, max(0, latent_dim - 1))
            spin.setValue(min(value, max(0, latent_dim - 1)))
            spin.blockSignals(False)
        if latent_dim == 2:  # the whole latent space fits the map: show it as it is
            self.axes_mode.setCurrentIndex(1)
        self._sync_controls()
        self.status.setText("" if latent_dim else "Train a model or open a checkpoint to map its codes.")

    def set_data(self) -> None:
        """The dataset changed: offer its labels and factors as colourings."""
        data = self.context.data()
        self.labels, self.label_names = {}, {}
        if data is not None:
            count = min(len(data.val), MAX_POINTS)
            self.labels = {k: v[:count].numpy() for k, v in data.val_labels.items() if len(v) >= count}
            self.label_names = dict(data.label_names)
        current = self.colour_by.currentText()
        self.colour_by.blockSignals(True)
        self.colour_by.clear()
        self.colour_by.addItem("none")
        self.colour_by.addItems(list(self.labels))
        default = current if current in self.labels else next(iter(self.labels), "none")
        self.colour_by.setCurrentText(default)
        self.colour_by.blockSignals(False)
        self.cancel()
        self.mu = None  # the next refresh encodes the new data at once

    # --- refreshing ---------------------------------------------------------------------------
    def refresh(self, force: bool = False) -> None:
        """Re-encode the validation set from the current snapshot (at most once a second)."""
        vae = self.context.vae
        images = self.context.validation_images()
        if not vae.ready or images is None:
            self.cancel()
            if vae.ready:
                self.status.setText("The latent map needs validation images that fit the model.")
            return
        force = force or self.mu is None
        if not force and not self.live.isChecked():
            return
        if self.job is not None:
            self._wanted = True
            return
        if self.held():
            self._wanted = True
            self.resume.start(int((self._hold_until - time.perf_counter()) * 1000) + 1)
            return
        wait = REFRESH_INTERVAL_S - (time.perf_counter() - self._last_start)
        if not force and wait > 0:
            if not self.later.isActive():
                self.later.start(int(wait * 1000) + 1)
            return
        self._last_start = time.perf_counter()
        self.job = DatasetEncoding(vae, images[:MAX_POINTS], chunk=ENCODE_CHUNK)
        self.timer.start()

    def cancel(self) -> None:
        self.timer.stop()
        self.later.stop()
        self.resume.stop()
        self.job = None
        self._wanted = False

    def hold(self, seconds: float = HOLD_AFTER_INPUT_S) -> None:
        """Keep background encoding off the GUI thread's back for ``seconds`` (the user is
        dragging a slider: its picture comes first); the refresh resumes afterwards."""
        self._hold_until = time.perf_counter() + seconds
        if self.job is not None or self._wanted or self.later.isActive():
            self.timer.stop()
            self.resume.start(int(seconds * 1000) + 1)

    def held(self) -> bool:
        return time.perf_counter() < self._hold_until

    def _resume(self) -> None:
        if self.held():
            self.resume.start(int((self._hold_until - time.perf_counter()) * 1000) + 1)
        elif self.job is not None:
            self.timer.start()
        else:
            self._wanted = False
            self.refresh(force=True)

    def finish_now(self) -> None:
        """Complete a running refresh at once (tests and exports)."""
        self._hold_until = 0.0
        if self.job is None and self._wanted:
            self.resume.stop()
            self._wanted = False
            self.refresh(force=True)
        if self.job is not None:
            self.job.advance(float("inf"))
            self._pump()

    def _pump(self) -> None:
        job = self.job
        if job is None or self.held():
            self.timer.stop()
            if job is not None:
                self.resume.start(int((self._hold_until - time.perf_counter()) * 1000) + 1)
            return
        if not job.advance(ENCODE_BUDGET_S):
            text = f"Encoding the validation set… {int(job.progress * 10) * 10} %"
            if self.status.text() != text:
                self.status.setText(text)
            return
        self.timer.stop()
        self.job = None
        mu, _ = job.result()
        self.set_codes(mu, job.step)
        if self._wanted:
            self._wanted = False
            self.refresh()

    def set_codes(self, mu: np.ndarray, step: int | None = None) -> None:
        """Show these codes (N, latent_dim), aligned with the validation labels."""
        same_points = self.mu is not None and len(self.mu) == len(mu)
        self.mu = np.asarray(mu, dtype=np.float32)
        self.step = step
        self.plane = principal_plane(self.mu) if len(self.mu) else None
        self._redraw_points(same_points)
        self._draw_manifold()
        self.show_code(self.context.code())
        when = f" at step {step:,}" if step is not None else ""
        self.status.setText(f"{len(self.mu):,} validation codes μ(x){when}. Click a point to load its code.")
        self.refreshed.emit()

    # --- drawing ------------------------------------------------------------------------------
    def pca_mode(self) -> bool:
        return self.axes_mode.currentIndex() == 0

    def project(self, codes: np.ndarray) -> np.ndarray:
        """(N, latent_dim) → (N, 2) map coordinates in the current axes."""
        codes = np.asarray(codes, dtype=np.float32).reshape(-1, self.context.vae.latent_dim)
        if self.pca_mode():
            if self.plane is None:
                return np.zeros((len(codes), 2), np.float32)
            return self.plane.project(codes)
        return codes[:, [self.dim_x.value(), self.dim_y.value()]]

    def lift(self, x: float, y: float) -> np.ndarray:
        """A map position → a full code: the plane's point, or the sliders' code with two dims set."""
        if self.pca_mode() and self.plane is not None:
            return self.plane.lift(np.array([[x, y]]))[0]
        code = self.context.code().copy()
        code[self.dim_x.value()], code[self.dim_y.value()] = x, y
        return code

    def _redraw_points(self, same_points: bool = False) -> None:
        """Place the points; ``same_points``: the same examples re-encoded, colours unchanged."""
        if self.mu is None:
            return
        self.coords = self.project(self.mu)
        if not (same_points and self._move_points()):
            self._apply_colours()
        self._label_axes()
        if self.selected is not None and self.selected < len(self.coords):
            self.picked_marker.setData(pos=self.coords[[self.selected]])

    def _move_points(self) -> bool:
        """Move the drawn points to ``coords`` keeping their styles; False if it cannot.

        ``setData`` would restyle every point in Python (~20 ms for 10,000); a refresh during
        training only moves them. This writes pyqtgraph's point table directly, then does what
        its ``addPoints`` does after a change of positions.
        """
        table = getattr(self.scatter, "data", None)
        if table is None or len(table) != len(self.coords) or "x" not in (table.dtype.names or ()):
            return False
        table["x"] = self.coords[:, 0]
        table["y"] = self.coords[:, 1]
        self.scatter.prepareGeometryChange()
        self.scatter.informViewBoundsChanged()
        self.scatter.bounds = [None, None]
        self.scatter.invalidate()
        return True

    def _apply_colours(self) -> None:
        if self.coords is None:
            return
        name = self.colour_by.currentText()
        values = self.labels.get(name)
        if values is not None and len(values) != len(self.coords):
            values = None
        self.colours = colour_points(values, name, self.label_names.get(name))
        self.legend.setText(self.colours.legend_html)
        x, y = self.coords[:, 0], self.coords[:, 1]
        if self.colours.brushes is None:
            self.scatter.setData(x=x, y=y, brush=PLAIN)
        else:
            self.scatter.setData(x=x, y=y, brush=self.colours.brushes)

    def _label_axes(self) -> None:
        if self.pca_mode():
            share = self.plane.explained if self.plane is not None else np.zeros(2)
            self.plot.setLabel("bottom", f"PC 1 of μ ({share[0]:.0%} of the variance)")
            self.plot.setLabel("left", f"PC 2 of μ ({share[1]:.0%})")
        else:
            self.plot.setLabel("bottom", f"z{self.dim_x.value()}")
            self.plot.setLabel("left", f"z{self.dim_y.value()}")

    def _draw_manifold(self) -> None:
        vae = self.context.vae
        shown = self.manifold.isChecked() and not self.pca_mode() and vae.ready and vae.latent_dim >= 2
        self.scatter.setOpacity(0.55 if shown else 1.0)  # let the decoded pictures show through
        if not shown:
            self.manifold_item.clear()
            self.manifold_item.setVisible(False)
            return
        limit = TRAVERSAL_LIMIT
        codes = manifold_codes(self.context.code(), (self.dim_x.value(), self.dim_y.value()),
                               MANIFOLD_SIDE, (-limit, limit), (-limit, limit))  # fmt: skip
        images = vae.decode(codes)
        picture = tile_images(images, MANIFOLD_SIDE, pad=0)
        picture = picture[::-1]  # the plot's y axis points up: the picture's top row goes last
        if picture.shape[2] == 1:
            picture = picture[:, :, 0]
        self.manifold_item.setImage(np.ascontiguousarray(picture), levels=(0.0, 1.0), autoLevels=False)
        cell = 2 * limit / (MANIFOLD_SIDE - 1)
        extent = 2 * limit + cell
        self.manifold_item.setRect(-limit - cell / 2, -limit - cell / 2, extent, extent)
        self.manifold_item.setOpacity(0.85)
        self.manifold_item.setVisible(True)

    def show_code(self, code: np.ndarray) -> None:
        """Mark where the sliders' code lies on the map."""
        latent_dim = self.context.vae.latent_dim
        if self.mu is None or code is None or latent_dim == 0 or code.size != latent_dim:
            self.code_marker.setData([], [])
            return
        self.code_marker.setData(pos=self.project(code))

    def refresh_manifold(self) -> None:
        """Redraw the manifold for the current weights and sliders (cheap: one batch decode)."""
        if self.manifold.isChecked() and not self.pca_mode():
            self._draw_manifold()

    # --- reacting to the controls -----------------------------------------------------------------
    def _sync_controls(self) -> None:
        dims = not self.pca_mode()
        self.dim_x.setEnabled(dims)
        self.dim_y.setEnabled(dims)
        self.manifold.setEnabled(dims)

    def _axes_changed(self) -> None:
        self._sync_controls()
        self._redraw_points()
        self._draw_manifold()
        self.show_code(self.context.code())
        self.plot.enableAutoRange()

    def _recolour(self) -> None:
        self._apply_colours()

    def _manifold_toggled(self) -> None:
        self._draw_manifold()

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.coords is None or not len(self.coords):
            return
        view = self.plot.getPlotItem().getViewBox()
        if not view.sceneBoundingRect().contains(event.scenePos()):
            return
        point = view.mapSceneToView(event.scenePos())
        index = self.nearest_point(point.x(), point.y())
        if index is not None:
            self.pick_point(index)
        else:
            self.codePicked.emit(self.lift(point.x(), point.y()))

    def nearest_point(self, x: float, y: float, radius_px: float = PICK_RADIUS_PX) -> int | None:
        """Index of the point drawn nearest (x, y) within ``radius_px`` screen pixels, else None."""
        if self.coords is None or not len(self.coords):
            return None
        px, py = self.plot.getPlotItem().getViewBox().viewPixelSize()
        d2 = ((self.coords[:, 0] - x) / px) ** 2 + ((self.coords[:, 1] - y) / py) ** 2
        index = int(np.argmin(d2))
        return index if d2[index] <= radius_px**2 else None

    def pick_point(self, index: int) -> None:
        """Select point ``index`` and send its full code μ to the sliders."""
        self.selected = index
        self.picked_marker.setData(pos=self.coords[[index]])
        self.codePicked.emit(self.mu[index].copy())
