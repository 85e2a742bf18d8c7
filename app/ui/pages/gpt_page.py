"""The GPT page: train a character-level GPT, then watch it write and look at every head.

Tabs: Training (settings, loss and perplexity, a text sample every N steps), Generate (the
model writes token by token; attention, entropy, top-k, surprisal, head ablation, KV cache),
and Attention while learning (a probe text's attention replayed over the training steps).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QLabel,
    QPlainTextEdit,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.engine.checkpoint import Checkpoint
from app.engine.events import ModelSnapshot, VisualsEvent
from app.engine.history import RunHistory
from app.engine.inference import model_from_checkpoint
from app.engine.inference.gpt_probe import DEFAULT_PROBE, probe_attention, probe_captures
from app.engine.inference.loading import tokenizer_from_metadata
from app.engine.inference.visuals import GPTVisuals, TextSample
from app.ui.gpt.generation_panel import GenerationPanel
from app.ui.gpt.probe_panel import ProbePanel
from app.ui.pages.family_page import FamilyPage
from app.ui.widgets.exports import NO_MODEL_HINT, check_exportable, export_widget_png
from app.ui.widgets.layout import STRETCH, across, column, down, row, scrolled
from app.ui.widgets.loss_plot import LossPlot
from app.ui.widgets.settings_form import FieldSpec
from models.tokenizer import TextTokenizer

GENERATE_HINT = f"{NO_MODEL_HINT}, then let it write on the Generate tab"
SAMPLES_HINT = "they are written while the model trains (every 'Text sample every' steps)"
MASK_TIPS = (
    "causal: each character attends to itself and everything before it",
    "sliding: only to the last w characters (w = window)",
    "prefix: the prompt (its first p ≤ P characters) also sees itself forwards, as in a prefix LM",
)
NORM_TIPS = (
    "pre: h + Attn(LN(h)), as GPT-2 (the default); the steadier one to train",
    "post: LN(h + Attn(h)), the original Transformer's order, trained there with a learning-rate "
    "warm-up: deep Post-LN models at high learning rates stall without one, and learn slower than "
    "Pre-LN even with it (Xiong et al. 2020). Keep LR schedule = warmup_cosine with Warm-up steps "
    "≈ 100 (the GPT default) and gradient clipping",
)
POSITION_TIPS = (
    "learned: a trained vector per position, E_pos[t] (GPT-2)",
    "sinusoidal: fixed PE(t, 2i) = sin(t / 10000^(2i/d)), PE(t, 2i+1) = cos(t / 10000^(2i/d)), "
    "not trained nor saved; the token vectors are scaled by √d_model as in the original Transformer",
)

ACTIVATION_TIPS = (
    "gelu: x·Φ(x), the exact GELU",
    "gelu_tanh: ½x(1 + tanh(√(2/π)(x + 0.044715x³))), the approximation GPT-2 was trained with",
)


MODEL_FIELDS = (
    FieldSpec("n_layer", "Layers", "Transformer blocks stacked (attention + MLP each)."),
    FieldSpec("n_head", "Heads per layer",
              "Attention heads; d_model must be divisible by it (d_k = d_model / heads)."),
    FieldSpec("d_model", "Width d_model", "Size of each character's vector in the residual stream."),
    FieldSpec("block_size", "Context (block size)", "The most characters the model reads at once."),
    FieldSpec("dropout", "Dropout", "Randomly zeroes activations while training (0 for the baby GPT)."),
    FieldSpec("mask", "Attention mask M", "\n".join(MASK_TIPS), choice_tooltips=MASK_TIPS),
    FieldSpec("window", "Sliding window w", "sliding mask: M_ij = 0 if i − w < j ≤ i"),
    FieldSpec("prefix_len", "Prefix length P",
              "prefix mask: M_ij = 0 if j ≤ i or j < p. Training draws p from 1 … P for each text and "
              "scores only the targets from position p − 1 on; generation reads the prompt as the "
              "prefix, p = min(prompt length, P), so every prompt length is a trained case."),
    FieldSpec("scale_attention", "Scale by 1/√d_k",
              "softmax(QKᵀ/√d_k): off, the scores grow with d_k and the softmax saturates."),
    FieldSpec("tie_weights", "Tie input/output embeddings",
              "The output layer reuses the token embedding matrix (fewer weights)."),
    FieldSpec("norm_position", "LayerNorm position", "\n".join(NORM_TIPS), choice_tooltips=NORM_TIPS),
    FieldSpec("position_encoding", "Position encoding", "\n".join(POSITION_TIPS),
              choice_tooltips=POSITION_TIPS),
    FieldSpec("activation", "MLP activation", "\n".join(ACTIVATION_TIPS), choice_tooltips=ACTIVATION_TIPS),
    FieldSpec("layer_norm_eps", "LayerNorm ε",
              "LN(h) = (h − μ) / √(σ² + ε) · γ + β: ε keeps the division finite (GPT-2: 1e-5)."),
    FieldSpec("output_bias", "Output bias",
              "logits = LN(h_L) W_outᵀ + b: off drops b, as GPT-2 does."),
)  # fmt: skip
HPARAM_FIELDS = (
    FieldSpec("weight_decay", "Weight decay (matrices)",
              "AdamW decay of weight matrices; biases and LayerNorm are not decayed.", live=True),
    FieldSpec("probe_prompt", "Probe text",
              "Its attention is captured while training (tab 'Attention while learning').", live=True),
    FieldSpec("capture_every", "Capture attention every",
              "Steps between captures of the probe's attention; 0 = off.", live=True),
    FieldSpec("sample_every", "Text sample every",
              "Steps between text samples shown below the curves; 0 = off.", live=True),
    FieldSpec("sample_length", "Sample length", "Characters per text sample.", live=True),
)  # fmt: skip


class GPTPage(FamilyPage):
    family = "gpt"
    prefix = "gpt"
    title = "GPT"
    model_fields = MODEL_FIELDS
    hparam_fields = HPARAM_FIELDS

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.generation = GenerationPanel()
        self.probe = ProbePanel()
        self.samples: list[TextSample] = []
        self.latest: dict[str, float] = {}
        self.vocab_size: int | None = None
        self._build_training_views()
        self._build_layout()
        self.modelChanged.connect(self._model_changed)
        self.metricsArrived.connect(self._metrics_arrived)

    # --- FamilyPage hooks ------------------------------------------------------------------
    def setup_loss_series(self, plot: LossPlot) -> None:
        plot.add_series("loss", "training loss")
        plot.add_series("val_loss", "validation loss", smoothed=False)
        plot.add_series("perplexity", "training perplexity e^loss", right_axis=True)
        plot.add_series("val_perplexity", "validation perplexity", smoothed=False, right_axis=True)
        plot.plot.setLabel("left", "nats per character")
        plot.set_right_label("perplexity")
        self.uniform_line = pg.InfiniteLine(
            angle=0, pen=pg.mkPen("#999", style=Qt.PenStyle.DashLine),
            label="uniform guess ln V", labelOpts={"position": 0.3, "color": "#777"},
        )  # fmt: skip
        self.uniform_line.hide()
        plot.plot.addItem(self.uniform_line)

    def stop_background_work(self) -> None:
        self.generation.pause()  # no token is generated after the window starts closing

    def exports(self) -> list[tuple[str, str, Any]]:
        """File → Export: the generated text, the attention views, the training samples."""
        gen = self.generation
        return [
            *super().exports(),
            ("Generated text as TXT…", "txt", self._export_generated_text),
            ("Attention heat map as PNG…", "png", lambda path: self._export_view(gen.heatmap, path)),
            ("All heads of the layer as PNG…", "png", lambda path: self._export_view(gen.head_grid, path)),
            ("Attention entropy map as PNG…", "png", lambda path: self._export_view(gen.entropy_map, path)),
            ("Surprisal line as PNG…", "png", self._export_surprisal),
            ("Training samples as TXT…", "txt", self._export_samples),
        ]

    def _export_view(self, widget: QWidget, path) -> None:
        """A picture of the Generate tab: there is one once the model has read a prompt."""
        export_widget_png(widget, path, self.generation.session is not None, "attention", GENERATE_HINT)

    def _export_surprisal(self, path) -> None:
        written = self.generation.written > 0
        export_widget_png(self.generation.surprisal, path, written, "surprisal line", GENERATE_HINT)

    def _export_generated_text(self, path) -> None:
        """The prompt and what the model wrote, character for character as the model read them
        (no display glyphs; an unknown prompt character is the replacement the model saw)."""
        text = self.generation.generated_text()
        check_exportable(bool(text) and self.generation.written > 0, "generated text", GENERATE_HINT)
        Path(path).write_text(text, encoding="utf-8", newline="")

    def _export_samples(self, path) -> None:
        """Every training sample kept (the last 50), oldest first, each headed by its step."""
        check_exportable(bool(self.samples), "training sample", SAMPLES_HINT)
        parts = [f"=== step {sample.step:,} ===\n{sample.text}\n" for sample in reversed(self.samples)]
        Path(path).write_text("\n".join(parts), encoding="utf-8", newline="")

    def on_visuals(self, event: VisualsEvent) -> None:
        visuals: GPTVisuals = event.visuals
        if visuals.sample is not None:
            self.add_sample(visuals.sample)
        if visuals.probe is not None:
            self.probe.add_captures(visuals.probe)

    # --- building ---------------------------------------------------------------------------
    def _build_training_views(self) -> None:
        self.readout = QLabel("Press Start to train; the loss is in nats per character.")
        self.readout.setObjectName("gptReadout")
        self.readout.setWordWrap(True)
        self.sample_select = QComboBox()
        self.sample_select.setObjectName("gptSampleStep")
        self.sample_select.setToolTip("Samples written while training, newest first")
        self.sample_select.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)  # "step 2,000"
        self.sample_select.currentIndexChanged.connect(self._show_sample)
        self.sample_text = QPlainTextEdit()
        self.sample_text.setObjectName("gptSampleText")
        self.sample_text.setReadOnly(True)
        font = QFont("DejaVu Sans Mono")
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.sample_text.setFont(font)
        self.sample_text.setPlaceholderText("A sample of the model's writing appears here every few steps.")

    def _build_layout(self) -> None:
        groups = (("Model", "model"), ("Optimiser and live views", "hparams"), ("Training", "train"))
        settings = column(*(self._group_box(title, group) for title, group in groups), STRETCH)
        scroll = scrolled(settings)
        scroll.setMinimumWidth(300)
        scroll.setMaximumWidth(400)
        sample_header = row("Text sample (temperature 1) at", self.sample_select, STRETCH)
        curves = down(
            [480, 260],
            column((self.loss_plot, 1), self.readout),
            column(sample_header, (self.sample_text, 1)),
        )
        training = across([340, 1000], scroll, curves)
        training.setStretchFactor(1, 1)
        self.views = QTabWidget()
        self.views.setObjectName("gptViews")
        self.views.addTab(training, "Training")
        # in scroll areas: a small window scrolls these views instead of growing to fit them
        self.generation_tab = scrolled(self.generation)
        self.views.addTab(self.generation_tab, "Generate")
        self.probe_tab = scrolled(self.probe)
        self.views.addTab(self.probe_tab, "Attention while learning")
        layout = QVBoxLayout(self)
        layout.addWidget(self.bar)
        layout.addWidget(self.views, 1)

    def _group_box(self, title: str, group: str) -> QGroupBox:
        box = QGroupBox(title)
        QVBoxLayout(box).addWidget(self.form.group_widget(group))
        return box

    # --- samples and readouts ---------------------------------------------------------------
    def add_sample(self, sample: TextSample) -> None:
        self.samples.insert(0, sample)
        del self.samples[50:]
        self.sample_select.blockSignals(True)
        self.sample_select.clear()
        self.sample_select.addItems([f"step {s.step:,}" for s in self.samples])
        self.sample_select.setCurrentIndex(0)
        self.sample_select.blockSignals(False)
        self._show_sample(0)

    def _show_sample(self, index: int) -> None:
        if 0 <= index < len(self.samples):
            self.sample_text.setPlainText(self.samples[index].text)

    def _metrics_arrived(self, batch: list) -> None:
        for _step, _kind, metrics in batch:
            self.latest.update(metrics)
        self._show_readout()

    def _show_readout(self) -> None:
        parts = []
        for prefix, name in (("", "training"), ("val_", "validation")):
            loss = self.latest.get(f"{prefix}loss")
            if loss is not None:
                bits = loss / math.log(2)
                parts.append(
                    f"{name} {loss:.3f} nats/char ({bits:.2f} bits, perplexity {math.exp(loss):.1f})"
                )
        if self.vocab_size:
            parts.append(f"uniform guess ln V = {math.log(self.vocab_size):.2f} (V = {self.vocab_size})")
        if parts:
            self.readout.setText(" · ".join(parts))

    # --- the model the views use --------------------------------------------------------------
    def _tokenizer_for(self, snapshot: ModelSnapshot) -> TextTokenizer | None:
        metadata = snapshot.extras.get("tokenizer")
        if metadata is None and self.loaded_checkpoint is not None:
            metadata = self.loaded_checkpoint.tokenizer
        return tokenizer_from_metadata(metadata)

    def _model_changed(self, snapshot: ModelSnapshot | None) -> None:
        tokenizer = self._tokenizer_for(snapshot) if snapshot is not None else None
        if tokenizer is not None and tokenizer.vocab_size != self.vocab_size:
            self.vocab_size = tokenizer.vocab_size
            self.uniform_line.setValue(math.log(self.vocab_size))
            self.uniform_line.show()
            self._show_readout()
        self.generation.set_model(snapshot, tokenizer)

    def _probe_opened_model(self, checkpoint: Checkpoint) -> None:
        """One capture of the probe text for an opened model, so that tab is not empty. A model
        genplay cannot train (a GPT-2) has no story of learning: that tab is switched off."""
        trainable = self.task_cls.training_refusal(checkpoint) is None
        index = self.views.indexOf(self.probe_tab)
        self.views.setTabEnabled(index, trainable)
        self.views.setTabToolTip(
            index,
            "" if trainable else "This follows a training run; genplay does not train this model",
        )
        if not trainable:
            return
        ready = model_from_checkpoint(checkpoint)
        prompt = self.form.value("probe_prompt") or DEFAULT_PROBE
        text, replaced, alpha = probe_attention(ready.model, ready.tokenizer, prompt)
        self.probe.add_captures(probe_captures(ready.config, text, replaced, [(ready.step, alpha)]))

    def forget_history(self) -> None:
        self.probe.clear()  # a fresh model: a fresh story of its heads
        self._clear_samples()

    def _clear_samples(self) -> None:
        self.samples.clear()
        self.sample_select.clear()
        self.sample_text.clear()

    def show_history(self, history: RunHistory) -> None:
        """The opened run's text samples, and its probe captures to replay from the first step."""
        self._clear_samples()
        for sample in history.samples:
            self.add_sample(sample)
        probe = history.probe
        if probe is not None and self.loaded_checkpoint is not None:
            config = self.loaded_checkpoint.config
            self.probe.add_captures(probe_captures(config, probe.text, probe.replaced, probe.captures()))

    def new_model(self) -> None:
        super().new_model()
        if not self.is_active:
            self.probe.clear()
            self.views.setTabEnabled(self.views.indexOf(self.probe_tab), True)
            self._clear_samples()
            self.latest.clear()

    def open_checkpoint(self, checkpoint: Checkpoint, **options: Any) -> bool:
        if not self.is_active:
            self.probe.clear()
            self._clear_samples()
        opened = super().open_checkpoint(checkpoint, **options)
        if opened:
            self._probe_opened_model(checkpoint)  # the replay ends with the weights as opened
            self.latest = {k: v for k, v in checkpoint.metrics.items() if k in ("loss", "val_loss")}
            self._show_readout()
            self.views.setCurrentWidget(self.generation_tab)
        return opened
