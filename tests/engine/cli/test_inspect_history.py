"""``genplay inspect`` summarises a checkpoint's history."""

from __future__ import annotations

import json

from app.entry import main as cli_main


def test_inspect_summarises_the_history(history_files, capsys):
    assert cli_main(["inspect", str(history_files["gpt"])]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("history:"))
    assert "6 curves" in line and "5 attention captures" in line and "2 text samples" in line
    assert "steps 0–20" in line
    assert cli_main(["inspect", str(history_files["wgan"]), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["history"]["timeline_frames"] == 21 and report["history"]["bytes"] > 0
