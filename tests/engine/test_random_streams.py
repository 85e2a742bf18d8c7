"""The run's random streams: each consumer its own generator, dropout's kept apart, resumable."""

from __future__ import annotations

import threading

import pytest
import torch

from app.engine.checkpoint import read_checkpoint
from app.engine.data import load_dataset
from app.engine.inference.loading import build_family_model
from app.engine.random_streams import (
    DROPOUT_KEY,
    SEED_KEY,
    TRAIN_KEY,
    Consumer,
    RandomStreams,
    untouched_global_generator,
)
from app.engine.setup import build_configs, create_task
from app.engine.trainer import Trainer

CPU = torch.device("cpu")


def test_a_consumer_draws_the_same_numbers_every_time_and_its_own():
    streams = RandomStreams.create(5, CPU)
    first = torch.rand(4, generator=streams.for_use(Consumer.VALIDATION))
    torch.rand(9, generator=streams.train)  # training in between moves nothing of validation's
    assert torch.equal(torch.rand(4, generator=streams.for_use(Consumer.VALIDATION)), first)
    others = [
        torch.rand(4, generator=streams.for_use(Consumer.TEXT_SAMPLE, step=1)),
        torch.rand(4, generator=streams.for_use(Consumer.TEXT_SAMPLE, step=2)),
        torch.rand(4, generator=RandomStreams.create(6, CPU).for_use(Consumer.VALIDATION)),
    ]
    assert all(not torch.equal(first, other) for other in others)
    assert not torch.equal(others[0], others[1])


def test_a_training_step_runs_the_runs_own_global_stream_and_leaves_the_outside_as_it_was():
    streams = RandomStreams.create(5, CPU)
    with_dropout = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.1))
    torch.manual_seed(123)
    outside = torch.get_rng_state()
    with streams.training_step(with_dropout):
        first = torch.rand(3)
    assert torch.equal(torch.get_rng_state(), outside)
    torch.rand(50)  # someone else uses the global generator between steps
    with streams.training_step(with_dropout):
        second = torch.rand(3)
    reference = torch.Generator().set_state(RandomStreams.create(5, CPU).dropout)
    assert torch.equal(torch.cat([first, second]), torch.rand(6, generator=reference))


def test_a_model_without_dropout_leaves_the_global_generator_to_others():
    streams = RandomStreams.create(5, CPU)
    kept = streams.dropout.clone()
    with streams.training_step(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.0))):
        torch.rand(3)
    assert torch.equal(streams.dropout, kept)


def test_an_older_sidecar_without_a_seed_resumes_from_the_runs_seed():
    saved = RandomStreams.create(5, CPU)
    torch.rand(3, generator=saved.train)
    old = {k: v for k, v in saved.state_tensors().items() if k != SEED_KEY}
    assert {TRAIN_KEY, DROPOUT_KEY} <= old.keys()
    resumed = RandomStreams.create(9, CPU)
    resumed.load_state_tensors(old)
    assert resumed.seed == 9
    assert torch.equal(torch.rand(3, generator=resumed.train), torch.rand(3, generator=saved.train))


def test_an_unusable_saved_state_is_refused_and_changes_nothing():
    streams = RandomStreams.create(5, CPU)
    before = streams.state_tensors()
    good = RandomStreams.create(6, CPU).state_tensors()
    for key, bad in ((SEED_KEY, torch.tensor([], dtype=torch.int64)), (SEED_KEY, torch.tensor([1.5])),
                     (DROPOUT_KEY, torch.zeros(7, dtype=torch.uint8)),
                     (TRAIN_KEY, torch.zeros(7, dtype=torch.uint8))):  # fmt: skip
        with pytest.raises((RuntimeError, ValueError)):
            streams.load_state_tensors({**good, key: bad})
        for name, value in streams.state_tensors().items():
            assert torch.equal(value, before[name]), name


def test_a_training_stream_saved_on_a_gpu_continues_on_the_cpu_the_same_way_every_time():
    saved = {**RandomStreams.create(5, CPU).state_tensors(), TRAIN_KEY: torch.arange(16, dtype=torch.uint8)}
    draws = []
    for _ in range(2):
        streams = RandomStreams.create(5, CPU)
        streams.load_state_tensors(saved)  # a CUDA generator's (seed, offset): no CPU state
        draws.append(torch.rand(4, generator=streams.train))
    assert torch.equal(draws[0], draws[1])
    assert not torch.equal(draws[0], torch.rand(4, generator=RandomStreams.create(5, CPU).train))


def test_a_view_building_a_model_leaves_the_global_generator_alone():
    torch.manual_seed(4)
    before = torch.get_rng_state()
    with untouched_global_generator():
        torch.nn.Linear(30, 30)  # random initialisation draws from the global generator
    assert torch.equal(torch.get_rng_state(), before)


def _gpt_trainer(tmp_path, **trainer_kwargs) -> Trainer:
    text = tmp_path / "code.txt"
    if not text.exists():
        text.write_text("".join(f"def f{i}(x):\n    return x * {i}\n" for i in range(40)), encoding="utf-8")
    data = load_dataset(str(text), seed=0)
    settings = {"steps": 8, "batch_size": 4, "seed": 2, "device": "cpu", "n_layer": 1, "d_model": 16,
                "n_head": 2, "block_size": 16, "dropout": 0.2, "val_every": 3, "val_batches": 1,
                "capture_every": 3, "sample_every": 2, "sample_length": 4}  # fmt: skip
    model_config, hparams, train = build_configs("gpt", data, settings)
    return Trainer(create_task("gpt", data, model_config, hparams, train), **trainer_kwargs)


def test_viewers_and_other_users_of_the_global_generator_change_no_weight(tmp_path):
    """Straight and unwatched vs. watched (snapshots, visuals, text samples every step), with the
    global generator drawn from between steps and from another thread, and resumed halfway."""
    straight = _gpt_trainer(tmp_path)
    straight.run()

    stop = threading.Event()

    config = straight.model_config

    def another_thread() -> None:  # a view building models while the run trains
        while not stop.wait(0.005):  # a build every few milliseconds, as a busy GUI might
            build_family_model("gpt", config)

    def busy_sink(event) -> None:  # between steps, on the trainer's thread
        torch.rand(11)

    views = threading.Thread(target=another_thread, daemon=True)
    views.start()
    try:
        watched = {"sink": busy_sink, "snapshot_interval": 0.0, "visuals_interval": 0.0}
        first = _gpt_trainer(tmp_path, **watched)
        first.run(until=4)
        assert first.task.viewer_attached
        path = first.save(tmp_path / "half.safetensors")
        resumed = _gpt_trainer(tmp_path, **watched)
        assert resumed.restore(read_checkpoint(path))
        resumed.run()
    finally:
        stop.set()
        views.join(timeout=5)
    for name, value in straight.task.model_tensors().items():
        assert torch.equal(resumed.task.model_tensors()[name], value), name
