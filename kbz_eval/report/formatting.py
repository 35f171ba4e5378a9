"""Numbers, money, percentages, p-values and figure ticks in the report's language.

One locale-aware formatter for every channel (HTML, overview cards, practice pages,
figure ticks), built on Babel's CLDR data: Dutch ``nl_NL`` writes ``€ 1.234,50``,
``12,3%`` and ``−6,0``; English ``en_GB`` writes ``€1,234.50``, ``12.3%`` and ``−6.0``.
Negative numbers always carry a true minus sign (U+2212), never a hyphen. Years are
written without a thousands separator (``2012``, never ``2.012``).
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

from babel.numbers import format_decimal

#: Report language → Babel locale.
LOCALES = {"nl": "nl_NL", "en": "en_GB"}

#: The true minus sign.
MINUS = "\u2212"

#: Written for a missing value.
MISSING = "—"


def _locale(language: str) -> str:
    try:
        return LOCALES[language]
    except KeyError:
        raise ValueError(f"language must be one of {sorted(LOCALES)}, got {language!r}"
                         ) from None


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def _minus(text: str) -> str:
    return text.replace("-", MINUS)


def number(value: float | int | None, *, language: str, decimals: int = 0) -> str:
    """A number with the language's grouping and decimal marks and a true minus
    (``—`` for missing): ``−1.234,5`` (nl) or ``−1,234.5`` (en)."""
    if _missing(value):
        return MISSING
    value = round(float(value), decimals)
    if value == 0:
        value = 0.0  # no "−0"
    if not abs(value) < 10.0 ** (15 - decimals):
        # infinity, or more than 15 significant digits: there the double's binary
        # digits and its shortest decimal form (what Babel rounds) can differ
        pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
        return _minus(format_decimal(value, format=pattern, locale=_locale(language),
                                     decimal_quantization=True))
    # what Babel's "#,##0.00" pattern writes (tests/test_formatting.py checks it against
    # format_decimal), with the locale's own marks, at a fraction of the cost: up to 15
    # significant digits the rounded double prints as the decimal it stands for
    group, decimal = _marks(language)
    text = f"{abs(value):,.{decimals}f}"
    if (group, decimal) != (",", "."):
        text = text.translate({ord(","): group, ord("."): decimal})
    return (MINUS + text) if value < 0 else text


@cache
def _marks(language: str) -> tuple[str, str]:
    """The locale's grouping and decimal marks (CLDR, through Babel)."""
    from babel.numbers import get_decimal_symbol, get_group_symbol

    locale = _locale(language)
    return get_group_symbol(locale), get_decimal_symbol(locale)


def euro(value: float | None, *, language: str, decimals: int = 0) -> str:
    """Money in euros: ``€ 1.234,50`` / ``−€ 356`` (nl) or ``€1,234.50`` / ``−€356``
    (en)."""
    body = number(value, language=language, decimals=decimals)
    if body == MISSING:
        return body
    sign = ""
    if body.startswith(MINUS):
        sign, body = MINUS, body[1:]
    return f"{sign}€ {body}" if language == "nl" else f"{sign}€{body}"


def percent(value: float | None, *, language: str, decimals: int = 1) -> str:
    """A percentage given in percent units: ``12,3%`` (nl) or ``12.3%`` (en)."""
    body = number(value, language=language, decimals=decimals)
    return body if body == MISSING else f"{body}%"


def year(value: Any) -> str:
    """A year (or a cohort, an event time) as a whole number without separators."""
    if _missing(value):
        return MISSING
    return _minus(str(int(round(float(value)))))


def p_value(value: float | None, *, language: str) -> str:
    """A p-value for a table cell: ``< 0,001`` / ``0,023`` / ``0,41`` (nl) or with
    points (en); never 0."""
    if _missing(value):
        return MISSING
    p = min(max(float(value), 0.0), 1.0)
    if p < 0.001:
        return "< " + number(0.001, language=language, decimals=3)
    return number(p, language=language, decimals=3 if p < 0.1 else 2)


def interval(low: float | None, high: float | None, *, language: str, kind: str = "number",
             decimals: int = 0) -> str:
    """A 95 % interval such as ``(€ 120 tot € 410)`` or ``(€120 to €410)``."""
    fmt = {"number": number, "euro": euro, "percent": percent}[kind]
    word = "tot" if language == "nl" else "to"
    return (f"({fmt(low, language=language, decimals=decimals)} {word} "
            f"{fmt(high, language=language, decimals=decimals)})")


def ci_label(language: str, level: float = 95) -> str:
    """The interval's name: ``95%-BI`` (nl) or ``95% CI`` (en)."""
    return f"{level:g}%-BI" if language == "nl" else f"{level:g}% CI"


def tick(value: float, *, language: str, span: float) -> str:
    """A figure tick label: as many decimals as the tick spacing ``span`` needs, the
    language's marks and a true minus, no grouping below 10,000 (``2012`` stays)."""
    if _missing(value):
        return ""
    decimals = 0 if span >= 1 or span <= 0 else min(6, max(0, -math.floor(math.log10(span))))
    if abs(value) < 10_000:
        text = f"{value:.{decimals}f}"
        if float(text) == 0:
            text = text.lstrip("-")
        if language == "nl":
            text = text.replace(".", ",")
        return _minus(text)
    return number(value, language=language, decimals=decimals)


class _TickFormatter:
    """Tick labels in a language; the decimals follow the spacing of the ticks drawn
    together (:meth:`format_ticks`)."""

    def __new__(cls, language: str) -> Any:
        from matplotlib.ticker import Formatter

        class TickFormatter(Formatter):
            def __init__(self) -> None:
                self.span = 1.0

            def format_ticks(self, values: Any) -> list[str]:
                locs = sorted(v for v in values if math.isfinite(v))
                steps = [b - a for a, b in zip(locs, locs[1:], strict=False) if b != a]
                self.span = min(steps) if steps else 1.0
                return [self(v, i) for i, v in enumerate(values)]

            def __call__(self, value: float, pos: int | None = None) -> str:
                return tick(value, language=language, span=self.span)

            def __reduce__(self) -> tuple[Any, tuple[str]]:
                # a figure travels to the process that saves it (pickled)
                return _TickFormatter, (language,)

        return TickFormatter()


def localise_ticks(fig: Any, language: str) -> None:
    """Write the numeric tick labels of every Axes of ``fig`` in ``language``: decimal
    commas and true minus signs in Dutch, true minus signs in English; an axis whose view
    lies within the years 1900–2100 gets whole-number ticks only, written without
    separators. Categorical and date axes are left as they are."""
    from matplotlib.ticker import FixedLocator, MaxNLocator, ScalarFormatter

    for ax in fig.get_axes():
        for axis in (ax.xaxis, ax.yaxis):
            if not isinstance(axis.get_major_formatter(), ScalarFormatter):
                continue
            if isinstance(axis.get_major_locator(), FixedLocator):
                continue
            low, high = sorted(axis.get_view_interval())
            if 1900 <= low and high <= 2100:  # calendar years: whole years only
                axis.set_major_locator(MaxNLocator(integer=True))
            axis.set_major_formatter(_TickFormatter(language))
