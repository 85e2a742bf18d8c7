"""The command line: train, resume, inspect, sample, and clear failures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.engine.checkpoint import read_checkpoint
from app.engine.metrics_log import read_metrics
from app.entry import main
from tests.engine.helpers import SMALL_VAE_ARGS as SMALL
from weights import shipped_checkpoint

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.usefixtures("small_shapes_builtin")


def test_train_writes_checkpoint_and_metrics(tmp_path, capsys):
    out, metrics = tmp_path / "v.safetensors", tmp_path / "m.jsonl"
    code = main(["train", "vae", "--steps", "12", "--out", str(out), "--metrics", str(metrics),
                 "--set", "val_every=6", "--set", "beta=2", *SMALL])  # fmt: skip
    assert code == 0
    ckpt = read_checkpoint(out)
    assert ckpt.step == 12 and ckpt.config.latent_dim == 3 and ckpt.train["hparams"]["beta"] == 2
    rows = read_metrics(metrics)
    assert len(rows) == 12 and "val_loss" in rows[5]
    assert "Finished 12 steps" in capsys.readouterr().err


def test_resume_continues_to_the_total(tmp_path):
    out = tmp_path / "v.safetensors"
    assert main(["train", "vae", "--steps", "6", "--out", str(out), *SMALL]) == 0
    resume_args = ["train", "vae", "--resume", str(out), "--steps", "10", "--quiet", "--batch-size", "32"]
    assert main(resume_args) == 0
    assert read_checkpoint(out).step == 10


def test_resume_refuses_a_total_it_has_already_reached(tmp_path, capsys):
    out = tmp_path / "v.safetensors"
    assert main(["train", "vae", "--steps", "6", "--out", str(out), *SMALL]) == 0
    saved = out.read_bytes()
    capsys.readouterr()
    assert main(["train", "vae", "--resume", str(out), "--steps", "4", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"genplay: error: {out} is already at step 6 and --steps is the run's total")
    assert "\n" not in err and out.read_bytes() == saved
    assert main(["train", "vae", "--resume", str(out), "--quiet"]) == 2  # its recorded total: nothing left


def test_resume_refuses_shape_changes_and_wrong_family(tmp_path, capsys):
    out = tmp_path / "v.safetensors"
    assert main(["train", "vae", "--steps", "2", "--out", str(out), *SMALL]) == 0
    assert main(["train", "vae", "--resume", str(out), "--set", "latent_dim=9", "--quiet"]) == 2
    assert "shape cannot change" in capsys.readouterr().err


def test_bad_settings_fail_with_one_line(capsys):
    assert main(["train", "vae", "--set", "flux=1", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("genplay: error: unknown setting 'flux'") and "\n" not in err
    with pytest.raises(SystemExit):
        main(["train", "vae", "--lr", "-1"])
    with pytest.raises(SystemExit):
        main(["train", "vae", "--steps", "0"])


def test_unavailable_device_is_a_clear_error(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(["train", "vae", "--device", "cuda", "--quiet", "--steps", "1"]) == 2
    assert "no CUDA GPU is available" in capsys.readouterr().err


def test_inspect_prints_family_config_and_shapes(tmp_path, capsys):
    out = tmp_path / "v.safetensors"
    main(["train", "vae", "--steps", "2", "--out", str(out), *SMALL])
    capsys.readouterr()
    assert main(["inspect", str(out)]) == 0
    text = capsys.readouterr().out
    assert "vae at step 2" in text and "to_mu.weight" in text and "[3, 16]" in text
    assert main(["inspect", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["family"] == "vae" and report["config"]["latent_dim"] == 3


def test_inspect_bad_file_exits_nonzero_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x80\x04junk")
    assert main(["inspect", str(bad)]) != 0
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "pickle" in err


def test_sample_png_and_npy(tmp_path):
    out = tmp_path / "v.safetensors"
    main(["train", "vae", "--steps", "2", "--out", str(out), *SMALL])
    assert main(["sample", str(out), "--n", "16", "--out", str(tmp_path / "g.png")]) == 0
    with Image.open(tmp_path / "g.png") as img:
        assert img.width > 32 * 4
    assert main(["sample", str(out), "--n", "5", "--out", str(tmp_path / "s.npy"), "--seed", "1"]) == 0
    array = np.load(tmp_path / "s.npy")
    assert array.shape == (5, 1, 32, 32)
    main(["sample", str(out), "--n", "5", "--out", str(tmp_path / "t.npy"), "--seed", "1"])
    assert np.array_equal(array, np.load(tmp_path / "t.npy"))


def test_python_dash_m_app_is_the_cli():
    result = subprocess.run([sys.executable, "-m", "app", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0
    assert "train" in result.stdout and "inspect" in result.stdout and "sample" in result.stdout


def test_wrong_kind_of_dataset_is_one_line(capsys):
    assert main(["train", "vae", "--dataset", "8gaussians", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "genplay: error: the VAE trains on images; '8gaussians' is 2-D points."


def test_temperature_zero_is_greedy_whatever_the_seed(capsys):
    gpt = str(shipped_checkpoint("gpt"))
    texts = []
    for seed in ("1", "2"):
        args = ["sample", gpt, "--prompt", "The function ", "--temperature", "0", "--max-new", "30"]
        assert main([*args, "--seed", seed]) == 0
        texts.append(capsys.readouterr().out)
    assert texts[0] == texts[1] and len(texts[0].strip()) > len("The function ")


def test_gpt_options_for_another_family_are_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # were the option ignored, the samples would land here
    wgan = str(shipped_checkpoint("wgan"))
    assert main(["sample", wgan, "--prompt", "The ", "--n", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"genplay: error: --prompt only applies to GPT checkpoints, and {wgan} holds a WGAN-GP."


def test_points_to_png_says_what_a_2d_model_writes(tmp_path, capsys):
    out = tmp_path / "pts.png"
    assert main(["sample", str(shipped_checkpoint("wgan")), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "genplay: error: a 2-D model's samples are points, written as a .npy array of shape (N, 2), "
        "not as pts.png; use e.g. --out points.npy."
    )
    assert not out.exists()


def test_inspect_lists_tensors_by_name(capsys):
    assert main(["inspect", str(shipped_checkpoint("gpt"))]) == 0
    listing = capsys.readouterr().out.split("tensors:\n", 1)[1]
    names = [line.split()[0] for line in listing.splitlines()]
    assert len(names) > 10 and names == sorted(names)
    assert main(["inspect", str(shipped_checkpoint("gpt")), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report["tensors"]) == sorted(report["tensors"])
