"""Colours for thousands of scatter points without one Python object per point.

A label or factor is mapped to a small palette of shared QBrush objects (≤ 64); each point
holds a reference to one of them, so pyqtgraph's symbol atlas renders ≤ 64 sprites.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QBrush

CATEGORY_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]  # fmt: skip
LEVELS = 48  # shades of a continuous factor
ALPHA = 210
CYCLIC_FACTORS = {"rotation"}  # angles wrap around: a cyclic colour map shows 0 and 2π alike
PLAIN = pg.mkBrush(31, 119, 180, 170)


@dataclass
class PointColours:
    brushes: np.ndarray | None  # (N,) objects: one shared brush per point; None: plain colour
    palette: list[QBrush]  # the distinct brushes in use
    index: np.ndarray  # (N,) palette index of each point
    legend_html: str


def _brush(rgb) -> QBrush:
    r, g, b = (int(v) for v in rgb[:3])
    return pg.mkBrush(r, g, b, ALPHA)


@functools.lru_cache(maxsize=4)
def _shades(colour_map: str) -> tuple[np.ndarray, list[QBrush]]:
    """LEVELS colours of a map and their brushes, made once (the same brushes every refresh)."""
    lut = pg.colormap.get(colour_map).getLookupTable(0.0, 1.0, LEVELS)
    return lut, [_brush(rgb) for rgb in lut]


def _per_point(palette: list[QBrush], index: np.ndarray) -> np.ndarray:
    table = np.empty(len(palette), dtype=object)
    table[:] = palette
    return table[index]  # references to the shared brushes, no new objects


def _swatch(colour: str, text: str) -> str:
    return f"<span style='color:{colour}'>■</span>&nbsp;{text}"


def colour_points(values: np.ndarray | None, name: str = "", names: list[str] | None = None) -> PointColours:
    """Brushes for ``values`` (N,): integers are categories (named by ``names``), floats shades."""
    if values is None:
        return PointColours(None, [PLAIN], np.zeros(0, np.int64), "")
    values = np.asarray(values)
    if np.issubdtype(values.dtype, np.integer):
        classes = np.unique(values)
        index = np.searchsorted(classes, values)
        colours = [CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)] for i in range(len(classes))]
        palette = [_brush(pg.mkColor(c).getRgb()) for c in colours]
        labels = [names[int(c)] if names and 0 <= int(c) < len(names) else str(int(c)) for c in classes]
        legend = " &nbsp; ".join(_swatch(c, t) for c, t in zip(colours, labels, strict=True))
        return PointColours(_per_point(palette, index), palette, index, legend)
    values = values.astype(np.float64)
    low, high = float(np.nanmin(values)), float(np.nanmax(values))
    span = high - low if high > low else 1.0
    index = np.clip(np.round((values - low) / span * (LEVELS - 1)), 0, LEVELS - 1).astype(np.int64)
    lut, palette = _shades("CET-C6" if name in CYCLIC_FACTORS else "viridis")
    stops = "".join(
        f"<span style='color:rgb({lut[i][0]},{lut[i][1]},{lut[i][2]})'>█</span>"
        for i in np.linspace(0, LEVELS - 1, 8).astype(int)
    )
    legend = f"{name}: {low:.3g} {stops} {high:.3g}"
    return PointColours(_per_point(palette, index), palette, index, legend)
