"""The Generate tab: the model writes one character per timer tick while every view follows.

The panel never touches the model being trained: it builds its own ``GPT`` from the latest
``ModelSnapshot`` (or an opened checkpoint) with ``model_from_snapshot``. While only the prompt
has been read, each new snapshot is taken at once, so the prompt's attention and next-character
odds move as the model learns; once it has written something, newer weights wait for Restart.
"""

from __future__ import annotations

import math
import time

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QStyle,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.engine.events import ModelSnapshot
from app.engine.inference import model_from_snapshot
from app.engine.inference.gpt_views import (
    head_gates,
    strongest_keys,
    surprisal_series,
    token_weights,
    window_attention_stats,
)
from app.engine.inference.logit_lens import LensTrack, chosen_after
from app.engine.inference.sampling import start_token
from app.ui.gpt.charts import EntropyLine, SurprisalPlot, TopKBars
from app.ui.gpt.head_toggles import HeadToggles
from app.ui.gpt.heatmaps import AttentionGrid, AttentionHeatmap, EntropyMap
from app.ui.gpt.logit_lens import LogitLensView
from app.ui.gpt.palette import display_char, probability_gradient_css
from app.ui.gpt.token_text import TokenText
from app.ui.widgets.layout import STRETCH, across, column, down, row
from models.text_sampling import GenerationSession, SamplingSettings
from models.tokenizer import TextTokenizer, describe_char
from models.transformer import GPT

DEFAULT_PROMPT = "The "
MAX_SPEED = 61  # the speed slider's last notch: as fast as the model goes
EMA = 0.8  # smoothing of the per-character time readout
PROMPT_DEBOUNCE_MS = 200


def _button(name: str, text: str, tip: str, icon=None) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.setToolTip(tip)
    if icon is not None:
        button.setIcon(button.style().standardIcon(icon))
    return button


class GenerationPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("gptGeneratePanel")
        self.model: GPT | None = None
        self.model_step: int | None = None
        self.tokenizer: TextTokenizer | None = None
        self.pending: tuple[ModelSnapshot, TextTokenizer] | None = None  # newer weights, not yet used
        self.session: GenerationSession | None = None
        self.session_prompt: str | None = None
        self.seed = 0
        self.pinned: int | None = None  # token (index in the text) whose attention stays shown
        self.hovered: int | None = None
        self.seconds_per_token: float | None = None
        self.last_gui_ms = 0.0
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.prompt_timer = QTimer(self)  # re-reads the prompt shortly after typing stops
        self.prompt_timer.setSingleShot(True)
        self.prompt_timer.setInterval(PROMPT_DEBOUNCE_MS)
        self.prompt_timer.timeout.connect(self._prompt_edited)
        self._build_controls()
        self._build_views()
        self._build_layout()
        self._connect()
        self._update_buttons()
        self._show_model_info()

    # --- building -------------------------------------------------------------------------
    def _build_controls(self) -> None:
        pixmaps = QStyle.StandardPixmap
        self.prompt = QPlainTextEdit(DEFAULT_PROMPT)
        self.prompt.setObjectName("gptPrompt")
        self.prompt.setPlaceholderText("Prompt: the text the model continues (empty: start of a line)")
        self.prompt.setToolTip("The text the model continues. Characters it never saw are replaced.")
        self.prompt.setFixedHeight(self.prompt.fontMetrics().lineSpacing() * 3 + 14)
        self.generate_button = _button(
            "gptGenerateButton", "Generate", "Write characters one by one (restarts if the prompt changed)",
            pixmaps.SP_MediaPlay,
        )  # fmt: skip
        self.pause_button = _button("gptGenPauseButton", "Pause", "Pause writing", pixmaps.SP_MediaPause)
        self.step_button = _button(
            "gptGenStepButton", "Step", "Write exactly one character", pixmaps.SP_MediaSkipForward
        )
        self.restart_button = _button(
            "gptGenRestartButton", "Restart", "Start again from the prompt with the newest weights",
            pixmaps.SP_BrowserReload,
        )  # fmt: skip
        self.speed = QSlider(Qt.Orientation.Horizontal)
        self.speed.setObjectName("gptGenSpeed")
        self.speed.setRange(1, MAX_SPEED)
        self.speed.setValue(15)
        self.speed.setToolTip("Characters per second while playing; the last notch is as fast as possible")
        self.speed.setMinimumWidth(90)
        self.speed_label = QLabel()
        self.speed_label.setMinimumWidth(54)
        self.temperature = QDoubleSpinBox()
        self.temperature.setObjectName("gptTemperature")
        self.temperature.setRange(0.0, 5.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(1.0)
        self.temperature.setSpecialValueText("greedy")
        self.temperature.setToolTip(
            "p_i ∝ exp(z_i / T): below 1 sharper, above 1 flatter; 0 always picks the top"
        )
        self.top_k = QSpinBox()
        self.top_k.setObjectName("gptTopK")
        self.top_k.setRange(0, 65536)
        self.top_k.setSpecialValueText("off")
        self.top_k.setToolTip("Sample only among the k most likely characters (0 = off)")
        self.top_p = QDoubleSpinBox()
        self.top_p.setObjectName("gptTopP")
        self.top_p.setRange(0.01, 1.0)
        self.top_p.setSingleStep(0.05)
        self.top_p.setValue(1.0)
        self.top_p.setToolTip("Nucleus sampling: keep the fewest most likely characters whose mass reaches p")
        self.max_new = QSpinBox()
        self.max_new.setObjectName("gptMaxNew")
        self.max_new.setRange(1, 100_000)
        self.max_new.setValue(500)
        self.max_new.setToolTip("Stop playing after writing this many characters")
        self.kv_cache = QCheckBox("KV cache")
        self.kv_cache.setObjectName("gptKvCache")
        self.kv_cache.setChecked(True)
        self.kv_cache.setToolTip(
            "Keep K and V of the characters already read, so each new one costs one row of attention "
            "instead of reading the whole context again. The text is the same either way."
        )
        self.rate_label = QLabel("—")
        self.rate_label.setMinimumWidth(150)
        self.rate_label.setObjectName("gptTokensPerSecond")
        self.rate_label.setToolTip(
            "Time the model takes per character (without drawing), and the rate it allows"
        )
        self.model_label = QLabel()
        self.model_label.setObjectName("gptModelInfo")
        self.message = QLabel()
        self.message.setObjectName("gptGenMessage")
        self.message.setStyleSheet("color: #8a4b00;")

    def _build_views(self) -> None:
        self.text = TokenText("gptOutputText")
        self.text.setToolTip("Hover a character to see what it attends to; click to keep it selected")
        self.legend = QLabel()
        self.legend.setObjectName("gptProbabilityLegend")
        self.legend.setText("colour: p(character)  0")
        self.legend.setToolTip("Each written character is coloured by the probability the model gave it")
        self.legend_bar = QLabel()
        self.legend_bar.setFixedSize(120, 10)
        self.legend_bar.setStyleSheet(f"background: {probability_gradient_css()}; border: 1px solid #bbb;")
        self.surprisal = SurprisalPlot("gptSurprisalPlot")
        self.top_k_bars = TopKBars("gptTopKBars")
        self.top_k_title = QLabel("Next character")
        self.top_k_title.setObjectName("gptTopKTitle")

        self.layer_select = QComboBox()
        self.layer_select.setObjectName("gptLayerSelect")
        self.head_select = QComboBox()
        self.head_select.setObjectName("gptHeadSelect")
        self.boost = QCheckBox("√α")
        self.boost.setObjectName("gptAttentionBoost")
        self.boost.setToolTip("Show √α so that the many small weights of a long context become visible")
        self.normalise = QCheckBox("H / log n")
        self.normalise.setObjectName("gptEntropyNormalise")
        self.normalise.setToolTip(
            "Divide H(α_i) by log n_i, the entropy of a uniform row over the n_i characters query i "
            "may read: 0 = looks at one character, 1 = spreads evenly"
        )
        self.heatmap = AttentionHeatmap("gptAttentionMap")
        self.attention_info = QLabel("Hover the map or the text to read single weights.")
        self.attention_info.setObjectName("gptAttentionInfo")
        self.head_grid = AttentionGrid("gptHeadGrid")
        self.entropy_map = EntropyMap("gptEntropyMap")
        self.entropy_line = EntropyLine("gptEntropyLine")
        self.toggles = HeadToggles("gptHeadToggles")
        self.lens = LogitLensView()
        self.lens_track = LensTrack()

    def _build_layout(self) -> None:
        buttons = column(self.generate_button, self.pause_button)
        steps = column(self.step_button, self.restart_button)
        prompt_row = row((self.prompt, 1), buttons, steps)
        controls = row(
            "Speed", self.speed, self.speed_label, 8, "T", self.temperature, "top-k", self.top_k,
            "top-p", self.top_p, "max", self.max_new, 8, self.kv_cache, 8, (self.rate_label, 1),
            self.model_label,
        )  # fmt: skip
        legend = row(self.legend, self.legend_bar, "1", STRETCH)
        left = down(
            [330, 170, 210],
            column((self.text, 1), legend),
            self.surprisal,
            column(self.top_k_title, (self.top_k_bars, 1)),
        )
        selectors = row(self.layer_select, self.head_select, self.boost, STRETCH, self.normalise)
        middle = column(
            selectors,
            (down([520, 150], column((self.heatmap, 1), self.attention_info), self.entropy_line), 1),
        )
        entropy_title = QLabel("Mean entropy per head (pale: reads few characters; dark: spreads out)")
        entropy_title.setToolTip(
            "Mean over the queries i of H(α_i) = −Σ_j α_ij log α_ij, in nats (or divided by log n_i). "
            "Colours span the lowest to the highest value. Click a cell to select that head."
        )
        self.head_tabs = QTabWidget()
        self.head_tabs.setObjectName("gptHeadTabs")
        self.head_tabs.addTab(self.head_grid, "Heads of the layer")
        self.head_tabs.addTab(column(entropy_title, (self.entropy_map, 1), self.toggles), "Entropy, ablation")
        self.head_tabs.addTab(self.lens, "Logit lens")
        body = across([520, 820], left, across([430, 380], middle, self.head_tabs))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(prompt_row)
        layout.addLayout(controls)
        layout.addWidget(self.message)
        layout.addWidget(body, 1)
        self._speed_changed(self.speed.value())

        labels = (self.rate_label, self.model_label, self.top_k_title, self.attention_info, self.message,
                  entropy_title)  # fmt: skip
        for label in labels:
            # one line each, whatever their text: a new text never re-lays out the views around them
            # (and no height-for-width, which would make the scroll area size the panel by its hint)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def _connect(self) -> None:
        self.prompt.textChanged.connect(self.prompt_timer.start)
        self.generate_button.clicked.connect(self.play)
        self.pause_button.clicked.connect(self.pause)
        self.step_button.clicked.connect(self.step_once)
        self.restart_button.clicked.connect(self.restart)
        self.speed.valueChanged.connect(self._speed_changed)
        for box in (self.temperature, self.top_p):
            box.valueChanged.connect(self._sampling_changed)
        self.top_k.valueChanged.connect(self._sampling_changed)
        self.kv_cache.toggled.connect(self._kv_toggled)
        self.layer_select.currentIndexChanged.connect(self._refresh_attention)
        self.head_select.currentIndexChanged.connect(self._refresh_attention)
        self.boost.toggled.connect(self._refresh_attention)
        self.normalise.toggled.connect(self._refresh_attention)
        self.toggles.gatesChanged.connect(self._gates_changed)
        self.text.tokenHovered.connect(self._token_hovered)
        self.text.tokenClicked.connect(self._token_clicked)
        self.heatmap.cellHovered.connect(self._cell_hovered)
        self.heatmap.rowClicked.connect(self._row_clicked)
        self.head_grid.tileClicked.connect(self.head_select.setCurrentIndex)
        self.head_tabs.currentChanged.connect(self._refresh_attention)
        self.head_tabs.currentChanged.connect(self._refresh_lens)
        self.lens.columns.valueChanged.connect(self._refresh_lens)
        self.entropy_map.cellClicked.connect(self._select_head)

    # --- the model ------------------------------------------------------------------------
    def set_model(self, snapshot: ModelSnapshot | None, tokenizer: TextTokenizer | None) -> None:
        """New weights (a training snapshot or an opened checkpoint), or None when there is no model."""
        if snapshot is None or tokenizer is None:
            self.pause()
            self.model = self.tokenizer = self.session = self.pending = None
            self.model_step = None
            self.text.clear_tokens()
            self._clear_views()
            self._update_buttons()
            self._show_model_info()
            return
        if self._writing() or not self.isVisible():
            self.pending = (snapshot, tokenizer)  # taken at the next Restart, or when shown
            self._show_model_info()
            return
        self._adopt(snapshot, tokenizer)
        self._start_session()

    def _writing(self) -> bool:
        """True once the model has written something (or is playing): its weights stay put."""
        return self.session is not None and bool(self.session.steps or self.timer.isActive())

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self.pending is not None and not self._writing():
            self._adopt(*self.pending)
            self._start_session()

    def _adopt(self, snapshot: ModelSnapshot, tokenizer: TextTokenizer) -> None:
        shape_changed = self.model is None or (
            (self.model.config.n_layer, self.model.config.n_head)
            != (snapshot.config.n_layer, snapshot.config.n_head)
        )
        self.model = model_from_snapshot(snapshot).model
        self.model_step = snapshot.step
        self.tokenizer = tokenizer
        self.legend.setText(f"colour: p({tokenizer.kind})  0")
        self.surprisal.set_unit(tokenizer.kind)
        self.pending = None
        self.session = None  # it belonged to the old weights
        if shape_changed:
            config = snapshot.config
            for combo, count, name in ((self.layer_select, config.n_layer, "Layer"),
                                       (self.head_select, config.n_head, "Head")):  # fmt: skip
                combo.blockSignals(True)
                combo.clear()
                combo.addItems([f"{name} {i + 1}" for i in range(count)])
                combo.blockSignals(False)
            self.toggles.set_shape(config.n_layer, config.n_head)
            self.head_grid.clear_tiles()
        self._apply_gates()
        self._show_model_info()

    def _apply_gates(self) -> None:
        tensor = head_gates(self.toggles.gates())
        if self.session is not None:
            self.session.set_head_gates(tensor)
        elif self.model is not None:
            self.model.set_head_gates(tensor)

    def _show_model_info(self) -> None:
        if self.model is None:
            self.model_label.setText("")
            self.message.setText("Train a model (Start) or open a checkpoint to let it write.")
            return
        text = f"weights of step {self.model_step:,}"
        if self.pending is not None:
            text += f" · newer: step {self.pending[0].step:,} (Restart to use)"
        self.model_label.setText(text)

    # --- sessions -------------------------------------------------------------------------
    def sampling_settings(self) -> SamplingSettings:
        return SamplingSettings(self.temperature.value(), self.top_k.value(), self.top_p.value())

    def prompt_text(self) -> str:
        return self.prompt.toPlainText().replace("\r\n", "\n")

    def _start_session(self) -> None:
        """Read the prompt with the current weights; nothing is written yet."""
        if self.model is None or self.tokenizer is None:
            return
        prompt = self.prompt_text()
        if prompt:
            ids, replaced = self.tokenizer.encode_lenient(prompt)
        else:  # an empty prompt: the start of a line (the rule genplay sample follows)
            ids, replaced = [start_token(self.tokenizer)], []
        if replaced:
            unknown = self.tokenizer.unknown_characters(prompt)
            shown = ", ".join(describe_char(c) for c in unknown[:6])
            self.message.setText(
                f"{len(replaced)} prompt character(s) are not in the model's vocabulary ({shown}); "
                f"they were replaced by {describe_char(self.tokenizer.replacement)} (struck through in red)."
            )
        else:
            self.message.setText("")
        self.session = GenerationSession(
            self.model,
            ids,
            settings=self.sampling_settings(),
            use_cache=self.kv_cache.isChecked(),
            capture_attention=True,
            capture_residuals=True,
            seed=self.seed,
        )
        self._apply_gates()
        self.session_prompt = prompt
        self.pinned = self.hovered = None
        self.text.set_prompt([self.tokenizer.pieces[i] for i in ids], set(replaced))
        self._refresh_views()
        self._update_buttons()

    def _prompt_edited(self) -> None:
        """While nothing is written yet, the views follow the prompt as it is typed."""
        if self.model is not None and not self._writing() and self.prompt_text() != self.session_prompt:
            self._start_session()

    def restart(self) -> None:
        """Back to the prompt, with the newest weights and a fresh random seed."""
        playing = self.timer.isActive()
        self.pause()
        if self.pending is not None:
            self._adopt(*self.pending)
        self.seed += 1
        self._start_session()
        if playing:
            self.play()

    def _ensure_session(self) -> bool:
        if self.model is None and self.pending is None:
            return False
        if self.session is None or self.prompt_text() != self.session_prompt:
            if self.pending is not None:
                self._adopt(*self.pending)
            self._start_session()
        return self.session is not None

    # --- playing --------------------------------------------------------------------------
    def play(self) -> None:
        if not self._ensure_session():
            return
        if self.written >= self.max_new.value():
            self.message.setText(f"Already {self.written} characters written; Restart or raise max.")
            return
        self.timer.start()
        self._update_buttons()

    def pause(self) -> None:
        self.timer.stop()
        self._update_buttons()

    def step_once(self) -> None:
        self.pause()
        if self._ensure_session():
            self._advance()

    def generated_text(self) -> str:
        """The text so far as the model read it: the prompt's tokens, then every written one."""
        if self.session is None or self.tokenizer is None:
            return ""
        return self.tokenizer.decode(self.session.ids)

    @property
    def written(self) -> int:
        return len(self.session.steps) if self.session is not None else 0

    def _tick(self) -> None:
        if self.session is None or self.written >= self.max_new.value():
            self.pause()
            if self.session is not None:
                self.message.setText(f"Wrote {self.written} characters (max reached).")
            return
        self._advance()

    def _advance(self) -> None:
        """One character: the model's step (timed on its own), then every view."""
        started = time.perf_counter()
        before = self.session.window.length
        record = self.session.step()
        seconds = time.perf_counter() - started
        ema = self.seconds_per_token
        self.seconds_per_token = seconds if ema is None else EMA * ema + (1 - EMA) * seconds
        self.text.append_token(self.tokenizer.pieces[record.token], record.prob)
        if self.session.window.length <= before:  # the window was full and shifted
            self.text.dim_before(self.session.window_start)
            self.message.setText(
                f"The context is full ({self.model.config.block_size} characters): the oldest "
                f"{self.session.window.shift} left it (grey text) and the rest was read again."
            )
        self._refresh_views()
        self.last_gui_ms = 1000 * (time.perf_counter() - started)
        self._show_rate()

    def _show_rate(self) -> None:
        if self.seconds_per_token is None:
            self.rate_label.setText("—")
            return
        ms = 1000 * self.seconds_per_token
        cache = "on" if self.kv_cache.isChecked() else "off"
        unit = "char" if self.tokenizer is None or self.tokenizer.kind == "character" else "token"
        self.rate_label.setText(
            f"model: {ms:.1f} ms/{unit} = {1 / self.seconds_per_token:,.0f} {unit}s/s (KV cache {cache})"
        )

    def _update_buttons(self) -> None:
        has_model = self.model is not None
        playing = self.timer.isActive()
        self.generate_button.setEnabled(has_model and not playing)
        self.generate_button.setText("Continue" if self.written and not playing else "Generate")
        self.pause_button.setEnabled(playing)
        self.step_button.setEnabled(has_model)
        self.restart_button.setEnabled(has_model)

    # --- settings that change the next character ----------------------------------------
    def _speed_changed(self, value: int) -> None:
        if value >= MAX_SPEED:
            self.timer.setInterval(0)
            self.speed_label.setText("max")
        else:
            self.timer.setInterval(int(1000 / value))
            self.speed_label.setText(f"{value}/s")

    def _sampling_changed(self, *_args) -> None:
        if self.session is not None:
            self.session.settings = self.sampling_settings()
            self._refresh_top_k()

    def _kv_toggled(self, on: bool) -> None:
        self.seconds_per_token = None
        if self.session is not None:
            self.session.set_use_cache(on)
        self._show_rate()

    def _gates_changed(self, _gates) -> None:
        self._apply_gates()
        self._refresh_views()

    def _select_head(self, layer: int, head: int) -> None:
        self.layer_select.setCurrentIndex(layer)
        self.head_select.setCurrentIndex(head)

    # --- views ----------------------------------------------------------------------------
    def _clear_views(self) -> None:
        self.heatmap.clear_map()
        self.head_grid.clear_tiles()
        self.entropy_map.clear_map()
        self.entropy_line.set_entropy(np.zeros(0), None, False)
        self.top_k_bars.clear_bars()
        self.lens.clear_grid()
        self.surprisal.set_series(np.zeros(0), np.zeros(0), np.zeros(0))
        self.text.clear_attention()

    def _refresh_views(self) -> None:
        if self.session is None:
            return
        self._refresh_attention()
        self._refresh_top_k()
        self._refresh_lens()
        self.surprisal.set_series(*surprisal_series(self.session.steps, self.session.prompt_length))

    def _refresh_lens(self, *_args) -> None:
        """The logit lens over the text's last positions (computed only while its tab is shown)."""
        session = self.session
        if session is None or session.window.residuals is None or not self.lens.isVisible():
            return
        window = session.window
        count = min(self.lens.columns.value(), window.length)
        first = len(session.ids) - count  # in the whole text
        positions = list(range(first, len(session.ids)))
        reading = (id(session), window.full_reads)
        residuals = window.residuals[:, window.length - count :]
        grid = self.lens_track.grid(
            self.model, residuals, positions, chosen_after(session.ids, first), reading
        )
        pieces = self.tokenizer.pieces
        self.lens.set_grid(grid, [pieces[i] for i in session.ids[first:]], pieces, first)

    def _refresh_top_k(self) -> None:
        if self.session is None:
            return
        chars = self.tokenizer.pieces
        self.top_k_bars.set_distribution(
            self.session.next_distribution().numpy(),
            self.session.next_sampling_distribution().numpy(),
            chars,
        )
        tail = "".join(display_char(chars[i]) for i in self.session.ids[-12:])
        self.top_k_title.setText(f"Next {self.tokenizer.kind} after “…{tail}”")

    def window_chars(self) -> list[str]:
        return [self.tokenizer.pieces[i] for i in self.session.ids[self.session.window_start :]]

    def _refresh_attention(self, *_args) -> None:
        session = self.session
        if session is None or session.window.attention is None:
            return
        attention = session.window.attention  # (L, H, T, T)
        layer = max(0, self.layer_select.currentIndex())
        head = max(0, self.head_select.currentIndex())
        boost = self.boost.isChecked()
        chars = self.window_chars()
        off = self.toggles.off_heads()
        normalised = self.normalise.isChecked()
        stats = window_attention_stats(self.model.config, attention, normalised, session.window.prefix_length)
        allowed_np = stats.allowed
        self.heatmap.set_attention(attention[layer, head].numpy(), allowed_np, chars, boost)
        if self.entropy_map.isVisible():  # the two head tabs are drawn only when shown
            self.entropy_map.set_entropy(stats.mean_entropy, (layer, head), off)
        line_ceiling = None if normalised else stats.uniform
        self.entropy_line.set_entropy(stats.entropy[layer, head], line_ceiling, normalised)
        n_head = attention.shape[1]
        titles = [f"head {h + 1}{' (off)' if (layer, h) in off else ''}" for h in range(n_head)]
        if self.head_grid.isVisible():
            self.head_grid.set_tiles(
                attention[layer].numpy(), allowed_np, titles, columns=math.ceil(math.sqrt(n_head)),
                selected=head, dimmed={h for (l, h) in off if l == layer}, boost=boost,
            )  # fmt: skip
        self._apply_highlight()

    # --- hovering and selecting tokens --------------------------------------------------
    def _row_of(self, token: int | None) -> int | None:
        """The heat-map row of a token of the text, if it is inside the model's window."""
        if token is None or self.session is None:
            return None
        row = token - self.session.window_start
        return row if 0 <= row < self.session.window.length else None

    def _apply_highlight(self) -> None:
        token = self.hovered if self.hovered is not None else self.pinned
        row = self._row_of(token)
        self.surprisal.mark(token if token is not None and token >= self.session.prompt_length else None)
        if row is None:
            self.heatmap.highlight_row(self.session.window.length - 1 if token is None else None)
            self.text.clear_attention()
            if token is not None:
                self.attention_info.setText("That character is outside the model's context window now.")
            return
        self.heatmap.highlight_row(row)
        alpha = self.heatmap.values[row]  # what the query reads, over the window
        self.text.show_attention(token_weights(alpha, self.session.window_start), token)
        self._describe_row(row)

    def _describe_row(self, row: int) -> None:
        alpha = self.heatmap.values[row]
        chars = self.window_chars()
        parts = ", ".join(f"{display_char(chars[j])}@{j} {alpha[j]:.2f}" for j in strongest_keys(alpha))
        self.attention_info.setText(f"query {display_char(chars[row])}@{row} reads most: {parts}")

    def _token_hovered(self, token: int) -> None:
        self.hovered = token if token >= 0 else None
        if self.session is not None:
            self._apply_highlight()

    def _token_clicked(self, token: int) -> None:
        self.pinned = None if self.pinned == token else token
        if self.session is not None:
            self._apply_highlight()

    def _cell_hovered(self, row: int, key: int) -> None:
        if self.session is None:
            return
        if row < 0:
            self.hovered = None
            self._apply_highlight()
            return
        self.hovered = self.session.window_start + row
        self._apply_highlight()
        chars = self.window_chars()
        alpha = self.heatmap.values[row, key]
        self.attention_info.setText(
            f"query {display_char(chars[row])}@{row} → key {display_char(chars[key])}@{key}: α = {alpha:.3f}"
        )

    def _row_clicked(self, row: int) -> None:
        if self.session is not None:
            self._token_clicked(self.session.window_start + row)
