"""Property-based tests of the readers: damaged files end in a KbzEvalError, valid ones
read back exactly.

Damaged files start from valid small CSV, XLSX, SPSS and Parquet files and are mutated
(bytes flipped, cut short, NUL or random bytes inserted, parts deleted, the XML inside
a workbook changed, the wrong file name ending). Whatever happens, reading either
succeeds or raises a :class:`~kbz_eval.errors.KbzEvalError` whose message names the
file; a library's own exception (``_csv.Error``, ``UnicodeDecodeError``,
``zipfile.BadZipFile``, pyarrow, openpyxl or pyreadstat errors) never escapes.

The examples are derandomized (the same on every run) and few, so the file stays fast.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from _io_helpers import person_years
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import kbz_eval.formats as formats
from kbz_eval.errors import KbzEvalError
from kbz_eval.io import read_table

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SUFFIXES = (".csv", ".txt", ".parquet", ".xlsx", ".sav")
SAV_MAPPING = {"columns": {"verzekerde": "person_id", "geslacht": "sex"},
               "values": {"sex": {"V": "F"}}}


# --- valid templates ------------------------------------------------------------------


def _csv_bytes(encoding: str) -> bytes:
    df = person_years(n_people=4)
    df["opmerking"] = ["ok", "verwezen; zie brief", "twee\nregels", "", "Noordé", "a\"b",
                       "", "", "", "", "", ""][: len(df)]
    text = df.to_csv(sep=";", decimal=",", index=False, lineterminator="\n")
    return ("# SYNTHETIC DATA\n" + text).encode(encoding)


def _xlsx_bytes() -> bytes:
    import openpyxl

    df = person_years(n_people=3)
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["# SYNTHETIC DATA"])
    ws.append(list(df.columns))
    for row in df.itertuples(index=False):
        ws.append(list(row))
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _sav_bytes(tmp: Path) -> bytes:
    import pyreadstat

    df = pd.DataFrame({
        "verzekerde": ["a", "b", "c"], "year": [2015.0, 2015.0, 2016.0],
        "practice_id": ["p1", "p1", "p2"], "insured_days": [365.0, 200.0, 99.0],
        "geslacht": [1.0, 2.0, 2.0], "birth_year": [1950.0, 1960.0, 1970.0],
        "minima": [1.0, 0.0, 0.0],
    })
    path = tmp / "template.sav"
    pyreadstat.write_sav(df, str(path),
                         variable_value_labels={"geslacht": {1.0: "M", 2.0: "V"},
                                                "minima": {0.0: "nee", 1.0: "ja"}},
                         missing_ranges={"insured_days": [{"lo": 99.0, "hi": 99.0}]})
    return path.read_bytes()


def _parquet_bytes() -> bytes:
    buf = io.BytesIO()
    person_years(n_people=3).to_parquet(buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> dict[str, tuple[bytes, str, str]]:
    """Valid files: name -> (bytes, suffix, table)."""
    tmp = tmp_path_factory.mktemp("templates")
    return {
        "csv-utf8": (_csv_bytes("utf-8"), ".csv", "person_years"),
        "csv-cp1252": (_csv_bytes("cp1252"), ".csv", "person_years"),
        "xlsx": (_xlsx_bytes(), ".xlsx", "person_years"),
        "sav": (_sav_bytes(tmp), ".sav", "insured_periods"),
        "parquet": (_parquet_bytes(), ".parquet", "person_years"),
    }


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def test_the_templates_are_valid(templates, workdir):
    for name, (data, suffix, table) in templates.items():
        path = workdir / f"{name}{suffix}"
        path.write_bytes(data)
        result = read_table(path, table, mapping=SAV_MAPPING if suffix == ".sav" else None,
                            on_error="drop")
        assert result.report.rows_kept > 0, name


# --- mutations ------------------------------------------------------------------------


@st.composite
def mutations(draw, data: bytes) -> bytes:
    """``data`` changed in one to three ways."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        n = len(out)
        kind = draw(st.sampled_from(
            ["flip", "truncate", "nul", "insert", "delete", "duplicate", "text"]))
        at = draw(st.integers(0, max(n - 1, 0)))
        if kind == "flip" and n:
            out[at] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del out[at:]
        elif kind == "nul":
            out[at:at] = b"\x00" * draw(st.integers(1, 4))
        elif kind == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del out[at:at + draw(st.integers(1, 64))]
        elif kind == "duplicate":
            out[at:at] = out[at:at + draw(st.integers(1, 64))]
        else:  # characters that matter to a text parser
            out[at:at] = draw(st.sampled_from(
                [b'"', b";", b",", b"\t", b"\n", b"\r", b"\xe9", b"\xc3", b"1e309", b"#",
                 b"\xef\xbb\xbf", b"\xff\xfe", b'""', b"NA"]))
    return bytes(out)


def _read_or_refuse(path: Path, table: str, on_error: str = "drop") -> None:
    """Read ``path``; only a KbzEvalError naming the file may come out."""
    mapping = SAV_MAPPING if table == "insured_periods" else None
    try:
        result = read_table(path, table, mapping=mapping, on_error=on_error)
    except KbzEvalError as exc:
        assert str(path) in str(exc), str(exc)
        return
    report = result.report
    assert len(result.data) == report.rows_kept <= report.rows_read


def _write(workdir: Path, data: bytes, suffix: str) -> Path:
    path = workdir / f"case{suffix}"
    path.write_bytes(data)
    return path


@FUZZ
@given(data=st.data())
def test_mutated_text_files_end_in_a_kbz_eval_error(templates, workdir, data):
    name = data.draw(st.sampled_from(["csv-utf8", "csv-cp1252"]))
    raw, suffix, table = templates[name]
    mutated = data.draw(mutations(raw))
    on_error = data.draw(st.sampled_from(["raise", "drop"]))
    _read_or_refuse(_write(workdir, mutated, suffix), table, on_error)


@FUZZ
@given(data=st.data())
def test_mutated_binary_files_end_in_a_kbz_eval_error(templates, workdir, data):
    name = data.draw(st.sampled_from(["xlsx", "sav", "parquet"]))
    raw, suffix, table = templates[name]
    _read_or_refuse(_write(workdir, data.draw(mutations(raw)), suffix), table)


@settings(FUZZ, max_examples=100)
@given(data=st.data())
def test_mutated_workbook_parts_end_in_a_kbz_eval_error(templates, workdir, data):
    """The zip stays valid; the XML of one part (sheet, strings, styles...) is damaged."""
    raw, suffix, table = templates["xlsx"]
    with zipfile.ZipFile(io.BytesIO(raw)) as src:
        parts = {i.filename: src.read(i) for i in src.infolist()}
    name = data.draw(st.sampled_from(sorted(parts)))
    parts[name] = data.draw(mutations(parts[name]))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for part, content in parts.items():
            dst.writestr(part, content)
    _read_or_refuse(_write(workdir, buf.getvalue(), suffix), table)


@settings(FUZZ, max_examples=100)
@given(data=st.data())
def test_files_under_the_wrong_name_end_in_a_kbz_eval_error(templates, workdir, data):
    name = data.draw(st.sampled_from(sorted(templates)))
    raw, suffix, table = templates[name]
    wrong = data.draw(st.sampled_from([s for s in SUFFIXES if s != suffix]))
    if data.draw(st.booleans()):
        raw = data.draw(mutations(raw))
    _read_or_refuse(_write(workdir, raw, wrong), table)


@settings(FUZZ, max_examples=100)
@given(content=st.binary(max_size=600), suffix=st.sampled_from(SUFFIXES))
def test_arbitrary_bytes_end_in_a_kbz_eval_error(workdir, content, suffix):
    _read_or_refuse(_write(workdir, content, suffix), "person_years")


# --- valid text files read back exactly -----------------------------------------------

#: Cell text: no digits (no number notation to detect), no ',' or tab (one delimiter).
CELL = st.text(alphabet="abcXYZ éë€ ;\"\n\r#", max_size=6)
ROWS = st.lists(st.lists(CELL, min_size=3, max_size=3), min_size=1, max_size=12)


def _quoted(cell: str, always: bool) -> str:
    """A cell as a spreadsheet writes it: quoted when it must be (or always)."""
    if always or any(ch in cell for ch in ';"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _has_utf8_characters(data: bytes) -> bool:
    """Whether ``data`` holds a valid UTF-8 sequence of two bytes or more."""
    text = data.decode("utf-8", errors="surrogateescape")
    return any(ord(ch) > 127 and not 0xDC80 <= ord(ch) <= 0xDCFF for ch in text)


def _breaks(text: str) -> int:
    """Line breaks as a text editor counts them: CR LF, a lone LF or a lone CR."""
    return len(re.findall(r"\r\n|\r|\n", text))


def _blank(cell: str) -> bool:
    return cell in formats.NA_TOKENS or not cell.strip()


@settings(FUZZ, max_examples=200)
@given(rows=ROWS, encoding=st.sampled_from(["utf-8", "cp1252", "utf-8-sig"]),
       newline=st.sampled_from(["\n", "\r\n", "\r"]), comments=st.integers(0, 2),
       quote_all=st.booleans(), batch_cells=st.sampled_from([1, 4, 100_000]),
       block=st.sampled_from([3, 1 << 20]))
def test_valid_text_files_read_back_exactly(workdir, rows, encoding, newline, comments,
                                            quote_all, batch_cells, block):
    """Every cell, missing value and physical line number comes back as written."""
    head = "".join(f"# comment {i}{newline}" for i in range(comments)) + f"a;b;c{newline}"
    pieces, line, starts = [], _breaks(head) + 1, []
    for row in rows:
        text = ";".join(_quoted(c, quote_all) for c in row) + newline
        starts.append(line)
        pieces.append(text)
        line += _breaks(text)
    data = (head + "".join(pieces)).encode(encoding)
    if encoding == "cp1252":
        # cp1252 bytes that happen to form UTF-8 characters (é€€ is E9 80 80, which is
        # also U+9000) cannot be told from UTF-8: read as UTF-8, or refused as a mix
        assume(not _has_utf8_characters(data))
    path = workdir / "roundtrip.csv"
    path.write_bytes(data)
    kept = [i for i, row in enumerate(rows) if not all(_blank(c) for c in row)]
    with mock.patch.object(formats, "_BATCH_CELLS", batch_cells), \
            mock.patch.object(formats, "_BLOCK", block):
        if not kept:
            with pytest.raises(KbzEvalError, match="no data rows"):
                formats.open_source(path)
            return
        raw = formats.open_source(path)
    assert raw.detected["delimiter"].value == ";"
    assert raw.frame.columns.tolist() == ["a", "b", "c"]
    assert raw.row_numbers.tolist() == [starts[i] for i in kept]
    expected = [[np.nan if c in formats.NA_TOKENS else c for c in rows[i]] for i in kept]
    got = raw.frame.astype(object).where(raw.frame.notna(), np.nan).values.tolist()
    assert [[("<NA>" if isinstance(v, float) else v) for v in r] for r in got] == \
        [[("<NA>" if isinstance(v, float) else v) for v in r] for r in expected]


# --- the encoding scan agrees with Python's decoder -----------------------------------

UTF8_EDGES = st.sampled_from([0x00, 0x41, 0x0A, 0x0D, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0,
                              0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE,
                              0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF])


@settings(FUZZ, max_examples=300)
@given(data=st.lists(UTF8_EDGES, max_size=40).map(bytes) | st.binary(max_size=40))
def test_utf8_sequences_agree_with_the_strict_decoder(data):
    """Bytes counted as not UTF-8, and UTF-8 characters found, are those of ``decode``."""
    starts, bad = formats._utf8_sequences(data)
    text = data.decode("utf-8", errors="surrogateescape")
    escaped = [ch for ch in text if 0xDC80 <= ord(ch) <= 0xDCFF]
    multi = [ch for ch in text if ord(ch) > 127 and not 0xDC80 <= ord(ch) <= 0xDCFF]
    assert int(bad.sum()) == len(escaped)
    assert starts.size == len(multi)
    assert bytes(np.frombuffer(data, np.uint8)[bad]) == bytes(ord(ch) - 0xDC00
                                                              for ch in escaped)
