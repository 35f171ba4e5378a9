"""Inputs of the claims engine: DataFrames, files, globs and folders -> Ibis tables.

:func:`as_table` turns whatever the caller passed into an Ibis table on the engine's
backend, and :func:`normalise_claim_lines` / :func:`normalise_insured_periods` cast its
columns to the types the engine works with. Files are read by the backend itself
(``read_parquet`` / ``read_csv``), never through pandas, so inputs larger than memory
stay on disk (DuckDB streams them; Spark reads them in partitions).
"""

from __future__ import annotations

import glob as _glob
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from kbz_eval.errors import DataValidationError, SpecificationError, Violation

__all__ = [
    "as_table",
    "resolve_files",
    "normalise_claim_lines",
    "normalise_insured_periods",
    "CLAIM_COLUMNS",
    "INSURED_COLUMNS",
]

_PARQUET = (".parquet", ".pq", ".parq")
_CSV = (".csv", ".txt", ".tsv", ".csv.gz")
_counter = itertools.count()

#: Claim-line columns the engine uses: name -> Ibis type (``None`` = keep the input type).
CLAIM_COLUMNS: dict[str, str | None] = {
    "person_id": "string",
    "claim_id": None,
    "start_date": "date",
    "end_date": "date",
    "care_type": "string",
    "declaration_code": "string",
    "cost": "float64",
}
_CLAIM_REQUIRED = ("person_id", "claim_id", "start_date", "care_type", "cost")

#: Insured-period columns the engine knows, with their types; other columns pass through.
INSURED_COLUMNS: dict[str, str] = {
    "person_id": "string",
    "year": "int64",
    "practice_id": "string",
    "insured_days": "int64",
    "sex": "string",
    "birth_year": "int64",
    "age_band": "string",
    "minima": "boolean",
}
_INSURED_REQUIRED = ("person_id", "year", "practice_id", "insured_days", "sex", "minima")

Source = pd.DataFrame | pa.Table | ir.Table | str | Path | Sequence[str | Path]


def resolve_files(source: str | Path | Sequence[str | Path]) -> tuple[list[str], str]:
    """The files a path, glob, folder or list of them names, and their format.

    Parameters
    ----------
    source
        A file, a glob pattern (``*``, ``?``, ``[``), a folder (every Parquet file below
        it, or else every CSV file), or a list of these.

    Returns
    -------
    files, fmt
        Sorted absolute file names and ``"parquet"`` or ``"csv"``.

    Raises
    ------
    SpecificationError
        If nothing matches, a file has an unknown extension, or Parquet and CSV are mixed.
    """
    items = [source] if isinstance(source, (str, Path)) else list(source)
    files: list[str] = []
    for item in items:
        text = str(item)
        p = Path(text).expanduser()
        if any(ch in text for ch in "*?["):
            found = sorted(f for f in _glob.glob(str(p), recursive=True) if Path(f).is_file())
        elif p.is_dir():
            found = sorted(str(f) for f in p.rglob("*") if f.is_file() and _fmt(f) == "parquet")
            if not found:
                found = sorted(str(f) for f in p.rglob("*") if f.is_file() and _fmt(f) == "csv")
        elif p.is_file():
            found = [str(p)]
        else:
            raise SpecificationError(f"Input {text!r} does not exist (no file, folder or match).")
        if not found:
            raise SpecificationError(
                f"Input {text!r} matches no Parquet or CSV file; pass a file, a glob such as "
                "'claims/*.parquet', or a folder holding .parquet or .csv files."
            )
        files += [str(Path(f).resolve()) for f in found]
    fmts = {_fmt(Path(f)) for f in files}
    if None in fmts:
        bad = next(f for f in files if _fmt(Path(f)) is None)
        raise SpecificationError(
            f"Cannot tell the format of {bad!r}: expected one of {_PARQUET + _CSV}."
        )
    if len(fmts) > 1:
        raise SpecificationError(
            f"Input {source!r} mixes Parquet and CSV files; pass one format at a time."
        )
    return files, fmts.pop()


def _fmt(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(_PARQUET):
        return "parquet"
    if name.endswith(_CSV):
        return "csv"
    return None


def as_table(con: Any, source: Source, *, name: str) -> tuple[ir.Table, str | None]:
    """An Ibis table on backend ``con`` for a DataFrame, Arrow table, Ibis table or files.

    Parameters
    ----------
    con
        A connected Ibis backend (DuckDB or PySpark).
    source
        pandas DataFrame or pyarrow Table (registered as a view on ``con``; the
        caller's object is not changed), an Ibis table (used as is), or a path, glob,
        folder or list of them (read by the backend).
    name
        Which input this is (``claim_lines`` or ``insured_periods``), for messages and
        the registered view's name.

    Returns
    -------
    table, registered
        The Ibis table, and the name of the view registered on ``con`` for it (``None``
        for an Ibis table passed in); drop it with ``con.drop_view`` when done.

    Raises
    ------
    SpecificationError
        If ``source`` is of an unsupported type or names no readable file.
    """
    if isinstance(source, ir.Table):
        return source, None
    view = f"kbz_{name}_{next(_counter)}"
    if isinstance(source, (pd.DataFrame, pa.Table)):
        data = _arrow_from_pandas(source) if isinstance(source, pd.DataFrame) else source
        return con.create_view(view, ibis.memtable(data), overwrite=True), view
    if isinstance(source, (str, Path)) or (
        isinstance(source, Sequence) and source and all(isinstance(s, (str, Path)) for s in source)
    ):
        files, fmt = resolve_files(source)
        return _read_files(con, files, fmt, name=view), view
    raise SpecificationError(
        f"`{name}` must be a pandas DataFrame, a pyarrow Table, an Ibis table, or a path, "
        f"glob or folder of Parquet/CSV files, but a {type(source).__name__} was passed."
    )


def _arrow_from_pandas(df: pd.DataFrame) -> pa.Table:
    # categories become plain values: the engine compares them as strings
    out = {}
    for col in df.columns:
        s = df[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(s.cat.categories.dtype)
        out[str(col)] = s
    return pa.Table.from_pandas(pd.DataFrame(out, index=df.index), preserve_index=False)


#: Columns read from CSV as text whatever they look like: codes such as ``016000`` or
#: ids such as ``007`` must keep their leading zeros.
_TEXT_COLUMNS = ("person_id", "claim_id", "care_type", "declaration_code", "practice_id",
                 "sex", "age_band")


def _read_files(con: Any, files: list[str], fmt: str, *, name: str) -> ir.Table:
    if con.name == "duckdb":
        if fmt == "parquet":
            return con.read_parquet(files, table_name=name, union_by_name=True)
        table = con.read_csv(files, table_name=name, union_by_name=True)
        text = {c: "VARCHAR" for c in _TEXT_COLUMNS
                if c in table.columns and not table[c].type().is_string()}
        if text:
            table = con.read_csv(files, table_name=name, union_by_name=True, types=text)
        return table
    # backends whose readers take one path at a time: read each file and stack them;
    # CSV columns are read as text (no type guessing) and cast by the normalisation
    reader = con.read_parquet if fmt == "parquet" else con.read_csv
    kwargs = {} if fmt == "parquet" else {"header": True, "inferSchema": False}
    parts = [reader(f, table_name=f"{name}_{i}", **kwargs) for i, f in enumerate(files)]
    table = parts[0] if len(parts) == 1 else ibis.union(*parts)
    return con.create_view(name, table, overwrite=True)


def _missing(table: ir.Table, required: Sequence[str], *, name: str) -> None:
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise DataValidationError(
            source=name,
            table=name,
            violations=[
                Violation(column=c, rule="required column missing",
                          detail=f"columns present: {', '.join(table.columns)}")
                for c in missing
            ],
        )


def _has_type(value: ir.Value, typ: str) -> bool:
    return value.type().copy(nullable=True) == ibis.dtype(typ).copy(nullable=True)


def _as_date(col: ir.Value) -> ir.Value:
    dtype = col.type()
    if dtype.is_date():
        return col
    if dtype.is_timestamp():
        return col.date()
    return col.cast("date")


def normalise_claim_lines(table: ir.Table, *, need_end_date: bool = False) -> ir.Table:
    """Claim lines with the engine's columns and types.

    Parameters
    ----------
    table
        Claim lines with at least ``person_id``, ``claim_id``, ``start_date``,
        ``care_type`` and ``cost``; ``end_date`` and ``declaration_code`` are optional
        (absent = missing for every line).
    need_end_date
        Whether ``end_date`` must be present (the end-date year rule).

    Returns
    -------
    ibis.Table
        Columns ``person_id`` (string), ``claim_id`` (input type), ``start_date`` and
        ``end_date`` (date), ``care_type`` and ``declaration_code`` (string), ``cost``
        (float64), in that order; other columns are dropped.

    Raises
    ------
    DataValidationError
        If a required column is missing.
    """
    _missing(table, _CLAIM_REQUIRED + (("end_date",) if need_end_date else ()),
             name="claim_lines")
    cols = {}
    for col, typ in CLAIM_COLUMNS.items():
        if col not in table.columns:
            cols[col] = ibis.null(typ)
            continue
        value = table[col]
        if col in ("start_date", "end_date"):
            value = _as_date(value)
        elif typ is not None and not _has_type(value, typ):
            value = value.cast(typ)
        cols[col] = value
    return table.select(**cols)


def normalise_insured_periods(table: ir.Table) -> tuple[ir.Table, list[str]]:
    """Insured periods with known columns cast to their types; unknown columns kept.

    Returns
    -------
    table, extra
        The table and the names of the columns the contract does not know (kept after
        the contract's columns).

    Raises
    ------
    DataValidationError
        If a required column is missing, or neither ``birth_year`` nor ``age_band`` is
        present.
    """
    _missing(table, _INSURED_REQUIRED, name="insured_periods")
    if "birth_year" not in table.columns and "age_band" not in table.columns:
        raise DataValidationError(
            source="insured_periods", table="insured_periods",
            violations=[Violation(column="birth_year", rule="one of birth_year, age_band "
                                  "required", detail="neither column is present")],
        )
    cols = {}
    for col, typ in INSURED_COLUMNS.items():
        if col in table.columns:
            value = table[col]
            cols[col] = value if _has_type(value, typ) else value.cast(typ)
    extra = [c for c in table.columns if c not in INSURED_COLUMNS]
    for col in extra:
        cols[col] = table[col]
    return table.select(**cols), extra
