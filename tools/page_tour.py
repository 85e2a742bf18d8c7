"""Screenshot tour for checking every page as a user sees it: each top tab and each nested tab
(recursively), with the shipped models opened, at the size of the X screen.

    xvfb-run -a -s "-screen 0 1366x768x24" python tools/page_tour.py OUT_DIR [CHECKPOINT ...]
    FULL=1 xvfb-run -a -s "-screen 0 1920x1080x24" python tools/page_tour.py OUT_DIR

Each CHECKPOINT given is then opened in turn and its family's page toured again (the shapes
WGAN, say, which a first launch does not open).

A first window takes 1400×900 or the screen's free area where smaller; FULL=1 fills the screen
(what a user does on a large one). Look at every PNG: overlaps, cut-off labels and empty plots
are bugs.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    from PySide6.QtWidgets import QTabWidget

    from app.ui.launch import create_app
    from app.ui.main_window import MainWindow

    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    app = create_app()
    window = MainWindow()
    window.show()
    if os.environ.get("FULL"):
        window.setGeometry(app.primaryScreen().availableGeometry())

    def settle(seconds: float) -> None:
        end = time.time() + seconds
        while time.time() < end:
            app.processEvents()
            time.sleep(0.02)

    settle(0.5)
    window.open_shipped_weights(in_background=False)
    settle(1.5)
    shots: list[Path] = []

    def walk(tabs: QTabWidget, prefix: str, seen: set[int]) -> None:
        seen.add(id(tabs))
        for index in range(tabs.count()):
            tabs.setCurrentIndex(index)
            settle(0.8)
            name = prefix + "-" + "".join(c for c in tabs.tabText(index) if c.isalnum())
            shots.append(out / f"{len(shots):02d}{name}.png")
            window.grab().save(str(shots[-1]))
            for inner in tabs.widget(index).findChildren(QTabWidget):
                if inner.isVisible() and id(inner) not in seen:
                    walk(inner, name, seen)

    walk(window.tabs, "", set())
    for extra in sys.argv[2:]:
        if not window.open_checkpoint(extra):
            raise SystemExit(f"could not open {extra}")
        settle(1.5)
        page = window.tabs.currentWidget()
        name = "-" + Path(extra).stem.replace("-", "")
        seen = {id(window.tabs)}
        for inner in page.findChildren(QTabWidget):
            if inner.isVisible() and id(inner) not in seen:
                walk(inner, name, seen)
    print(f"window {window.width()}x{window.height()}: {len(shots)} pictures in {out}")
    window.close()
    settle(0.3)


if __name__ == "__main__":
    main()
