"""How a p-value is written for people: never 0, never 2.34e-15."""

from __future__ import annotations

import math


def format_p(p: float, *, decimal: str = ".", floor: float = 0.001) -> str:
    """``"p = 0.023"``, ``"p < 0.001"`` or ``"p = n/a"``.

    Parameters
    ----------
    p
        The p-value.
    decimal
        Decimal mark (``","`` for Dutch).
    floor
        Below this the p-value is written as ``p < floor``.
    """
    if p is None or not math.isfinite(float(p)):
        return "p = n/a"
    p = float(p)
    if p < floor:
        text = f"p < {floor:g}"
    elif p >= 0.995:
        text = "p = 1.00" if p >= 0.9995 else f"p = {p:.3f}"
    else:
        text = f"p = {p:.2g}" if p >= 0.01 else f"p = {p:.3f}"
        if p >= 0.01 and len(text) < 8 and "." in text:
            text = f"p = {p:.2f}"
    return text.replace(".", decimal) if decimal != "." else text


__all__ = ["format_p"]
