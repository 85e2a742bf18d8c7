"""Colours of the GPT views, chosen to stay readable for colour-blind users.

Attention weights run from white (0) to dark blue (1); positions the mask forbids are a warm
grey, so the shape of the mask (causal, sliding, prefix) is visible. A token's probability
runs from orange (surprising, p ≈ 0) to pale blue (expected, p ≈ 1).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

BLUES = pg.ColorMap(
    [0.0, 0.25, 0.5, 0.75, 1.0],
    [(247, 251, 255), (198, 219, 239), (107, 174, 214), (33, 113, 181), (8, 48, 107)],
)
ENTROPY = pg.ColorMap(
    [0.0, 0.25, 0.5, 0.75, 1.0],
    [(255, 255, 229), (254, 227, 145), (254, 153, 41), (204, 76, 2), (102, 37, 6)],
)  # low entropy (a head that reads few characters) pale yellow → uniform attention dark brown
BLUES_LUT = BLUES.getLookupTable(0.0, 1.0, 256, alpha=True)  # (256, 4) bytes: faster than map()
PROBABILITY = pg.ColorMap(
    [0.0, 0.5, 1.0],
    [(240, 110, 40), (253, 224, 180), (214, 232, 247)],
)
MASKED_RGBA = (226, 221, 212, 255)
SELECTED_PEN = pg.mkPen("#e6550d", width=2)
SELECTED_CELL_PEN = pg.mkPen("#08306b", width=3)
VISIBLE_CHARS = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}


def display_char(char: str) -> str:
    """A visible stand-in for a character, or for each character of a token's text (space,
    line break, tab, control characters): ' the' → '␣the'."""
    return "".join(VISIBLE_CHARS.get(c, c if c.isprintable() else "·") for c in char)


def attention_rgba(alpha: np.ndarray, allowed: np.ndarray | None, boost: bool = False) -> np.ndarray:
    """Weights (T, S) in [0, 1] → RGBA (T, S, 4) bytes; forbidden cells in the mask colour.

    ``boost`` shows √α, which makes the many small weights of a long context visible.
    """
    values = np.sqrt(np.clip(alpha, 0.0, 1.0)) if boost else np.clip(alpha, 0.0, 1.0)
    rgba = BLUES_LUT[np.rint(values * 255).astype(np.uint8)]  # (T, S, 4)
    if allowed is not None:
        rgba[~allowed] = MASKED_RGBA
    return np.ascontiguousarray(rgba)


def probability_color(p: float) -> QColor:
    r, g, b, _a = PROBABILITY.map(np.array([min(max(p, 0.0), 1.0)]), mode="byte")[0]
    return QColor(int(r), int(g), int(b))


def probability_gradient_css() -> str:
    """The probability scale as a Qt style-sheet gradient (for a legend)."""
    stops = ", ".join(f"stop:{p:.2f} {probability_color(p).name()}" for p in np.linspace(0.0, 1.0, 6))
    return f"qlineargradient(x1:0, y1:0, x2:1, y2:0, {stops})"


def readable_text_color(rgb) -> str:
    """Black or white, whichever reads better on a background of this colour."""
    r, g, b = (int(v) for v in rgb[:3])
    return "#111" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#fff"


def settle(view: pg.ViewBox) -> None:
    """Apply a changed view range now rather than while painting.

    pyqtgraph defers the new transform to the paint, which then updates the items and asks for
    a second paint; views that change with every generated token would be drawn twice.
    """
    view.updateMatrix()
