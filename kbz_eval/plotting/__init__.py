"""Drawing only: every function takes a result (or its plot data) and ``ax=None`` and
returns the matplotlib Axes it drew on. No file is saved and ``plt.show`` is never called
here; the report pipeline saves figures."""

from __future__ import annotations

from typing import Any


def get_ax(ax: Any = None) -> Any:
    """``ax`` itself, or the Axes of a new figure when ``ax`` is ``None``."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new_ax = plt.subplots(figsize=(7, 4.5))
    return new_ax
