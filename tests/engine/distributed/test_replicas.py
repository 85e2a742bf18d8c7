"""torch.compile and the precision choice (issue 15): a compiled model trains, saves and loads
like any other, and the run's choices are stored in the checkpoint's run info.

The compiler runs with torch.compile's "eager" backend here (the graph is captured, no kernels
generated), which keeps the test fast and the numbers exactly those of the uncompiled model;
bench/compile_precision.py times the real (inductor) backend.
"""

from __future__ import annotations

import pytest
import torch

from app.engine.checkpoint import read_checkpoint
from app.engine.distributed import replicas
from app.engine.trainer import Trainer
from app.entry import main
from models.vae import VAE
from tests.engine.helpers import SMALL_VAE_ARGS, small_vae_task
from tests.engine.tasks.test_wgan_task import points_task


@pytest.fixture(autouse=True)
def eager_compiler(monkeypatch):
    monkeypatch.setattr(replicas, "COMPILE_BACKEND", "eager")


def test_a_compiled_run_trains_like_the_plain_one_and_saves_plain_keys(tmp_path):
    plain, compiled = small_vae_task(steps=3), small_vae_task(steps=3, compile=True)
    assert isinstance(compiled.train_call("loss"), torch._dynamo.eval_frame.OptimizedModule)
    runs = {}
    for name, task in (("plain", plain), ("compiled", compiled)):
        trainer = Trainer(task, checkpoint_path=tmp_path / f"{name}.safetensors")
        trainer.run()
        runs[name] = read_checkpoint(tmp_path / f"{name}.safetensors")
    saved = runs["compiled"]
    assert not [k for k in saved.tensors if "_orig_mod." in k or k.startswith("module.")]
    assert saved.tensors.keys() == plain.model.state_dict().keys()
    for key, value in runs["plain"].tensors.items():
        torch.testing.assert_close(saved.tensors[key], value)
    VAE(saved.config).load_state_dict(saved.tensors, strict=True)  # opens like any other checkpoint
    assert saved.train["train"]["compile"] is True and saved.train["train"]["precision"] == "fp32"


def test_the_wgan_gp_critic_stays_uncompiled_the_generator_compiles():
    task = points_task(compile=True)
    assert not isinstance(task.train_call("critic"), torch._dynamo.eval_frame.OptimizedModule)
    assert isinstance(task.train_call("generator"), torch._dynamo.eval_frame.OptimizedModule)
    metrics = task.train_step(task.make_batches(0).next, 0)  # the penalty's double backward works
    assert torch.isfinite(torch.tensor(metrics["gp"]))


def test_cli_precision_and_compile_reach_the_checkpoint(tmp_path, small_shapes_builtin):
    out = tmp_path / "run.safetensors"
    args = ["train", "vae", "--steps", "2", "--precision", "bf16", "--compile", "--out", str(out)]
    assert main([*args, *SMALL_VAE_ARGS]) == 0
    train = read_checkpoint(out).train["train"]
    assert (train["precision"], train["compile"]) == ("bf16", True)


def test_changing_precision_between_steps_rewraps_only_when_it_changes():
    trainer = Trainer(small_vae_task(steps=2))
    plain = trainer.task.train_call("loss")  # the model's own method: nothing to wrap
    assert plain == trainer.task.model.loss
    trainer.update_train_config(precision="bf16")
    wrapped = trainer.task.train_call("loss")
    assert isinstance(wrapped, replicas.MethodCall) and wrapped.precision == "bf16"
    trainer.update_train_config(lr=1e-4, precision="bf16")  # unchanged: the same wrapper (no recompile)
    assert trainer.task.train_call("loss") is wrapped
    assert trainer.run().reason.name == "COMPLETED"


def test_older_checkpoints_without_the_keys_train_in_fp32_uncompiled():
    from app.engine.train_config import TrainConfig

    config = TrainConfig.from_dict({"steps": 5})  # a run info written before issue 15
    assert (config.precision, config.compile) == ("fp32", False)
