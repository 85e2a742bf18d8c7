"""The GPT task: trains ``models.transformer.GPT`` on characters by next-token cross-entropy.

Besides the loss it keeps two things a viewer wants while the model learns: every
``capture_every`` steps the attention of a fixed probe prompt (all layers and heads), and a
text sample every ``sample_every`` steps; both go to the viewer and the checkpoint's history.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from app.engine.data.batches import SampledBatches
from app.engine.data.bundle import DataBundle
from app.engine.data.info import DataKind
from app.engine.errors import ConfigError
from app.engine.events import ModelSnapshot
from app.engine.inference.gpt_probe import DEFAULT_PROBE, probe_attention, probe_captures, thin_older_half
from app.engine.inference.loading import tokenizer_from_metadata
from app.engine.inference.sampling import start_token
from app.engine.inference.visuals import GPTVisuals, TextSample
from app.engine.optim_step import guarded_update
from app.engine.random_streams import Consumer
from app.engine.tasks.base import NextBatch, Task
from app.engine.train_config import TrainConfig
from models.config_fields import Ranges, check_ranges
from models.text_sampling import SamplingSettings, generate
from models.tokenizer import CharTokenizer
from models.transformer import GPT, GPTConfig, random_prefix_lengths, spread_prefix_lengths

MAX_PENDING_CAPTURES = 64  # captures waiting for a viewer; older ones are thinned beyond this
ADAM_BETAS = (0.9, 0.99)


@dataclass
class GPTHparams:
    """GPT knobs that may change while a run is paused."""

    weight_decay: float = 0.1  # AdamW decay of the weight matrices (never biases or LayerNorm gains)
    probe_prompt: str = DEFAULT_PROBE  # text whose attention is captured while the model learns
    capture_every: int = 50  # steps between captures of the probe's attention; 0 = off
    sample_every: int = 200  # steps between text samples shown while training; 0 = off
    sample_length: int = 200  # characters per sample

    RANGES: ClassVar[Ranges] = {
        "weight_decay": (0.0, 10.0),
        "capture_every": (0, 1_000_000),
        "sample_every": (0, 1_000_000),
        "sample_length": (1, 5000),
    }

    def validate(self) -> None:
        check_ranges(self, self.RANGES)
        if not 1 <= len(self.probe_prompt) <= 1024:
            raise ValueError("the probe prompt must have 1 to 1024 characters")


class GPTTask(Task):
    family = "gpt"
    title = "GPT"
    config_class = GPTConfig
    hparams_class = GPTHparams
    data_kinds = (DataKind.TEXT,)
    default_dataset = "python-docs"
    default_sample_count = 1
    sample_options = ("prompt", "max_new", "temperature", "top_k", "top_p")

    def __init__(self, model_config, hparams, train_config, data, device) -> None:
        super().__init__(model_config, hparams, train_config, data, device)
        self._ids: tuple[tuple[int, torch.device], torch.Tensor] | None = None
        self.pending_captures: list[tuple[int, np.ndarray]] = []
        self.captured_any = False
        self.probe_text = ""
        self.probe_replaced: list[int] = []
        self.latest_sample: TextSample | None = None
        self.history_captures: list[tuple[int, np.ndarray]] = []  # for the history, until recorded
        self.history_samples: list[TextSample] = []
        self.viewer_attached = False  # set by the first visuals() call: the GUI is watching
        self.steps_done = 0

    # --- building -----------------------------------------------------------------------
    @staticmethod
    def build_model(config: GPTConfig) -> GPT:
        return GPT(config)

    def build_optimizers(self) -> list[torch.optim.Optimizer]:
        """AdamW with weight decay on the matrices only (embeddings and weights of linear layers)."""
        params = list(self.model.parameters())  # a tied matrix appears once
        matrices = [p for p in params if p.dim() >= 2]
        others = [p for p in params if p.dim() < 2]  # biases, LayerNorm gains and shifts
        groups = [
            {"params": matrices, "weight_decay": self.hparams.weight_decay},
            {"params": others, "weight_decay": 0.0},
        ]
        return [torch.optim.AdamW(groups, lr=self.train_config.lr, betas=ADAM_BETAS)]

    @classmethod
    def default_model_config(cls, data: DataBundle) -> GPTConfig:
        return GPTConfig(vocab_size=data.tokenizer.vocab_size)  # the baby-GPT sizes

    @classmethod
    def default_train_config(cls) -> TrainConfig:
        return TrainConfig(
            steps=2000,
            batch_size=12,
            lr=1e-3,
            schedule="warmup_cosine",
            warmup_steps=100,
            min_lr_ratio=0.1,  # cosine decay to 1e-4
            grad_clip=1.0,
            val_every=200,
            val_batches=40,
        )

    @classmethod
    def check_data(cls, data: DataBundle, model_config: GPTConfig) -> None:
        super().check_data(data, model_config)
        vocab = data.tokenizer.vocab_size
        if vocab != model_config.vocab_size:
            raise ConfigError(
                f"the model reads {model_config.vocab_size} distinct characters but '{data.name}' "
                f"has {vocab}; train a new model for this text."
            )
        need = model_config.block_size + 1
        for part, ids in (("training part", data.train), ("validation part (its last 10%)", data.val)):
            if len(ids) < need:
                raise ConfigError(
                    f"'{data.name}' is too short for block_size {model_config.block_size}: its {part} "
                    f"has {len(ids)} characters but needs at least {need}; use a longer text or a "
                    "smaller block_size."
                )

    @classmethod
    def check_checkpoint_extras(cls, config: GPTConfig, tokenizer: Any) -> None:
        if tokenizer is None:
            raise ValueError("the checkpoint stores no vocabulary, so its model cannot read or write text")
        text_tokenizer = tokenizer_from_metadata(tokenizer)
        if text_tokenizer.vocab_size != config.vocab_size:
            raise ValueError(
                f"its vocabulary has {text_tokenizer.vocab_size} {text_tokenizer.kind}s "
                f"but the model reads {config.vocab_size}"
            )

    @classmethod
    def training_refusal(cls, checkpoint: Any) -> str | None:
        """genplay trains on character text; a model that reads BPE tokens (GPT-2) is for looking
        inside and writing."""
        if tokenizer_from_metadata(checkpoint.tokenizer).kind == "character":
            return None
        return (
            "this GPT reads BPE tokens (a GPT-2): genplay opens it to look inside and write, and trains "
            "only character-level GPTs — press New model (or leave out --resume) to train one."
        )

    @property
    def tokenizer(self) -> CharTokenizer:
        return self.data.tokenizer

    def training_ids(self) -> torch.Tensor:
        """The training text's ids (N,) on the task's device, copied again if data or device change."""
        key = (id(self.data.train), self.device)
        if self._ids is None or self._ids[0] != key:
            self._ids = (key, self.data.train.to(self.device))
        return self._ids[1]

    def window_offsets(self) -> torch.Tensor:
        return torch.arange(self.model_config.block_size + 1, device=self.device)  # (T + 1,)

    # --- training -----------------------------------------------------------------------
    def make_batches(self, seed: int) -> SampledBatches:
        return SampledBatches(self.sample_windows, self.source_batch_size, self.device, seed)

    def sample_windows(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``batch`` random windows of the training text: inputs x and next characters y, (B, T) each."""
        block = self.model_config.block_size
        ids = self.training_ids()
        starts = torch.randint(0, len(ids) - block, (batch,), generator=generator)  # (B,)
        windows = ids[starts.to(self.device)[:, None] + self.window_offsets()]  # (B, T + 1)
        return windows[:, :-1], windows[:, 1:]

    def validation_batches(self) -> Sequence[tuple[torch.Tensor, torch.Tensor]]:
        """Windows spread evenly over the validation text, always the same ones."""
        tc = self.train_config
        block = self.model_config.block_size
        val = self.data.val.to(self.device)
        count = max(1, self.source_batch_size * tc.val_batches)
        starts = torch.linspace(0, len(val) - block - 1, count).round().long().unique().to(self.device)
        windows = val[starts[:, None] + self.window_offsets()]  # (count, T + 1)
        return [(w[:, :-1], w[:, 1:]) for w in windows.split(self.source_batch_size)]

    def train_step(self, next_batch: NextBatch, step: int) -> dict[str, float]:
        self.steps_done = step
        if not self.captured_any:
            self.capture_probe(step)  # how attention looks before this run's first update
        x, y = next_batch()  # (B, T) each
        loss = self.train_call("loss")(x, y, self.training_prefix_lengths(len(x)))  # nats per character
        grad_norm = guarded_update(
            loss,
            self.optimizers[0],
            self.model.parameters(),
            step=step,
            grad_clip=self.train_config.grad_clip,
            loss_name="the cross-entropy",
        )
        done = self.steps_done = step + 1
        hp = self.hparams
        if hp.capture_every and done % hp.capture_every == 0:
            self.capture_probe(done)
        if hp.sample_every and done % hp.sample_every == 0:
            self.write_sample(done)
        value = loss.item()
        return {"loss": value, "perplexity": math.exp(value), "grad_norm": grad_norm}

    def training_prefix_lengths(self, batch: int) -> torch.Tensor | None:
        """Prefix mask: p_b ~ U{1, …, P} per sequence (from the task's generator), so every prompt
        length a user may give is a trained case; None for the other masks."""
        if self.model_config.mask != "prefix":
            return None
        # this rank's slice of the global batch's lengths (see draw_for_rank)
        lengths = self.draw_for_rank(batch, lambda n: random_prefix_lengths(self.model_config, n, self.rng))
        return lengths.to(self.device)

    @torch.no_grad()
    def evaluate(self, batches: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, float]:
        """Mean nats per scored character; with the prefix mask window k is read with p = 1 + k mod P."""
        self.model.eval()
        total, count, windows = 0.0, 0, 0
        prefix = self.model_config.mask == "prefix"
        for x, y in batches:
            p = spread_prefix_lengths(self.model_config, windows, len(x)) if prefix else None
            scored = int(self.model.scored_targets(y.shape, p).sum())
            total += float(self.model.loss(x, y, p)) * scored
            count += scored
            windows += len(x)
        self.model.train()
        if count == 0:
            return {}
        loss = total / count
        return {"loss": loss, "perplexity": math.exp(loss)}

    def set_hparams(self, **changes: Any) -> None:
        super().set_hparams(**changes)
        self.optimizers[0].param_groups[0]["weight_decay"] = self.hparams.weight_decay
        if "probe_prompt" in changes:
            self.capture_probe(None)  # the viewer sees the new prompt's attention at once

    # --- what the viewer sees -----------------------------------------------------------
    def capture_probe(self, step: int | None) -> None:
        """Attention of the probe prompt in every layer and head: (L, H, T, T), stored as float16."""
        self.probe_text, self.probe_replaced, alpha = probe_attention(
            self.model, self.tokenizer, self.hparams.probe_prompt
        )
        step = self.steps_done if step is None else step
        self.pending_captures.append((step, alpha))
        self.history_captures.append((step, alpha))
        if len(self.pending_captures) > MAX_PENDING_CAPTURES:
            self.pending_captures = thin_older_half(self.pending_captures)
        self.captured_any = True

    @torch.no_grad()
    def write_sample(self, step: int) -> None:
        """A sample from the current model, drawn with the step's own generator (reproducible)."""
        self.model.eval()
        start = start_token(self.tokenizer)
        prompt = torch.tensor([[start]], device=self.device)
        generator = self.streams.for_use(Consumer.TEXT_SAMPLE, step)
        out = generate(self.model, prompt, self.hparams.sample_length, SamplingSettings(), generator)
        self.model.train()
        self.latest_sample = TextSample(step, self.tokenizer.decode(out[0, 1:].tolist()))
        self.history_samples.append(self.latest_sample)

    def record_history(self, history, step: int) -> None:
        """The probe captures and text samples made since the last call."""
        for capture_step, alpha in self.history_captures:
            history.add_attention(capture_step, self.probe_text, self.probe_replaced, alpha)
        for sample in self.history_samples:
            history.add_sample(sample.step, sample.text)
        self.history_captures, self.history_samples = [], []

    def visuals(self) -> GPTVisuals:
        """New probe captures since the last call, and the newest text sample (once)."""
        if not self.viewer_attached:
            self.viewer_attached = True
            if self.hparams.sample_every:
                self.write_sample(self.steps_done)
        out = GPTVisuals(sample=self.latest_sample)
        self.latest_sample = None
        if self.pending_captures:
            out.probe = probe_captures(
                self.model_config, self.probe_text, self.probe_replaced, self.pending_captures
            )
            self.pending_captures = []
        return out

    def tokenizer_metadata(self) -> Any:
        return self.tokenizer.to_metadata()

    def snapshot(self, step: int) -> ModelSnapshot:
        snapshot = super().snapshot(step)
        snapshot.extras["tokenizer"] = self.tokenizer.to_metadata()
        return snapshot
