"""First run: the shipped checkpoints open on their pages, the self-test passes, and files
from the future or of unknown families are refused with a clear message."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from weights import shipped_checkpoint

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("family", ["vae", "wgan", "gpt"])
def test_each_shipped_checkpoint_opens_on_its_page(main_window, family):
    path = shipped_checkpoint(family)
    assert path is not None and path.stat().st_size < 8_000_000  # a few MB at most
    assert main_window.open_checkpoint(path)
    page = main_window.tabs.currentWidget()
    assert page is main_window.pages[family] and page.snapshot is not None


def test_the_window_opens_with_every_shipped_model_loaded(qtbot, main_window):
    main_window.open_shipped_weights()  # data loads on a background thread, then the models open
    assert main_window.isVisible()
    qtbot.waitUntil(lambda: all(page.has_model() for page in main_window.pages.values()), timeout=20000)
    for family, page in main_window.pages.items():
        assert page.snapshot is not None, family
        assert page.loaded_checkpoint.path == shipped_checkpoint(family)


def _with_metadata(path: Path, tmp_path: Path, **changes) -> Path:
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    header["__metadata__"].update(changes)
    text = json.dumps(header).encode()
    out = tmp_path / f"edited-{'-'.join(changes)}.safetensors"
    out.write_bytes(struct.pack("<Q", len(text)) + text + data[8 + n :])
    return out


def test_future_format_and_unknown_family_are_refused_clearly(main_window, tmp_path):
    source = shipped_checkpoint("wgan")
    future = _with_metadata(source, tmp_path, **{"genplay.format": "2"})
    assert not main_window.open_checkpoint(future)
    assert "written by a newer genplay (format 2)" in main_window.last_error
    alien = _with_metadata(source, tmp_path, family="diffusion")
    assert not main_window.open_checkpoint(alien)
    assert "unknown family 'diffusion'" in main_window.last_error


def test_self_test_passes_from_source():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-m", "app", "--self-test"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=240)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "self-test passed" in result.stdout
    for family in ("vae", "wgan", "gpt"):
        assert f"{family}: fresh model trains a step" in result.stdout
