"""The "Attention while learning" tab: a fixed probe text's attention, captured every N steps.

A scrubber replays the captures, so one sees heads go from uniform smears at step 0 to
sharp patterns (previous character, start of a word, the same letter earlier…). Every
layer × head is a tile; the selected tile is drawn large with the characters on its axes.
"""

from __future__ import annotations

import numpy as np
import torch
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.engine.inference.gpt_probe import merge_captures
from app.engine.inference.gpt_views import attention_stats
from app.engine.inference.visuals import ProbeCaptures
from app.ui.gpt.heatmaps import AttentionGrid, AttentionHeatmap, EntropyMap
from app.ui.widgets.layout import across, column, down, row

MAX_HISTORY = 240  # captures kept; older ones are thinned beyond this
PLAY_MS = 180


class ProbePanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("gptProbePanel")
        self.history: list[tuple[int, np.ndarray]] = []  # (step, α (L, H, T, T) float16)
        self.text = ""
        self.allowed: np.ndarray | None = None
        self.selected = 0  # tile index: layer · n_head + head

        self.info = QLabel("Train the model to see how the attention of a fixed probe text forms.")
        self.info.setObjectName("gptProbeText")
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # one line
        self.grid = AttentionGrid("gptProbeGrid")
        self.map = AttentionHeatmap("gptProbeMap")
        self.entropy = EntropyMap("gptProbeEntropy")
        self.boost = QCheckBox("√α")
        self.boost.setObjectName("gptProbeBoost")
        self.boost.setToolTip("Show √α so that small weights become visible")
        self.scrubber = QSlider(Qt.Orientation.Horizontal)
        self.scrubber.setObjectName("gptProbeScrubber")
        self.scrubber.setRange(0, 0)
        self.scrubber.setToolTip("Drag through the captures to replay how the heads formed")
        self.play_button = QPushButton("Replay")
        self.play_button.setObjectName("gptProbePlay")
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play_button.setCheckable(True)
        self.step_label = QLabel("no captures yet")
        self.step_label.setObjectName("gptProbeStep")
        self.step_label.setMinimumWidth(180)
        self.timer = QTimer(self)
        self.timer.setInterval(PLAY_MS)
        self.timer.timeout.connect(self._advance)

        self.scrubber.valueChanged.connect(self.show_capture)
        self.play_button.toggled.connect(self._play_toggled)
        self.grid.tileClicked.connect(self._tile_clicked)
        self.entropy.cellClicked.connect(lambda layer, head: self._tile_clicked(layer * self._n_head + head))
        self.boost.toggled.connect(lambda _on: self.show_capture(self.scrubber.value()))

        entropy_box = column("Mean attention entropy per head (nats)", (self.entropy, 1))
        body = across([640, 480], self.grid, down([420, 200], self.map, entropy_box))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.info)
        layout.addWidget(body, 1)
        layout.addLayout(row(self.play_button, (self.scrubber, 1), self.step_label, self.boost))

    @property
    def _n_head(self) -> int:
        return self.history[-1][1].shape[1] if self.history else 1

    def clear(self) -> None:
        self.history = []
        self.text = ""
        self.scrubber.setRange(0, 0)
        self.grid.clear_tiles()
        self.map.clear_map()
        self.entropy.clear_map()
        self.step_label.setText("no captures yet")

    def add_captures(self, probe: ProbeCaptures) -> None:
        """New captures from the trainer (or one of an opened model)."""
        text = probe.text
        shape = probe.captures[0][1].shape if probe.captures else None
        if text != self.text or (self.history and self.history[-1][1].shape != shape):
            self.history = []  # a new probe prompt or a new model: a new story
        self.text = text
        self.allowed = np.asarray(probe.allowed, dtype=bool)
        following = self.scrubber.value() >= self.scrubber.maximum()
        self.history = merge_captures(self.history, probe.captures, MAX_HISTORY)
        replaced = probe.replaced
        note = f" ({len(replaced)} character(s) not in the vocabulary were replaced)" if replaced else ""
        self.info.setText(
            f"Probe text: “{text}”{note} — captured every N steps (setting 'capture every'). "
            "Click a tile to enlarge it."
        )
        self.scrubber.blockSignals(True)
        self.scrubber.setRange(0, len(self.history) - 1)
        if following:
            self.scrubber.setValue(len(self.history) - 1)
        self.scrubber.blockSignals(False)
        self.show_capture(self.scrubber.value())

    def show_capture(self, index: int) -> None:
        if not self.history:
            return
        index = min(max(0, index), len(self.history) - 1)
        step, alpha16 = self.history[index]
        alpha = alpha16.astype(np.float32)  # (L, H, T, T)
        L, H, T, _ = alpha.shape
        self.selected = min(self.selected, L * H - 1)
        titles = [f"L{layer + 1} H{head + 1}" for layer in range(L) for head in range(H)]
        boost = self.boost.isChecked()
        self.grid.set_tiles(alpha.reshape(L * H, T, T), self.allowed, titles, columns=H,
                            selected=self.selected, boost=boost)  # fmt: skip
        layer, head = divmod(self.selected, H)
        self.map.set_attention(alpha[layer, head], self.allowed, list(self.text), boost)
        self.map.setTitle(f"layer {layer + 1}, head {head + 1} at step {step:,}", size="9pt")
        stats = attention_stats(torch.from_numpy(alpha), torch.from_numpy(self.allowed))
        self.entropy.set_entropy(stats.mean_entropy, (layer, head))
        self.step_label.setText(f"step {step:,}  ({index + 1} of {len(self.history)})")

    def _tile_clicked(self, index: int) -> None:
        self.selected = index
        self.show_capture(self.scrubber.value())

    def _play_toggled(self, on: bool) -> None:
        if on:
            if self.scrubber.value() >= self.scrubber.maximum():
                self.scrubber.setValue(0)
            self.timer.start()
        else:
            self.timer.stop()

    def _advance(self) -> None:
        if self.scrubber.value() >= self.scrubber.maximum():
            self.play_button.setChecked(False)
            return
        self.scrubber.setValue(self.scrubber.value() + 1)
