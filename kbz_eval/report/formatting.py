"""Numbers, money and percentages in the report's language.

Dutch: ``€ 1.234,50`` and ``12,3 %``; English: ``€1,234.50`` and ``12.3%``.
"""

from __future__ import annotations

import math


def number(value: float | int | None, *, language: str, decimals: int = 0) -> str:
    """A number with the language's thousands and decimal marks (``—`` for missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    text = f"{value:,.{decimals}f}"
    if language == "nl":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def euro(value: float | None, *, language: str, decimals: int = 0) -> str:
    """Money in euros: ``€ 1.234,50`` (nl) or ``€1,234.50`` (en)."""
    body = number(value, language=language, decimals=decimals)
    if body == "—":
        return body
    sign = ""
    if body.startswith("-"):
        sign, body = "−", body[1:]
    return f"{sign}€ {body}" if language == "nl" else f"{sign}€{body}"


def percent(value: float | None, *, language: str, decimals: int = 1) -> str:
    """A percentage given in percent units: ``12,3 %`` (nl) or ``12.3%`` (en)."""
    body = number(value, language=language, decimals=decimals)
    if body == "—":
        return body
    if body.startswith("-"):
        body = "−" + body[1:]
    return f"{body} %" if language == "nl" else f"{body}%"


def interval(low: float | None, high: float | None, *, language: str, kind: str = "number",
             decimals: int = 0) -> str:
    """A 95 % interval such as ``(€ 120 tot € 410)`` or ``(€120 to €410)``."""
    fmt = {"number": number, "euro": euro, "percent": percent}[kind]
    word = "tot" if language == "nl" else "to"
    return (f"({fmt(low, language=language, decimals=decimals)} {word} "
            f"{fmt(high, language=language, decimals=decimals)})")
