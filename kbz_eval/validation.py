"""Validation of a table against its data contract in :mod:`kbz_eval.tables`.

:func:`validate` coerces every contract column to its type, checks every rule of the
contract and either raises one :class:`~kbz_eval.errors.DataValidationError` listing
*all* problems (``on_error="raise"``) or drops the offending rows and says how many and
why (``on_error="drop"``). It works on any DataFrame; :func:`kbz_eval.io.read` calls it
with the row numbers of the source file.

Rules (the ``rule`` of each :class:`~kbz_eval.errors.Violation`)
-----------------------------------------------------------------
======================  ===================================================  ==========
rule                    when                                                 level
======================  ===================================================  ==========
``missing column``      a required column (or every column of a ``one_of``   table
                        group) is absent; a did-you-mean suggestion is given
``wrong type``          a value cannot be read as the column's type          row
``number out of range`` a number too large to hold: beyond ±1.8e308 in any   row
                        column (``1e309``; also an infinite value of a
                        binary file), beyond ±2^53 in a whole-number column
                        (it could not be held exactly)
``missing value``       a missing value in a column that is not nullable     row
``negative value``      below a minimum of 0 (costs, counts)                 row
``below minimum``       below another minimum (e.g. CVG < 1, year < 2000)    row
``above maximum``       above the maximum (CVG > 10, insured_days > 366)     row
``unknown category``    not one of the contract's categories                 row
``duplicate key``       the table's key occurs more than once (every         row
                        row of a duplicated key is reported and dropped)
``foreign key``         a value is absent from the referenced table (only    row
                        checked when it is passed in ``references``)
``credit exceeds        in a table with credit notes (``claim_lines``): the  row
claim``                 distinct negative amounts of a claim exceed its
                        distinct non-negative ones by half a cent or more
                        (every row of that claim is reported and dropped);
                        a claim with credits only is allowed
======================  ===================================================  ==========

Table-level problems always raise, also with ``on_error="drop"``.

Types
-----
``str`` and ``category`` values are stripped text (a whole float such as ``101.0``
from a spreadsheet becomes ``"101"``); ``int`` and ``float`` accept numbers and text in
the file's notation (``decimal`` and ``thousands``); ``bool`` accepts booleans, 1/0 and
the words ja/nee, j/n, true/false, yes/no, y/n, waar/onwaar (any case); ``date`` accepts
dates and text in ISO form (``2015-03-01``) or Dutch day-first form (``01-03-2015``,
``1-3-2015``, also with ``/`` or ``.``); per column the form that reads most values is
used and recorded.

The result has the contract's columns first, in contract order, with these dtypes:
``str`` → ``str``; ``int`` → ``int64`` (``Int64`` when the contract allows missing
values); ``float`` → ``float64``; ``bool`` → ``bool`` (``boolean`` when nullable);
``date`` → ``datetime64[ns]``; ``category`` → ``category`` with the contract's
categories. Columns outside the contract follow, unchanged. Optional contract columns
that are absent stay absent.

The column-level rules (missing values, ranges, categories) are checked with a pandera
schema built from the contract; the contract is the only source of the rules.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from kbz_eval.errors import DataValidationError, SpecificationError, Violation
from kbz_eval.tables import (
    NETTING_TOLERANCE,
    TABLES,
    YEAR_MAX,
    YEAR_MIN,
    Column,
    Table,
    get_table,
)

OnError = Literal["raise", "drop"]
ON_ERROR: tuple[str, ...] = ("raise", "drop")

MISSING_COLUMN = "missing column"
WRONG_TYPE = "wrong type"
OUT_OF_RANGE = "number out of range"
MISSING_VALUE = "missing value"
NEGATIVE_VALUE = "negative value"
BELOW_MINIMUM = "below minimum"
ABOVE_MAXIMUM = "above maximum"
UNKNOWN_CATEGORY = "unknown category"
DUPLICATE_KEY = "duplicate key"
FOREIGN_KEY = "foreign key"
CREDIT_EXCEEDS_CLAIM = "credit exceeds claim"
#: Rules that look at several rows together (listed after the column rules).
GROUP_RULES = (DUPLICATE_KEY, FOREIGN_KEY, CREDIT_EXCEEDS_CLAIM)

#: Number of example rows (and values) kept per violation.
N_EXAMPLES = 5

#: Largest whole number a ``float64`` holds exactly; ``int`` columns refuse larger ones.
INT_LIMIT = 2**53

TRUE_WORDS = ("true", "ja", "j", "yes", "y", "1", "waar", "t")
FALSE_WORDS = ("false", "nee", "n", "no", "0", "onwaar", "f")
_BOOL_WORDS = {**dict.fromkeys(TRUE_WORDS, True), **dict.fromkeys(FALSE_WORDS, False)}

#: Text date forms tried per column: (pandas format, label recorded in the report).
DATE_FORMATS = (
    ("ISO8601", "YYYY-MM-DD (ISO 8601)"),
    ("%d-%m-%Y", "DD-MM-YYYY"),
    ("%d/%m/%Y", "DD/MM/YYYY"),
    ("%d.%m.%Y", "DD.MM.YYYY"),
)

_EXPECTED = {
    "int": "Expected a whole number",
    "float": "Expected a number",
    "bool": "Expected yes/no (ja/nee, j/n, true/false, yes/no, 1/0)",
    "date": "Expected a date (YYYY-MM-DD or DD-MM-YYYY)",
}


@dataclass
class ValidationResult:
    """What :func:`validate` returns; unpacks as ``data, violations, dropped``.

    Attributes
    ----------
    data
        The coerced table (contract columns first, in contract order).
    violations
        The row-level problems found (only non-empty with ``on_error="drop"``: with
        ``"raise"`` any problem raises).
    dropped
        Rows breaking each rule, by ``"column: rule"``; a row breaking two rules counts
        under both.
    rows_dropped
        Number of rows dropped.
    date_formats
        Text date form used per date column (``"DD-MM-YYYY"``...).
    """

    data: pd.DataFrame
    violations: list[Violation] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    rows_dropped: int = 0
    date_formats: dict[str, str] = field(default_factory=dict)

    def __iter__(self) -> Iterator[object]:
        return iter((self.data, self.violations, self.dropped))


def check_on_error(on_error: object) -> None:
    """Raise ``SpecificationError`` unless ``on_error`` is ``"raise"`` or ``"drop"``."""
    if on_error not in ON_ERROR:
        raise SpecificationError(
            f"The value for `on_error` must be one of {list(ON_ERROR)}, but {on_error!r} "
            "was passed."
        )


def validate(
    df: pd.DataFrame,
    table: str | Table,
    *,
    source: str = "<DataFrame>",
    row_numbers: Sequence[int] | np.ndarray | None = None,
    on_error: OnError = "raise",
    references: Mapping[str, pd.DataFrame] | None = None,
    decimal: str = ".",
    thousands: str | None = None,
) -> ValidationResult:
    """Coerce ``df`` to the contract of ``table`` and check every rule.

    Parameters
    ----------
    df
        The table, with contract column names (apply a mapping first). Not changed.
    table
        Contract name (see :data:`kbz_eval.tables.TABLES`) or a ``Table``.
    source
        Name of the input for messages (a file path).
    row_numbers
        Source row number of each row of ``df``, used in messages. Default: the index
        labels when the index is made of integers (so ``df.loc[row]`` finds a reported
        row), else 0-based positions.
    on_error
        ``"raise"`` raises on any problem; ``"drop"`` drops the rows that break a
        row-level rule and reports them (table-level problems still raise).
    references
        Other tables by name, for the foreign keys of ``table`` (e.g.
        ``{"practices": practices}``); a foreign key is only checked when given.
        Tables that ``table`` does not refer to are ignored, so one dict can serve
        every table of a pipeline.
    decimal, thousands
        Notation of numbers written as text. ``thousands`` is accepted only in groups of
        three digits; ``None`` means the other mark than ``decimal``, also only in
        groups of three.

    Returns
    -------
    ValidationResult
        ``data`` (coerced, index labels of the kept rows), ``violations``, ``dropped``
        (counts by ``"column: rule"``), ``rows_dropped``, ``date_formats``. It unpacks
        as ``data, violations, dropped``.

    Raises
    ------
    DataValidationError
        Listing every problem (column, rule, number of rows, first row numbers and
        values), when any is found with ``on_error="raise"``, or a table-level problem
        is found with ``on_error="drop"``.
    SpecificationError
        For an unknown table, ``on_error`` value or reference table name, or a
        reference without the referenced column.

    Notes
    -----
    The rules and types are described in the module docstring. Everything is
    vectorised; the cost is a few passes over each column.

    Examples
    --------
    >>> import pandas as pd
    >>> practices = pd.DataFrame({"practice_id": ["p1"], "city": ["Utrecht"],
    ...     "neighbourhood": ["Overvecht"], "group": ["kbz"], "kbz_start_year": [2014]})
    >>> validate(practices, "practices").data.dtypes["kbz_start_year"]
    Int64Dtype()
    """
    check_on_error(on_error)
    contract = table if isinstance(table, Table) else get_table(table)
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"`df` must be a pandas DataFrame, not {type(df).__name__}.")
    refs = _check_references(contract, references)
    if decimal not in (",", "."):
        raise SpecificationError(
            f"The value for `decimal` must be one of [',', '.'], but {decimal!r} was passed."
        )
    thousands = thousands or ("." if decimal == "," else ",")
    rows = _row_numbers(df, row_numbers)
    frame = df.copy(deep=False)  # Copy-on-Write: the caller's frame is never changed
    frame.columns = [str(c) for c in frame.columns]
    dupes = sorted(set(frame.columns[frame.columns.duplicated()]))
    if dupes:
        raise SpecificationError(
            f"{source}: column name(s) {dupes} appear more than once; give every column "
            "its own name."
        )
    frame.index = pd.RangeIndex(len(frame))

    table_level = _missing_columns(contract, list(frame.columns))
    present = [c for c in contract.columns if c.name in frame.columns]

    work: dict[str, pd.Series] = {}
    found: list[_Found] = []
    date_formats: dict[str, str] = {}
    type_bad: dict[str, np.ndarray] = {}
    for col in present:
        values, bad, too_big, fmt = _coerce(frame[col.name], col, decimal, thousands)
        work[col.name] = values
        type_bad[col.name] = bad | too_big
        if fmt:
            date_formats[col.name] = fmt
        if bad.any():
            detail = _EXPECTED[col.dtype]
            if col.dtype in ("int", "float"):
                detail += f" (decimal mark {decimal!r})"
            found.append(_Found(col.name, WRONG_TYPE, bad, frame[col.name], detail))
        if too_big.any():
            found.append(_Found(col.name, OUT_OF_RANGE, too_big, frame[col.name],
                                _RANGE_DETAIL[col.dtype]))
    work_df = pd.DataFrame(work, index=frame.index)

    found += _schema_checks(contract, present, work_df, type_bad)
    found += _key_check(contract, work_df)
    found += _foreign_key_checks(contract, work_df, refs)
    found += _netting_check(contract, work_df)
    found = [f for f in found if f.mask.any()]
    found.sort(key=lambda f: _order(contract, f))

    violations = [f.violation(rows) for f in found]
    if table_level or (violations and on_error == "raise"):
        raise DataValidationError(source, contract.name, table_level + violations)

    keep = np.ones(len(frame), dtype=bool)
    for f in found:
        keep &= ~f.mask
    dropped = {f"{f.column}: {f.rule}": int(f.mask.sum()) for f in found}
    data = _assemble(contract, present, work_df, frame, keep)
    data.index = df.index[keep]
    return ValidationResult(
        data=data, violations=violations, dropped=dropped,
        rows_dropped=int((~keep).sum()), date_formats=date_formats,
    )


# ---------------------------------------------------------------------------
# violations


@dataclass
class _Found:
    """A row-level rule broken somewhere: boolean mask over the rows plus context."""

    column: str
    rule: str
    mask: np.ndarray
    values: pd.Series
    detail: str = ""

    def violation(self, rows: np.ndarray) -> Violation:
        pos = np.flatnonzero(self.mask)[:N_EXAMPLES]
        vals = tuple(show_value(v) for v in self.values.iloc[pos])
        if self.rule == MISSING_VALUE:
            vals = ()
        return Violation(
            column=self.column, rule=self.rule, n_rows=int(self.mask.sum()),
            rows=tuple(int(r) for r in rows[pos]), values=vals, detail=self.detail,
        )


def _order(contract: Table, f: _Found) -> tuple[int, int]:
    names = contract.names
    ranks = [WRONG_TYPE, OUT_OF_RANGE, MISSING_VALUE, NEGATIVE_VALUE, BELOW_MINIMUM, ABOVE_MAXIMUM,
             UNKNOWN_CATEGORY, DUPLICATE_KEY, FOREIGN_KEY, CREDIT_EXCEEDS_CLAIM]
    first = f.column.split(" + ")[0]
    col_rank = names.index(first) if first in names else len(names)
    if f.rule in GROUP_RULES:
        col_rank += len(names)
    return col_rank, ranks.index(f.rule)


def show_value(value: object) -> str:
    """A value as it should appear in a message (``12.5``, ``3``, ``2015-03-01``)."""
    if value is None or (not isinstance(value, str) and pd.api.types.is_scalar(value)
                         and pd.isna(value)):
        return "<missing>"
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else str(value)
    return str(value)


def _missing_columns(contract: Table, columns: list[str]) -> list[Violation]:
    out = []
    spare = [c for c in columns if c not in contract.names]
    for name in contract.required:
        if name not in columns:
            out.append(Violation(name, MISSING_COLUMN, detail=_suggest([name], spare)))
    for group in contract.one_of:
        if not any(g in columns for g in group):
            out.append(Violation(
                " or ".join(group), MISSING_COLUMN,
                detail="At least one of these columns is required. " + _suggest(group, spare),
            ))
    return out


def _suggest(names: Sequence[str], spare: list[str]) -> str:
    """'Did you mean' text for absent contract columns among the file's other columns."""
    for name in names:
        same = [c for c in spare if c.strip().lower() == name.lower()]
        close = same or difflib.get_close_matches(name, spare, n=1, cutoff=0.6)
        if close:
            return (f"Not in the input; did you mean '{close[0]}'? Map it with "
                    f'[columns] {close[0]} = "{name}".')
    shown = ", ".join(f"'{c}'" for c in spare[:10]) or "none"
    return f"Not in the input (columns outside the contract: {shown})."


# ---------------------------------------------------------------------------
# coercion


def coerce_column(
    s: pd.Series, col: Column, decimal: str = ".", thousands: str | None = None
) -> tuple[pd.Series, np.ndarray, str | None]:
    """Coerce ``s`` to the type of ``col``.

    Returns
    -------
    values, bad, date_format
        The coerced values (``str``, ``Int64``, ``float64``, ``boolean`` or
        ``datetime64[ns]``; missing where a value could not be read), a boolean array
        marking values present but unreadable (numbers out of range included: see the
        ``number out of range`` rule), and the text date form used (date columns with
        text values only).
    """
    values, bad, too_big, fmt = _coerce(s, col, decimal, thousands)
    return values, bad | too_big, fmt


def _coerce(
    s: pd.Series, col: Column, decimal: str, thousands: str | None
) -> tuple[pd.Series, np.ndarray, np.ndarray, str | None]:
    """:func:`coerce_column`, with the numbers out of range marked apart."""
    thousands = thousands or ("." if decimal == "," else ",")
    too_big = np.zeros(len(s), dtype=bool)
    if col.dtype in ("str", "category"):
        values = to_text(s)
        return values, np.zeros(len(s), dtype=bool), too_big, None
    present = s.notna().to_numpy()
    fmt = None
    if col.dtype == "date":
        values, fmt = _to_date(s)
    elif col.dtype == "bool":
        values = _to_bool(s)
    else:
        values = to_number(s, decimal, thousands)
        limit = INT_LIMIT if col.dtype == "int" else np.inf
        too_big = (values.abs() >= limit).to_numpy(dtype=bool, na_value=False)
        if too_big.any():
            values = values.mask(too_big)
        if col.dtype == "int":
            whole = values.notna() & (values == np.floor(values))
            values = values.where(whole)
            values = values.round().astype("Int64")
    if pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype):
        text = to_text(s)
        present = text.notna().to_numpy()
    bad = present & values.isna().to_numpy() & ~too_big
    return values, bad, too_big, fmt


_RANGE_DETAIL = {
    "float": "The number is too large to hold (beyond ±1.8e308, or infinite); was an "
             "exponent or a cell mistyped?",
    "int": f"A whole number must be smaller in size than {INT_LIMIT:,} (2^53) to be held "
           "exactly; was an exponent or a cell mistyped?",
}


def to_text(s: pd.Series) -> pd.Series:
    """Values as stripped text (``str`` dtype); whole floats without ``.0``; '' → missing."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if pd.api.types.is_float_dtype(s.dtype):
        text = _float_text(s)
    elif pd.api.types.is_datetime64_any_dtype(s.dtype):
        text = s.dt.strftime("%Y-%m-%d").astype("str")
    elif s.dtype == object:
        kind = pd.api.types.infer_dtype(s, skipna=True)
        if kind in ("floating", "mixed-integer-float"):
            text = _float_text(pd.to_numeric(s, errors="coerce"))
        elif kind == "string" or kind == "empty":
            text = s.astype("str")
        else:
            text = s.map(_scalar_text, na_action="ignore").astype("str")
    else:
        text = s.astype("str")
    text = text.str.strip()
    return text.mask(text == "")


def _float_text(s: pd.Series) -> pd.Series:
    text = s.astype("float64").astype("str")
    return text.str.replace(r"\.0$", "", regex=True)


def _scalar_text(value: object) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, pd.Timestamp):
        return show_value(value)
    return str(value)


def to_number(s: pd.Series, decimal: str = ".", thousands: str | None = None) -> pd.Series:
    """Values as ``float64``; text read with ``decimal`` and grouped ``thousands``."""
    thousands = thousands or ("." if decimal == "," else ",")
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("float64")
    if pd.api.types.is_numeric_dtype(s.dtype):
        return pd.to_numeric(s, errors="coerce").astype("float64")
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return pd.Series(np.nan, index=s.index)
    if s.dtype == object:
        kind = pd.api.types.infer_dtype(s, skipna=True)
        if kind in ("integer", "floating", "mixed-integer-float", "decimal", "boolean"):
            return pd.to_numeric(s, errors="coerce").astype("float64")
        if kind not in ("string", "empty"):
            is_text = s.map(lambda v: isinstance(v, str), na_action="ignore")
            is_text = is_text.fillna(False).astype(bool)
            numbers = pd.to_numeric(s.where(~is_text), errors="coerce").astype("float64")
            parsed = _parse_numbers(to_text(s.where(is_text)), decimal, thousands)
            return numbers.where(~is_text, parsed)
    return _parse_numbers(to_text(s), decimal, thousands)


def _parse_numbers(text: pd.Series, decimal: str, thousands: str) -> pd.Series:
    d, t = _re_escape(decimal), _re_escape(thousands)
    pattern = (
        rf"[+-]?(?:\d+|\d{{1,3}}(?:{t}\d{{3}})+)(?:{d}\d*)?(?:[eE][+-]?\d+)?"
        rf"|[+-]?{d}\d+(?:[eE][+-]?\d+)?"
    )
    ok = text.str.fullmatch(pattern).fillna(False).astype(bool)
    plain = text.where(ok).str.replace(thousands, "", regex=False)
    if decimal != ".":
        plain = plain.str.replace(decimal, ".", regex=False)
    return pd.to_numeric(plain, errors="coerce").astype("float64")


def _re_escape(mark: str) -> str:
    return "\\" + mark if mark in ".^$*+?{}[]\\|()" else mark


def _to_bool(s: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("boolean")
    if pd.api.types.is_numeric_dtype(s.dtype):
        num = pd.to_numeric(s, errors="coerce")
        return num.map({1: True, 0: False}).astype("boolean")
    text = to_text(s).str.lower()
    return text.map(_BOOL_WORDS).astype("boolean")


def _to_date(s: pd.Series) -> tuple[pd.Series, str | None]:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_localize(None)
        return s.astype("datetime64[ns]"), None
    if not (s.dtype == object or pd.api.types.is_string_dtype(s.dtype)):
        return pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]"), None
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    is_text = pd.Series(True, index=s.index)
    if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) != "string":
        is_text = s.map(lambda v: isinstance(v, str), na_action="ignore")
        is_text = is_text.fillna(False).astype(bool)
        is_date = s.map(lambda v: hasattr(v, "year") and hasattr(v, "day"),
                        na_action="ignore").fillna(False).astype(bool)
        if is_date.any():
            out[is_date] = pd.to_datetime(s[is_date].astype(object), errors="coerce")
    text = to_text(s.where(is_text)) if is_text.any() else None
    if text is None or text.isna().all():
        return out, None
    probe = pd.Series(text.dropna().unique()[:2000])
    best, best_n = DATE_FORMATS[0], -1
    for fmt in DATE_FORMATS:
        n = pd.to_datetime(probe, format=fmt[0], errors="coerce").notna().sum()
        if n > best_n:
            best, best_n = fmt, n
    parsed = pd.to_datetime(text, format=best[0], errors="coerce")
    out = out.where(~is_text, parsed.astype("datetime64[ns]"))
    return out, best[1]


# ---------------------------------------------------------------------------
# checks


def _schema_checks(
    contract: Table, present: list[Column], work: pd.DataFrame, type_bad: dict
) -> list[_Found]:
    """Missing values, ranges and categories, checked by a pandera schema.

    A quick pass over the values comes first: when it finds no missing value where none
    is allowed and every other value within its range and categories, the schema would
    find nothing either and is not built (importing pandera alone takes about a second,
    in every process that validates).
    """
    if _surely_clean(present, work):
        return []
    import pandera.pandas as pa

    columns, rules = {}, {}
    for col in present:
        checks, col_rules = [], []
        if col.min is not None:
            checks.append(pa.Check.ge(col.min))
            rule = NEGATIVE_VALUE if col.min == 0 else BELOW_MINIMUM
            col_rules.append((rule, _range_detail(col)))
        if col.max is not None:
            checks.append(pa.Check.le(col.max))
            col_rules.append((ABOVE_MAXIMUM, _range_detail(col)))
        if col.categories:
            checks.append(pa.Check.isin(list(col.categories)))
            allowed = ", ".join(col.categories)
            col_rules.append((UNKNOWN_CATEGORY, f"Allowed: {allowed}"))
        columns[col.name] = pa.Column(None, checks=checks, nullable=col.nullable,
                                      required=False)
        rules[col.name] = col_rules
    if not columns:
        return []
    schema = pa.DataFrameSchema(columns)
    try:
        schema.validate(work, lazy=True)
        return []
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    out = []
    cases = cases[cases["index"].notna() & cases["column"].isin(list(columns))]
    for (name, number), group in cases.groupby(
        ["column", cases["check_number"].fillna(-1).astype(int)], sort=False
    ):
        mask = np.zeros(len(work), dtype=bool)
        mask[group["index"].astype(np.int64).to_numpy()] = True
        if number < 0:
            mask &= ~type_bad[name]
            out.append(_Found(name, MISSING_VALUE, mask, work[name], "The column may not "
                              "be empty"))
        else:
            rule, detail = rules[name][number]
            out.append(_Found(name, rule, mask, work[name], detail))
    return out


def _surely_clean(present: list[Column], work: pd.DataFrame) -> bool:
    """Whether no value of ``present`` can break a missing-value, range or category
    rule (as pandera checks them: on the values that are not missing).

    ``False`` only means "not sure": the schema then decides.
    """
    try:
        for col in present:
            values = work[col.name]
            missing = values.isna().to_numpy()
            if not col.nullable and missing.any():
                return False
            if col.min is None and col.max is None and not col.categories:
                continue
            kept = values[~missing] if missing.any() else values
            if col.min is not None and not bool((kept >= col.min).all()):
                return False
            if col.max is not None and not bool((kept <= col.max).all()):
                return False
            if col.categories and not bool(kept.isin(list(col.categories)).all()):
                return False
    except (TypeError, ValueError):
        return False
    return True


def _range_detail(col: Column) -> str:
    text = f"Must be {col.rule_text()}" + (f" {col.unit}" if col.unit else "")
    if col.min == YEAR_MIN and col.max == YEAR_MAX:
        text = "Implausible year. " + text
    return text


def _key_check(contract: Table, work: pd.DataFrame) -> list[_Found]:
    key = list(contract.key)
    if not key or any(k not in work.columns for k in key):
        return []
    complete = work[key].notna().all(axis=1).to_numpy()
    dup = work[key].duplicated(keep=False).to_numpy() & complete
    if not dup.any():
        return []
    label = pd.Series([""] * len(work), index=work.index, dtype="str")
    pos = np.flatnonzero(dup)[:N_EXAMPLES]
    shown = work[key].iloc[pos].map(show_value).agg(" / ".join, axis=1)
    label.iloc[pos] = shown.to_numpy()
    n_keys = int(work.loc[dup, key].drop_duplicates().shape[0])
    detail = (f"{n_keys} key value{'s' if n_keys != 1 else ''} of "
              f"{' + '.join(key)} occur more than once; the key must be unique")
    return [_Found(" + ".join(key), DUPLICATE_KEY, dup, label, detail)]


def credit_detail(n_groups: int, group: str, amount: str) -> str:
    """The detail of a ``credit exceeds claim`` violation (shared with the engine)."""
    return (f"{n_groups} {group} value{'s' if n_groups != 1 else ''} whose credit notes "
            f"(negative {amount}) exceed the debits of the same {group} by half a cent or "
            "more; a credit can only reverse what was declared (exact copies of a line "
            "count once)")


def _netting_check(contract: Table, work: pd.DataFrame) -> list[_Found]:
    """Every row of a group whose distinct credits exceed its distinct debits."""
    net = contract.netting
    if net is None or net.amount not in work.columns or net.group not in work.columns:
        return []
    amount, group = work[net.amount], work[net.group]
    if not (amount < 0).any():
        return []
    lines = work[group.notna() & amount.notna()].drop_duplicates()
    value = lines[net.amount].astype("float64")
    per = pd.DataFrame({
        "group": lines[net.group].to_numpy(),
        "debit": value.clip(lower=0).to_numpy(),
        "credit": (-value).clip(lower=0).to_numpy(),
        "has_debit": (value >= 0).to_numpy(),
    }).groupby("group", sort=False).agg(debit=("debit", "sum"), credit=("credit", "sum"),
                                        has_debit=("has_debit", "any"))
    over = per.index[per["has_debit"].to_numpy()
                     & (per["credit"] - per["debit"] >= NETTING_TOLERANCE).to_numpy()]
    if not len(over):
        return []
    mask = (group.notna() & group.isin(over)).to_numpy()
    label = pd.Series([""] * len(work), index=work.index, dtype="str")
    pos = np.flatnonzero(mask)[:N_EXAMPLES]
    shown = work[[net.group, net.amount]].iloc[pos].map(show_value).agg(" / ".join, axis=1)
    label.iloc[pos] = shown.to_numpy()
    return [_Found(net.amount, CREDIT_EXCEEDS_CLAIM, mask, label,
                   credit_detail(len(over), net.group, net.amount))]


def _check_references(
    contract: Table, references: Mapping[str, pd.DataFrame] | None
) -> dict[str, pd.DataFrame]:
    if not references:
        return {}
    for name, ref in references.items():
        if name not in TABLES:
            raise SpecificationError(
                f"The keys of `references` must be table names, one of {sorted(TABLES)}, "
                f"but {name!r} was passed."
            )
        if not isinstance(ref, pd.DataFrame):
            raise TypeError(f"references[{name!r}] must be a DataFrame, not "
                            f"{type(ref).__name__}.")
        for fk in contract.foreign_keys:
            if fk.table == name and fk.ref_column not in ref.columns:
                raise SpecificationError(
                    f"references[{name!r}] has no column '{fk.ref_column}', which "
                    f"'{contract.name}.{fk.column}' refers to."
                )
    return dict(references)


def _foreign_key_checks(
    contract: Table, work: pd.DataFrame, refs: dict[str, pd.DataFrame]
) -> list[_Found]:
    out = []
    for fk in contract.foreign_keys:
        if fk.table not in refs or fk.column not in work.columns:
            continue
        known = to_text(refs[fk.table][fk.ref_column]).dropna().unique()
        values = work[fk.column]
        mask = (values.notna() & ~values.isin(known)).to_numpy()
        n_distinct = int(values[mask].nunique())
        detail = (f"Not in the {fk.table} table ({fk.table}.{fk.ref_column}); "
                  f"{n_distinct} unknown value{'s' if n_distinct != 1 else ''}")
        out.append(_Found(fk.column, FOREIGN_KEY, mask, values, detail))
    return out


# ---------------------------------------------------------------------------
# output


def _assemble(
    contract: Table, present: list[Column], work: pd.DataFrame, frame: pd.DataFrame,
    keep: np.ndarray,
) -> pd.DataFrame:
    out = {}
    for col in present:
        out[col.name] = final_dtype(work[col.name][keep], col)
    extras = [c for c in frame.columns if c not in contract.names]
    for name in extras:
        out[name] = frame[name][keep]
    return pd.DataFrame(out).reset_index(drop=True)


def final_dtype(values: pd.Series, col: Column) -> pd.Series:
    """Cast coerced values to the dtype the contract promises (module docstring)."""
    if col.dtype == "category":
        return values.astype(pd.CategoricalDtype(list(col.categories)))
    if col.dtype == "str":
        return values.astype("str")
    if col.dtype == "int":
        if not col.nullable and values.notna().all():
            return values.astype("int64")
        return values.astype("Int64")
    if col.dtype == "bool":
        if not col.nullable and values.notna().all():
            return values.astype(bool)
        return values.astype("boolean")
    if col.dtype == "float":
        return values.astype("float64")
    return values.astype("datetime64[ns]")


def _row_numbers(df: pd.DataFrame, row_numbers: object) -> np.ndarray:
    if row_numbers is not None:
        rows = np.asarray(row_numbers, dtype=np.int64)
        if rows.shape != (len(df),):
            raise SpecificationError(
                f"`row_numbers` must have one number per row ({len(df)}), but has "
                f"{rows.size}."
            )
        return rows
    if pd.api.types.is_integer_dtype(df.index.dtype):
        return df.index.to_numpy(dtype=np.int64)
    return np.arange(len(df), dtype=np.int64)
