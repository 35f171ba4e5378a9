"""Saving figures reproducibly: PNG at print resolution and SVG, no dates or ids.

Only the report pipeline saves files; plotting functions draw and return Axes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Print resolution of PNG figures.
PNG_DPI = 200

_RC = {
    "svg.hashsalt": "kbz_eval",      # fixed ids inside the SVG
    "svg.fonttype": "path",          # no dependence on installed fonts when viewing
    "font.family": "DejaVu Sans",    # ships with matplotlib
    "figure.dpi": 100,
}


def new_figure(width: float = 7.0, height: float = 4.5) -> tuple[Any, Any]:
    """A new (figure, axes) with the report's fixed style, detached from pyplot."""
    import matplotlib as mpl
    from matplotlib.figure import Figure

    with mpl.rc_context(_RC):
        fig = Figure(figsize=(width, height), layout="constrained")
        ax = fig.add_subplot()
    return fig, ax


def save_figure(fig: Any, stem: Path) -> list[Path]:
    """Write ``stem.png`` and ``stem.svg``; byte-identical for the same figure."""
    import matplotlib as mpl

    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    with mpl.rc_context(_RC):
        fig.savefig(paths[0], dpi=PNG_DPI, metadata={"Software": None})
        fig.savefig(paths[1], metadata={"Date": None, "Creator": None})
    return paths
