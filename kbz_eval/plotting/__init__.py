"""Drawing only: every function takes a result (or its plot data) and ``ax=None`` and
returns the matplotlib Axes it drew on. No file is saved and ``plt.show`` is never called
here; the report pipeline saves figures."""

from __future__ import annotations

from typing import Any

#: Colour, marker and legend label of KBZ and control practices in every figure.
GROUP_STYLE: dict[str, dict[str, Any]] = {
    "kbz": {"color": "#c0392b", "marker": "o", "label": "KBZ practices"},
    "control": {"color": "#2c3e50", "marker": "s", "label": "control practices"},
}


def get_ax(ax: Any = None) -> Any:
    """``ax`` itself, or the Axes of a new figure when ``ax`` is ``None``."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new_ax = plt.subplots(figsize=(7, 4.5))
    return new_ax
