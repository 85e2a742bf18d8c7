"""The task protocol: how one model family plugs into the family-agnostic trainer.

A task builds its model and optimisers from configs, performs one training step
(pulling as many batches as it needs), evaluates, and renders visuals on request.
The trainer never looks inside; the checkpoint code only uses the hooks below.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from app.engine.data.bundle import DataBundle
from app.engine.data.info import DataKind
from app.engine.distributed import current_rank
from app.engine.distributed.replicas import EntryPoint, wrapped_entries
from app.engine.distributed.sampler import rank_batches
from app.engine.errors import ConfigError
from app.engine.events import ModelSnapshot
from app.engine.inference.visuals import Visuals
from app.engine.precision import attach_scalers
from app.engine.random_streams import RandomStreams, seeded_global_generator
from app.engine.train_config import TrainConfig
from models.config_fields import config_to_dict

if TYPE_CHECKING:
    from app.engine.history.recorder import HistoryRecorder

NextBatch = Callable[[], Any]


class Task(ABC):
    family: ClassVar[str]
    title: ClassVar[str]
    config_class: ClassVar[type]
    hparams_class: ClassVar[type]
    data_kinds: ClassVar[tuple[DataKind, ...]] = (DataKind.IMAGES,)
    default_dataset: ClassVar[str] = "shapes"
    # slow-motion actions: name → label; run with ``run_action`` (e.g. WGAN "critic")
    actions: ClassVar[dict[str, str]] = {}
    default_sample_count: ClassVar[int] = 64  # ``genplay sample`` without --n (text families: 1)
    sample_options: ClassVar[tuple[str, ...]] = ()  # what ``genplay sample`` reads

    def __init__(
        self,
        model_config: Any,
        hparams: Any,
        train_config: TrainConfig,
        data: DataBundle,
        device: torch.device,
    ) -> None:
        self.model_config = model_config
        self.hparams = hparams
        self.train_config = train_config
        self.data = data
        self.device = device
        self.rank = current_rank()  # rank 0 of 1 unless launched by torchrun
        # the run's randomness, one stream per consumer, saved and restored with the run
        self.streams = RandomStreams.create(train_config.seed, device)
        with seeded_global_generator(train_config.seed):  # the initial weights come from the seed
            self.model = self.build_model(model_config).to(device)
        self.optimizers: list[torch.optim.Optimizer] = self.build_optimizers()
        for optimizer in self.optimizers:
            for group in optimizer.param_groups:
                group.setdefault("base_lr", group["lr"])
        self.prepare_training_calls()

    @property
    def rng(self) -> torch.Generator:
        """The training step's generator (noise, ε, α); nothing but a training step draws from it."""
        return self.streams.train

    # --- building -----------------------------------------------------------------------
    @staticmethod
    @abstractmethod
    def build_model(config: Any) -> nn.Module:
        """The family's model for ``config`` (also used on the meta device to check files)."""

    @abstractmethod
    def build_optimizers(self) -> list[torch.optim.Optimizer]: ...

    @classmethod
    @abstractmethod
    def default_model_config(cls, data: DataBundle) -> Any:
        """The default model config, adapted to the data (e.g. the image shape)."""

    @classmethod
    def default_hparams(cls) -> Any:
        return cls.hparams_class()

    @classmethod
    def default_train_config(cls) -> TrainConfig:
        return TrainConfig()

    @classmethod
    def implied_settings(cls, overrides: dict[str, Any]) -> dict[str, Any]:
        """Settings that the given ``key=value`` overrides imply where the user did not set them
        too (e.g. the WGAN's gan_loss=minimax implies the original GAN's n_critic = 1)."""
        return {}

    @classmethod
    def expected_item_shape(cls, model_config: Any) -> tuple[int, ...] | None:
        """The shape of one example the model takes (None: the family checks data itself)."""
        return None

    @classmethod
    def check_data_kind(cls, data: DataBundle) -> None:
        """Raise ConfigError when the family cannot train on this kind of data at all.

        Called before a default config is derived from the data, which assumes the right kind.
        """
        sentence = cls.wrong_kind_sentence(data.kind, data.name)
        if sentence is not None:
            raise ConfigError(sentence)

    @classmethod
    def wrong_kind_sentence(cls, kind: DataKind, name: str) -> str | None:
        """Why the family cannot train on ``name``, data of ``kind`` (None when it can): the one
        sentence Start, the CLI and a page's early warning all say."""
        if kind in cls.data_kinds:
            return None
        wanted = " or ".join(k.in_words for k in cls.data_kinds)
        return f"the {cls.title} trains on {wanted}; '{name}' is {DataKind(kind).in_words}."

    @classmethod
    def check_data(cls, data: DataBundle, model_config: Any) -> None:
        """Raise ConfigError when ``data`` cannot train a model of ``model_config``."""
        cls.check_data_kind(data)
        expected = cls.expected_item_shape(model_config)
        if expected is not None and tuple(data.item_shape) != tuple(expected):
            raise ConfigError(
                f"the model expects items of shape {tuple(expected)} "
                f"but dataset '{data.name}' has {tuple(data.item_shape)}."
            )

    @classmethod
    def check_checkpoint_extras(cls, config: Any, tokenizer: Any) -> None:
        """Validate family-specific checkpoint metadata (e.g. the GPT's vocabulary)."""
        return None

    @classmethod
    def training_refusal(cls, checkpoint: Any) -> str | None:
        """One sentence saying why runs cannot continue ``checkpoint`` (e.g. a GPT-2 genplay only
        opens), or None when they can."""
        return None

    # --- how a training step runs (one process or several, precision, compiled) ---------
    def entry_points(self) -> dict[str, EntryPoint]:
        """The modules (and methods) a training step calls, by role; see ``train_call``."""
        return {"loss": EntryPoint(self.model, "loss")}

    def prepare_training_calls(self) -> None:
        """Wrap the entry points for this run's ranks, precision and compilation (again after a
        change of device or of those settings)."""
        tc = self.train_config
        self._train_calls = wrapped_entries(self.entry_points(), rank=self.rank, precision=tc.precision,
                                            compile=tc.compile, device=self.device)  # fmt: skip
        attach_scalers(self.optimizers, tc.precision, self.device)

    def train_call(self, role: str) -> Callable[..., Any]:
        """What a training step calls for ``role``: the module's method itself, or its
        autocast / DDP / compiled wrapper. Validation and views use ``self.model`` directly."""
        wrapped = self._train_calls.get(role)
        if wrapped is not None:
            return wrapped
        entry = self.entry_points()[role]
        return getattr(entry.module, entry.method)

    def draw_for_rank(self, n: int, draw: Callable[[int], torch.Tensor]) -> torch.Tensor:
        """Randomness for this rank's ``n`` examples: ``draw`` for the whole global batch, this
        rank's slice kept, so N processes use exactly the numbers one process would."""
        return self.rank.local_slice(draw(n * self.rank.world_size))

    @property
    def source_batch_size(self) -> int:
        """The batch a batch source draws: every rank's examples (``batch_size`` is per rank).
        Validation batches have this size too: every rank validates on the same global batches."""
        return self.train_config.batch_size * self.rank.world_size

    def training_batches(self, seed: int) -> Any:
        """This process's batch source: ``make_batches`` cut to this rank's slice."""
        return rank_batches(self.make_batches(seed), self.rank)

    # --- training -----------------------------------------------------------------------
    @abstractmethod
    def make_batches(self, seed: int) -> Any:
        """A batch source (``next()``, ``state_dict()``, ``load_state_dict()``) over training data,
        drawing ``source_batch_size`` examples a batch."""

    @abstractmethod
    def validation_batches(self) -> Sequence[Any]: ...

    @abstractmethod
    def train_step(self, next_batch: NextBatch, step: int) -> dict[str, float]:
        """One training step; returns flat metrics (per example)."""

    def run_action(self, name: str, next_batch: NextBatch, step: int) -> dict[str, float]:
        raise ConfigError(f"the {self.title} has no action '{name}'.")

    @abstractmethod
    def evaluate(self, batches: Sequence[Any]) -> dict[str, float]:
        """Validation metrics (unprefixed; the trainer adds ``val_``)."""

    @abstractmethod
    def visuals(self) -> Visuals:
        """The family's record for the views (e.g. a reconstruction grid); cheap, no grad."""

    def record_history(self, history: HistoryRecorder, step: int) -> None:  # noqa: B027 - optional hook
        """Add the family's records at ``step`` to the checkpoint's history (the trainer calls it
        every few steps); must not draw from any random generator the training uses."""

    # --- settings that may change between steps -----------------------------------------
    def set_base_lr(self, lr: float) -> None:
        for optimizer in self.optimizers:
            for group in optimizer.param_groups:
                group["base_lr"] = lr

    def apply_lr_factor(self, factor: float) -> float:
        lr = 0.0
        for optimizer in self.optimizers:
            for group in optimizer.param_groups:
                group["lr"] = lr = group["base_lr"] * factor
        return lr

    def move_to(self, device: torch.device) -> None:
        """Move model, optimiser moments and the task's generator to ``device`` between steps.

        Families holding other tensors (e.g. a fixed noise batch) extend this.
        """
        self.model.to(device)
        for optimizer in self.optimizers:
            for state in optimizer.state.values():
                for key, value in state.items():
                    if isinstance(value, torch.Tensor) and key != "step":
                        state[key] = value.to(device)
        self.streams.move_to(device)
        self.device = device
        self.prepare_training_calls()

    def set_hparams(self, **changes: Any) -> None:
        """Change task hyperparameters (e.g. β, λ, n_critic); they apply from the next step."""
        known = {f.name for f in dataclasses.fields(self.hparams)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError(f"unknown setting(s) for the {self.title}: {', '.join(unknown)}.")
        candidate = dataclasses.replace(self.hparams, **changes)
        validate = getattr(candidate, "validate", None)
        if callable(validate):
            try:
                validate()
            except ValueError as exc:
                raise ConfigError(str(exc)) from exc
        self.hparams = candidate

    # --- state ----------------------------------------------------------------------------
    def model_tensors(self) -> dict[str, torch.Tensor]:
        return self.model.state_dict()

    def load_model_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self.model.load_state_dict(tensors, strict=True)

    def extra_state(self) -> dict[str, torch.Tensor]:
        """Task tensors that a resumed run needs besides weights and optimisers."""
        return {}

    def load_extra_state(self, tensors: dict[str, torch.Tensor]) -> None:
        return None

    def tokenizer_metadata(self) -> Any:
        """JSON-ready tokenizer for the checkpoint (text families), else None."""
        return None

    def snapshot(self, step: int) -> ModelSnapshot:
        tensors = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
        return ModelSnapshot(self.family, self.model_config, tensors, step)

    def describe_settings(self) -> dict[str, Any]:
        return {
            "train": self.train_config.to_dict(),
            "hparams": dataclasses.asdict(self.hparams),
            "model": config_to_dict(self.model_config),
        }
