"""File formats: open a CSV/TXT, Parquet, XLSX or SPSS file as a raw table.

:func:`open_source` returns a :class:`RawTable`: the file's columns as they are (text
files: every cell a string), the row number of every row *as in the source*, and what
was detected about the file (delimiter, decimal mark, thousands mark, encoding, skipped
comment lines), each marked ``forced``, ``detected``, ``default`` or ``fallback``.
Nothing is coerced to contract types here; that is :mod:`kbz_eval.validation`'s job.

Row numbers
-----------
* CSV/TXT: the physical line number in the file, counting comment lines and the header
  (one ``#`` comment line, header on line 2: the first data row is line 3).
* XLSX: the spreadsheet row number.
* Parquet: the 1-based row index plus one, as if there were a header row (the first
  row is row 2), so the numbers read like those of a CSV export of the same table.
* SPSS: the case number SPSS shows in its Data View (the first case is 1).

Text-file rules
---------------
* Encoding: a byte-order mark decides (UTF-8 or UTF-16); otherwise strict UTF-8; if the
  bytes are not valid UTF-8 they are decoded as cp1252 (Windows-1252) and the report
  says so (``how="fallback"``). ``encoding=`` forces an encoding.
* Leading lines that are blank or start with ``#`` are skipped and counted.
* Delimiter: each of tab, ``;`` and ``,`` is tried on the first lines; a candidate
  qualifies when the header splits into at least two fields and every line into the
  same number of fields as the header. One candidate: taken. Several: the one giving
  the most columns, then the first of tab, ``;``, ``,`` (the choice is recorded). None:
  :class:`~kbz_eval.errors.SpecificationError` asking for ``delimiter=`` (typically a
  ``,``-separated file whose numbers also use ``,`` as decimal mark, unquoted).
* Decimal mark: from the cells of the mostly numeric columns. ``12,5``, ``1.234,56``
  and ``0,125`` say ``,``; ``12.5``, ``1,234.56`` and ``0.125`` say ``.``; ``1.234`` and
  ``1,234`` say nothing (thousands or decimals). Evidence for one mark decides; evidence
  for both raises ``SpecificationError`` asking for ``decimal=``; no evidence leaves the
  default: ``,`` in a ``;``-separated file (the Dutch spreadsheet convention), ``.``
  otherwise. The other mark is accepted as a thousands separator, only in groups of
  three digits (``1.234.567,8``); the report records whether one was seen.
* Missing values: empty cells and :data:`NA_TOKENS`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kbz_eval.errors import SpecificationError

#: Cell texts read as missing in text files (besides whitespace-only cells).
NA_TOKENS = ("", "NA", "N/A", "n/a", "NULL", "null", "NaN", "nan", "#N/A")

#: File suffix -> format name.
FORMATS = {
    ".csv": "csv", ".txt": "csv", ".tsv": "csv", ".tab": "csv",
    ".parquet": "parquet", ".pq": "parquet",
    ".xlsx": "xlsx", ".xlsm": "xlsx",
    ".sav": "sav", ".zsav": "sav",
}

_DELIMITERS = ("\t", ";", ",")
_SNIFF_LINES = 200
_NUMBER_SAMPLE = 5_000

_NUMERIC_LOOKING = r"[+-]?[0-9.,]*[0-9][0-9.,]*"
_COMMA_DECIMAL = (
    r"[+-]?\d+,\d{1,2}|[+-]?\d+,\d{4,}|[+-]?\d{4,},\d+|[+-]?0,\d+"
    r"|[+-]?\d{1,3}(?:\.\d{3})+,\d+|[+-]?\d{1,3}(?:\.\d{3}){2,}"
)
_DOT_DECIMAL = (
    r"[+-]?\d+\.\d{1,2}|[+-]?\d+\.\d{4,}|[+-]?\d{4,}\.\d+|[+-]?0\.\d+"
    r"|[+-]?\d{1,3}(?:,\d{3})+\.\d+|[+-]?\d{1,3}(?:,\d{3}){2,}"
)
_GROUPED = {",": r"[+-]?\d{1,3}(?:\.\d{3})+(?:,\d+)?", ".": r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?"}


@dataclass(frozen=True)
class Detected:
    """One property of a file and how it was settled.

    Attributes
    ----------
    value
        The value used (``";"``, ``","``, ``"utf-8"``, a count...).
    how
        ``"forced"`` (passed by the caller), ``"detected"`` (read from the file),
        ``"default"`` (no evidence; a documented default) or ``"fallback"`` (the
        preferred reading failed; e.g. cp1252 for bytes that are not UTF-8).
    note
        Why, when it is not obvious.
    """

    value: object
    how: str
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"value": self.value, "how": self.how, "note": self.note}


@dataclass
class RawTable:
    """A file's table as read, before mapping and coercion.

    Attributes
    ----------
    frame
        The columns as in the file (text files: strings), RangeIndex.
    row_numbers
        Source row number of every row of ``frame`` (see the module docstring).
    format
        ``"csv"``, ``"parquet"``, ``"xlsx"`` or ``"sav"``.
    detected
        What was detected, by property name.
    decimal, thousands
        Number notation of text cells (``thousands`` is ``None`` when none was seen).
    value_labels
        SPSS value labels by column (code -> label); empty for other formats.
    notes
        Decisions worth recording (blank lines skipped, user-missing codes...).
    """

    frame: pd.DataFrame
    row_numbers: np.ndarray
    format: str
    detected: dict[str, Detected] = field(default_factory=dict)
    decimal: str = "."
    thousands: str | None = None
    value_labels: dict[str, dict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def format_of(path: Path) -> str:
    """The format name of ``path`` from its suffix.

    Raises
    ------
    SpecificationError
        For a suffix kbz_eval cannot read.
    """
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise SpecificationError(
            f"{path}: cannot read files ending in {suffix or '(no suffix)'!r}; the file "
            f"must end in one of {sorted(FORMATS)}."
        )
    return FORMATS[suffix]


def open_source(
    path: Path,
    *,
    sheet: str | None = None,
    delimiter: str | None = None,
    decimal: str | None = None,
    encoding: str | None = None,
) -> RawTable:
    """Open ``path`` as a :class:`RawTable` (dispatch on the suffix).

    Raises
    ------
    SpecificationError
        For an unknown suffix, an option that does not apply to the format, a sheet
        that does not exist, or a text file whose layout cannot be settled.
    FileNotFoundError
        If ``path`` does not exist.
    """
    fmt = format_of(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    _only_for(fmt, "sheet", sheet, ("xlsx",))
    _only_for(fmt, "delimiter", delimiter, ("csv",))
    _only_for(fmt, "encoding", encoding, ("csv", "sav"))
    if decimal is not None and decimal not in (",", "."):
        raise SpecificationError(
            f"The value for `decimal` must be one of [',', '.'], but {decimal!r} was passed."
        )
    if fmt == "csv":
        return read_text(path, delimiter=delimiter, decimal=decimal, encoding=encoding)
    if fmt == "parquet":
        raw = _read_parquet(path)
    elif fmt == "xlsx":
        raw = _read_xlsx(path, sheet=sheet)
    else:
        raw = _read_sav(path, encoding=encoding)
    _set_number_format(raw, decimal, default=".", default_note="no text numbers to go by")
    return raw


def _only_for(fmt: str, name: str, value: object, formats: tuple[str, ...]) -> None:
    if value is not None and fmt not in formats:
        raise SpecificationError(
            f"`{name}` only applies to {' and '.join(formats)} files, but this is a "
            f"{fmt} file; leave `{name}` out."
        )


# ---------------------------------------------------------------------------
# CSV / TXT


def read_text(
    path: Path,
    *,
    delimiter: str | None = None,
    decimal: str | None = None,
    encoding: str | None = None,
) -> RawTable:
    """Read a delimited text file; every cell is kept as a string (see module rules)."""
    text, enc = _decode(path, path.read_bytes(), encoding)
    body_start, header_line, n_comments, n_blank = _skip_leading(text)
    body = text[body_start:]
    if not body.strip():
        raise SpecificationError(f"{path}: the file has no header line (it is empty).")
    detected = {"encoding": enc}
    detected["comment_lines"] = Detected(
        n_comments, "detected",
        f"header on line {header_line}" + (f"; {n_blank} blank line(s) before it"
                                            if n_blank else ""),
    )
    sep = _delimiter(path, body, delimiter)
    detected["delimiter"] = sep
    frame = _parse(path, body, sep.value, header_line)
    rows = _line_numbers(body, sep.value, header_line, len(frame))
    blank = frame.isna().all(axis=1).to_numpy() if frame.shape[1] else np.zeros(0, bool)
    notes = []
    if blank.any():
        notes.append(f"{int(blank.sum())} blank line(s) among the data skipped")
        frame = frame.loc[~blank].reset_index(drop=True)
        rows = rows[~blank]
    frame, dropped = _drop_empty_unnamed(frame)
    if dropped:
        notes.append(f"{dropped} unnamed empty column(s) dropped (trailing delimiters)")
    raw = RawTable(frame=frame, row_numbers=rows, format="csv", detected=detected,
                   notes=notes)
    if sep.value == ";":
        default, why = ",", "no unambiguous numbers; ',' is the decimal mark of ';'-separated files"
    else:
        default, why = ".", f"no unambiguous numbers; '.' is the default with {sep.value!r}"
    _set_number_format(raw, decimal, default=default, default_note=why)
    return raw


def _decode(path: Path, data: bytes, encoding: str | None) -> tuple[str, Detected]:
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except LookupError:
            raise SpecificationError(
                f"The value for `encoding` must be a Python codec name such as 'utf-8' or "
                f"'cp1252', but {encoding!r} was passed."
            ) from None
        except UnicodeDecodeError as exc:
            raise SpecificationError(
                f"{path}: the file is not valid {encoding} (byte {exc.start}); pass another "
                "`encoding=` or leave it out to detect it."
            ) from None
        return text.removeprefix("\ufeff"), Detected(encoding, "forced")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), Detected("utf-8-sig", "detected", "UTF-8 byte-order mark")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), Detected("utf-16", "detected", "UTF-16 byte-order mark")
    try:
        return data.decode("utf-8"), Detected("utf-8", "detected")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise SpecificationError(
            f"{path}: the file is neither UTF-8 nor cp1252; pass `encoding=` (for example "
            "'latin-1')."
        ) from None
    return text, Detected(
        "cp1252", "fallback",
        f"not valid UTF-8 (first invalid byte at offset {first_bad}); decoded as cp1252 "
        "(Windows-1252). Pass encoding= to read it otherwise.",
    )


def _skip_leading(text: str) -> tuple[int, int, int, int]:
    """Offset of the header, its line number, and the comment and blank lines before it."""
    pos = n_comments = n_blank = 0
    while pos < len(text):
        end = text.find("\n", pos)
        line = text[pos:] if end == -1 else text[pos:end]
        stripped = line.strip()
        if stripped.startswith("#"):
            n_comments += 1
        elif not stripped:
            n_blank += 1
        else:
            break
        pos = len(text) if end == -1 else end + 1
    return pos, n_comments + n_blank + 1, n_comments, n_blank


def _delimiter(path: Path, body: str, forced: str | None) -> Detected:
    if forced is not None:
        if not isinstance(forced, str) or len(forced) != 1:
            raise SpecificationError(
                f"The value for `delimiter` must be one character such as ';', ',' or "
                f"'\\t', but {forced!r} was passed."
            )
        return Detected(forced, "forced")
    lines = body.split("\n", _SNIFF_LINES)
    truncated = len(lines) > _SNIFF_LINES
    sample = "\n".join(lines[:_SNIFF_LINES])
    shapes = {}
    for cand in _DELIMITERS:
        records = list(csv.reader(io.StringIO(sample), delimiter=cand))
        if truncated and len(records) > 1:
            records = records[:-1]
        width = len(records[0]) if records else 0
        widths = {len(r) for r in records[1:] if any(f.strip() for f in r)}
        shapes[cand] = (width, widths)
    # rows may be shorter than the header (trailing empty fields left out), not longer
    good = [c for c, (w, ws) in shapes.items()
            if w >= 2 and (not ws or (max(ws) <= w and w in ws))]
    if good:
        best = max(good, key=lambda c: (shapes[c][0], -_DELIMITERS.index(c)))
        note = ""
        if len(good) > 1:
            note = (f"{' and '.join(map(repr, good))} all split the lines consistently; "
                    f"{best!r} gives the most columns (ties: tab, ';', ',' in that order)")
        return Detected(best, "detected", note)
    split = [c for c, (w, _) in shapes.items() if w >= 2]
    if split:
        c = split[0]
        w, ws = shapes[c]
        why = (f"; {c!r} may be used both as delimiter and as decimal mark"
               if max(ws) > w else "")
        raise SpecificationError(
            f"{path}: cannot tell the delimiter. With {c!r} the header has {w} fields but "
            f"other lines have {sorted(ws - {w})}{why}. Pass `delimiter=` (';', ',' or "
            "'\\t') and `decimal=` (',' or '.') to read the file."
        )
    raise SpecificationError(
        f"{path}: cannot find a delimiter: the header splits into fewer than two columns "
        "with tab, ';' and ','. Pass `delimiter=` to read the file."
    )


def _parse(path: Path, body: str, sep: str, header_line: int) -> pd.DataFrame:
    header = next(csv.reader(io.StringIO(body.split("\n", 1)[0]), delimiter=sep))
    names = [h.strip() for h in header]
    dupes = sorted({n for n in names if n and names.count(n) > 1})
    if dupes:
        raise SpecificationError(
            f"{path}: column name(s) {dupes} appear more than once in the header (line "
            f"{header_line}); give every column its own name."
        )
    try:
        frame = pd.read_csv(
            io.StringIO(body), sep=sep, dtype=str, keep_default_na=False,
            na_values=list(NA_TOKENS), skip_blank_lines=False, quotechar='"',
            engine="c",
        )
    except pd.errors.ParserError as exc:
        msg = str(exc)
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
        if found:
            expected, line, saw = (int(g) for g in found.groups())
            msg = (f"line {header_line - 1 + line} has {saw} fields but the header has "
                   f"{expected}")
        raise SpecificationError(
            f"{path}: cannot parse the file with delimiter {sep!r}: {msg}. Check the "
            "delimiter (pass `delimiter=`) and quoting."
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _line_numbers(body: str, sep: str, header_line: int, n: int) -> np.ndarray:
    """Physical line number of each parsed row (handles quoted line breaks)."""
    simple = header_line + 1 + np.arange(n, dtype=np.int64)
    if '"' not in body:
        return simple
    reader = csv.reader(io.StringIO(body), delimiter=sep)
    starts, prev = [], 0
    for _ in reader:
        starts.append(prev + 1)
        prev = reader.line_num
    starts = np.asarray(starts[1:], dtype=np.int64) + header_line - 1
    return starts if len(starts) == n else simple


def _drop_empty_unnamed(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    empty = [c for c in frame.columns
             if (not c or str(c).startswith("Unnamed: ")) and frame[c].isna().all()]
    return (frame.drop(columns=empty), len(empty)) if empty else (frame, 0)


# ---------------------------------------------------------------------------
# number notation


def _set_number_format(
    raw: RawTable, forced: str | None, *, default: str, default_note: str
) -> None:
    comma, dot, grouped = _number_evidence(raw.frame)
    if forced is not None:
        dec = Detected(forced, "forced")
    elif comma and dot:
        raise SpecificationError(
            "numbers are written both with a decimal comma (e.g. "
            f"{comma[0]!r}) and with a decimal point (e.g. {dot[0]!r}); pass `decimal=','` "
            "or `decimal='.'` to say which one the file uses."
        )
    elif comma or dot:
        example = (comma or dot)[0]
        dec = Detected("," if comma else ".", "detected", f"numbers such as {example!r}")
    else:
        dec = Detected(default, "default", default_note)
    other = "." if dec.value == "," else ","
    seen = grouped[dec.value]
    thousands = Detected(
        other if seen else None, "detected",
        (f"numbers such as {seen[0]!r}" if seen else "none seen")
        + f"; {other!r} is accepted in groups of three digits only",
    )
    raw.detected["decimal"] = dec
    raw.detected["thousands"] = thousands
    raw.decimal = str(dec.value)
    raw.thousands = thousands.value


def _number_evidence(frame: pd.DataFrame) -> tuple[list[str], list[str], dict[str, list]]:
    """Example cells proving a decimal comma, a decimal point, and thousands groups."""
    comma: list[str] = []
    dot: list[str] = []
    grouped: dict[str, list] = {",": [], ".": []}
    if frame.empty:
        return comma, dot, grouped
    take = frame
    if len(frame) > _NUMBER_SAMPLE:
        take = frame.iloc[np.linspace(0, len(frame) - 1, _NUMBER_SAMPLE).astype(np.int64)]
    for col in take.columns:
        s = take[col]
        if not (pd.api.types.is_string_dtype(s.dtype) or s.dtype == object):
            continue
        s = s.dropna()
        s = s[s.map(lambda v: isinstance(v, str))] if s.dtype == object else s
        s = s.astype("str").str.strip()
        if s.empty or s.str.fullmatch(_NUMERIC_LOOKING).mean() < 0.9:
            continue
        for pattern, out in ((_COMMA_DECIMAL, comma), (_DOT_DECIMAL, dot)):
            hits = s[s.str.fullmatch(pattern)]
            out.extend(hits.iloc[:1].tolist())
        for mark, pattern in _GROUPED.items():
            grouped[mark].extend(s[s.str.fullmatch(pattern)].iloc[:1].tolist())
    return comma, dot, grouped


# ---------------------------------------------------------------------------
# Parquet, XLSX, SPSS


def _read_parquet(path: Path) -> RawTable:
    frame = pd.read_parquet(path)
    if not isinstance(frame.index, pd.RangeIndex):
        named = any(n is not None for n in frame.index.names)
        frame = frame.reset_index(drop=not named)
    frame.columns = [str(c).strip() for c in frame.columns]
    rows = np.arange(len(frame), dtype=np.int64) + 2
    return RawTable(frame=frame, row_numbers=rows, format="parquet",
                    notes=["row numbers are the 1-based row index + 1 (as if a header)"])


def _read_xlsx(path: Path, *, sheet: str | None) -> RawTable:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        names = book.sheetnames
        if sheet is None:
            ws, used = book[names[0]], Detected(names[0], "default", "first sheet")
        elif sheet in names:
            ws, used = book[sheet], Detected(sheet, "forced")
        else:
            raise SpecificationError(
                f"The value for `sheet` must be one of {names}, but {sheet!r} was passed."
            )
        header, header_row, n_comments, records, numbers = None, 0, 0, [], []
        for number, row in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1):
            cells = ["" if v is None else v for v in row]
            if all(isinstance(v, str) and not v.strip() for v in cells):
                continue
            if header is None:
                first = next(v for v in cells if not (isinstance(v, str) and not v.strip()))
                if isinstance(first, str) and first.lstrip().startswith("#"):
                    n_comments += 1
                    continue
                header, header_row = row, number
                continue
            records.append(row)
            numbers.append(number)
    finally:
        book.close()
    if header is None:
        raise SpecificationError(f"{path}: sheet {used.value!r} is empty.")
    width = max([len(header), *map(len, records)])
    names_ = [
        f"Unnamed: {i}" if i >= len(header) or header[i] is None else str(header[i]).strip()
        for i in range(width)
    ]
    dupes = sorted({n for n in names_ if names_.count(n) > 1})
    if dupes:
        raise SpecificationError(
            f"{path}: column name(s) {dupes} appear more than once in the header (row "
            f"{header_row}); give every column its own name."
        )
    records = [tuple(r) + (None,) * (width - len(r)) for r in records]
    frame = pd.DataFrame.from_records(records, columns=names_) if records else \
        pd.DataFrame(columns=names_, dtype=object)
    frame, dropped = _drop_empty_unnamed(frame)
    detected = {
        "sheet": used,
        "comment_lines": Detected(n_comments, "detected", f"header on row {header_row}"),
    }
    notes = [f"{dropped} unnamed empty column(s) dropped"] if dropped else []
    return RawTable(frame=frame, row_numbers=np.asarray(numbers, dtype=np.int64),
                    format="xlsx", detected=detected, notes=notes)


def _read_sav(path: Path, *, encoding: str | None) -> RawTable:
    import pyreadstat

    kwargs = {"encoding": encoding} if encoding else {}
    frame, meta = pyreadstat.read_sav(
        str(path), user_missing=True, apply_value_formats=False, **kwargs
    )
    notes = []
    for col, ranges in (meta.missing_ranges or {}).items():
        if col not in frame.columns:
            continue
        s = frame[col]
        mask = np.zeros(len(s), dtype=bool)
        numeric = pd.api.types.is_numeric_dtype(s.dtype)
        for r in ranges:
            if numeric:
                mask |= ((s >= r["lo"]) & (s <= r["hi"])).to_numpy(dtype=bool, na_value=False)
            else:
                mask |= (s == r["lo"]).to_numpy(dtype=bool, na_value=False)
        if mask.any():
            frame[col] = s.mask(mask)
            notes.append(f"{int(mask.sum())} user-missing value(s) in '{col}' set to missing")
    labels = {c: dict(v) for c, v in (meta.variable_value_labels or {}).items()
              if c in frame.columns}
    enc = encoding or getattr(meta, "file_encoding", None) or "?"
    detected = {"encoding": Detected(enc, "forced" if encoding else "detected",
                                     "" if encoding else "from the file header")}
    rows = np.arange(len(frame), dtype=np.int64) + 1
    return RawTable(frame=frame, row_numbers=rows, format="sav", detected=detected,
                    value_labels=labels, notes=notes)
