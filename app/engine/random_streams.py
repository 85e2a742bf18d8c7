"""A run's randomness: one stream per consumer, so resuming a run repeats it bit for bit.

- ``train``: the training step's noise (the VAE's ε, the WGAN's z and α), a generator on the
  run's device that only training steps draw from.
- dropout draws from PyTorch's global generator, which anything in the process may use. The
  run keeps that generator's state as its own (``dropout``, and ``dropout_cuda`` on a GPU) and
  swaps it in only for a training step (``training_step()``), so whatever uses the global
  generator between steps (a model built for a view, another page's run) changes nothing.
- PyTorch's global generator is shared by the whole process, so every use of it that genplay
  makes holds one lock (``training_step``, ``seeded_global_generator`` for a new model's
  initial weights, ``untouched_global_generator`` for a model a view builds before loading
  weights into it): a view on the GUI thread never draws in the middle of a training step.
- everything else — validation noise, the text sample shown while training, … — asks for a
  fresh generator made from the run's seed, its ``Consumer`` and the step (``for_use``): it
  draws the same numbers however often and whenever it runs, and never moves ``train``. A
  validation at the end of a shorter run therefore changes nothing after it.

``state_tensors()`` is what the resumable-state sidecar keeps (``rng.*``); a sidecar written
before the streams existed has ``rng.task`` and ``rng.torch`` only, and resumes the same way.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

import torch

TRAIN_KEY, DROPOUT_KEY, DROPOUT_CUDA_KEY, SEED_KEY = "rng.task", "rng.torch", "rng.cuda", "rng.seed"
PHILOX_STATE_BYTES = 16  # a CUDA generator's state: its seed and offset


_GLOBAL_GENERATOR = threading.RLock()  # held by every use genplay makes of the global generator


@contextmanager
def seeded_global_generator(seed: int) -> Iterator[None]:
    """Within: the global generator starts from ``seed`` and nothing else draws from it (a new
    model's initial weights)."""
    with _GLOBAL_GENERATOR:
        torch.manual_seed(seed)
        yield


@contextmanager
def untouched_global_generator() -> Iterator[None]:
    """Within: draws from the global generator (e.g. a model's throw-away initial weights) are
    undone afterwards and never interleave with a run's."""
    with _GLOBAL_GENERATOR:
        state = torch.get_rng_state()
        try:
            yield
        finally:
            torch.set_rng_state(state)


class Consumer(StrEnum):
    """What may draw randomness besides the training step; each gets its own generator."""

    DROPOUT = "dropout"  # the start of the run's global-generator stream
    VALIDATION = "validation"  # the validation noise: the same at every validation
    TEXT_SAMPLE = "text_sample"  # the GPT's sample shown while training, one per step


def derived_seed(seed: int, consumer: Consumer, step: int = 0) -> int:
    """A 63-bit seed for ``consumer`` at ``step`` of the run seeded ``seed`` (independent streams)."""
    digest = hashlib.blake2b(f"{seed}/{consumer}/{step}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def has_dropout(model: torch.nn.Module) -> bool:
    """Whether training ``model`` draws from the global generator: a dropout layer with p > 0."""
    return any(isinstance(m, torch.nn.modules.dropout._DropoutNd) and m.p > 0 for m in model.modules())


def _cuda(device: torch.device) -> bool:
    return device.type == "cuda" and torch.cuda.is_available()


def _is_generator_state(state: torch.Tensor) -> bool:
    """Whether ``state`` is a CPU generator's state or a CUDA generator's (seed, offset)."""
    if state.dtype != torch.uint8 or state.dim() != 1:
        return False
    if state.numel() == PHILOX_STATE_BYTES:
        return True
    try:
        torch.Generator().set_state(state)
    except RuntimeError:
        return False
    return True


def _continued_generator(device: torch.device, state: torch.Tensor) -> torch.Generator:
    """A generator on ``device`` that continues ``state``. A state saved on another kind of device
    (a run resumed elsewhere, which cannot repeat its numbers anyway) seeds it instead, so the
    run continues the same way every time. RuntimeError when ``state`` is no generator's state."""
    generator = torch.Generator(device=device)
    try:
        generator.set_state(state)
        return generator
    except RuntimeError:
        if not _is_generator_state(state):
            raise
    digest = hashlib.blake2b(state.contiguous().numpy().tobytes(), digest_size=8).digest()
    return generator.manual_seed(int.from_bytes(digest, "little") >> 1)


@dataclass
class RandomStreams:
    seed: int  # the run's seed; the consumers' generators derive from it
    device: torch.device
    train: torch.Generator  # the training step's own generator, on ``device``
    dropout: torch.Tensor  # the run's state of PyTorch's global CPU generator
    dropout_cuda: torch.Tensor | None = None  # … and of the device's, on a GPU

    @classmethod
    def create(cls, seed: int, device: torch.device) -> RandomStreams:
        train = torch.Generator(device=device).manual_seed(seed + 1)
        dropout = torch.Generator().manual_seed(derived_seed(seed, Consumer.DROPOUT)).get_state()
        streams = cls(int(seed), device, train, dropout)
        streams._start_cuda_stream()
        return streams

    def _start_cuda_stream(self) -> None:
        if _cuda(self.device) and self.dropout_cuda is None:
            seed = derived_seed(self.seed, Consumer.DROPOUT, step=1)
            self.dropout_cuda = torch.Generator(device=self.device).manual_seed(seed).get_state()

    def for_use(self, consumer: Consumer, step: int = 0) -> torch.Generator:
        """A fresh CPU generator for ``consumer`` at ``step``: the same numbers every time."""
        return torch.Generator().manual_seed(derived_seed(self.seed, consumer, step))

    @contextmanager
    def training_step(self, model: torch.nn.Module) -> Iterator[None]:
        """Within: PyTorch's global generator runs the run's dropout stream; outside it is as it was.

        A model without dropout draws nothing from it: its steps neither swap nor wait for the lock."""
        if not has_dropout(model):
            yield
            return
        with _GLOBAL_GENERATOR:
            outside = torch.get_rng_state()
            torch.set_rng_state(self.dropout)
            cuda = _cuda(self.device) and self.dropout_cuda is not None
            if cuda:
                outside_cuda = torch.cuda.get_rng_state(self.device)
                torch.cuda.set_rng_state(self.dropout_cuda, self.device)
            try:
                yield
            finally:
                self.dropout = torch.get_rng_state()
                torch.set_rng_state(outside)
                if cuda:
                    self.dropout_cuda = torch.cuda.get_rng_state(self.device)
                    torch.cuda.set_rng_state(outside_cuda, self.device)

    def move_to(self, device: torch.device) -> None:
        """Continue ``train`` on another device (a new generator seeded from the old one)."""
        seed = int(torch.randint(0, 2**62, (1,), generator=self.train, device=self.train.device))
        self.train = torch.Generator(device=device).manual_seed(seed)
        self.device = device
        self._start_cuda_stream()

    # --- the resumable state --------------------------------------------------------------
    def state_tensors(self) -> dict[str, torch.Tensor]:
        tensors = {
            TRAIN_KEY: self.train.get_state(),
            DROPOUT_KEY: self.dropout.clone(),
            SEED_KEY: torch.tensor([self.seed], dtype=torch.int64),
        }
        if self.dropout_cuda is not None:
            tensors[DROPOUT_CUDA_KEY] = self.dropout_cuda.clone()
        return tensors

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Continue the saved streams; KeyError, RuntimeError or ValueError on an unusable state,
        with nothing changed. An older sidecar has no seed: the consumers keep this run's."""
        seed = tensors.get(SEED_KEY, torch.tensor([self.seed]))
        if seed.numel() != 1 or seed.is_floating_point() or seed.is_complex():
            raise ValueError("the saved seed is not one integer")
        dropout = tensors[DROPOUT_KEY]
        torch.Generator().set_state(dropout)  # checks that it is a CPU generator's state
        train = _continued_generator(self.train.device, tensors[TRAIN_KEY])
        self.train, self.dropout, self.seed = train, dropout.clone(), int(seed.reshape(-1)[0])
        if DROPOUT_CUDA_KEY in tensors and _cuda(self.device):
            self.dropout_cuda = tensors[DROPOUT_CUDA_KEY].clone()
