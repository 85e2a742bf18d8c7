"""Make the README's screenshots from the real app under a virtual display.

    xvfb-run -s "-screen 0 1600x1000x24" python tools/screenshots.py [--steps 400]

Writes docs/images/<family>-page.png (each page after a short training run) and
docs/images/<family>-shipped.png (each page showing its shipped model, as at first launch), and
docs/images/vae-kl-history.png (the shipped VAE's KL per dimension over its run) and
docs/images/wgan-shapes-evolution.png (the shipped shapes WGAN's timeline as the PNG strip it exports).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "images"


def settle(app, seconds: float) -> None:
    end = time.time() + seconds
    while time.time() < end:
        app.processEvents()
        time.sleep(0.01)


def train_briefly(app, window, family: str, steps: int) -> None:
    page = window.show_page(family)
    page.new_model()
    page.form.set_values({"steps": steps})
    page.start()
    deadline = time.time() + 900
    while (page.thread is not None or page.state != "idle") and time.time() < deadline:
        settle(app, 0.05)
    settle(app, 0.6)
    window.grab().save(str(OUT / f"{family}-page.png"))
    print(f"wrote {OUT / f'{family}-page.png'}")


def show_shipped(app, window, family: str) -> None:
    page = window.show_page(family)
    if family == "vae":
        page.show_view(page.kl_history)  # how the shipped model learned: KL per dimension over the steps
        settle(app, 1.5)
        window.grab().save(str(OUT / "vae-kl-history.png"))
        print(f"wrote {OUT / 'vae-kl-history.png'}")
        page.show_view(page.explorer)
    elif family == "gpt":
        page.views.setCurrentWidget(page.generation_tab)
        panel = page.generation
        panel.prompt.setPlainText("The for statement")
        panel.speed.setValue(panel.speed.maximum())
        panel.play()
        settle(app, 8.0)
        panel.pause()
    settle(app, 1.5)
    window.grab().save(str(OUT / f"{family}-shipped.png"))
    print(f"wrote {OUT / f'{family}-shipped.png'}")


def shapes_evolution(window) -> None:
    """The shapes WGAN's history, exported from its timeline as a user would (File → Export)."""
    if not window.open_checkpoint(ROOT / "weights" / "wgan-shapes.safetensors"):
        raise SystemExit("could not open weights/wgan-shapes.safetensors")
    written = window.pages["wgan"].export_strip(OUT / "wgan-shapes-evolution.png")
    print(f"wrote {written}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--families", nargs="*")
    parser.add_argument("--skip-training", action="store_true")
    args = parser.parse_args()

    from app.ui.launch import create_app
    from app.ui.main_window import MainWindow

    app = create_app()
    window = MainWindow()
    window.resize(1500, 940)
    window.show()
    OUT.mkdir(parents=True, exist_ok=True)
    families = [f for f in window.pages if not args.families or f in args.families]
    window.open_shipped_weights()
    deadline = time.time() + 60
    while not all(window.pages[f].has_model() for f in families) and time.time() < deadline:
        settle(app, 0.1)
    for family in families:
        show_shipped(app, window, family)
    if not args.skip_training:
        for family in families:
            train_briefly(app, window, family, args.steps)
    if "wgan" in families:  # last: opening it moves the WGAN page to the shapes data
        shapes_evolution(window)
    window.close()


if __name__ == "__main__":
    main()
