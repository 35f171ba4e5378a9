"""One XLSX workbook with a sheet per table and an 'about' sheet (sources, period,
suppression rule, version), written reproducibly."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

#: Fixed document date, so the same report gives the same bytes.
_FIXED_DATE = dt.datetime(2000, 1, 1)


def _sheet_name(name: str, used: set[str]) -> str:
    base = "".join(ch if ch not in '[]:*?/\\' else "_" for ch in name)[:31]
    out, i = base, 1
    while out.lower() in used:
        suffix = f"~{i}"
        out, i = base[: 31 - len(suffix)] + suffix, i + 1
    used.add(out.lower())
    return out


def write_workbook(path: Path, tables: dict[str, pd.DataFrame],
                   about: list[tuple[str, str]]) -> None:
    """Write ``tables`` (sheet per table, in the given order) and an ``about`` sheet."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"nan_inf_to_errors": True})
    wb.set_properties({"created": _FIXED_DATE, "author": "kbz_eval", "title": "kbz_eval report"})
    bold = wb.add_format({"bold": True})
    used: set[str] = set()
    ws = wb.add_worksheet(_sheet_name("about", used))
    for r, (key, value) in enumerate(about):
        ws.write_string(r, 0, key, bold)
        ws.write_string(r, 1, value)
    ws.set_column(0, 0, 28)
    ws.set_column(1, 1, 100)
    for name, frame in tables.items():
        ws = wb.add_worksheet(_sheet_name(name, used))
        for c, col in enumerate(frame.columns):
            ws.write_string(0, c, str(col), bold)
        for r, row in enumerate(frame.itertuples(index=False), start=1):
            for c, value in enumerate(row):
                if value is None or (isinstance(value, float) and value != value) or (
                    value is pd.NA
                ):
                    continue
                if isinstance(value, (bool,)):
                    ws.write_boolean(r, c, value)
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    ws.write_number(r, c, float(value))
                else:
                    ws.write_string(r, c, str(value))
    wb.close()
