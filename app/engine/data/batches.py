"""Batch sources: where a task's training batches come from, with a resumable position.

Each source draws its randomness from its own ``torch.Generator``; ``state_dict()``
captures the generator and the position so a resumed run sees the same batches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

Batch = torch.Tensor | tuple[torch.Tensor, ...]


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


class ShuffledBatches:
    """Epochs over a fixed tensor dataset in a fresh random order each epoch (last partial dropped)."""

    def __init__(self, data: torch.Tensor, batch_size: int, device: torch.device, seed: int) -> None:
        if len(data) == 0:
            raise ValueError("the training set is empty")
        self.data = data.to(device)
        self.batch_size = min(batch_size, len(data))
        self.device = device
        self._gen = _generator(seed)
        self._epoch_start_state = self._gen.get_state()
        self._order = torch.randperm(len(data), generator=self._gen)
        self._position = 0
        self.epoch = 0

    @property
    def batches_per_epoch(self) -> int:
        return len(self.data) // self.batch_size

    def _new_epoch(self) -> None:
        self._epoch_start_state = self._gen.get_state()
        self._order = torch.randperm(len(self.data), generator=self._gen)
        self._position = 0
        self.epoch += 1

    def next(self) -> torch.Tensor:
        if self._position + self.batch_size > len(self.data):
            self._new_epoch()
        index = self._order[self._position : self._position + self.batch_size]
        self._position += self.batch_size
        return self.data[index.to(self.data.device)]

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {
            "generator": self._epoch_start_state.clone(),
            "position": torch.tensor([self._position, self.epoch], dtype=torch.int64),
        }

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self._gen.set_state(state["generator"].to(torch.uint8))
        self._epoch_start_state = self._gen.get_state()
        self._order = torch.randperm(len(self.data), generator=self._gen)
        position, epoch = (int(v) for v in state["position"])
        if not 0 <= position <= len(self.data):
            raise ValueError("the saved data position is outside the dataset")
        self._position, self.epoch = position, epoch


class SampledBatches:
    """Fresh samples from a generating function each batch (2-D toy sets, random windows)."""

    def __init__(
        self,
        sample: Callable[[int, torch.Generator], Batch],
        batch_size: int,
        device: torch.device,
        seed: int,
    ) -> None:
        self.sample = sample
        self.batch_size = batch_size
        self.device = device
        self._gen = _generator(seed)

    def next(self) -> Batch:
        batch = self.sample(self.batch_size, self._gen)
        if isinstance(batch, tuple):
            return tuple(t.to(self.device, non_blocking=True) for t in batch)
        return batch.to(self.device, non_blocking=True)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"generator": self._gen.get_state().clone()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self._gen.set_state(state["generator"].to(torch.uint8))


def fixed_batches(data: torch.Tensor, batch_size: int, limit: int, device: torch.device) -> list:
    """The first ``limit`` batches of ``data`` in order, on ``device`` (validation)."""
    out = []
    for start in range(0, len(data), batch_size):
        if len(out) >= limit:
            break
        out.append(data[start : start + batch_size].to(device))
    return out


def stack_batches(batches: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.cat(list(batches), dim=0)
