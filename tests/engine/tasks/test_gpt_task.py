"""The GPT task: baby-GPT defaults, AdamW groups, exact resume, checkpoints with a tied vocabulary, CLI."""

from __future__ import annotations

import json
import math

import pytest
import torch

from app.engine.checkpoint import CheckpointError, read_checkpoint, save_checkpoint
from app.engine.data.text import text_bundle
from app.engine.errors import ConfigError
from app.engine.setup import build_configs, create_task
from app.engine.tasks import get_task_class
from app.engine.trainer import Trainer
from app.entry import main

TEXT = (
    "The cat sat on the mat. The dog sat on the log. A bird sang in the tree, and the cat "
    "looked up at the bird.\n"
) * 30
TINY = {"n_layer": 2, "n_head": 2, "d_model": 16, "block_size": 16, "batch_size": 4, "val_batches": 2}


@pytest.fixture
def data():
    return text_bundle(TEXT, "cats", "cats")


def make_task(data, **overrides):
    model_config, hparams, train = build_configs("gpt", data, {**TINY, **overrides})
    return create_task("gpt", data, model_config, hparams, train)


def test_defaults_are_the_baby_gpt_recipe(data):
    task_cls = get_task_class("gpt")
    train = task_cls.default_train_config()
    assert (train.steps, train.batch_size, train.lr, train.schedule) == (2000, 12, 1e-3, "warmup_cosine")
    assert (train.warmup_steps, train.min_lr_ratio, train.grad_clip) == (100, 0.1, 1.0)
    config = task_cls.default_model_config(data)
    assert (config.n_layer, config.n_head, config.d_model, config.block_size) == (4, 4, 128, 64)
    assert config.dropout == 0.0 and config.vocab_size == data.tokenizer.vocab_size
    assert task_cls.default_dataset == "python-docs"


def test_adamw_decays_matrices_only(data):
    task = make_task(data)
    optimizer = task.optimizers[0]
    assert isinstance(optimizer, torch.optim.AdamW) and optimizer.defaults["betas"] == (0.9, 0.99)
    decayed, plain = optimizer.param_groups
    assert decayed["weight_decay"] == 0.1 and plain["weight_decay"] == 0.0
    assert all(p.dim() == 2 for p in decayed["params"]) and all(p.dim() == 1 for p in plain["params"])
    assert sum(1 for p in decayed["params"] if p is task.model.tok_emb.weight) == 1  # tied: once
    all_params = decayed["params"] + plain["params"]
    assert len(all_params) == len(list(task.model.parameters()))
    task.set_hparams(weight_decay=0.02)
    assert decayed["weight_decay"] == 0.02


def test_batches_are_random_windows_of_the_training_text(data):
    task = make_task(data)
    x, y = task.make_batches(0).next()
    assert x.shape == y.shape == (4, 16)
    assert torch.equal(x[:, 1:], y[:, :-1])  # y is x shifted by one character
    text = data.tokenizer.decode(data.train.tolist())
    for row in torch.cat([x, y[:, -1:]], dim=1):
        assert data.tokenizer.decode(row.tolist()) in text
    assert len({tuple(r) for r in x.tolist()}) > 1


def test_training_lowers_loss_and_reports_nats_and_perplexity(data):
    task = make_task(data, steps=80, lr=1e-2, val_every=40)
    trainer = Trainer(task)
    trainer.run()
    metrics, val = trainer.last_metrics, trainer.last_val
    assert set(metrics) >= {"loss", "perplexity", "grad_norm", "lr"}
    assert metrics["perplexity"] == pytest.approx(math.exp(metrics["loss"]))
    assert val["val_perplexity"] == pytest.approx(math.exp(val["val_loss"]))
    uniform = math.log(data.tokenizer.vocab_size)  # a model that knows nothing: ln V nats per character
    assert val["val_loss"] < 0.8 * uniform


def test_probe_attention_is_captured_every_n_steps(data):
    task = make_task(data, steps=10, capture_every=4)
    Trainer(task).run()
    visuals = task.visuals()
    probe = visuals.probe
    assert [step for step, _ in probe.captures] == [0, 4, 8]
    T = len(probe.text)
    assert probe.text == task.hparams.probe_prompt[:16] and T == 16
    assert probe.captures[0][1].shape == (2, 2, T, T)
    assert probe.allowed.shape == (T, T) and probe.allowed[0, 0] and not probe.allowed[0, 1]  # causal
    assert visuals.sample is not None and len(visuals.sample.text) == task.hparams.sample_length
    assert task.visuals().empty  # nothing new since


def test_too_short_or_foreign_text_is_refused(data):
    short = text_bundle("abc def " * 8, "short", "short")
    with pytest.raises(ConfigError, match="too short"):
        make_task(short)
    other = text_bundle(TEXT + "XYZ", "other", "other")
    model_config, hparams, train = build_configs("gpt", data, TINY)
    with pytest.raises(ConfigError, match="distinct characters"):
        create_task("gpt", other, model_config, hparams, train)


def test_resume_is_exact(data, tmp_path):
    straight = make_task(data, steps=6, dropout=0.1)
    Trainer(straight).run()

    first = make_task(data, steps=6, dropout=0.1)
    trainer = Trainer(first)
    trainer.run(until=3)
    trainer.save(tmp_path / "half.safetensors")
    checkpoint = read_checkpoint(tmp_path / "half.safetensors")
    resumed = make_task(data, steps=6, dropout=0.1)
    second = Trainer(resumed)
    assert second.restore(checkpoint)
    second.run()
    for key, value in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[key], value, rtol=0, atol=0)


def test_checkpoint_keeps_the_tie_and_the_vocabulary(data, tmp_path, capsys):
    task = make_task(data, steps=2)
    trainer = Trainer(task)
    trainer.run()
    path = trainer.save(tmp_path / "gpt.safetensors")
    checkpoint = read_checkpoint(path)
    assert "lm_head.weight" in checkpoint.tensors
    model = checkpoint.build_model()
    assert model.lm_head.weight is model.tok_emb.weight
    assert checkpoint.tokenizer == data.tokenizer.to_metadata()
    assert main(["inspect", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["family"] == "gpt" and report["vocabulary_size"] == data.tokenizer.vocab_size
    assert report["parameters"] == task.model_config.parameter_count()  # the tied table counted once


def test_checkpoint_with_a_bad_vocabulary_is_refused(data, tmp_path):
    task = make_task(data)
    fields = {
        "family": "gpt",
        "config": task.model_config,
        "tensors": task.model_tensors(),
        "data": data.describe(),
    }
    path = tmp_path / "bad.safetensors"
    save_checkpoint(path, **fields, tokenizer={"type": "char", "chars": ["a", "b", "c"]})
    with pytest.raises(CheckpointError, match="vocabulary has 3 characters"):
        read_checkpoint(path)
    save_checkpoint(path, **fields)
    with pytest.raises(CheckpointError, match="no vocabulary"):
        read_checkpoint(path)


def test_sample_command_writes_text_and_reports_unknown_prompt_characters(data, tmp_path, capsys):
    task = make_task(data, steps=30, lr=1e-2)
    trainer = Trainer(task)
    trainer.run()
    path = trainer.save(tmp_path / "gpt.safetensors")
    assert main(["sample", str(path), "--prompt", "The cat", "--max-new", "40", "--seed", "3"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("The cat") and len(text.rstrip("\n")) >= 47
    out = tmp_path / "samples.txt"
    assert main(["sample", str(path), "--n", "3", "--max-new", "20", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8").count("--- sample") == 3
    assert main(["sample", str(path), "--prompt", "Thé cät"]) == 2
    error = capsys.readouterr().err
    assert "'é'" in error and "'ä'" in error and "Traceback" not in error
