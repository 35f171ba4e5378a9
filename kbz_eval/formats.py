"""File formats: open a CSV/TXT, Parquet, XLSX or SPSS file as a raw table.

:func:`open_source` returns a :class:`RawTable`: the file's columns as they are (text
files: every cell a string), the row number of every row *as in the source*, and what
was detected about the file (delimiter, decimal mark, thousands mark, encoding, skipped
comment lines), each marked ``forced``, ``detected``, ``default`` or ``fallback``.
Nothing is coerced to contract types here; that is :mod:`kbz_eval.validation`'s job.

Row numbers
-----------
* CSV/TXT: the physical line number in the file where the record starts, counting
  comment lines and the header (one ``#`` comment line, header on line 2: the first data
  row is line 3); a quoted field with line breaks makes its record span several lines.
  A line ends at ``\\n``, ``\\r\\n`` or a lone ``\\r``.
* XLSX: the spreadsheet row number.
* Parquet: the 1-based row index plus one, as if there were a header row (the first
  row is row 2), so the numbers read like those of a CSV export of the same table.
* SPSS: the case number SPSS shows in its Data View (the first case is 1).

Text-file rules
---------------
* The file is read in blocks, never whole: one pass settles the encoding, a second
  parses the records in batches stored as Arrow text arrays. Peak memory is about twice
  the resulting table, whatever the size of the file.
* Encoding: a byte-order mark decides (UTF-8 or UTF-16; the whole file must then decode
  with it). Otherwise the file is UTF-8 when all its bytes are; when none of its bytes
  form UTF-8 characters but some are not UTF-8, it is decoded as cp1252 (Windows-1252)
  and the report says so (``how="fallback"``, shown in the data-quality table). A file
  with both UTF-8 characters and bytes that are not UTF-8 mixes encodings: it is refused
  with the line numbers of those bytes, as either reading would garble part of the text.
  ``encoding=`` forces an encoding (refused, with the line, when the file does not fit).
* Refused with the file and line: NUL bytes (a binary file, or UTF-16 without a
  byte-order mark), a line longer than 16 MiB, a quoted field that is never closed or
  text after a closing quote, a line with more fields than the header, an empty file, a
  header without data rows.
* Leading lines that are blank or start with ``#`` are skipped and counted.
* Delimiter: each of tab, ``;`` and ``,`` is tried on the first lines; a candidate
  qualifies when the header splits into at least two fields and every line into the
  same number of fields as the header. One candidate: taken. Several: the one giving
  the most columns, then the first of tab, ``;``, ``,`` (the choice is recorded). None:
  :class:`~kbz_eval.errors.SpecificationError` asking for ``delimiter=`` (typically a
  ``,``-separated file whose numbers also use ``,`` as decimal mark, unquoted).
* Lines with fewer fields than the header are read with the missing fields empty; lines
  whose every cell is empty or missing are skipped (and counted in the notes).
* Decimal mark: from the cells of the mostly numeric columns. ``12,5``, ``1.234,56``
  and ``0,125`` say ``,``; ``12.5``, ``1,234.56`` and ``0.125`` say ``.``; ``1.234`` and
  ``1,234`` say nothing (thousands or decimals). Evidence for one mark decides; evidence
  for both raises ``SpecificationError`` asking for ``decimal=``; no evidence leaves the
  default: ``,`` in a ``;``-separated file (the Dutch spreadsheet convention), ``.``
  otherwise. The other mark is accepted as a thousands separator, only in groups of
  three digits (``1.234.567,8``); the report records whether one was seen.
* Missing values: empty cells and :data:`NA_TOKENS`.

Other formats
-------------
* XLSX: cells are read as Excel stored them. A formula cell without a stored result
  (a workbook written by a program that does not calculate, e.g. openpyxl) is refused
  with its sheet, column and rows, rather than read as empty.
* A file the format's library cannot read (damaged, truncated, or named with the wrong
  ending) raises ``SpecificationError`` naming the file; so does Parquet text that is
  not valid UTF-8.
"""

from __future__ import annotations

import codecs
import csv
import gc
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import numpy as np
import pandas as pd

from kbz_eval.errors import KbzEvalError, SpecificationError

if TYPE_CHECKING:
    import pyarrow as pa

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
#: Bytes read at a time when scanning a text file.
_BLOCK = 1 << 20
#: Longest line accepted in a text file (characters or bytes).
_MAX_LINE = 16 << 20
#: Cells parsed per batch before they are stored as Arrow arrays.
_BATCH_CELLS = 100_000
#: Line numbers given as examples in a message.
_EXAMPLES = 10

#: The five bytes cp1252 leaves undefined.
_CP1252_UNDEFINED = b"\x81\x8d\x8f\x90\x9d"

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
        that does not exist, a text file whose encoding or layout cannot be settled
        (the message names the line), a formula cell without a stored result, or a file
        the format's library cannot read (damaged, truncated, misnamed). A library's own
        exception never escapes.
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
    try:
        if fmt == "parquet":
            raw = _read_parquet(path)
        elif fmt == "xlsx":
            raw = _read_xlsx(path, sheet=sheet)
        else:
            raw = _read_sav(path, encoding=encoding)
    except (KbzEvalError, MemoryError, FileNotFoundError, PermissionError,
            IsADirectoryError):
        raise
    except Exception as exc:  # a library's own error on a damaged or misnamed file
        raise _unreadable(path, fmt, exc) from exc
    _set_number_format(raw, decimal, default=".", default_note="no text numbers to go by",
                       path=path)
    return raw


_FORMAT_NAMES = {"parquet": "a Parquet file", "xlsx": "an Excel workbook (.xlsx)",
                 "sav": "an SPSS data file (.sav)"}


def _unreadable(path: Path, fmt: str, exc: Exception) -> SpecificationError:
    """The error for a file the format's library cannot read (damaged or misnamed)."""
    detail = " ".join(str(exc).split())[:300] or "no details"
    return SpecificationError(
        f"{path}: cannot read the file as {_FORMAT_NAMES[fmt]} ({type(exc).__name__}: "
        f"{detail}). The file is damaged or is not {_FORMAT_NAMES[fmt]}; save or export it "
        "again from the program that made it, with the matching file name ending."
    )


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
    """Read a delimited text file; every cell is kept as a string (see module rules).

    The file is read twice, each time in blocks of :data:`_BLOCK` bytes: once to settle
    the encoding (and to refuse NUL bytes and overlong lines), once to parse it in
    batches of rows. Peak memory is about twice the resulting table.

    Raises
    ------
    SpecificationError
        For a file whose encoding, delimiter, quoting or layout cannot be settled, or
        that holds no data rows; the message names the file and the line.
    """
    if delimiter is not None:
        _check_delimiter(delimiter)
    if path.stat().st_size == 0:
        raise SpecificationError(
            f"{path}: the file is empty (0 bytes); expected a header line and data rows."
        )
    codec, enc = _encoding(path, encoding)
    try:
        with open(path, encoding=codec, newline="") as fh:
            head = _read_head(fh, strip_bom=enc.how == "forced")
            if head is None:
                raise SpecificationError(
                    f"{path}: the file has no header line (it is empty or holds only "
                    "comment and blank lines)."
                )
            lines, header_line, n_comments, n_blank, truncated = head
            sep = _delimiter(path, lines, delimiter, truncated, header_line)
            frame, rows, n_blank_rows = _parse(
                path, itertools.chain(lines, fh), sep.value, header_line,
                lambda: _reopen(path, codec, header_line),
            )
    except UnicodeDecodeError as exc:  # the encoding scan makes this unexpected
        raise SpecificationError(
            f"{path}: the file is not valid {codec} ({exc.reason}); pass `encoding=`."
        ) from None
    detected = {"encoding": enc}
    detected["comment_lines"] = Detected(
        n_comments, "detected",
        f"header on line {header_line}" + (f"; {n_blank} blank line(s) before it"
                                            if n_blank else ""),
    )
    detected["delimiter"] = sep
    notes = []
    if n_blank_rows:
        notes.append(f"{n_blank_rows} blank line(s) among the data skipped")
    frame, dropped = _drop_empty_unnamed(frame)
    if dropped:
        notes.append(f"{dropped} unnamed empty column(s) dropped (trailing delimiters)")
    raw = RawTable(frame=frame, row_numbers=rows, format="csv", detected=detected,
                   notes=notes)
    if sep.value == ";":
        default, why = ",", "no unambiguous numbers; ',' is the decimal mark of ';'-separated files"
    else:
        default, why = ".", f"no unambiguous numbers; '.' is the default with {sep.value!r}"
    _set_number_format(raw, decimal, default=default, default_note=why, path=path)
    return raw


# --- encoding ---------------------------------------------------------------------


@dataclass
class _Scan:
    """What a pass over the raw bytes found (line numbers are 1-based, physical)."""

    bad: int = 0
    bad_lines: list[int] = field(default_factory=list)
    first_bad: int | None = None
    utf8_line: int | None = None
    nul_lines: list[int] = field(default_factory=list)
    cp1252_undefined: list[int] = field(default_factory=list)
    stopped: bool = False

    @property
    def refused(self) -> bool:
        """Whether what was found already decides that the file is refused."""
        return bool(self.nul_lines or self.cp1252_undefined
                    or (self.bad and self.utf8_line is not None))

    @property
    def n_bad(self) -> str:
        return f"at least {self.bad}" if self.stopped else str(self.bad)

    def add(self, where: list[int], line: int) -> None:
        if len(where) < _EXAMPLES and (not where or where[-1] != line):
            where.append(line)


def _encoding(path: Path, forced: str | None) -> tuple[str, Detected]:
    """The codec to open ``path`` with and how it was settled (module rules)."""
    if forced is not None:
        try:
            codecs.lookup(forced)
        except (LookupError, TypeError):
            raise SpecificationError(
                f"The value for `encoding` must be a Python codec name such as 'utf-8' or "
                f"'cp1252', but {forced!r} was passed."
            ) from None
        if not getattr(codecs.lookup(forced), "_is_text_encoding", True):
            raise SpecificationError(
                f"The value for `encoding` must be a text encoding such as 'utf-8' or "
                f"'cp1252', but {forced!r} was passed."
            )
        _scan_text(path, forced, forced=True)
        return forced, Detected(forced, "forced")
    with open(path, "rb") as fh:
        start = fh.read(4)
    if start.startswith(b"\xef\xbb\xbf"):
        scan = _scan_bytes(path, skip=3)
        _refuse_nul(path, scan)
        if scan.bad:
            raise SpecificationError(
                f"{path}: the file starts with a UTF-8 byte-order mark, but {scan.n_bad} "
                f"byte(s) are not UTF-8, on line(s) {_lines_text(scan.bad_lines)}. "
                "Re-export the file as UTF-8, or pass `encoding=` (e.g. 'cp1252')."
            )
        return "utf-8-sig", Detected("utf-8-sig", "detected", "UTF-8 byte-order mark")
    if start.startswith((b"\xff\xfe", b"\xfe\xff")):
        _scan_text(path, "utf-16", forced=False)
        return "utf-16", Detected("utf-16", "detected", "UTF-16 byte-order mark")
    scan = _scan_bytes(path, skip=0)
    _refuse_nul(path, scan)
    if not scan.bad:
        return "utf-8", Detected("utf-8", "detected")
    where = _lines_text(scan.bad_lines)
    if scan.utf8_line is not None:
        raise SpecificationError(
            f"{path}: the file mixes encodings: it holds UTF-8 text (e.g. line "
            f"{scan.utf8_line}) but also {scan.n_bad} byte(s) that are not UTF-8, on line(s) "
            f"{where}. Read as either encoding, part of the text would be garbled. Re-export "
            "the file as UTF-8 (or fix those lines), or pass `encoding=` if you know it."
        )
    if scan.cp1252_undefined:
        raise SpecificationError(
            f"{path}: the file is neither UTF-8 nor cp1252 (bytes not valid in either on "
            f"line(s) {_lines_text(scan.cp1252_undefined)}); "
            "pass `encoding=` (for example 'latin-1'), or re-export the file as UTF-8."
        )
    return "cp1252", Detected(
        "cp1252", "fallback",
        f"not valid UTF-8 (first invalid byte at offset {scan.first_bad}, line "
        f"{scan.bad_lines[0]}; {scan.bad} such byte(s), no UTF-8 characters); decoded as "
        "cp1252 (Windows-1252). Pass encoding= to read it otherwise.",
    )


def _lines_text(lines: list[int]) -> str:
    """Example line numbers; ``...`` when the examples may not be all."""
    return ", ".join(map(str, lines)) + (" ..." if len(lines) >= _EXAMPLES else "")


def _refuse_nul(path: Path, scan: _Scan) -> None:
    if scan.nul_lines:
        raise SpecificationError(
            f"{path}: the file holds NUL bytes (line(s) {_lines_text(scan.nul_lines)}), "
            "which a text export never does: it is probably a binary file (a spreadsheet "
            "or Parquet file renamed to .csv) or UTF-16 text without a byte-order mark (then "
            "pass `encoding='utf-16-le'`). Export the table as CSV and read it again."
        )


def _byte_blocks(path: Path, skip: int) -> Iterator[tuple[int, int, bytes]]:
    """``(first line number, byte offset, block)`` of whole lines, block by block."""
    line, offset, carry = 1, skip, b""
    with open(path, "rb") as fh:
        fh.seek(skip)
        while True:
            data = fh.read(_BLOCK)
            if not data:
                if carry:
                    yield line, offset, carry
                return
            data = carry + data
            cut = data.rfind(b"\n") + 1
            cr = data.rfind(b"\r") + 1
            if cut < cr < len(data):  # a lone CR ends a line (unless a LF may follow)
                cut = cr
            if cut == 0:
                if len(data) > _MAX_LINE:
                    _too_long(path, line)
                carry = data
                continue
            block, carry = data[:cut], data[cut:]
            yield line, offset, block
            line += _byte_breaks(block, len(block))
            offset += len(block)


def _byte_breaks(block: bytes, end: int) -> int:
    """Line breaks in ``block[:end]`` (``\\n``, ``\\r\\n`` or a lone ``\\r``)."""
    return block.count(b"\n", 0, end) + block.count(b"\r", 0, end) \
        - block.count(b"\r\n", 0, end)


def _too_long(path: Path, line: int) -> None:
    raise SpecificationError(
        f"{path}: line {line} is longer than {_MAX_LINE // 2**20} MiB; this is not a "
        "delimited text file with one record per line (or it uses line breaks this reader "
        "does not know). Export the table as CSV and read it again."
    )


def _scan_bytes(path: Path, *, skip: int) -> _Scan:
    """Find bytes that are not UTF-8, UTF-8 characters and NUL bytes, in blocks.

    Stops early (``stopped``) once the file is sure to be refused and enough example
    lines are known.
    """
    scan = _Scan()
    for line, offset, block in _byte_blocks(path, skip):
        if b"\x00" in block:
            for m in re.finditer(b"\x00", block):
                scan.add(scan.nul_lines, line + _byte_breaks(block, m.start()))
                if len(scan.nul_lines) >= _EXAMPLES:
                    break
        if scan.nul_lines:  # refused: only more NUL lines are of interest
            scan.stopped = True
            if len(scan.nul_lines) >= _EXAMPLES:
                return scan
            continue
        if block.isascii():
            continue
        try:
            block.decode("utf-8")
        except UnicodeDecodeError:
            starts, bad = _utf8_sequences(block)
        else:  # UTF-8 characters only
            if scan.utf8_line is None:
                first = np.flatnonzero(np.frombuffer(block, np.uint8) >= 0x80)[0]
                scan.utf8_line = line + _byte_breaks(block, int(first))
            if scan.refused:
                scan.stopped = True
                return scan
            continue
        if starts.size and scan.utf8_line is None:
            scan.utf8_line = line + _byte_breaks(block, int(starts[0]))
        where = np.flatnonzero(bad)
        if scan.first_bad is None:
            scan.first_bad = offset + int(where[0])
        scan.bad += where.size
        for pos in where[:_EXAMPLES]:
            scan.add(scan.bad_lines, line + _byte_breaks(block, int(pos)))
        values = np.frombuffer(block, np.uint8)[where]
        undefined = where[np.isin(values, list(_CP1252_UNDEFINED))]
        for pos in undefined[:_EXAMPLES]:
            scan.add(scan.cp1252_undefined, line + _byte_breaks(block, int(pos)))
        if scan.refused:
            scan.stopped = True
            return scan
    return scan


def _utf8_sequences(block: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Start offsets of the valid UTF-8 multi-byte sequences, and the bytes outside them
    that are not ASCII (``True`` where a byte is not UTF-8), as the strict decoder sees
    them."""
    b = np.frombuffer(block, np.uint8)
    n = b.size
    pad = np.concatenate([b, np.zeros(3, np.uint8)])
    b1, b2, b3 = pad[1:n + 1], pad[2:n + 2], pad[3:n + 3]

    def cont(x: np.ndarray) -> np.ndarray:
        return (x & 0xC0) == 0x80

    def within(x: np.ndarray, lo: int, hi: int) -> np.ndarray:
        return (x >= lo) & (x <= hi)

    two = within(b, 0xC2, 0xDF) & cont(b1)
    three = (((b == 0xE0) & within(b1, 0xA0, 0xBF))
             | ((within(b, 0xE1, 0xEC) | within(b, 0xEE, 0xEF)) & cont(b1))
             | ((b == 0xED) & within(b1, 0x80, 0x9F))) & cont(b2)
    four = (((b == 0xF0) & within(b1, 0x90, 0xBF))
            | (within(b, 0xF1, 0xF3) & cont(b1))
            | ((b == 0xF4) & within(b1, 0x80, 0x8F))) & cont(b2) & cont(b3)
    covered = two | three | four
    for k, starts in ((1, two | three | four), (2, three | four), (3, four)):
        covered[k:] |= starts[:n - k]
    return np.flatnonzero(two | three | four), (b >= 0x80) & ~covered


def _scan_text(path: Path, codec: str, *, forced: bool) -> None:
    """Decode the whole file with ``codec`` in blocks; refuse errors, NUL, long lines."""
    decoder = codecs.getincrementaldecoder(codec)("strict")
    line, offset, run, after_cr = 1, 0, 0, False
    nul: list[int] = []
    with open(path, "rb") as fh:
        while True:
            data = fh.read(_BLOCK)
            state = decoder.getstate()
            try:
                text = decoder.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                pending = state[0] + data
                part = codecs.getincrementaldecoder(codec)("replace")
                part.setstate((b"", state[1]))
                at = line + _line_breaks(part.decode(pending[:exc.start]))
                how = f"`encoding={codec!r}`" if forced else "its UTF-16 byte-order mark"
                byte = offset + exc.start - len(state[0])
                raise SpecificationError(
                    f"{path}: the file is not valid {codec} (byte {byte}, line {at}: "
                    f"{exc.reason}), yet {how} says it is. "
                    + ("Pass another `encoding=` or leave it out to detect it."
                       if forced else "Re-export the file as UTF-8.")
                ) from None
            # a CR ending the previous block and a LF starting this one are one break
            split_crlf = int(after_cr and text.startswith("\n"))
            if "\x00" in text:
                for m in re.finditer("\x00", text):
                    if len(nul) >= _EXAMPLES:
                        break
                    nul.append(line + _line_breaks(text[:m.start()]) - split_crlf)
            last = max(text.rfind("\n"), text.rfind("\r"))
            run = run + len(text) if last < 0 else len(text) - last - 1
            line += _line_breaks(text) - split_crlf
            if run > _MAX_LINE:
                _too_long(path, line)
            after_cr = text.endswith("\r") if text else after_cr
            offset += len(data)
            if not data:
                break
    if nul:
        _refuse_nul(path, _Scan(nul_lines=sorted(set(nul))))


# --- layout -----------------------------------------------------------------------


def _read_head(
    fh: TextIO, *, strip_bom: bool
) -> tuple[list[str], int, int, int, bool] | None:
    """Skip leading comment and blank lines; the header and the next sniffing lines.

    Returns ``(lines, header line number, comment lines, blank lines, more lines
    follow)``, or ``None`` when no header line is found.
    """
    n_comments = n_blank = 0
    while True:
        line = fh.readline()
        if not line:
            return None
        if strip_bom and not (n_comments or n_blank):
            line = line.removeprefix("\ufeff")
        stripped = line.strip()
        if stripped.startswith("#"):
            n_comments += 1
        elif not stripped:
            n_blank += 1
        else:
            break
    lines = [line]
    while len(lines) < _SNIFF_LINES:
        line = fh.readline()
        if not line:
            return lines, n_comments + n_blank + 1, n_comments, n_blank, False
        lines.append(line)
    return lines, n_comments + n_blank + 1, n_comments, n_blank, True


def _reopen(path: Path, codec: str, line: int) -> TextIO:
    """``path`` opened again as text, positioned at line ``line``."""
    fh = open(path, encoding=codec, newline="")  # the caller closes it
    for _ in range(line - 1):
        fh.readline()
    return fh


def _check_delimiter(forced: object) -> None:
    if not isinstance(forced, str) or len(forced) != 1 or forced in "\"\r\n":
        raise SpecificationError(
            f"The value for `delimiter` must be one character such as ';', ',' or "
            f"'\\t', but {forced!r} was passed."
        )


def _records(lines: list[str], sep: str) -> tuple[list[tuple[int, list[str]]], bool]:
    """The records of the sniffing lines with ``sep``, each with its first line (1-based).

    Parsed as strictly as the file will be; the second value says whether the lines
    stopped parsing (bad quoting, or a quoted field running past the sample).
    """
    out: list[tuple[int, list[str]]] = []
    reader = csv.reader(lines, delimiter=sep, strict=True)
    prev = 0
    try:
        for record in reader:
            out.append((prev + 1, record))
            prev = reader.line_num
    except csv.Error:
        return out, True
    return out, False


def _delimiter(
    path: Path, lines: list[str], forced: str | None, truncated: bool, header_line: int
) -> Detected:
    if forced is not None:
        return Detected(forced, "forced")
    shapes = {}
    for cand in _DELIMITERS:
        records, stopped = _records(lines, cand)
        if (truncated or stopped) and len(records) > 1:
            records = records[:-1]  # may be cut short
        width = len(records[0][1]) if records else 0
        widths = {len(r): n for n, r in reversed(records[1:]) if any(f.strip() for f in r)}
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
        n, first = min(((k, v) for k, v in ws.items() if k != w), key=lambda kv: kv[1])
        line = header_line - 1 + first
        why = (f"; {c!r} may be used both as delimiter and as decimal mark, or line {line} "
               "has a field too many (check its quoting)" if n > w else "")
        raise SpecificationError(
            f"{path}: cannot tell the delimiter. With {c!r} the header (line {header_line}) "
            f"has {w} fields but other lines have {sorted(set(ws) - {w})} (line {line} has "
            f"{n}){why}. Pass `delimiter=` (';', ',' or '\\t') and `decimal=` (',' or '.') "
            "to read the file."
        )
    raise SpecificationError(
        f"{path}: cannot find a delimiter: the header (line {header_line}) splits into "
        "fewer than two columns with tab, ';' and ','. Pass `delimiter=` to read the file."
    )


# --- parsing ----------------------------------------------------------------------


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while rows (plain lists of str) pile up.

    The records cannot form reference cycles; without the pause the collector would
    walk every pending batch over and over, which doubles the parsing time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _parse(
    path: Path, lines: Iterator[str], sep: str, header_line: int,
    reopen: Callable[[], TextIO],
) -> tuple[pd.DataFrame, np.ndarray, int]:
    """Parse the records; the frame, the physical line of each row, blank rows skipped.

    ``lines`` starts with the header line, which is line ``header_line`` of the file;
    ``reopen`` opens the file again at that line, to locate a parse error.
    """
    reader = csv.reader(lines, delimiter=sep, quotechar='"', strict=True)
    offset = header_line - 1
    try:
        header = next(reader)
        names = _header_names(path, header, header_line)
        width = len(names)
        batch_size = max(1, _BATCH_CELLS // width)
        columns: list[list[pa.Array]] = [[] for _ in range(width)]
        numbers: list[np.ndarray] = []
        n_records = n_blank = 0
        with _cyclic_gc_paused():
            while True:
                done = reader.line_num
                rows = list(itertools.islice(reader, batch_size))
                if not rows:
                    break
                n_blank += _flush(path, rows, offset + done + 1, reader.line_num - done,
                                  width, header_line, sep, columns, numbers)
                n_records += len(rows)
                del rows
    except csv.Error as exc:
        with reopen() as fh:
            start, line = _locate_csv_error(fh, sep)
        raise _csv_error(path, exc, offset + start, offset + line, sep) from None
    if n_records == n_blank:
        only = " (only blank lines)" if n_records else ""
        raise SpecificationError(
            f"{path}: the file has a header (line {header_line}) but no data rows{only}."
        )
    frame = pd.DataFrame(
        {name: _text_column(chunks) for name, chunks in zip(names, columns, strict=True)},
        columns=names,
    )
    return frame, np.concatenate(numbers), n_blank


def _locate_csv_error(lines: Iterable[str], sep: str) -> tuple[int, int]:
    """First and current line (1-based in ``lines``) of the record that fails to parse."""
    reader = csv.reader(lines, delimiter=sep, quotechar='"', strict=True)
    prev = 0
    try:
        for _ in reader:
            prev = reader.line_num
    except csv.Error:
        pass
    return prev + 1, max(reader.line_num, prev + 1)


def _header_names(path: Path, header: list[str], header_line: int) -> list[str]:
    names = [h.strip() or f"Unnamed: {i}" for i, h in enumerate(header)]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SpecificationError(
            f"{path}: column name(s) {dupes} appear more than once in the header (line "
            f"{header_line}); give every column its own name."
        )
    return names


def _flush(
    path: Path, rows: list[list[str]], first: int, n_lines: int, width: int,
    header_line: int, sep: str, columns: list[list[pa.Array]], numbers: list[np.ndarray],
) -> int:
    """Append one batch of records to ``columns``; returns the blank rows dropped.

    The batch starts on line ``first`` and spans ``n_lines`` lines.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    lengths = list(map(len, rows))
    if max(lengths) > width:
        i = next(i for i, n in enumerate(lengths) if n > width)
        line = first + sum(_line_breaks(f) for r in rows[:i] for f in r) + i
        raise SpecificationError(
            f"{path}: line {line} has {lengths[i]} fields but the header (line "
            f"{header_line}) has {width}. Check the delimiter ({sep!r}; pass `delimiter=` "
            "to choose another) and the quoting of that line."
        )
    if min(lengths) < width:
        rows = [r if n == width else r + [""] * (width - n)
                for r, n in zip(rows, lengths, strict=True)]
    # one Arrow array of every cell, row by row; column i is every width-th cell from i
    cells = pa.array(list(itertools.chain.from_iterable(rows)), type=pa.large_string())
    n = len(rows)
    if n_lines == n:  # one line per record
        lines = first + np.arange(n, dtype=np.int64)
    else:  # a quoted field holds line breaks: a record spans one line more per break
        breaks = (pc.count_substring(cells, "\n").to_numpy()
                  + pc.count_substring(cells, "\r").to_numpy()
                  - pc.count_substring(cells, "\r\n").to_numpy())
        spans = 1 + breaks.reshape(n, width).sum(axis=1)
        lines = first + np.concatenate([[0], np.cumsum(spans[:-1])]).astype(np.int64)
    na_values = pa.array(NA_TOKENS, type=pa.large_string())
    null = pa.scalar(None, type=pa.large_string())
    blank = None
    arrays = []
    for i in range(width):
        values = pc.take(cells, np.arange(i, len(cells), width, dtype=np.int64))
        missing = pc.is_in(values, value_set=na_values)
        empty = pc.or_(missing, pc.equal(pc.utf8_trim_whitespace(values), ""))
        blank = empty if blank is None else pc.and_(blank, empty)
        arrays.append(pc.if_else(missing, null, values))
    keep = pc.invert(blank)
    n_blank = n - pc.sum(keep).as_py()
    if n_blank:
        arrays = [pc.filter(a, keep) for a in arrays]
        lines = lines[keep.to_numpy(zero_copy_only=False)]
    for chunks, values in zip(columns, arrays, strict=True):
        chunks.append(values)
    numbers.append(lines)
    return int(n_blank)


def _line_breaks(text: str) -> int:
    """Line breaks in ``text`` as the file reader counts them (``\\r\\n`` is one)."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _text_column(chunks: list[pa.Array]) -> pd.Series:
    """One column of text cells as the dtype ``read_csv(dtype=str)`` gives."""
    import pyarrow as pa

    values = pa.chunked_array(chunks, type=pa.large_string())
    dtype = pd.Series([], dtype=str).dtype
    if dtype == np.dtype(object):  # pandas 2: text as Python objects, NaN when missing
        out = pd.Series(values.to_numpy(zero_copy_only=False), dtype=object)
        return out.where(out.notna(), np.nan)
    return pd.Series(pd.array(values, dtype=dtype))


def _csv_error(path: Path, exc: csv.Error, start: int, line: int, sep: str) -> Exception:
    """A parse error of the csv module as a message naming the line."""
    msg = str(exc)
    if "unexpected end of data" in msg:
        text = (f"the quoted field of the record starting on line {start} is never closed "
                "(the file ends inside it); add the closing '\"' or remove the opening one")
    elif "field larger than field limit" in msg:
        text = (f"line {start}: a field is longer than {csv.field_size_limit():,} "
                "characters, which usually means a '\"' that is never closed; check the "
                f"quoting from line {start} on")
    elif "expected after" in msg:
        text = (f"line {line}: text follows the closing '\"' of a quoted field ({msg}); a "
                "quoted field must end with the quote, and a '\"' inside it must be doubled")
    else:
        text = f"line {line}: cannot parse the file with delimiter {sep!r} ({msg})"
    return SpecificationError(f"{path}: {text}.")


def _drop_empty_unnamed(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    empty = [c for c in frame.columns
             if (not c or str(c).startswith("Unnamed: ")) and frame[c].isna().all()]
    return (frame.drop(columns=empty), len(empty)) if empty else (frame, 0)


# ---------------------------------------------------------------------------
# number notation


def _set_number_format(
    raw: RawTable, forced: str | None, *, default: str, default_note: str, path: Path
) -> None:
    comma, dot, grouped = _number_evidence(raw.frame)
    if forced is not None:
        dec = Detected(forced, "forced")
    elif comma and dot:
        raise SpecificationError(
            f"{path}: numbers are written both with a decimal comma (e.g. "
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
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    table.validate(full=True)  # e.g. text that is not UTF-8 (Parquet does not check it)
    frame = table.to_pandas()
    del table
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
    formula_book = None
    try:
        names = book.sheetnames
        if not names:
            raise SpecificationError(f"{path}: the workbook has no sheets.")
        if sheet is None:
            ws, used = book[names[0]], Detected(names[0], "default", "first sheet")
        elif sheet in names:
            ws, used = book[sheet], Detected(sheet, "forced")
        else:
            raise SpecificationError(
                f"The value for `sheet` must be one of {names}, but {sheet!r} was passed."
            )
        formulas = None
        if _has_formulas(book, ws):
            # the same sheet again, with formulas instead of their stored values
            formula_book = openpyxl.load_workbook(path, read_only=True, data_only=False)
            formulas = formula_book[ws.title].iter_rows(min_row=1, values_only=True)
        header, header_row, n_comments, records, numbers = None, 0, 0, [], []
        uncalculated: list[tuple[int, int]] = []
        for number, row in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1):
            if formulas is not None:
                written = next(formulas, ())
                pairs = enumerate(zip(row, written, strict=False))
                uncalculated += [(number, i) for i, (v, f) in pairs
                                 if v is None and f is not None]
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
        if formula_book is not None:
            formula_book.close()
    if header is None:
        raise SpecificationError(f"{path}: sheet {used.value!r} is empty.")
    width = max([len(header), *map(len, records)])
    names_ = [
        f"Unnamed: {i}" if i >= len(header) or header[i] is None else str(header[i]).strip()
        for i in range(width)
    ]
    if uncalculated:
        _refuse_uncalculated(path, str(used.value), names_, uncalculated)
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


#: The start tag of a cell formula in a sheet's XML (``<f>``, ``<f t="shared" .../>``).
_XML_FORMULA = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")


def _has_formulas(book: object, ws: object) -> bool:
    """Whether the sheet's XML holds any formula (``True`` when it cannot be looked at)."""
    archive = getattr(book, "_archive", None)
    member = getattr(ws, "_worksheet_path", None)
    if archive is None or not member:
        return True
    tail = b""
    with archive.open(member) as fh:
        while chunk := fh.read(_BLOCK):
            if _XML_FORMULA.search(tail + chunk):
                return True
            tail = chunk[-32:]
    return False


def _refuse_uncalculated(
    path: Path, sheet: str, names: list[str], cells: list[tuple[int, int]]
) -> None:
    """Refuse formula cells that have no stored result (they would read as empty)."""
    from openpyxl.utils import get_column_letter

    by_column: dict[int, list[int]] = {}
    for row, col in cells:
        by_column.setdefault(col, []).append(row)
    parts = []
    for col, rows in sorted(by_column.items()):
        name = names[col] if col < len(names) else f"Unnamed: {col}"
        shown = ", ".join(map(str, rows[:_EXAMPLES])) + (" ..." if len(rows) > _EXAMPLES
                                                         else "")
        parts.append(f"column '{name}' ({get_column_letter(col + 1)}): {len(rows)} cell(s), "
                     f"row(s) {shown}")
    raise SpecificationError(
        f"{path}, sheet {sheet!r}: {len(cells)} formula cell(s) have no stored result, so "
        f"their values are unknown ({'; '.join(parts)}). The workbook was written by a "
        "program that does not calculate formulas. Open it in Excel (or LibreOffice Calc) "
        "and save it, or replace the formulas by their values (copy, then Paste Special > "
        "Values), and read it again."
    )


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
