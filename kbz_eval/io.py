"""Read an extract into a contract table: ``kbz.read(path, table=..., mapping=...)``.

The work is done in this order, and nothing is written anywhere:

1. open the file (:mod:`kbz_eval.formats`: CSV/TXT, Parquet, XLSX, SPSS ``.sav``),
   detecting and recording the delimiter, decimal mark, encoding and comment lines;
2. the identifier guard (:func:`kbz_eval.privacy.check_identifiers`) on the raw
   columns, before anything else is done with them;
3. the mapping: rename export columns to contract names, apply SPSS value labels
   (except to columns the contract types ``int`` or ``float``, which keep their codes),
   and recode values; then the identifier guard again, on the mapped columns;
4. coercion to the contract types and validation of every rule
   (:func:`kbz_eval.validation.validate`), reporting row numbers as in the source.

A mapping is a dict or a TOML file with three optional tables::

    [columns]            # export name -> contract name
    verzekerde_id = "person_id"
    jaar = "year"
    [values.sex]         # per contract column: export code -> contract value
    V = "F"
    M = "M"
    [values.minima]
    ja = true
    nee = false
    [identifiers]        # declarations for the identifier guard (export names)
    not_bsn = ["claim_nr"]     # numbers with an eleven-test check digit, not BSNs
    free_text = ["opmerking"]  # free text checked to hold no names

Codes are matched on their text form, exactly (``1`` matches the number 1 and the text
``"1"``); values without a code pass unchanged and are then validated. A declaration in
``[identifiers]`` lifts one value rule of the guard for one column and nothing else;
the kinds (``not_bsn``, ``free_text``, ``not_birth_date``) and rules are in
:mod:`kbz_eval.privacy`. Declared names must be columns of the file.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from kbz_eval.errors import SpecificationError
from kbz_eval.formats import Detected, RawTable, open_source
from kbz_eval.privacy import Declarations, check_identifiers
from kbz_eval.tables import Table, get_table
from kbz_eval.validation import OnError, check_on_error, to_text, validate

__all__ = ["ExportMapping", "ReadReport", "ReadResult", "load_mapping", "read", "read_table"]


@dataclass(frozen=True)
class ExportMapping:
    """How an export's columns and codes translate to a contract.

    Attributes
    ----------
    columns
        Export column name -> contract column name.
    values
        Contract column name -> {export code (as text) -> contract value}.
    source
        Where the mapping came from (a file path or ``"<dict>"``).
    identifiers
        Columns (export names) declared to the identifier guard
        (:class:`kbz_eval.privacy.Declarations`).
    """

    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, object]] = field(default_factory=dict)
    source: str = "<dict>"
    identifiers: Declarations = field(default_factory=Declarations)

    def as_dict(self) -> dict[str, object]:
        return {"source": self.source, "columns": dict(self.columns),
                "values": {k: dict(v) for k, v in self.values.items()},
                "identifiers": self.identifiers.as_dict()}


@dataclass
class ReadReport:
    """What :func:`read_table` did with a file.

    Attributes
    ----------
    source, table, format
        The file, the contract and the file format (``csv``, ``parquet``, ``xlsx``,
        ``sav``).
    detected
        Delimiter, decimal mark, thousands mark, encoding, comment lines, sheet (what
        applies to the format), each with its value and whether it was ``forced``,
        ``detected``, ``default`` or a ``fallback``.
    rows_read, rows_kept, rows_dropped
        Data rows in the file, rows returned, rows dropped (``on_error="drop"``).
    dropped
        Rows breaking each rule, by ``"column: rule"`` (a row may count twice).
    drop_reasons
        One line per broken rule, with the first source rows and values.
    mapping
        The mapping applied (``None`` when none was given).
    date_formats
        Text date form used per date column.
    value_labels
        Columns whose SPSS value labels were applied.
    notes
        Other decisions worth knowing (blank lines skipped, user-missing codes...).
    """

    source: str
    table: str
    format: str
    detected: dict[str, Detected] = field(default_factory=dict)
    rows_read: int = 0
    rows_kept: int = 0
    rows_dropped: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    drop_reasons: list[str] = field(default_factory=list)
    mapping: dict[str, object] | None = None
    date_formats: dict[str, str] = field(default_factory=dict)
    value_labels: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """The report as plain data (what ``read`` stores in ``df.attrs["kbz_read"]``)."""
        return {
            "source": self.source, "table": self.table, "format": self.format,
            "detected": {k: v.as_dict() for k, v in self.detected.items()},
            "rows_read": self.rows_read, "rows_kept": self.rows_kept,
            "rows_dropped": self.rows_dropped, "dropped": dict(self.dropped),
            "drop_reasons": list(self.drop_reasons), "mapping": self.mapping,
            "date_formats": dict(self.date_formats),
            "value_labels": list(self.value_labels), "notes": list(self.notes),
        }

    def detected_items(self) -> list[tuple[str, str]]:
        """``(property, "value (how; note)")`` pairs, for printing."""
        out = []
        for key, d in self.detected.items():
            how = d.how + (f"; {d.note}" if d.note else "")
            out.append((key, f"{d.value!r} ({how})"))
        for key, fmt in self.date_formats.items():
            out.append((f"date format of '{key}'", fmt))
        return out

    def describe(self) -> str:
        """A few readable lines: rows, what was detected, what was dropped and why."""
        lines = [f"{self.source}: table '{self.table}' ({self.format}), "
                 f"{self.rows_kept:,} of {self.rows_read:,} rows kept"]
        lines += [f"  {k}: {v}" for k, v in self.detected_items()]
        if self.mapping:
            lines.append(
                f"  mapping: {self.mapping['source']} ({len(self.mapping['columns'])} "
                f"column(s) renamed, {len(self.mapping['values'])} recoded)"
            )
        if self.value_labels:
            lines.append(f"  SPSS value labels applied to: {', '.join(self.value_labels)}")
        lines += [f"  dropped: {r}" for r in self.drop_reasons]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.describe()


@dataclass
class ReadResult:
    """A read table and the report of how it was read."""

    data: pd.DataFrame
    report: ReadReport


def read(
    path: str | Path,
    table: str,
    *,
    mapping: Mapping[str, object] | str | Path | None = None,
    sheet: str | None = None,
    on_error: OnError = "raise",
    references: Mapping[str, pd.DataFrame] | None = None,
    delimiter: str | None = None,
    decimal: str | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read a file as the contract table ``table``.

    Parameters
    ----------
    path
        A ``.csv``/``.txt``/``.tsv``, ``.parquet``, ``.xlsx`` or ``.sav`` file.
    table
        Contract name, e.g. ``"person_years"`` (see :mod:`kbz_eval.tables`).
    mapping
        Dict or TOML file translating export columns and codes (module docstring).
    sheet
        XLSX only: the sheet name (default: the first sheet).
    on_error
        ``"raise"`` (default) or ``"drop"`` the rows that break a rule.
    references
        Tables for the foreign keys, e.g. ``{"practices": practices}``.
    delimiter, decimal, encoding
        Force what is otherwise detected (text files; ``decimal`` for text cells of
        any format, ``encoding`` also for SPSS).

    Returns
    -------
    pandas.DataFrame
        The contract columns in contract order and types, then any other columns. The
        read report (:meth:`ReadReport.as_dict`) is in ``df.attrs["kbz_read"]``.

    Raises
    ------
    IdentifierError
        The file holds direct identifiers (checked before anything else).
    DataValidationError
        The table breaks its contract; every problem is listed with source row numbers.
    SpecificationError
        For a bad option, an unreadable layout, or a mapping that does not fit the file.

    Notes
    -----
    Detection rules are in :mod:`kbz_eval.formats`, validation rules and output types
    in :mod:`kbz_eval.validation`. Use :func:`read_table` to get the report as an
    object.

    Examples
    --------
    >>> import kbz_eval as kbz
    >>> df = kbz.read("extract.csv", table="person_years",
    ...               mapping="mapping.toml")  # doctest: +SKIP
    >>> df.attrs["kbz_read"]["detected"]["delimiter"]  # doctest: +SKIP
    {'value': ';', 'how': 'detected', 'note': ''}
    """
    result = read_table(
        path, table, mapping=mapping, sheet=sheet, on_error=on_error,
        references=references, delimiter=delimiter, decimal=decimal, encoding=encoding,
    )
    return result.data


def read_table(
    path: str | Path,
    table: str,
    *,
    mapping: Mapping[str, object] | str | Path | None = None,
    sheet: str | None = None,
    on_error: OnError = "raise",
    references: Mapping[str, pd.DataFrame] | None = None,
    delimiter: str | None = None,
    decimal: str | None = None,
    encoding: str | None = None,
) -> ReadResult:
    """Like :func:`read`, returning the data and the :class:`ReadReport`.

    Parameters and Raises are those of :func:`read`.

    Returns
    -------
    ReadResult
        ``data`` (the DataFrame :func:`read` returns) and ``report``.
    """
    check_on_error(on_error)
    contract = get_table(table)
    path = Path(path)
    source = str(path)
    export_mapping = load_mapping(mapping)
    raw = open_source(path, sheet=sheet, delimiter=delimiter, decimal=decimal,
                      encoding=encoding)
    declared = export_mapping.identifiers if export_mapping else None
    check_identifiers(raw.frame, source=source, declared=declared)
    frame, labelled = _apply_mapping(raw, export_mapping, contract, source)
    if export_mapping is not None or labelled:
        if export_mapping is not None:  # declarations follow the renamed columns
            declared = export_mapping.identifiers.renamed(export_mapping.columns)
        check_identifiers(frame, source=source, declared=declared)
    result = validate(
        frame, contract, source=source, row_numbers=raw.row_numbers, on_error=on_error,
        references=references, decimal=raw.decimal, thousands=raw.thousands,
    )
    data = result.data.reset_index(drop=True)
    report = ReadReport(
        source=source, table=contract.name, format=raw.format, detected=raw.detected,
        rows_read=len(raw.frame), rows_kept=len(data), rows_dropped=result.rows_dropped,
        dropped=result.dropped, drop_reasons=[v.describe() for v in result.violations],
        mapping=export_mapping.as_dict() if export_mapping else None,
        date_formats=result.date_formats, value_labels=labelled, notes=list(raw.notes),
    )
    data.attrs["kbz_read"] = report.as_dict()
    return ReadResult(data=data, report=report)


# ---------------------------------------------------------------------------
# mapping


def load_mapping(mapping: Mapping[str, object] | str | Path | None) -> ExportMapping | None:
    """Read and check a mapping given as a dict or a TOML file path.

    Raises
    ------
    SpecificationError
        For a mapping that is not valid TOML, has sections other than ``columns``,
        ``values`` and ``identifiers``, maps names to non-names, or declares unknown
        kinds of identifiers.
    FileNotFoundError
        If the TOML file does not exist.
    """
    if mapping is None:
        return None
    if isinstance(mapping, ExportMapping):
        return mapping
    source = "<dict>"
    if isinstance(mapping, (str, Path)):
        source = str(mapping)
        try:
            with open(mapping, "rb") as fh:
                mapping = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise SpecificationError(f"{source}: not a valid TOML mapping: {exc}") from None
    if not isinstance(mapping, Mapping):
        raise SpecificationError(
            f"`mapping` must be a dict or the path of a TOML file, not "
            f"{type(mapping).__name__}."
        )
    unknown = sorted(set(mapping) - {"columns", "values", "identifiers"})
    if unknown:
        raise SpecificationError(
            f"{source}: unknown mapping section(s) {unknown}; a mapping has only "
            "[columns] (export name -> contract name), [values.<column>] (code -> value) "
            "and [identifiers] (declarations for the identifier guard)."
        )
    columns = mapping.get("columns", {}) or {}
    values = mapping.get("values", {}) or {}
    if not isinstance(columns, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in columns.items()
    ):
        raise SpecificationError(
            f"{source}: [columns] must map export names to contract names, both text."
        )
    if not isinstance(values, Mapping) or not all(
        isinstance(v, Mapping) for v in values.values()
    ):
        raise SpecificationError(
            f"{source}: [values] must hold one table per column, e.g. [values.sex] with "
            'V = "F".'
        )
    codes = {str(col): {_code_text(k): v for k, v in table.items()}
             for col, table in values.items()}
    identifiers = Declarations.from_mapping(mapping.get("identifiers"), source=source)
    return ExportMapping(columns={k.strip(): v.strip() for k, v in columns.items()},
                         values=codes, source=source, identifiers=identifiers)


def _code_text(code: object) -> str:
    """A code as text, as :func:`kbz_eval.validation.to_text` writes values."""
    return str(to_text(pd.Series([code], dtype=object)).iloc[0])


def _apply_mapping(
    raw: RawTable, mapping: ExportMapping | None, contract: Table, source: str
) -> tuple[pd.DataFrame, list[str]]:
    """Rename, apply SPSS value labels, recode; returns the frame and labelled columns."""
    frame = raw.frame
    renames = mapping.columns if mapping else {}
    if renames:
        _check_renames(frame, renames, contract, source)
        frame = frame.rename(columns=renames)
    labelled = []
    if raw.value_labels:
        frame = frame.copy()
        for export_name, labels in raw.value_labels.items():
            name = renames.get(export_name, export_name)
            if name in contract.names and contract.column(name).dtype in ("int", "float"):
                continue
            codes = frame[name]
            hit = codes.isin(list(labels))
            if hit.any():
                frame[name] = codes.astype(object).where(~hit, codes.map(labels))
                labelled.append(name)
    if mapping and mapping.values:
        missing = [c for c in mapping.values if c not in frame.columns]
        if missing:
            raise SpecificationError(
                f"{source}: the mapping recodes {missing}, which "
                f"{'is' if len(missing) == 1 else 'are'} not a column after renaming; "
                f"[values.<column>] uses contract names. Columns: {list(frame.columns)}."
            )
        frame = frame.copy() if not labelled else frame
        for name, codes in mapping.values.items():
            key = to_text(frame[name])
            hit = key.isin(list(codes))
            if hit.any():
                frame[name] = frame[name].astype(object).where(~hit, key.map(codes))
    return frame, labelled


def _check_renames(
    frame: pd.DataFrame, renames: dict[str, str], contract: Table, source: str
) -> None:
    columns = [str(c) for c in frame.columns]
    problems = []
    for export_name in renames:
        if export_name not in columns:
            close = difflib.get_close_matches(export_name, columns, n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"'{export_name}' is not a column of the file{hint}")
    for export_name, name in renames.items():
        if name not in contract.names:
            close = difflib.get_close_matches(name, contract.names, n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"'{export_name}' is mapped to '{name}', which is not a column "
                            f"of table '{contract.name}'{hint}")
    targets = list(renames.values())
    for name in sorted({t for t in targets if targets.count(t) > 1}):
        problems.append(f"several columns are mapped to '{name}'")
    kept = [c for c in columns if c not in renames]
    for export_name, name in renames.items():
        if name in kept:
            problems.append(f"'{export_name}' is mapped to '{name}', but the file already "
                            f"has a column '{name}'")
    if problems:
        raise SpecificationError(
            f"{source}: the mapping does not fit the file:\n"
            + "\n".join(f"  - {p}" for p in problems)
            + f"\n  The file's columns: {columns}."
        )
