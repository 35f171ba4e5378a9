"""How a p-value is written for people: never 0, never 2.34e-15."""

from __future__ import annotations

import math


def format_p(p: float, *, decimal: str = ".", floor: float = 0.001) -> str:
    """``"p = 0.023"``, ``"p = 0.41"``, ``"p < 0.001"`` or ``"p = n/a"``.

    Three decimals below 0.1, two above; below ``floor`` only the bound is written, so
    a p-value never reads as 0 or as 2.34e-15.

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
    p = min(max(float(p), 0.0), 1.0)
    if p < floor:
        text = f"p < {floor:g}"
    elif p < 0.1:
        text = f"p = {p:.3f}"
    else:
        text = f"p = {p:.2f}"
    return text.replace(".", decimal) if decimal != "." else text


__all__ = ["format_p"]
