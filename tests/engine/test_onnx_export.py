"""``genplay export CKPT --onnx OUT.onnx`` (issue 15): the file, run by onnxruntime, gives the
outputs of the PyTorch model in the checkpoint, for shapes other than the one exported with."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")
import onnxruntime  # noqa: E402

from app.engine.checkpoint import read_checkpoint  # noqa: E402
from app.engine.data.text import text_bundle  # noqa: E402
from app.engine.inference import model_from_checkpoint  # noqa: E402
from app.engine.trainer import Trainer  # noqa: E402
from app.entry import main  # noqa: E402
from tests.engine.helpers import small_vae_task  # noqa: E402
from tests.engine.tasks.test_gpt_task import TEXT  # noqa: E402
from tests.engine.tasks.test_gpt_task import make_task as gpt_task  # noqa: E402
from tests.engine.tasks.test_wgan_task import points_task  # noqa: E402

TOLERANCE = 1e-4  # float32 kernels of two engines: sums in another order


def exported(tmp_path, task, name: str):
    path = tmp_path / f"{name}.safetensors"
    Trainer(task).save(path)
    out = tmp_path / f"{name}.onnx"
    assert main(["export", str(path), "--onnx", str(out)]) == 0
    model = model_from_checkpoint(read_checkpoint(path)).model.eval()
    return model, onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])


def run(session, x: torch.Tensor) -> torch.Tensor:
    (out,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    return torch.from_numpy(np.asarray(out))


@torch.no_grad()
def test_gpt_logits_with_any_batch_and_sequence_length(tmp_path):
    task = gpt_task(text_bundle(TEXT, "cats", "cats"), n_layer=1)
    model, session = exported(tmp_path, task, "gpt")
    block = task.model_config.block_size
    for shape in [(1, 1), (3, 5), (2, block)]:
        tokens = torch.randint(0, task.model_config.vocab_size, shape)
        got = run(session, tokens)
        assert got.shape == (*shape, task.model_config.vocab_size)
        torch.testing.assert_close(got, model(tokens).logits, rtol=0, atol=TOLERANCE)


@torch.no_grad()
def test_vae_decoder_and_wgan_generator(tmp_path):
    for name, task in (("vae", small_vae_task()), ("wgan", points_task())):
        model, session = exported(tmp_path, task, name)
        z = torch.randn(5, task.model_config.latent_dim)
        expected = model.decode(z) if name == "vae" else model.generator(z)
        torch.testing.assert_close(run(session, z), expected, rtol=0, atol=TOLERANCE)


def test_a_missing_checkpoint_is_one_clear_error(tmp_path, capsys):
    assert main(["export", str(tmp_path / "none.safetensors"), "--onnx", str(tmp_path / "x.onnx")]) == 2
    assert "genplay: error:" in capsys.readouterr().err
