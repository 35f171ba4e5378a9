"""Validate a large extract inside the engine: the data contract checked as SQL.

:func:`check_source` does for the large claims tables (``claim_lines``,
``insured_periods``; any contract table works) what :func:`kbz_eval.io.read_table`
does with pandas, but on the engine's backend, so hundreds of millions of lines never
pass through pandas. It returns a :class:`CheckedSource`: an Ibis table of the
contract columns, renamed, recoded and typed (rows breaking a rule dropped with
``on_error="drop"``), and every :class:`~kbz_eval.errors.Violation` found, worded as
:mod:`kbz_eval.validation` words them. With ``on_error="raise"`` any problem raises one
:class:`~kbz_eval.errors.DataValidationError` listing all of them.

Steps
-----
1. The files (:func:`kbz_eval.engine.sources.resolve_files`) are opened by the backend:
   Parquet with ``read_parquet``, CSV with ``read_csv`` reading every column as text.
   Rows are counted (one pass).
2. The identifier guard (:func:`kbz_eval.privacy.check_identifiers`) runs on a sample
   of at most :data:`SAMPLE_ROWS` rows spread evenly over the input (every k-th row of
   each file), on the raw columns and, when a mapping is given, again on the mapped
   columns with the mapping's declarations.
3. The mapping renames columns and recodes values with ``CASE`` on the values' text
   form, as :mod:`kbz_eval.io` does.
4. One aggregate query (plus the grouping the key check needs) counts the rows
   breaking each rule and keeps the first ``max_rows_listed`` of them with their
   values; DuckDB keeps them with its bounded ``arg_min(..., n)``, other backends run
   one small ``ORDER BY ... LIMIT`` query per broken rule.

Rules
-----
Those of :mod:`kbz_eval.validation`, with the same rule names and details: ``missing
column`` (a required column, or every column of a ``one_of`` group, absent; always
raises), ``wrong type``, ``number out of range`` (beyond ±1.8e308 or infinite; beyond
±2^53 in whole-number columns), ``missing value``, ``negative value``, ``below
minimum``, ``above maximum``, ``unknown category``, ``duplicate key`` (every row of a
duplicated key; dropped with ``on_error="drop"``, as :mod:`kbz_eval.validation` does),
``foreign key`` (checked when the referenced table is in ``references``; it is
registered on the backend) and ``credit exceeds claim`` (a table with credit notes,
:class:`kbz_eval.tables.Netting`: every row of a claim whose distinct negative amounts
exceed its distinct non-negative ones by half a cent or more; only the claims with a
negative amount are grouped, so a clean extract without credits costs one filter
scan). Types are read as there: text stripped (an empty text is missing); numbers in
the file's notation (decimal mark, thousands mark in groups of three); yes/no words
from :data:`kbz_eval.validation.TRUE_WORDS` and ``FALSE_WORDS``; dates in ISO form or
day-first (``01-03-2015``, with ``-``, ``/`` or ``.``), the form reading most values
of the sample chosen per column.

Row numbers
-----------
* Parquet: the 1-based row index in its file plus one, as if there were a header row
  (the first row is row 2), as :mod:`kbz_eval.formats` numbers Parquet rows.
* CSV: the physical line number, assuming one line per record: the header's line
  number (after leading ``#`` comment and blank lines) plus the record's position.
  A quoted field holding a line break, or a blank line among the data (skipped by the
  reader), makes the numbers of the lines after it too low by one per extra line.
* With several files, each file numbers its own rows; the violation's detail then
  names the file of every row listed.
* On backends other than DuckDB, rows are numbered in the order the backend reads
  them, which need not be the order in the file.

CSV conventions
---------------
Delimiter (tab, ``;``, ``,``), header and comment lines are detected per file on its
first lines, as :mod:`kbz_eval.formats` does; the decimal mark from the numbers of the
sample (``,`` by default in a ``;``-separated file). Cells equal to one of
:data:`kbz_eval.formats.NA_TOKENS` are missing, and rows whose every cell is empty are
skipped. The encoding is UTF-8 when the file's first MiB is; otherwise Latin-1 (the
report says so). Line endings that change before the header, a UTF-16 file, a record
with more fields than the header and bytes not in the encoding are refused with
:class:`~kbz_eval.errors.SpecificationError`.

Differences from :func:`kbz_eval.io.read_table`
-----------------------------------------------
* Up to ``max_rows_listed`` rows are listed per rule (``read_table``: 5).
* The relation holds the contract's columns only; ``category`` columns are text and
  ``date`` columns dates (a time of day is dropped); its row order is not defined.
* The decimal mark and date forms are settled on the sample, not on the whole file;
  ISO dates with a time-zone suffix (``Z``, ``+01:00``) are not read; dates before
  1677 or after 2262 are read (pandas cannot hold them).
* The encoding is settled on the first MiB (Latin-1, not cp1252, as the fallback).
* Row numbers of CSV files, as described above; text values are listed stripped.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import itertools
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from kbz_eval import formats
from kbz_eval.engine.sources import resolve_files
from kbz_eval.errors import DataValidationError, SpecificationError, Violation
from kbz_eval.io import ExportMapping, _check_renames, load_mapping
from kbz_eval.privacy import check_identifiers
from kbz_eval.tables import NETTING_TOLERANCE, Column, Table, get_table
from kbz_eval.validation import (
    _EXPECTED,
    _RANGE_DETAIL,
    ABOVE_MAXIMUM,
    BELOW_MINIMUM,
    CREDIT_EXCEEDS_CLAIM,
    DATE_FORMATS,
    DUPLICATE_KEY,
    FALSE_WORDS,
    FOREIGN_KEY,
    GROUP_RULES,
    INT_LIMIT,
    MISSING_VALUE,
    NEGATIVE_VALUE,
    OUT_OF_RANGE,
    TRUE_WORDS,
    UNKNOWN_CATEGORY,
    WRONG_TYPE,
    _check_references,
    _missing_columns,
    _range_detail,
    check_on_error,
    credit_detail,
    show_value,
    to_text,
)

__all__ = ["CheckedSource", "SAMPLE_ROWS", "check_source"]

#: Rows the identifier guard and the detection of number and date notation look at.
SAMPLE_ROWS = 10_000

_FILE, _ROW, _POS, _DUP_N = "__kbz_file", "__kbz_row", "__kbz_pos", "__kbz_dup_n"
_CREDIT_N, _CREDIT_GROUP = "__kbz_credit_n", "__kbz_credit_group"
_SHOWN, _TEXT, _PARSED, _WRITTEN = "__kbz_shown__", "__kbz_text__", "__kbz_read__", "__kbz_num__"
_GIVEN, _BAD, _BIG = "__kbz_given__", "__kbz_bad__", "__kbz_big__"
#: Position key of a row: file index * _SHIFT + row number (rows per file < 2**40).
_SHIFT = 2**40
_HEAD_BYTES = 1 << 20
_MAX_LINE = 16 << 20
_counter = itertools.count()

_RULE_RANK = (WRONG_TYPE, OUT_OF_RANGE, MISSING_VALUE, NEGATIVE_VALUE, BELOW_MINIMUM,
              ABOVE_MAXIMUM, UNKNOWN_CATEGORY, DUPLICATE_KEY, FOREIGN_KEY,
              CREDIT_EXCEEDS_CLAIM)

_PLAIN_ISO = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_TIME = (r"(?:[T ](?:[01]?[0-9]|2[0-3])(?::[0-5]?[0-9](?::[0-5]?[0-9](?:\.[0-9]+)?)?)?)?")
#: Per date form of :data:`kbz_eval.validation.DATE_FORMATS`: (pattern, groups of
#: year, month, day); a missing group reads as 1.
_DATE_PATTERNS: dict[str, tuple[tuple[str, tuple[int | None, ...]], ...]] = {
    "ISO8601": (
        (rf"^([0-9]{{4}})[-/. ]([0-9]{{1,2}})[-/. ]([0-9]{{1,2}}){_TIME}$", (1, 2, 3)),
        (r"^([0-9]{4})([0-9]{2})([0-9]{2})$", (1, 2, 3)),
        (r"^([0-9]{4})-([0-9]{1,2})$", (1, 2, None)),
        (r"^([0-9]{4})$", (1, None, None)),
    ),
    "%d-%m-%Y": ((r"^([0-9]{1,2})-([0-9]{1,2})-([0-9]{4})$", (3, 2, 1)),),
    "%d/%m/%Y": ((r"^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$", (3, 2, 1)),),
    "%d.%m.%Y": ((r"^([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})$", (3, 2, 1)),),
}


@dataclass
class CheckedSource:
    """A source checked against its contract on the backend.

    Attributes
    ----------
    table
        Contract name (``claim_lines``, ``insured_periods``...).
    source
        The path as given, for messages.
    files
        The files read (absolute, sorted per path given).
    fmt
        ``"parquet"`` or ``"csv"``.
    relation
        Ibis table on the backend: the contract's columns present in the input,
        renamed, recoded and typed (``str`` and ``category`` as text, ``int`` as int64,
        ``float`` as float64, ``bool`` as boolean, ``date`` as date; a Parquet
        ``claim_id`` stored as integers stays integer); without the rows
        breaking a row rule when ``on_error="drop"``. It reads the files again each time
        it is executed; its row order is not defined.
    rows_read, rows_kept
        Data rows in the input, and rows in ``relation``.
    violations
        Every problem found (empty when the input is clean).
    detected
        What was settled about the input, as text: ``format``, ``files``, and for text
        files ``encoding``, ``delimiter``, ``header_line``; ``decimal``, ``thousands``;
        ``date format of '<column>'``.
    deferred_rule
        The rule left to the panel build (:data:`BUILD_CHECKED`), when
        ``defer_to_build=True`` and every other rule held; ``None`` when every rule was
        checked. The input is clean unless the build finds that rule broken (see
        :func:`check_source`).
    """

    table: str
    source: str
    files: list[str]
    fmt: str
    relation: ir.Table
    rows_read: int
    rows_kept: int
    violations: list[Violation] = field(default_factory=list)
    detected: dict[str, str] = field(default_factory=dict)
    deferred_rule: str | None = None


def check_source(
    con: Any,
    path: str | Path | Sequence[str | Path],
    table: str,
    *,
    mapping: Mapping[str, object] | str | Path | ExportMapping | None = None,
    references: Mapping[str, pd.DataFrame] | None = None,
    on_error: str = "raise",
    max_rows_listed: int = 20,
    defer_to_build: bool = False,
) -> CheckedSource:
    """Check Parquet or CSV files against the contract ``table`` on the backend ``con``.

    Parameters
    ----------
    con
        A connected Ibis backend: DuckDB (``ibis.duckdb.connect()``), or another one
        with ``read_parquet``/``read_csv`` (see the module notes on row numbers).
    path
        A file, a glob, a folder or a list of them; Parquet or CSV, not mixed.
    table
        Contract name (:data:`kbz_eval.tables.TABLES`).
    mapping
        Dict, TOML file or :class:`~kbz_eval.io.ExportMapping` translating export
        columns and codes (see :mod:`kbz_eval.io`).
    references
        Small tables for the foreign keys, e.g. ``{"practices": practices}``; each
        is registered on ``con``.
    on_error
        ``"raise"`` raises on any problem; ``"drop"`` drops the rows breaking a row
        rule from ``relation`` and reports them (a missing column still raises).
    max_rows_listed
        Rows (and values) listed per broken rule.
    defer_to_build
        Leave to the panel build the one rule of this table it finds broken itself
        (:data:`BUILD_CHECKED`): the claim lines' credit-note rule (the build nets every
        claim and counts the over-credited ones; the rule reads the lines three times
        and is about half the cost of checking claim lines) and the insured periods'
        unique person-year (the build refuses a repeated one before it starts). Only
        when every other rule holds; otherwise the input is checked again with every
        rule, so that all its problems are listed at once. The caller must check again
        without deferring when the build finds the rule broken, as the report does
        (:class:`kbz_eval.report.engine_inputs.EngineInputs`); on its own the result
        says nothing about the rule (``deferred_rule``).

    Returns
    -------
    CheckedSource

    Raises
    ------
    IdentifierError
        The sample holds direct identifiers (raw or mapped columns).
    DataValidationError
        Listing every problem with its first source rows: any problem with
        ``on_error="raise"``, a missing column with ``"drop"``.
    SpecificationError
        For a bad option, no or unreadable files, a mapping that does not fit, or a
        text file whose layout cannot be settled.

    Examples
    --------
    >>> import ibis
    >>> con = ibis.duckdb.connect()
    >>> checked = check_source(con, "claims/*.parquet", "claim_lines")  # doctest: +SKIP
    >>> checked.rows_kept, checked.relation.count().execute()  # doctest: +SKIP
    (798359, 798359)
    """
    check_on_error(on_error)
    _check_max_rows(max_rows_listed)
    contract = get_table(table)
    refs = _check_references(contract, references)
    files, fmt = resolve_files(path)
    source = str(path) if isinstance(path, (str, Path)) else ", ".join(map(str, path))
    export = load_mapping(mapping)
    opened = _open(con, files, fmt, source)
    # each Parquet file's footer, read once: rows per file (the sample), null counts
    footers = [pq.read_metadata(f) for f in files] if fmt == "parquet" else []
    rows_read, sample = _count_and_sample(con, opened, source, footers)
    mapped, notation, forms, clean = _guard_and_map(con, opened, sample, export, contract,
                                                    source)
    deferred = _deferred_rule(mapped, contract) if defer_to_build else None
    no_nulls = _parquet_no_nulls(footers, mapped) if export is None else frozenset()
    plan = _plan(con, mapped, contract, refs, notation, forms, clean, skip=deferred,
                 no_nulls=no_nulls)
    as_read = _as_read_candidates(mapped, plan, contract) if (
        fmt == "parquet" and export is None and con.name == "duckdb") else None
    with _reading(con, source):
        summary = _summarise(con, plan, max_rows_listed, changed=as_read or (),
                             n_rows=rows_read)
    found = _violations(summary, plan.rules, files, contract)
    if deferred and found:  # list every problem, the deferred rule's too
        return check_source(con, path, table, mapping=mapping, references=references,
                            on_error=on_error, max_rows_listed=max_rows_listed)
    _raise_if(found, mapped.columns, contract, source, on_error)
    relation = plan.checked.filter(~plan.bad) if found else plan.values
    if not found and as_read is not None:
        fast = _as_read_relation(con, files, source, plan, contract, summary, as_read)
        relation = relation if fast is None else fast
    return CheckedSource(
        table=contract.name, source=source, files=files, fmt=fmt,
        relation=relation.select(*[c.name for c in plan.present]),
        rows_read=rows_read, rows_kept=int(summary["n_kept"]) if found else rows_read,
        violations=found, detected=opened.detected, deferred_rule=deferred,
    )


#: The rule of a table that :func:`kbz_eval.engine.build_panel` finds broken itself
#: (``check_source(defer_to_build=True)``).
BUILD_CHECKED = {"claim_lines": CREDIT_EXCEEDS_CLAIM, "insured_periods": DUPLICATE_KEY}


def _parquet_no_nulls(footers: Sequence[pq.FileMetaData], mapped: ir.Table
                      ) -> frozenset[str]:
    """Columns stored as whole numbers, dates, timestamps or flags in every file whose
    statistics show no missing value in any row group (floats are left out: NaN, read
    as missing, is not counted as null). A file without the column, or without the
    statistics, leaves it out. ``footers``: the files' metadata (none: no column)."""
    typed = {c for c in mapped.columns if not c.startswith("__kbz_") and (
        (t := mapped[c].type()).is_integer() or t.is_date() or t.is_timestamp()
        or t.is_boolean())}
    if not footers:
        return frozenset()
    for meta in footers:
        if not typed:
            break
        where = {meta.schema.column(j).path: j for j in range(meta.num_columns)}
        for name in list(typed):
            j = where.get(name)
            if j is None:
                typed.discard(name)
                continue
            for g in range(meta.num_row_groups):
                stats = meta.row_group(g).column(j).statistics
                if stats is None or not stats.has_null_count or stats.null_count:
                    typed.discard(name)
                    break
    return frozenset(typed)


def _deferred_rule(mapped: ir.Table, contract: Table) -> str | None:
    """The table's :data:`BUILD_CHECKED` rule, when it is checked on this input (its
    columns present); else ``None``."""
    rule = BUILD_CHECKED.get(contract.name)
    if rule == CREDIT_EXCEEDS_CLAIM and contract.netting is not None:
        needed: tuple[str, ...] = (contract.netting.amount, contract.netting.group)
    elif rule == DUPLICATE_KEY and contract.key:
        needed = tuple(contract.key)
    else:
        return None
    return rule if all(c in mapped.columns for c in needed) else None


#: Text columns of a contract that are only compared for equality within their own
#: table (never joined to another table): an integer column read as such stands for its
#: text, as the text of an integer is unique.
_INTEGER_AS_TEXT = {("claim_lines", "claim_id")}


def _as_read_candidates(mapped: ir.Table, plan: _Plan, contract: Table
                        ) -> list[str] | None:
    """The columns whose reading must be checked for changes before the input can be
    used as read (see :func:`_as_read_relation`): text (stripped, emptied) and
    timestamps in date columns (a time of day); ``None`` when some column's stored type
    differs from its contract type in a way that needs the typed reading."""
    texts = []
    for col in plan.present:
        t = mapped[col.name].type()
        if col.dtype in ("str", "category"):
            if t.is_string():
                texts.append(col.name)
            elif not (t.is_integer() and (contract.name, col.name) in _INTEGER_AS_TEXT):
                return None
        elif col.dtype == "date" and t.is_timestamp():
            texts.append(col.name)
        elif not ((col.dtype == "int" and t.is_integer())
                  or (col.dtype == "float" and (t.is_floating() or t.is_integer()))
                  or (col.dtype == "date" and t.is_date())
                  or (col.dtype == "bool" and t.is_boolean())):
            return None
    return texts


def _as_read_relation(con: Any, files: list[str], source: str, plan: _Plan,
                      contract: Table, summary: dict[str, Any], texts: list[str]
                      ) -> ir.Table | None:
    """The checked input straight from its Parquet files, when reading changes nothing.

    A clean Parquet input whose columns already have their contract types (text that
    needs no stripping, whole numbers as integers, dates as dates or as timestamps at
    midnight) is handed on as
    read: without the row positions the check needs and without re-deriving every value
    through text, which makes a relation several times cheaper to scan (half the time
    of building the panel from 10 M claim lines). NaN still reads as missing.
    """
    if any(summary.get("c" + name) for name in texts):
        return None
    listed = ", ".join(_lit(f) for f in files)
    raw = _without_nan(_strip_names(_duckdb_query(
        con, f"SELECT * FROM read_parquet([{listed}], union_by_name = true)"), source))
    cols = {}
    for col in plan.present:
        value = raw[col.name]
        if col.dtype == "int":
            value = value.cast("int64")
        elif col.dtype == "float":
            value = value.cast("float64")
        elif col.dtype == "date" and value.type().is_timestamp():
            value = value.cast("date")  # no time of day (counted above)
        cols[col.name] = value
    return raw.select(**cols)


def _guard_and_map(
    con: Any, opened: _Opened, sample: pa.Table, export: ExportMapping | None,
    contract: Table, source: str,
) -> tuple[ir.Table, tuple[str, str | None], dict[str, str], set[str]]:
    """The identifier guard on the sample (raw, then mapped), the notation of numbers
    and dates, and the mapped input; also which mapped columns are clean text."""
    check_identifiers(sample.to_pandas(), source=source,
                      declared=export.identifiers if export else None)
    notation = _notation(sample, opened, source)
    apply, recoded = _mapper(sample.column_names, export, contract, source, notation[0])
    mapped_sample = apply(ibis.memtable(sample))
    if export is not None:
        check_identifiers(con.to_pyarrow(mapped_sample).to_pandas(), source=source,
                          declared=export.identifiers.renamed(export.columns))
    forms = _date_forms(con, mapped_sample, contract, opened.detected)
    opened.detected.update(decimal=notation[0], thousands=notation[1] or "none")
    mapped = apply(opened.table)
    clean = set(mapped.columns) - set(recoded) if opened.clean else set()
    return mapped, notation, forms, clean


def _raise_if(found: list[Violation], columns: Sequence[str], contract: Table, source: str,
              on_error: str) -> None:
    """Raise for a missing column, or for any problem when ``on_error="raise"``."""
    names = [c for c in columns if not c.startswith(("__kbz_", "Unnamed: "))]
    table_level = _missing_columns(contract, names)
    if table_level or (found and on_error == "raise"):
        raise DataValidationError(source, contract.name, table_level + found)


def _check_max_rows(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecificationError(
            f"`max_rows_listed` must be a positive integer, but {value!r} was passed."
        )


# ---------------------------------------------------------------------------
# opening the files


@dataclass
class _Opened:
    """The input on the backend: raw cells plus the file index and row number.

    ``base`` is as read; ``finish`` cleans it (text files: NA tokens missing, cells
    stripped, rows without values skipped; Parquet: NaN missing). ``clean`` says the
    cells are then stripped text already; ``reopen`` reads text files again serially.
    """

    base: ir.Table
    finish: Callable[[ir.Table], ir.Table]
    fmt: str
    detected: dict[str, str]
    clean: bool = False
    reopen: Callable[[], ir.Table] | None = None

    @property
    def table(self) -> ir.Table:
        return self.finish(self.base)


def _open(con: Any, files: list[str], fmt: str, source: str) -> _Opened:
    detected = {"format": fmt, "files": str(len(files))}
    if fmt == "parquet":
        return _Opened(_parquet_table(con, files, source), _without_nan, fmt, detected)
    layouts = [_csv_layout(Path(f)) for f in files]
    first = layouts[0]
    detected.update(encoding=first.encoding, delimiter=first.delimiter,
                    header_line=str(first.header_line))
    if len({(lay.encoding, lay.delimiter) for lay in layouts}) > 1:
        detected["delimiter"] = ", ".join(sorted({repr(lay.delimiter) for lay in layouts}))
        detected["encoding"] = ", ".join(sorted({lay.encoding for lay in layouts}))
    return _Opened(
        _csv_table(con, files, layouts, parallel=True),
        partial(_clean_cells, duckdb=con.name == "duckdb"), fmt, detected,
        clean=True, reopen=lambda: _csv_table(con, files, layouts, parallel=False),
    )


def _cells(table: ir.Table) -> list[str]:
    return [c for c in table.columns if c not in (_FILE, _ROW)]


def _strip_names(table: ir.Table, source: str) -> ir.Table:
    names = _cells(table)
    stripped = [c.strip() for c in names]
    if len(set(stripped)) < len(stripped):
        dupes = sorted({s for s in stripped if stripped.count(s) > 1})
        raise SpecificationError(
            f"{source}: column name(s) {dupes} appear more than once; give every column "
            "its own name."
        )
    renames = {s: c for s, c in zip(stripped, names, strict=True) if s != c}
    return table.rename(renames) if renames else table


def _parquet_table(con: Any, files: list[str], source: str) -> ir.Table:
    if con.name == "duckdb":
        listed = ", ".join(_lit(f) for f in files)
        query = (f"SELECT file_index AS {_FILE}, file_row_number + 2 AS {_ROW}, * "
                 f"FROM read_parquet([{listed}], union_by_name = true)")
        with _reading(con, source):
            table = _duckdb_query(con, query)
    else:
        parts = []
        for i, f in enumerate(files):
            part = con.read_parquet(f, table_name=f"kbz_check_{next(_counter)}")
            parts.append(part.mutate(**{_FILE: ibis.literal(i, "int64"),
                                        _ROW: ibis.row_number().cast("int64") + 2}))
        table = parts[0] if len(parts) == 1 else ibis.union(*parts)
    return _strip_names(table, source)


def _without_nan(table: ir.Table) -> ir.Table:
    """Floating-point NaN is a missing value (as pandas reads it)."""
    nan_free = {c: ibis.ifelse(table[c].isnan(), ibis.null(table[c].type()), table[c])
                for c in _cells(table) if table[c].type().is_floating()}
    return table.mutate(**nan_free) if nan_free else table


def _clean_cells(table: ir.Table, duckdb: bool = False) -> ir.Table:
    """NA tokens missing, other cells stripped (empty = missing), empty rows skipped."""
    na = formats.NA_TOKENS
    cells = _cells(table)
    table = table.mutate(**{c: ibis.ifelse(table[c].isin(na), ibis.null("string"),
                                           _text(table[c], duckdb)) for c in cells})
    return table.filter(ibis.or_(*[table[c].notnull() for c in cells]))


def _duckdb_query(con: Any, query: str) -> ir.Table:
    """``con.sql(query)`` with the schema taken from ``DESCRIBE`` (no view is made)."""
    from ibis.backends.sql.datatypes import DuckDBType

    described = con.raw_sql(f"DESCRIBE {query}").fetchall()
    schema = ibis.schema({row[0]: DuckDBType.from_string(row[1]) for row in described})
    return con.sql(query, schema=schema)


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class _Layout:
    """What the first lines of a text file say about it."""

    names: list[str]
    header_line: int
    delimiter: str
    encoding: str


def _csv_layout(path: Path) -> _Layout:
    with open(path, "rb") as fh:
        head = fh.read(_HEAD_BYTES)
    if not head.strip():
        raise SpecificationError(
            f"{path}: the file is empty; expected a header line and data rows."
        )
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise SpecificationError(
            f"{path}: the file is UTF-16; save it as UTF-8 to check it in the engine, or "
            "read it with kbz_eval.read()."
        )
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        codec, encoding = "utf-8-sig", "utf-8"
    except UnicodeDecodeError:
        codec, encoding = "latin-1", "latin-1"
    try:
        with open(path, encoding=codec, newline="") as fh:
            found = formats._read_head(fh, strip_bom=False)
    except UnicodeDecodeError as exc:
        raise SpecificationError(
            f"{path}: the file is not valid {encoding} ({exc.reason})."
        ) from None
    if found is None:
        raise SpecificationError(
            f"{path}: the file has no header line (it holds only comment and blank lines)."
        )
    lines, header_line, _, _, truncated = found
    sep = formats._delimiter(path, lines, None, truncated, header_line)
    header = next(csv.reader([lines[0]], delimiter=str(sep.value), quotechar='"'))
    names = formats._header_names(path, header, header_line)
    _check_line_ends(path, head, header_line)
    return _Layout(names, header_line, str(sep.value), encoding)


def _check_line_ends(path: Path, head: bytes, header_line: int) -> None:
    """Refuse line endings that change before the data: the reader would skip wrongly."""
    lines = head.splitlines(keepends=True)[:header_line]
    ends = {line[len(line.rstrip(b"\r\n")):] for line in lines}
    if len(ends - {b""}) > 1:
        raise SpecificationError(
            f"{path}: the lines up to the header (line {header_line}) end in different "
            "ways (\\n and \\r\\n); save the file with one kind of line ending, or read it "
            "with kbz_eval.read()."
        )


def _csv_table(con: Any, files: list[str], layouts: list[_Layout], *,
               parallel: bool) -> ir.Table:
    if con.name != "duckdb":
        return _csv_portable(con, files, layouts)
    selects = [_csv_select(i, f, lay, parallel)
               for i, (f, lay) in enumerate(zip(files, layouts, strict=True))]
    return _duckdb_query(con, " UNION ALL BY NAME ".join(selects))


def _csv_select(i: int, file: str, layout: _Layout, parallel: bool) -> str:
    columns = ", ".join(f"{_lit(n)}: 'VARCHAR'" for n in layout.names)
    return (
        f"SELECT {i} AS {_FILE}, {layout.header_line} + row_number() OVER () AS {_ROW}, * "
        f"FROM read_csv({_lit(file)}, auto_detect = false, header = false, "
        f"skip = {layout.header_line}, delim = {_lit(layout.delimiter)}, quote = '\"', "
        f"escape = '\"', columns = {{{columns}}}, null_padding = true, "
        f"max_line_size = {_MAX_LINE}, encoding = {_lit(layout.encoding)}, "
        f"parallel = {'true' if parallel else 'false'})"
    )


def _csv_portable(con: Any, files: list[str], layouts: list[_Layout]) -> ir.Table:
    parts = []
    for i, (f, lay) in enumerate(zip(files, layouts, strict=True)):
        part = con.read_csv(f, table_name=f"kbz_check_{next(_counter)}", header=True,
                            inferSchema=False, sep=lay.delimiter, comment="#")
        part = part.rename({n: c for n, c in zip(lay.names, part.columns, strict=False)})
        parts.append(part.mutate(**{
            _FILE: ibis.literal(i, "int64"),
            _ROW: ibis.row_number().cast("int64") + lay.header_line + 1,
        }))
    return parts[0] if len(parts) == 1 else ibis.union(*parts)


@contextlib.contextmanager
def _reading(con: Any, source: str) -> Iterator[None]:
    """Turn the backend's complaints about a file's contents into SpecificationError."""
    if con.name != "duckdb":
        yield
        return
    import duckdb

    try:
        yield
    except duckdb.Error as exc:
        # the reader's errors (bad quoting, encoding, too many fields, damaged files)
        # come as these; others (memory, interrupts, programming errors) pass unchanged
        readable = (duckdb.InvalidInputException, duckdb.IOException, duckdb.DataError)
        if not (type(exc) is duckdb.Error or isinstance(exc, readable)):
            raise
        detail = " ".join(str(exc).split())[:500]
        raise SpecificationError(
            f"{source}: the backend cannot read the input: {detail}"
        ) from exc


def _count_and_sample(con: Any, opened: _Opened, source: str,
                      footers: Sequence[pq.FileMetaData] = ()) -> tuple[int, pa.Table]:
    """Rows in the input, and at most SAMPLE_ROWS of them spread evenly over it.

    Parquet files on DuckDB give :data:`SAMPLE_RUNS` runs of consecutive rows at evenly
    spaced places (their row groups are found by the row numbers, so the rest is not
    read; ``footers``: the files' metadata); text files give every ``n / SAMPLE_ROWS``-th
    row.
    """
    try:
        with _reading(con, source):
            n = int(con.execute(opened.table.count()))
    except SpecificationError as exc:
        if opened.reopen is None or "parallel" not in str(exc.__cause__):
            raise
        opened.base = opened.reopen()  # quoted line breaks need the serial reader
        opened.reopen = None
        return _count_and_sample(con, opened, source, footers)
    if n == 0:
        raise SpecificationError(f"{source}: the input has no data rows.")
    base = opened.base
    if opened.fmt == "parquet" and con.name == "duckdb" and n > SAMPLE_ROWS and footers:
        chosen = _sample_runs(base, [meta.num_rows for meta in footers])
    else:
        step = max(1, math.ceil(n / SAMPLE_ROWS))
        chosen = base if step == 1 else base.filter(base[_ROW] % step == 0)
    spread = opened.finish(chosen).order_by([_FILE, _ROW])
    with _reading(con, source):
        sample = con.to_pyarrow(spread.limit(SAMPLE_ROWS))
    return n, sample.drop_columns([_FILE, _ROW])


#: Runs of consecutive rows in the sample of a Parquet input.
SAMPLE_RUNS = 20


def _sample_runs(base: ir.Table, rows_per_file: list[int]) -> ir.Table:
    """The rows of :data:`SAMPLE_RUNS` runs of ``SAMPLE_ROWS / SAMPLE_RUNS`` rows that
    start at evenly spaced places of the input (the files one after another)."""
    n = sum(rows_per_file)
    length = math.ceil(SAMPLE_ROWS / SAMPLE_RUNS)
    starts = np.cumsum([0, *rows_per_file])
    runs = []
    for j in range(SAMPLE_RUNS):
        at = j * n // SAMPLE_RUNS  # place in the input
        i = int(np.searchsorted(starts, at, side="right") - 1)
        first = int(at - starts[i]) + 2  # row numbers count the header line as 1
        runs.append((base[_FILE] == i) & base[_ROW].between(first, first + length - 1))
    return base.filter(ibis.or_(*runs))


def _notation(sample: pa.Table, opened: _Opened, source: str) -> tuple[str, str | None]:
    """Decimal and thousands marks, from the numbers written as text in the sample."""
    default, note = ".", "no text numbers to go by"
    if opened.fmt == "csv":
        sep = opened.detected["delimiter"]
        default = "," if sep == ";" else "."
        note = f"no unambiguous numbers; {default!r} is the default with {sep!r}"
    frame = sample.to_pandas()
    raw = formats.RawTable(frame=frame, row_numbers=np.arange(len(frame)), format=opened.fmt)
    formats._set_number_format(raw, None, default=default, default_note=note,
                               path=Path(source))
    return raw.decimal, raw.thousands


# ---------------------------------------------------------------------------
# mapping


def _mapper(
    columns: list[str], export: ExportMapping | None, contract: Table, source: str,
    decimal: str,
) -> tuple[Callable[[ir.Table], ir.Table], list[str]]:
    """A function renaming and recoding a table as ``export`` says, and the recoded
    columns; the mapping is checked against ``columns`` here, once."""
    if export is None:
        return (lambda t: t), []
    renames = export.columns
    if renames:
        _check_renames(pd.DataFrame(columns=columns), renames, contract, source)
    after = [renames.get(c, c) for c in columns]
    missing = [c for c in export.values if c not in after]
    if missing:
        raise SpecificationError(
            f"{source}: the mapping recodes {missing}, which "
            f"{'is' if len(missing) == 1 else 'are'} not a column after renaming; "
            f"[values.<column>] uses contract names. Columns: {after}."
        )
    codes = {}
    for name, table in export.values.items():
        numeric = name in contract.names and contract.column(name).dtype in ("int", "float")
        if table:
            codes[name] = {k: _code_text(v, decimal if numeric else ".")
                           for k, v in table.items()}

    def apply(t: ir.Table) -> ir.Table:
        if renames:
            t = t.rename({new: old for old, new in renames.items()})
        if codes:
            t = t.mutate(**{n: _text(t[n]).substitute(c, else_=_text(t[n]))
                            for n, c in codes.items()})
        return t

    return apply, list(codes)


def _code_text(value: object, decimal: str) -> str:
    """A mapped value as text: what the coercion reads as that value."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        text = str(int(value)) if value.is_integer() else repr(value)
        return text.replace(".", decimal)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


# ---------------------------------------------------------------------------
# coercion (expressions on values already written as text by _text, or typed)


@ibis.udf.scalar.builtin(name="array_extract")
def _duckdb_char(text: str, position: int) -> str:  # type: ignore[empty-body]
    """DuckDB's ``text[position]``: one character, counted from the end when negative."""


def _maybe_padded(value: ir.StringValue, duckdb: bool) -> ir.BooleanValue:
    """Whether a text may begin or end with white space: its first or last character
    sorts at or below the space (every white space character ``strip`` removes does;
    so do other control characters, which ``strip`` then leaves as they are), or it is
    empty. A superset of the padded values, cheap to test: a regular expression
    (``^\\s|\\s$``) took 2.3 × as long at 10 M claim lines. On DuckDB the characters are
    taken by index, the fastest form measured; elsewhere by ``substr``/``right``.
    """
    if duckdb:
        first, last = _duckdb_char(value, 1), _duckdb_char(value, -1)
    else:
        first, last = value.substr(0, 1), value.right(1)
    return (first <= " ") | (last <= " ")


def _text(value: ir.Value, duckdb: bool = False) -> ir.StringValue:
    """Values as stripped text, as :func:`kbz_eval.validation.to_text` writes them."""
    dtype = value.type()
    if dtype.is_string():
        # trimming is slow on some backends: only values that may need it are trimmed
        return ibis.ifelse(_maybe_padded(value, duckdb), value.strip(), value).nullif("")
    if dtype.is_boolean():
        return ibis.ifelse(value, "True", "False")
    if dtype.is_floating():
        return value.cast("string").re_replace(r"\.0$", "")
    if dtype.is_date() or dtype.is_timestamp():
        return value.strftime("%Y-%m-%d")
    return value.cast("string")


def _number_pattern(decimal: str, thousands: str) -> str:
    d, t = re.escape(decimal), re.escape(thousands)
    exp = "(?:[eE][+-]?[0-9]+)?"
    return (rf"^(?:[+-]?(?:[0-9]+|[0-9]{{1,3}}(?:{t}[0-9]{{3}})+)(?:{d}[0-9]*)?{exp}"
            rf"|[+-]?{d}[0-9]+{exp})$")


def _to_number(value: ir.Value, decimal: str, thousands: str | None
               ) -> tuple[ir.FloatingValue, ir.BooleanValue]:
    """Values as float64, and whether each is a number as written (text) or stored."""
    dtype = value.type()
    thousands = thousands or ("." if decimal == "," else ",")
    if dtype.is_boolean():
        return ibis.ifelse(value, 1.0, 0.0), value.notnull()
    if dtype.is_numeric():
        return value.cast("float64"), value.notnull()
    if not dtype.is_string():
        return ibis.null("float64"), ibis.literal(False)
    written = value.re_search(_number_pattern(decimal, thousands))
    plain = value.replace(thousands, "")
    if decimal != ".":
        plain = plain.replace(decimal, ".")
    return ibis.ifelse(written, plain.try_cast("float64"), ibis.null("float64")), written


def _to_bool(value: ir.Value) -> ir.BooleanValue:
    dtype = value.type()
    if dtype.is_boolean():
        return value
    if dtype.is_numeric():
        return ibis.cases((value == 1, True), (value == 0, False), else_=ibis.null("boolean"))
    if not dtype.is_string():
        return ibis.null("boolean")
    word = value.lower()
    return ibis.cases((word.isin(TRUE_WORDS), True), (word.isin(FALSE_WORDS), False),
                      else_=ibis.null("boolean"))


def _to_date(value: ir.Value, form: str | None) -> ir.DateValue:
    dtype = value.type()
    if dtype.is_date():
        return value
    if dtype.is_timestamp():
        return value.date()
    if not dtype.is_string():
        return ibis.null("date")
    return _parse_date(value, form or DATE_FORMATS[0][0])


def _parse_date(text: ir.StringValue, form: str) -> ir.DateValue:
    parsed = [_date_from(text, pattern, groups) for pattern, groups in _DATE_PATTERNS[form]]
    slow = parsed[0] if len(parsed) == 1 else ibis.coalesce(*parsed)
    plain, rewrite = _plain_form(form)
    return ibis.ifelse(text.re_search(plain), rewrite(text).try_cast("date"), slow)


def _plain_form(form: str) -> tuple[str, Callable[[ir.StringValue], ir.StringValue]]:
    """The zero-padded spelling of a date form, and how to write it as YYYY-MM-DD.

    Values so spelled (nearly all, in an export) take this fast path; the others go
    through the patterns of :data:`_DATE_PATTERNS`.
    """
    if form == "ISO8601":
        return _PLAIN_ISO, lambda t: t
    sep = re.escape(form[2])
    return (rf"^[0-9]{{2}}{sep}[0-9]{{2}}{sep}[0-9]{{4}}$",
            lambda t: t.substr(6, 4) + "-" + t.substr(3, 2) + "-" + t.substr(0, 2))


def _date_from(text: ir.StringValue, pattern: str, groups: tuple[int | None, ...]
               ) -> ir.DateValue:
    """Dates matching ``pattern``, written as YYYY-MM-DD and cast (invalid days: NULL)."""
    y, m, d = (ibis.literal("1") if g is None else text.re_extract(pattern, g)
               for g in groups)
    iso = y + "-" + m.lpad(2, "0") + "-" + d.lpad(2, "0")
    return ibis.ifelse(y.length() == 4, iso.try_cast("date"), ibis.null("date"))


def _date_forms(con: Any, sample: ir.Table, contract: Table,
                detected: dict[str, str]) -> dict[str, str]:
    """Per text date column, the date form reading most values of the sample."""
    names = [c.name for c in contract.columns if c.dtype == "date" and c.name in
             sample.columns and sample[c.name].type().is_string()]
    if not names:
        return {}
    metrics = {}
    for k, name in enumerate(names):
        text = _text(sample[name])
        metrics[f"n{k}"] = text.notnull().sum()
        for i, (form, _) in enumerate(DATE_FORMATS):
            metrics[f"n{k}_{i}"] = _parse_date(text, form).notnull().sum()
    row = con.to_pyarrow(sample.aggregate(**metrics)).to_pylist()[0]
    out = {}
    for k, name in enumerate(names):
        if not row[f"n{k}"]:
            continue
        counts = [row[f"n{k}_{i}"] or 0 for i in range(len(DATE_FORMATS))]
        form, label = DATE_FORMATS[int(np.argmax(counts))]
        out[name] = form
        detected[f"date format of '{name}'"] = label
    return out


# ---------------------------------------------------------------------------
# the checked table, built in stages so that every value is computed once


def _stage_text(mapped: ir.Table, present: list[Column], clean: set[str],
                duckdb: bool = False) -> ir.Table:
    """Position, the values as given (for messages), and as text where text is read."""
    cols: dict[str, ir.Value] = {_POS: mapped[_FILE].cast("int64") * _SHIFT + mapped[_ROW]}
    for col in present:
        raw = mapped[col.name]
        cols[_SHOWN + col.name] = raw
        as_text = raw.type().is_string() or col.dtype in ("str", "category")
        cols[_TEXT + col.name] = (_text(raw, duckdb) if as_text and col.name not in clean
                                  else raw)
    return mapped.select(**cols)


def _stage_parse(t: ir.Table, present: list[Column], notation: tuple[str, str | None],
                 forms: dict[str, str]) -> ir.Table:
    """Numbers (and whether written as one), dates and yes/no values read."""
    cols: dict[str, ir.Value] = {}
    for col in present:
        src = t[_TEXT + col.name]
        if col.dtype in ("int", "float"):
            cols[_PARSED + col.name], cols[_WRITTEN + col.name] = _to_number(src, *notation)
        elif col.dtype == "date":
            cols[_PARSED + col.name] = _to_date(src, forms.get(col.name))
        elif col.dtype == "bool":
            cols[_PARSED + col.name] = _to_bool(src)
    return t.mutate(**cols) if cols else t


def _stage_values(t: ir.Table, present: list[Column], no_nulls: frozenset[str] = frozenset()
                  ) -> ir.Table:
    """Typed values, and per column: given, unreadable, too large. ``no_nulls``: columns
    stored as numbers, dates or flags that the files' statistics show have no missing
    value (given in every row without a test)."""
    cols: dict[str, ir.Value] = {_POS: t[_POS]}
    for col in present:
        name, src = col.name, t[_TEXT + col.name]
        cols[_SHOWN + name] = t[_SHOWN + name]
        # a value stored as a number, date or flag is given when its text is (the text
        # of a value is never empty): testing the stored value spares writing it as text
        stored = t[_SHOWN + name]
        cols[_GIVEN + name] = ibis.literal(True) if name in no_nulls else (
            src if stored.type().is_string() else stored).notnull()
        if col.dtype in ("str", "category"):
            cols[name] = src
            continue
        parsed = t[_PARSED + name]
        if col.dtype in ("int", "float"):
            cols[name], bad, cols[_BIG + name] = _number_checks(
                parsed, t[_WRITTEN + name], col, src.notnull())
        elif src.type().is_date():  # stored as a date: read as it is, never unreadable
            cols[name], bad = parsed, ibis.literal(False)
        else:
            cols[name], bad = parsed, src.notnull() & parsed.isnull()
        cols[_BAD + name] = bad
    return t.select(**cols)


def _number_checks(number: ir.FloatingValue, written: ir.BooleanValue, col: Column,
                   given: ir.BooleanValue) -> tuple[ir.Value, ir.Value, ir.Value]:
    """The typed number, whether unreadable, and whether too large to hold."""
    limit = float(INT_LIMIT) if col.dtype == "int" else math.inf
    too_big = written & (number.isnull() | number.isinf() | (number.abs() >= limit))
    ok = number.notnull() & ~too_big
    if col.dtype == "int":
        ok = ok & (number == number.floor())
    kept = ibis.ifelse(ok, number, ibis.null("float64"))
    typed = kept.cast("int64") if col.dtype == "int" else kept
    return typed, given & ~too_big & ~ok, too_big


# ---------------------------------------------------------------------------
# rules


@dataclass
class _Rule:
    """A row rule: its flag column, the columns listed with it and its detail."""

    column: str
    rule: str
    flag: str
    shown: tuple[str, ...]
    detail: str | Callable[[float], str]
    measure: tuple[str, str] | None = None


@dataclass
class _Plan:
    """The typed values, the checked table (values and flags) and its rules."""

    values: ir.Table
    checked: ir.Table
    rules: list[_Rule]
    present: list[Column]

    @property
    def bad(self) -> ir.BooleanValue:
        flags = [self.checked[r.flag] for r in self.rules]
        return ibis.or_(*flags) if flags else ibis.literal(False)


def _plan(con: Any, mapped: ir.Table, contract: Table, refs: dict[str, pd.DataFrame],
          notation: tuple[str, str | None], forms: dict[str, str], clean: set[str],
          skip: str | None = None, no_nulls: frozenset[str] = frozenset()) -> _Plan:
    present = [c for c in contract.columns if c.name in mapped.columns]
    staged = _stage_text(mapped, present, clean, duckdb=con.name == "duckdb")
    staged = _stage_values(_stage_parse(staged, present, notation, forms), present,
                           no_nulls)
    flags: dict[str, ir.Value] = {}
    rules: list[_Rule] = []
    for col in present:
        found = _column_rules(staged, col, notation[0])
        found += _foreign_key_rules(con, staged, contract, col, refs)
        for rule, flag, shown, detail, measure in found:
            if _never(flag):  # cannot be broken: not worth a test of every row
                continue
            name = f"__kbz_f{len(rules)}"
            flags[name] = ibis.coalesce(flag, False)
            rules.append(_Rule(col.name, rule, name, shown, detail, measure))
    checked = staged.mutate(**flags) if flags else staged
    if skip != DUPLICATE_KEY:
        checked = _with_key_rule(checked, contract, rules)
    if skip != CREDIT_EXCEEDS_CLAIM:
        checked = _with_netting_rule(checked, contract, rules)
    return _Plan(staged.select(*[c.name for c in present]), checked, rules, present)


def _never(flag: ir.Value) -> bool:
    """Whether a rule's flag is the constant false (a typed date is never unreadable;
    a column without missing values is never empty)."""
    op = _defined(flag.op())
    if isinstance(op, ops.Not):  # "not given" of a column given in every row
        inner = _defined(op.arg)
        return isinstance(inner, ops.Literal) and inner.value is True
    return isinstance(op, ops.Literal) and op.value is False


def _defined(op: Any) -> Any:
    """The expression a column of a projection is defined by (``op`` otherwise)."""
    while isinstance(op, ops.Field) and isinstance(op.rel, ops.Project):
        op = op.rel.values[op.name]
    return op


def _column_rules(t: ir.Table, col: Column, decimal: str) -> list[tuple]:
    """(rule, flag, shown columns, detail, measure) of the value rules of ``col``."""
    name = col.name
    shown_raw, shown, value = (_SHOWN + name,), (name,), t[name]
    out: list[tuple] = []
    if col.dtype not in ("str", "category"):
        detail = _EXPECTED[col.dtype]
        if col.dtype in ("int", "float"):
            detail += f" (decimal mark {decimal!r})"
        out.append((WRONG_TYPE, t[_BAD + name], shown_raw, detail, None))
    if col.dtype in ("int", "float"):
        out.append((OUT_OF_RANGE, t[_BIG + name], shown_raw, _RANGE_DETAIL[col.dtype], None))
    if not col.nullable:
        out.append((MISSING_VALUE, ~t[_GIVEN + name], (), "The column may not be empty",
                    None))
    if col.min is not None:
        rule = NEGATIVE_VALUE if col.min == 0 else BELOW_MINIMUM
        out.append((rule, value < col.min, shown, _range_detail(col), None))
    if col.max is not None:
        out.append((ABOVE_MAXIMUM, value > col.max, shown, _range_detail(col), None))
    if col.categories:
        out.append((UNKNOWN_CATEGORY, value.notnull() & ~value.isin(list(col.categories)),
                    shown, f"Allowed: {', '.join(col.categories)}", None))
    return out


def _foreign_key_rules(con: Any, t: ir.Table, contract: Table, col: Column,
                       refs: dict[str, pd.DataFrame]) -> list[tuple]:
    """The foreign keys of ``col`` whose table is given; the table is put on ``con``."""
    out: list[tuple] = []
    for fk in contract.foreign_keys:
        if fk.column != col.name or fk.table not in refs:
            continue
        known = to_text(refs[fk.table][fk.ref_column]).dropna().unique()
        data = pa.table({"value": pa.array([str(v) for v in known], type=pa.string())})
        ref = con.create_view(f"kbz_ref_{fk.table}_{next(_counter)}", ibis.memtable(data),
                              overwrite=True)
        value = t[col.name]
        flag = value.notnull() & ~value.isin(ref["value"])

        def detail(n: float, fk: Any = fk) -> str:
            n = int(n)
            return (f"Not in the {fk.table} table ({fk.table}.{fk.ref_column}); "
                    f"{n} unknown value{'s' if n != 1 else ''}")

        out.append((FOREIGN_KEY, flag, (col.name,), detail, ("distinct", col.name)))
    return out


def _with_key_rule(checked: ir.Table, contract: Table, rules: list[_Rule]) -> ir.Table:
    """Flag every row of a key value that occurs more than once (complete keys only)."""
    key = list(contract.key)
    if not key or any(k not in checked.columns for k in key):
        return checked
    complete = ibis.and_(*[checked[k].notnull() for k in key])
    whole = checked.filter(complete)
    groups = whole.group_by(key).aggregate(**{_DUP_N: whole.count()})
    groups = groups.filter(groups[_DUP_N] > 1)
    groups = groups.rename({f"__kbz_k{i}": k for i, k in enumerate(key)})
    joined = checked.left_join(
        groups, [checked[k] == groups[f"__kbz_k{i}"] for i, k in enumerate(key)]
    ).select(*checked.columns, _DUP_N)
    flag = f"__kbz_f{len(rules)}"
    label = " + ".join(key)

    def detail(n: float) -> str:
        n = round(n)
        return (f"{n} key value{'s' if n != 1 else ''} of {label} occur more than once; "
                "the key must be unique")

    rules.append(_Rule(label, DUPLICATE_KEY, flag, tuple(key), detail, ("keys", _DUP_N)))
    return joined.mutate(**{flag: joined[_DUP_N].notnull()})


def _with_netting_rule(checked: ir.Table, contract: Table, rules: list[_Rule]) -> ir.Table:
    """Flag every row of a claim whose distinct credits exceed its distinct debits.

    The rule of :func:`kbz_eval.validation._netting_check`: rows with a group value and
    an amount, distinct over the contract columns present, summed per group into debits
    (amounts >= 0) and credits (minus the amounts < 0); a group with a debit whose
    credits exceed its debits by :data:`~kbz_eval.tables.NETTING_TOLERANCE` or more has
    all its rows flagged. Only groups with a negative amount are looked at.
    """
    net = contract.netting
    if net is None or net.amount not in checked.columns or net.group not in checked.columns:
        return checked
    amount, group = checked[net.amount], checked[net.group]
    columns = [c for c in contract.names if c in checked.columns]
    credited = checked.filter(group.notnull() & (amount < 0)).select(net.group).distinct()
    rows = checked.filter(group.notnull()).semi_join(credited, net.group)
    lines = rows.filter(rows[net.amount].notnull()).select(*columns).distinct()
    value = lines[net.amount]
    per = lines.group_by(net.group).aggregate(
        _debit=value.sum(where=value >= 0),
        _credit=(-value).sum(where=value < 0),
        _n_debit=lines.count(where=value >= 0),
    )
    over = per.filter((per._n_debit > 0) & (per._credit.fill_null(0.0)
                                             - per._debit.fill_null(0.0) >= NETTING_TOLERANCE))
    sizes = rows.group_by(net.group).aggregate(**{_CREDIT_N: rows.count()})
    bad = sizes.semi_join(over, net.group).rename({_CREDIT_GROUP: net.group})
    joined = checked.left_join(bad, checked[net.group] == bad[_CREDIT_GROUP]).select(
        *checked.columns, _CREDIT_N)
    flag = f"__kbz_f{len(rules)}"

    def detail(n: float) -> str:
        return credit_detail(round(n), net.group, net.amount)

    rules.append(_Rule(net.amount, CREDIT_EXCEEDS_CLAIM, flag, (net.group, net.amount),
                       detail, ("keys", _CREDIT_N)))
    return joined.mutate(**{flag: joined[_CREDIT_N].notnull()})


# ---------------------------------------------------------------------------
# summary


def _summarise(con: Any, plan: _Plan, n_listed: int, changed: Sequence[str] = (),
               n_rows: int = 0) -> dict[str, Any]:
    """Rows, rows kept, and per rule its count, first rows (and values) and measure;
    on DuckDB also, per text column in ``changed``, the rows whose value the reading
    changes (stripped or emptied: ``c<column>``). ``n_rows``: the rows read (chooses
    how a table read more than once is planned, :func:`_inline_shared`)."""
    if con.name == "duckdb":
        return _summary_sql(con, plan, n_listed, changed, n_rows)
    return _summary_portable(plan, n_listed)


def _summary_sql(con: Any, plan: _Plan, n_listed: int, changed: Sequence[str] = (),
                 n_rows: int = 0) -> dict[str, Any]:
    """Two DuckDB aggregates: the counts (and measures) of every rule over all rows, then
    the first rows of the rules that are broken, ``arg_min(..., n)`` in bounded memory.

    The first rows are gathered only when a rule is broken: building the listed values
    for every row costs as much as counting, and clean inputs need none.
    """
    bad = " OR ".join(_q(r.flag) for r in plan.rules) or "false"
    parts = ["count(*) AS n_rows", f"count(*) FILTER (WHERE NOT ({bad})) AS n_kept"]
    for i, r in enumerate(plan.rules):
        where = f"FILTER (WHERE {_q(r.flag)})"
        parts.append(f"count(*) {where} AS n{i}")
        if r.measure:
            kind, column = r.measure
            agg = (f"count(DISTINCT {_q(column)})" if kind == "distinct"
                   else f"sum(1.0 / {_q(column)})")
            parts.append(f"{agg} {where} AS m{i}")
    for name in changed:
        shown, read = _q(_SHOWN + name), _q(name)
        if plan.checked[_SHOWN + name].type().is_string():
            # reading text only strips it or empties it (to missing): it changed exactly
            # when its length in bytes did, a cheaper test than comparing the texts
            shown, read = f"strlen({shown})", f"strlen({read})"
        parts.append(f"count(*) FILTER (WHERE {shown} IS DISTINCT FROM {read}) "
                     f"AS {_q('c' + name)}")
    sql = con.compile(plan.checked)
    checked = f"({_inlined(sql) if _inline_shared(con, n_rows) else sql}) AS checked"
    out = _fetch_one(con, f"SELECT {', '.join(parts)} FROM {checked}")
    broken = [i for i, _ in enumerate(plan.rules) if out[f"n{i}"]]
    if broken:
        pos = _q(_POS)
        firsts = []
        for i in broken:
            r = plan.rules[i]
            fields = ", ".join([f"p := {pos}"] + [f"v{j} := {_q(c)}"
                                                   for j, c in enumerate(r.shown)])
            firsts.append(f"arg_min(struct_pack({fields}), {pos}, {n_listed}) "
                          f"FILTER (WHERE {_q(r.flag)}) AS first{i}")
        any_broken = " OR ".join(_q(plan.rules[i].flag) for i in broken)
        out.update(_fetch_one(con, f"SELECT {', '.join(firsts)} FROM {checked} "
                                   f"WHERE {any_broken}"))
    return out


#: A common table expression's head in SQL compiled by Ibis: ``WITH "t2" AS (SELECT``.
_CTE_HEAD = re.compile(r'(WITH |, )("[^"]+") AS \(SELECT')


#: Bytes a checked line takes when DuckDB materialises it (every typed and shown
#: column with its flags; 87 measured on the synthetic claim lines).
_CHECKED_BYTES_PER_ROW = 90
_UNITS = {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,
          "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}


def _memory_limit(con: Any) -> float:
    """DuckDB's memory limit in bytes (``inf`` when it cannot be read)."""
    try:
        text = str(con.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0])
        number, unit = text.split()
        return float(number) * _UNITS[unit]
    except Exception:  # noqa: BLE001 - an unreadable setting means: no limit known
        return math.inf


def _inline_shared(con: Any, n_rows: int) -> bool:
    """Whether to inline the checked lines rather than let DuckDB materialise them:
    when, materialised, they would take more than half the memory limit (and so be
    spilled to disk). Below that, materialising is faster (one read of the files,
    measured 1.6 × faster at 10 M lines); above it, reading again is (at 100 M lines
    with a 3 GB limit, 63 s against 86–120 s)."""
    return n_rows * _CHECKED_BYTES_PER_ROW > _memory_limit(con) / 2


def _inlined(sql: str) -> str:
    """``sql`` with every common table expression marked ``NOT MATERIALIZED``.

    The credit-note rule reads the checked lines three times (the credited claims, their
    lines, every line). DuckDB would otherwise materialise the shared expression: every
    column of every line, about 90 bytes a line, which at 100 M lines is several times
    the memory limit and is spilled to disk and read back (most of the check's time).
    Inlined, the two reads of the credit rule need only ``claim_id`` and ``cost`` and
    stream like the main one.
    """
    return _CTE_HEAD.sub(r"\1\2 AS NOT MATERIALIZED (SELECT", sql)


def _fetch_one(con: Any, query: str) -> dict[str, Any]:
    """The one row of an aggregate query, by column name."""
    cursor = con.raw_sql(query)
    row = cursor.fetchall()[0]
    return {d[0]: v for d, v in zip(cursor.description, row, strict=True)}


def _summary_portable(plan: _Plan, n_listed: int) -> dict[str, Any]:
    """The same summary as Ibis expressions: one aggregate, then one query per rule."""
    t = plan.checked
    metrics = {"n_rows": t.count(), "n_kept": t.count(where=~plan.bad)}
    for i, r in enumerate(plan.rules):
        metrics[f"n{i}"] = t.count(where=t[r.flag])
        if r.measure:
            kind, column = r.measure
            metrics[f"m{i}"] = (t[column].nunique(where=t[r.flag]) if kind == "distinct"
                                else (1.0 / t[column]).sum(where=t[r.flag]))
    out = t.aggregate(**metrics).to_pyarrow().to_pylist()[0]
    for i, r in enumerate(plan.rules):
        if not out[f"n{i}"]:
            continue
        first = t.filter(t[r.flag]).order_by(_POS).limit(n_listed)
        shown = {f"v{j}": first[c] for j, c in enumerate(r.shown)}
        out[f"first{i}"] = first.select(p=first[_POS], **shown).to_pyarrow().to_pylist()
    return out


def _violations(summary: dict[str, Any], rules: list[_Rule], files: list[str],
                contract: Table) -> list[Violation]:
    """The broken rules as violations, in the order :mod:`kbz_eval.validation` lists them."""
    labels = _file_labels(files)
    out = []
    for i, r in enumerate(rules):
        n = int(summary[f"n{i}"] or 0)
        if not n:
            continue
        first = sorted(summary[f"first{i}"] or [], key=lambda s: s["p"])
        rows = tuple(int(s["p"]) % _SHIFT for s in first)
        values = () if r.rule == MISSING_VALUE else tuple(
            " / ".join(show_value(s[f"v{j}"]) for j in range(len(r.shown))) for s in first
        )
        detail = r.detail if isinstance(r.detail, str) else r.detail(summary[f"m{i}"] or 0)
        if labels:
            where = _rows_by_file([int(s["p"]) for s in first], labels)
            detail += f". Rows listed by file: {where}"
        out.append(Violation(column=r.column, rule=r.rule, n_rows=n, rows=rows,
                             values=values, detail=detail))
    out.sort(key=lambda v: _order(contract, v))
    return out


def _file_labels(files: list[str]) -> list[str]:
    if len(files) < 2:
        return []
    root = os.path.commonpath(files)
    return [os.path.relpath(f, root) for f in files]


def _rows_by_file(positions: list[int], labels: list[str]) -> str:
    groups: dict[int, list[str]] = {}
    for p in positions:
        groups.setdefault(p // _SHIFT, []).append(str(p % _SHIFT))
    return "; ".join(f"{labels[k]}: {', '.join(rows)}" for k, rows in groups.items())


def _order(contract: Table, v: Violation) -> tuple[int, int]:
    """Contract column order, then rule order; key and foreign-key rules last."""
    names = contract.names
    first = v.column.split(" + ")[0]
    rank = names.index(first) if first in names else len(names)
    if v.rule in GROUP_RULES:
        rank += len(names)
    return rank, _RULE_RANK.index(v.rule)
