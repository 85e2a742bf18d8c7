"""One save dialog for every export: it opens where the last export went, from any export,
adds the file type when the name lacks it, and the folder outlives the session."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QLabel

from app.ui.app_settings import AppSettings
from app.ui.vae.export import export_with_dialog


def test_every_export_opens_in_the_folder_of_the_last_one(main_window, tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    answers = iter([first / "lab", second / "evolution.gif", second / "grid"])
    opened_at: list[str] = []

    def dialog(_parent, _title, start, _filter):
        opened_at.append(start)
        return str(next(answers)), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", dialog)
    page = main_window.show_page("wgan")
    lab = next((label, suffix, export) for label, suffix, export in page.exports() if label.startswith("W1"))
    main_window.export_dialog(*lab)  # File → Export, into the first folder
    assert (first / "lab.png").is_file()  # the type was added to a name without it

    page.timeline_bar.exportGifClicked.emit()  # the page's own button: opens where File → Export went
    assert Path(opened_at[1]) == first / "wgan-evolution.gif"
    assert "There is no evolution" in page.bar.status.text()  # refused, but the folder was chosen

    written: list[str] = []
    export_with_dialog(main_window, "Export", "grid.png", written.append, QLabel(), ready=True)  # a VAE view
    assert Path(opened_at[2]) == second / "grid.png" and written == [str(second / "grid.png")]
    assert AppSettings().last_folder("export") == str(second)  # kept for the next launch
