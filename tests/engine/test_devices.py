"""Device names: resolving ``auto|cpu|…`` and the label the app shows."""

from __future__ import annotations

import torch

from app.engine.devices import describe_device


def test_cpu_label_counts_threads_in_good_english(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    assert describe_device(cpu) == "cpu (1 thread)"
    monkeypatch.setattr(torch, "get_num_threads", lambda: 4)
    assert describe_device(cpu) == "cpu (4 threads)"
