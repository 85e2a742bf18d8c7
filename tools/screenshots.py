"""Make the README's screenshots from the real app: train each page briefly, grab the window.

    xvfb-run -s "-screen 0 1600x1000x24" python tools/screenshots.py [--steps 400]

Writes docs/images/<family>-page.png for every registered page.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--families", nargs="*")
    args = parser.parse_args()

    from app.ui.launch import create_app
    from app.ui.main_window import MainWindow

    app = create_app()
    window = MainWindow()
    window.resize(1500, 940)
    window.show()
    out = ROOT / "docs" / "images"
    out.mkdir(parents=True, exist_ok=True)
    for family, page in window.pages.items():
        if args.families and family not in args.families:
            continue
        window.show_page(family)
        page.form.set_values({"steps": args.steps})
        page.start()
        deadline = time.time() + 600
        while (page.thread is not None or page.state != "idle") and time.time() < deadline:
            app.processEvents()
            time.sleep(0.01)
        for _ in range(30):
            app.processEvents()
            time.sleep(0.02)
        window.grab().save(str(out / f"{family}-page.png"))
        print(f"wrote {out / f'{family}-page.png'}")
    window.close()


if __name__ == "__main__":
    main()
