"""``genplay train`` checks where it writes before training, and a failed save is a failure."""

from __future__ import annotations

import shutil

import pytest

from app.engine.checkpoint import CheckpointError
from app.engine.cli.outputs import is_shipped
from app.entry import main
from tests.engine.helpers import SMALL_VAE_ARGS as SMALL
from weights import shipped_checkpoint, weights_dir

pytestmark = pytest.mark.usefixtures("small_shapes_builtin")


@pytest.fixture
def shipped_folder(tmp_path, monkeypatch):
    """A copy of the shipped weights folder (only the 8 Gaussians WGAN), so a bug writes nothing real."""
    folder = tmp_path / "weights"
    folder.mkdir()
    shutil.copy(shipped_checkpoint("wgan"), folder)
    monkeypatch.setattr("app.engine.cli.outputs.weights_dir", lambda: folder)
    return folder


def test_resuming_a_shipped_checkpoint_needs_out_and_writes_nothing_there(shipped_folder, capsys):
    shipped = shipped_folder / "wgan-8gaussians.safetensors"
    before = shipped.read_bytes()
    assert main(["train", "wgan", "--resume", str(shipped), "--steps", "10001", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "ships with genplay" in err and "--out" in err and "\n" not in err
    assert [p.name for p in shipped_folder.iterdir()] == [shipped.name] and shipped.read_bytes() == before


def test_out_inside_the_shipped_weights_folder_is_refused(shipped_folder, capsys):
    target = shipped_folder / "mine.safetensors"
    assert main(["train", "vae", "--steps", "1", "--out", str(target), *SMALL]) == 2
    assert "shipped weights folder" in capsys.readouterr().err
    assert not target.exists()


def test_the_real_shipped_weights_folder_is_recognised():
    assert is_shipped(shipped_checkpoint("wgan")) and not is_shipped(weights_dir().parent / "x.safetensors")


def test_missing_output_folder_is_refused_before_training(tmp_path, capsys):
    missing = tmp_path / "nonexistent" / "x.safetensors"
    assert main(["train", "vae", "--steps", "5", "--out", str(missing), *SMALL]) == 2
    err = capsys.readouterr().err.strip()
    reason = f"cannot write the checkpoint to {missing}: the folder {missing.parent} does not exist."
    assert err == f"genplay: error: {reason}"  # one line, and no "Finished": nothing trained


def test_a_save_that_fails_anyway_exits_nonzero(tmp_path, monkeypatch, capsys):
    def refuse(path, **fields):
        raise CheckpointError(f"Could not save {path.name}: the disk is full.")

    monkeypatch.setattr("app.engine.trainer.save_checkpoint", refuse)
    assert main(["train", "vae", "--steps", "2", "--out", str(tmp_path / "x.safetensors"), *SMALL]) != 0
    last_line = capsys.readouterr().err.strip().splitlines()[-1]
    assert last_line.startswith(
        "genplay: error: the run's checkpoint was not saved: Could not save x.safetensors:"
    )


def test_metrics_into_a_missing_folder_is_one_line_before_training(tmp_path, capsys):
    out, metrics = tmp_path / "x.safetensors", tmp_path / "nowhere" / "m.jsonl"
    assert main(["train", "vae", "--steps", "2", "--out", str(out), "--metrics", str(metrics), *SMALL]) == 2
    err = capsys.readouterr().err.strip()
    reason = f"cannot write the metrics log to {metrics}: the folder {metrics.parent} does not exist."
    assert err == f"genplay: error: {reason}"
    assert not out.exists()
