"""One XLSX workbook: a contents sheet, an about sheet and a sheet per table.

The workbook is written in the report's language. The contents sheet lists every sheet
with its title, a link, a description, its row count, the table key (the stem of its
CSV file) and the technical column names. Every table sheet has headers from
:mod:`kbz_eval.report.labels`, a frozen header row and an autofilter. Counts and years
are whole numbers, other numbers get a number format by the unit of their column, and
text (including the suppression label) stays text. The same tables give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kbz_eval.report import labels

#: Fixed document date, so the same report gives the same bytes.
_FIXED_DATE = dt.datetime(2000, 1, 1)

#: Longest sheet name Excel accepts.
MAX_SHEET_NAME = 31

#: Characters Excel does not accept in a sheet name.
_BAD_SHEET_CHARS = set('[]:*?/\\')

#: Number format of whole numbers (counts, years: no thousands separator).
WHOLE_FORMAT = "0"

#: Number format of every unit (see :mod:`kbz_eval.report.labels`).
NUMBER_FORMATS: dict[str, str] = {
    "EUR": "€ #,##0.00",
    "person_years": "#,##0.0",
    "percent": "0.0",
    "share": "0.0%",
    "ratio": "0.000",
    "p_value": '[<0.001]"<0.001";0.000',
    "score": "0.00",
    "scientific": "0.00E+00",
    "number": "#,##0.000",
}

_WIDTH_MIN, _WIDTH_MAX, _HEADER_WRAP = 8, 50, 24


def number_format(unit: str | None, *, whole: bool, language: str) -> str:
    """The Excel number format of a value of ``unit``.

    Parameters
    ----------
    unit
        One of :data:`kbz_eval.report.labels.UNITS`, or ``None`` (a number in a column
        without a unit).
    whole
        Whether the value is written as a whole number.
    language
        ``"nl"`` or ``"en"``; only the literal text of a format depends on it.
    """
    if whole and unit != "EUR":
        return WHOLE_FORMAT
    code = NUMBER_FORMATS.get(unit or "number", NUMBER_FORMATS["number"])
    if language == "nl":
        code = code.replace('"<0.001"', '"<0,001"')
    return code


def sheet_names(keys: list[str], language: str, reserved: tuple[str, ...] = ()
                ) -> dict[str, str]:
    """A readable, unique sheet name (at most 31 characters) for every table key.

    Names come from the short labels in :mod:`kbz_eval.report.labels` (the key itself
    when it has none); a name already taken (compared case-insensitively, as Excel
    does), including ``reserved``, gets `` (2)``, `` (3)``, ... The result depends only
    on ``keys`` (in order), ``language`` and ``reserved``.
    """
    used = {r.lower() for r in reserved}
    out: dict[str, str] = {}
    for key in keys:
        found = labels.table_label(key)
        base = _clean_sheet_name(found.short(language) if found is not None else key)
        name, i = base, 2
        while name.lower() in used:
            suffix = f" ({i})"
            name = base[: MAX_SHEET_NAME - len(suffix)].rstrip() + suffix
            i += 1
        used.add(name.lower())
        out[key] = name
    return out


def _clean_sheet_name(text: str) -> str:
    text = "".join("_" if ch in _BAD_SHEET_CHARS else ch for ch in text).strip()
    if len(text) > MAX_SHEET_NAME:
        text = text.replace(" - ", " ")
    text = text[:MAX_SHEET_NAME].rstrip().strip("'") or "_"
    return text


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (
        isinstance(value, float) and math.isnan(value))


class _Writer:
    """Formats by key (one format object per combination) and the cell writer."""

    def __init__(self, wb: Any, language: str) -> None:
        self.wb = wb
        self.language = language
        self._formats: dict[str, Any] = {}
        self.header = wb.add_format({"bold": True, "text_wrap": True, "valign": "top",
                                     "bottom": 1, "bg_color": "#E8EEF4"})
        self.wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        self.bold_top = wb.add_format({"bold": True, "valign": "top"})
        self.link = wb.add_format({"font_color": "#1F4E79", "underline": 1})

    def number(self, code: str) -> Any:
        if code not in self._formats:
            self._formats[code] = self.wb.add_format({"num_format": code})
        return self._formats[code]

    def cell(self, ws: Any, row: int, col: int, value: Any, unit: str | None) -> int:
        """Write one value; returns its display width (0 for a blank cell)."""
        if isinstance(value, np.generic):  # numpy scalars held in object columns
            value = value.item()
        if _missing(value):
            return 0
        if isinstance(value, bool):
            ws.write_boolean(row, col, value)
            return 5
        if isinstance(value, int):
            code = number_format(unit, whole=True, language=self.language)
            ws.write_number(row, col, value, self.number(code))
            return _number_width(value, code)
        if isinstance(value, float):
            whole = (math.isfinite(value) and value.is_integer()
                     and unit in labels.WHOLE_UNITS)
            if whole:
                value = int(value)
            code = number_format(unit, whole=whole, language=self.language)
            ws.write_number(row, col, value, self.number(code))
            return _number_width(value, code)
        text = str(value)
        ws.write_string(row, col, text)
        return len(text)


def _number_width(value: float | int, code: str) -> int:
    """About how many characters ``value`` takes in the format ``code``."""
    if not math.isfinite(value):
        return 6
    if code == WHOLE_FORMAT:
        return len(str(int(value)))
    if code == NUMBER_FORMATS["scientific"]:
        return 9
    decimals = len(code.rpartition(".")[2].rstrip("%\"")) if "." in code else 0
    decimals = min(decimals, 3)
    body = f"{value * (100 if code.endswith('%') else 1):,.{decimals}f}"
    return len(body) + (2 if code.startswith("€") else 0) + (1 if code.endswith("%") else 0)


def _width(header: str, cells: int) -> float:
    """A column width that fits the values and the header wrapped at about 24 characters."""
    head = min(len(header), _HEADER_WRAP)
    return float(min(max(cells, head, _WIDTH_MIN - 2) + 2, _WIDTH_MAX))


def _headers(key: str, frame: pd.DataFrame, language: str) -> list[str]:
    """The column headers in ``language``, unique within the sheet."""
    out: list[str] = []
    for col in frame.columns:
        text = labels.label(str(col), language, table=key)
        if text in out:
            text = f"{text} ({col})"
        out.append(text)
    return out


def _table_sheet(w: _Writer, ws: Any, key: str, frame: pd.DataFrame) -> None:
    headers = _headers(key, frame, w.language)
    widths = [0] * len(headers)
    for c, (col, head) in enumerate(zip(frame.columns, headers, strict=True)):
        ws.write_string(0, c, head, w.header)
        unit = labels.unit(str(col), key)
        for r, value in enumerate(frame[col].tolist(), start=1):
            widths[c] = max(widths[c], w.cell(ws, r, c, value, unit))
    for c, head in enumerate(headers):
        ws.set_column(c, c, _width(head, widths[c]))
    ws.freeze_panes(1, 0)
    if headers:
        ws.autofilter(0, 0, max(len(frame), 1), len(headers) - 1)


def _about_sheet(w: _Writer, ws: Any, about: list[tuple[str, str]]) -> None:
    lang = w.language
    ws.write_string(0, 0, labels.WORKBOOK["topic"].text(lang), w.header)
    ws.write_string(0, 1, labels.WORKBOOK["details"].text(lang), w.header)
    for r, (key, value) in enumerate(about, start=1):
        ws.write_string(r, 0, labels.about_key(key, lang), w.bold_top)
        ws.write_string(r, 1, labels.about_value(str(value), lang), w.wrap)
    ws.set_column(0, 0, 28)
    ws.set_column(1, 1, 100)
    ws.freeze_panes(1, 0)


def _link(sheet: str) -> str:
    return "internal:'" + sheet.replace("'", "''") + "'!A1"


def _contents_sheet(w: _Writer, ws: Any, about_name: str, about_rows: int,
                    tables: dict[str, pd.DataFrame], names: dict[str, str]) -> None:
    lang = w.language
    head = [labels.WORKBOOK[k].text(lang)
            for k in ("title", "sheet", "description", "rows", "key", "columns")]
    for c, text in enumerate(head):
        ws.write_string(0, c, text, w.header)
    rows: list[tuple[str, str, str, int, str, str]] = [(
        labels.WORKBOOK["about"].text(lang), about_name,
        labels.WORKBOOK["about_description"].text(lang), about_rows, "", "")]
    for key, frame in tables.items():
        found = labels.table_label(key)
        rows.append((found.text(lang) if found is not None else key, names[key],
                     found.description(lang) if found is not None else "", len(frame), key,
                     ", ".join(str(c) for c in frame.columns)))
    widths = [len(h) for h in head]
    for r, (title, sheet, description, n, key, columns) in enumerate(rows, start=1):
        ws.write_string(r, 0, title, w.wrap)
        ws.write_url(r, 1, _link(sheet), w.link, string=sheet)
        if description:
            ws.write_string(r, 2, description, w.wrap)
        ws.write_number(r, 3, n, w.number(WHOLE_FORMAT))
        if key:
            ws.write_string(r, 4, key)
        if columns:
            ws.write_string(r, 5, columns, w.wrap)
        for c, text in enumerate((title, sheet, description, str(n), key, columns)):
            widths[c] = max(widths[c], len(text))
    for c, limit in enumerate((70, 34, 60, 8, 60, 80)):
        ws.set_column(c, c, float(min(widths[c] + 2, limit)))
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, len(rows), len(head) - 1)


def write_workbook(path: Path, tables: dict[str, pd.DataFrame],
                   about: list[tuple[str, str]], *, language: str = "en") -> None:
    """Write the report workbook.

    Parameters
    ----------
    path
        The ``.xlsx`` file to write.
    tables
        Table key (``"savings_minima.tidy"``, ``"data_quality"``) → table; a sheet per
        table, in this order.
    about
        ``(key, value)`` rows of the about sheet (sources, period, suppression rule,
        version), worded in English; known keys and phrases are given in ``language``.
    language
        ``"nl"`` or ``"en"``: sheet names, headers, the contents and about sheets.
    """
    import xlsxwriter

    if language not in labels.LANGUAGES:
        raise ValueError(f"language must be one of {labels.LANGUAGES}, not {language!r}")
    contents = labels.WORKBOOK["contents"].text(language)
    about_name = labels.WORKBOOK["about"].text(language)
    names = sheet_names(list(tables), language, reserved=(contents, about_name))

    wb = xlsxwriter.Workbook(str(path), {"nan_inf_to_errors": True})
    wb.set_properties({"created": _FIXED_DATE, "author": "kbz_eval",
                       "title": "kbz_eval-rapport" if language == "nl"
                       else "kbz_eval report"})
    w = _Writer(wb, language)
    _contents_sheet(w, wb.add_worksheet(contents), about_name, len(about), tables, names)
    _about_sheet(w, wb.add_worksheet(about_name), about)
    for key, frame in tables.items():
        _table_sheet(w, wb.add_worksheet(names[key]), key, frame)
    wb.close()
