"""The sample timeline: a slider that scrubs back through the frames kept of this run.

Frames live in an engine ``Timeline`` (capped, thinned as the run grows); an opened checkpoint
brings the frames its history kept, so its whole run can be scrubbed and exported. While *Live* is on
the newest frame is shown as it arrives; dragging the slider back shows an earlier one and
turns *Live* off; dragging to the end (or pressing *Live*) follows the run again.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

from app.engine.inference.wgan_frames import WGANFrame
from app.engine.timeline import Frame, Timeline


class TimelineBar(QWidget):
    frameShown = Signal(object)  # WGANFrame to display
    exportGifClicked = Signal()
    exportStripClicked = Signal()

    def __init__(self, prefix: str = "wgan", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"{prefix}Timeline")
        self.timeline: Timeline[WGANFrame] = Timeline()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName(f"{prefix}TimelineSlider")
        self.slider.setRange(0, 0)
        self.slider.setToolTip("Scrub back through earlier snapshots of this run")
        self.slider.valueChanged.connect(self._slider_moved)
        self.live = QPushButton("Live")
        self.live.setObjectName(f"{prefix}TimelineLive")
        self.live.setCheckable(True)
        self.live.setChecked(True)
        self.live.setToolTip("Follow the run: show each new snapshot as it arrives")
        self.live.toggled.connect(self._live_toggled)
        self.label = QLabel("no snapshots yet")
        self.label.setObjectName(f"{prefix}TimelineLabel")
        self.label.setMinimumWidth(170)
        self.gif_button = QPushButton("GIF…")
        self.gif_button.setObjectName(f"{prefix}ExportGif")
        self.gif_button.setToolTip("Export the evolution as an animated GIF")
        self.gif_button.clicked.connect(self.exportGifClicked)
        self.strip_button = QPushButton("PNG strip…")
        self.strip_button.setObjectName(f"{prefix}ExportStrip")
        self.strip_button.setToolTip("Export evenly spaced snapshots side by side as one PNG")
        self.strip_button.clicked.connect(self.exportStripClicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Timeline"))
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        layout.addWidget(self.live)
        layout.addWidget(self.gif_button)
        layout.addWidget(self.strip_button)
        self._update_enabled()

    # --- frames -------------------------------------------------------------------------------
    def add(self, frame: WGANFrame) -> None:
        """Keep ``frame``; show it if following the run."""
        self.timeline.add(frame.step, frame, frame.nbytes)
        self.slider.blockSignals(True)
        self.slider.setRange(0, len(self.timeline) - 1)
        if self.live.isChecked():
            self.slider.setValue(len(self.timeline) - 1)
        self.slider.blockSignals(False)
        self._update_label()
        self._update_enabled()
        if self.live.isChecked():
            self.frameShown.emit(frame)

    def load_history(self, frames: list[WGANFrame]) -> None:
        """An opened checkpoint's frames, oldest first, kept without showing each one."""
        for frame in frames:
            self.timeline.add(frame.step, frame, frame.nbytes)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(self.timeline) - 1))
        self.slider.setValue(len(self.timeline) - 1)
        self.slider.blockSignals(False)
        self._update_label()
        self._update_enabled()

    def clear(self) -> None:
        self.timeline.clear()
        self.slider.blockSignals(True)
        self.slider.setRange(0, 0)
        self.slider.blockSignals(False)
        self.live.setChecked(True)
        self._update_label()
        self._update_enabled()

    def current(self) -> Frame[WGANFrame] | None:
        if not len(self.timeline):
            return None
        return self.timeline[min(self.slider.value(), len(self.timeline) - 1)]

    def frames(self) -> list[Frame[WGANFrame]]:
        return list(self.timeline)

    # --- interaction ----------------------------------------------------------------------------
    def _slider_moved(self, index: int) -> None:
        if not len(self.timeline):
            return
        at_end = index >= len(self.timeline) - 1
        if self.live.isChecked() != at_end:
            self.live.blockSignals(True)
            self.live.setChecked(at_end)
            self.live.blockSignals(False)
        self._update_label()
        self.frameShown.emit(self.timeline[index].item)

    def _live_toggled(self, on: bool) -> None:
        if on and len(self.timeline):
            self.slider.setValue(len(self.timeline) - 1)
            self.frameShown.emit(self.timeline[-1].item)
        self._update_label()

    def _update_label(self) -> None:
        current = self.current()
        if current is None:
            self.label.setText("no snapshots yet")
            return
        newest = self.timeline[-1].step
        where = "live" if self.live.isChecked() else f"of {newest:,}"
        self.label.setText(
            f"step {current.step:,} {where} · {self.slider.value() + 1}/{len(self.timeline)} kept"
        )

    def _update_enabled(self) -> None:
        has = len(self.timeline) > 0
        self.slider.setEnabled(len(self.timeline) > 1)
        self.gif_button.setEnabled(has)
        self.strip_button.setEnabled(has)
