"""File → Open with hostile files: the window shows the reason and keeps the model it had."""

from __future__ import annotations

import random

from tests.engine.checkpoint.hostile_files import hostile_corpus
from tests.ui.conftest import wait_idle


def test_hostile_files_through_file_open_keep_the_current_model(qtbot, main_window, tmp_path):
    page = main_window.pages["vae"]
    page.form.set_values({"steps": 3, "batch_size": 16})
    page.start()
    wait_idle(qtbot, page)
    kept = page.snapshot
    cases = random.Random(7).sample(hostile_corpus(), 40)
    for index, (name, data) in enumerate(cases):
        path = tmp_path / f"bad{index}.safetensors"
        path.write_bytes(data)
        assert not main_window.open_checkpoint(path), name
        assert main_window.last_error.startswith(f"Could not open bad{index}.safetensors: ")
        assert page.snapshot is kept
    page.start()  # the app is still usable
    wait_idle(qtbot, page)
    assert "Finished" in page.bar.status.text()
