"""Readers that never corrupt: formulas, overflowing numbers, encodings, layout errors.

Each test reproduces one way a file used to be read wrongly (a value lost, a number
made infinite, text garbled) or to crash, and checks the clear error or the right
value now.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _io_helpers import person_years, write_text

import kbz_eval.formats as formats
from kbz_eval.errors import DataValidationError, KbzEvalError, SpecificationError
from kbz_eval.formats import open_source
from kbz_eval.io import read, read_table
from kbz_eval.report.quality import quality_rows
from kbz_eval.validation import validate

PRACTICES = ["practice_id", "city", "neighbourhood", "group", "kbz_start_year"]
CLAIM_HEADER = "person_id;claim_id;start_date;care_type;declaration_code;cost"


def _violation(err: DataValidationError, column: str, rule: str):
    found = [v for v in err.violations if (v.column, v.rule) == (column, rule)]
    assert len(found) == 1, [v.describe() for v in err.violations]
    return found[0]


def _refused(path, table="practices", **kwargs) -> str:
    """The message of the error reading ``path`` raises; it must name the file."""
    with pytest.raises(SpecificationError) as info:
        read(path, table, **kwargs)
    message = str(info.value)
    assert str(path) in message, message
    return message


# --- XLSX formulas --------------------------------------------------------------------


def test_xlsx_formulas_without_a_stored_result_are_refused(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "praktijken"
    ws.append(PRACTICES)
    ws.append(["p1", "Utrecht", "Overvecht", "kbz", 2013])
    ws.append(["p2", "Utrecht", "Zuilen", "kbz", None])
    ws.append(["p3", "Utrecht", "Kanaleneiland", "kbz", None])
    ws["E3"] = "=E2+1"  # written by openpyxl: a formula, never calculated
    ws["E4"] = "=E2+2"
    path = tmp_path / "practices.xlsx"
    book.save(path)
    message = _refused(path)
    assert "sheet 'praktijken'" in message
    assert "column 'kbz_start_year' (E): 2 cell(s), row(s) 3, 4" in message
    assert "Excel" in message and "Paste Special > Values" in message
    with pytest.raises(SpecificationError, match="no stored result"):
        open_source(path)


def test_xlsx_formulas_with_a_stored_result_read_that_result(tmp_path):
    import xlsxwriter

    path = tmp_path / "practices.xlsx"
    book = xlsxwriter.Workbook(str(path))
    ws = book.add_worksheet("praktijken")
    ws.write_row(0, 0, PRACTICES)
    ws.write_row(1, 0, ["p1", "Utrecht", "Overvecht", "kbz", 2013])
    ws.write_row(2, 0, ["p2", "Utrecht", "Zuilen", "kbz"])
    ws.write_formula(2, 4, "=E2+1", None, 2014)  # the result Excel would have stored
    ws.write_row(3, 0, ["p3", "Utrecht", "Kanaleneiland", "control"])
    ws.write_formula(3, 1, '="Utr"&"echt"', None, "Utrecht")
    book.close()
    df = read(path, "practices")
    assert df["kbz_start_year"].tolist()[:2] == [2013, 2014]
    assert df["kbz_start_year"].isna().tolist() == [False, False, True]
    assert df["city"].tolist() == ["Utrecht"] * 3


def test_xlsx_without_formulas_is_read_in_one_pass(tmp_path, monkeypatch):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(PRACTICES)
    book.active.append(["p1", "Utrecht", "Overvecht", "kbz", 2014])
    path = tmp_path / "p.xlsx"
    book.save(path)
    calls = []
    real = openpyxl.load_workbook
    monkeypatch.setattr(openpyxl, "load_workbook",
                        lambda *a, **k: calls.append(k) or real(*a, **k))
    assert read(path, "practices")["kbz_start_year"].tolist() == [2014]
    assert [k["data_only"] for k in calls] == [True]


# --- numbers out of range -------------------------------------------------------------


@pytest.mark.parametrize("text", ["1e309", "-1e400", "1,0e309", "2,5E+999"])
def test_overflowing_numbers_are_a_violation_not_infinity(tmp_path, text):
    path = write_text(tmp_path / "claims.csv", [
        CLAIM_HEADER,
        "P1;1;2015-01-01;poli_dbc;;12,50",
        f"P2;2;2015-01-01;poli_dbc;;{text}",
    ])
    with pytest.raises(DataValidationError) as info:
        read(path, "claim_lines")
    v = _violation(info.value, "cost", "number out of range")
    assert (v.n_rows, v.rows, v.values) == (1, (3,), (text,))
    assert str(path) in str(info.value)
    assert [x.rule for x in info.value.violations] == ["number out of range"]
    result = read_table(path, "claim_lines", on_error="drop")
    assert result.report.dropped == {"cost: number out of range": 1}
    assert result.data["cost"].tolist() == [12.5]


def test_inf_text_is_still_a_wrong_type(tmp_path):
    path = write_text(tmp_path / "claims.csv", [CLAIM_HEADER, "P1;1;2015-01-01;poli_dbc;;inf"])
    with pytest.raises(DataValidationError) as info:
        read(path, "claim_lines")
    assert _violation(info.value, "cost", "wrong type").rows == (2,)


def test_whole_numbers_beyond_float_precision_are_out_of_range(tmp_path):
    path = write_text(tmp_path / "p.csv", [
        ";".join(PRACTICES),
        "p1;Utrecht;Overvecht;kbz;1e309",             # used to crash (OverflowError)
        "p2;Utrecht;Zuilen;kbz;9007199254740993",     # would be read as ...992
        "p3;Utrecht;Kanaleneiland;kbz;2014",
    ])
    with pytest.raises(DataValidationError) as info:
        read(path, "practices")
    v = _violation(info.value, "kbz_start_year", "number out of range")
    assert (v.rows, v.values) == ((2, 3), ("1e309", "9007199254740993"))
    assert "2^53" in v.detail


def test_infinite_values_of_a_binary_file_are_out_of_range(tmp_path):
    df = person_years()
    df.loc[1, "ggz_cost"] = np.inf
    df.loc[4, "poli_dbc_cost"] = -np.inf
    path = tmp_path / "py.parquet"
    df.to_parquet(path)
    with pytest.raises(DataValidationError) as info:
        read(path, "person_years")
    assert _violation(info.value, "ggz_cost", "number out of range").rows == (3,)
    assert _violation(info.value, "poli_dbc_cost", "number out of range").rows == (6,)
    found, _, _ = validate(df, "person_years", on_error="drop")
    assert len(found) == len(df) - 2


# --- encodings ------------------------------------------------------------------------


def test_a_stray_cp1252_byte_in_a_utf8_file_is_refused_with_its_lines(tmp_path):
    lines = [";".join(PRACTICES),
             "p1;Utrecht;Overvecht-Noordé;kbz;2014",       # UTF-8 é (2 bytes)
             "p2;Utrecht;Zuilen;kbz;2014",
             "p3;Utrecht;Hoograven;kbz;2014",
             "p4;Utrecht;Lunetten;kbz;2014"]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    data = data.replace(b"Zuilen", b"Zuil\xe9n").replace(b"Lunetten", b"L\xfcnetten")
    path = tmp_path / "p.csv"
    path.write_bytes(data)
    message = _refused(path)
    assert "mixes encodings" in message
    assert "UTF-8 text (e.g. line 2)" in message
    assert "2 byte(s) that are not UTF-8, on line(s) 3, 5" in message
    assert "Re-export the file as UTF-8" in message
    # the caller can still say how to read it
    df = read(path, "practices", encoding="cp1252")
    assert df["neighbourhood"].tolist()[:2] == ["Overvecht-NoordÃ©", "Zuilén"]


def test_a_pure_cp1252_file_is_read_and_the_fallback_is_reported(tmp_path):
    path = write_text(tmp_path / "p.csv", [
        ";".join(PRACTICES),
        "p1;Utrecht;Overvecht-Noordé;kbz;2014",
        "p2;Utrecht;Zuilen € ë;control;",
    ], encoding="cp1252")
    result = read_table(path, "practices")
    assert result.data["neighbourhood"].tolist() == ["Overvecht-Noordé", "Zuilen € ë"]
    enc = result.report.detected["encoding"]
    assert (enc.value, enc.how) == ("cp1252", "fallback")
    assert "line 2" in enc.note and "3 such byte(s)" in enc.note
    rows = quality_rows("practices", path, result.report)
    assert [r["rows_rejected"] for r in rows] == [0]
    assert rows[0]["reason"].startswith("encoding cp1252 (fallback: not valid UTF-8")
    utf8 = write_text(tmp_path / "u.csv", [";".join(PRACTICES), "p1;U;Noordé;kbz;2014"])
    assert quality_rows("practices", utf8, read_table(utf8, "practices").report)[0][
        "reason"] == ""


def test_a_fallback_row_comes_with_the_rejected_rows(tmp_path):
    path = write_text(tmp_path / "p.csv", [
        ";".join(PRACTICES), "p1;Utrecht;Noordé;kbz;2014", "p2;Utrecht;Zuilen;kbz;1800",
    ], encoding="cp1252")
    result = read_table(path, "practices", on_error="drop")
    reasons = [r["reason"] for r in quality_rows("practices", path, result.report)]
    assert reasons[0] == "kbz_start_year: below minimum"
    assert reasons[1].startswith("encoding cp1252 (fallback")


def test_a_utf8_bom_with_bytes_that_are_not_utf8_is_refused(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes(b"\xef\xbb\xbf" + ";".join(PRACTICES).encode()
                     + b"\np1;Utrecht;Noord\xe9;kbz;2014\n")
    assert "byte-order mark" in _refused(path) and "line(s) 2" in _refused(path)


def test_bytes_undefined_in_cp1252_are_refused(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes(";".join(PRACTICES).encode() + b"\np1;Utrecht;No\x81rd;kbz;2014\n")
    assert "neither UTF-8 nor cp1252" in _refused(path)
    assert read(path, "practices", encoding="latin-1")["neighbourhood"].tolist() == [
        "No\x81rd"]


def test_a_forced_encoding_that_does_not_fit_names_the_line(tmp_path):
    path = write_text(tmp_path / "p.csv", [
        ";".join(PRACTICES), "p1;Utrecht;Zuilen;kbz;2014", "p2;Utrecht;Noordé;kbz;2014",
    ], encoding="cp1252")
    message = _refused(path, encoding="utf-8")
    assert "not valid utf-8" in message and "line 3" in message
    with pytest.raises(SpecificationError, match="text encoding"):
        read(path, "practices", encoding="rot13")


def test_utf16_with_a_byte_order_mark_and_without(tmp_path):
    text = ";".join(PRACTICES) + "\r\np1;Utrecht;Noordé;kbz;2014\r\n"
    path = tmp_path / "p.csv"
    path.write_bytes(text.encode("utf-16"))
    raw = open_source(path)
    assert raw.detected["encoding"].value == "utf-16"
    assert raw.frame["neighbourhood"].tolist() == ["Noordé"]
    path.write_bytes(text.encode("utf-16-le"))
    assert "utf-16-le" in _refused(path)
    assert read(path, "practices", encoding="utf-16-le")["city"].tolist() == ["Utrecht"]
    path.write_bytes(text.encode("utf-16") + b"\x00")  # an odd number of bytes
    assert "not valid utf-16" in _refused(path)


def test_encoding_scan_in_small_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(formats, "_BLOCK", 5)
    path = write_text(tmp_path / "p.csv", [
        ";".join(PRACTICES), "p1;Ütrecht;Noordé ☃;kbz;2014", "p2;Utrecht;Zuilen;kbz;2014",
    ])
    raw = open_source(path)
    assert raw.detected["encoding"].value == "utf-8"
    assert raw.frame["neighbourhood"].tolist() == ["Noordé ☃", "Zuilen"]
    path.write_bytes(path.read_bytes().replace(b"Zuilen", b"Zuil\xe9n"))
    assert "on line(s) 3" in _refused(path)


# --- layout errors --------------------------------------------------------------------


def test_zero_bytes_and_header_only_files_are_refused(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes(b"")
    assert "empty (0 bytes)" in _refused(path)
    path.write_text("# SYNTHETIC\n\n", encoding="utf-8")
    assert "no header line" in _refused(path)
    write_text(path, ["# SYNTHETIC", ";".join(PRACTICES)])
    assert "has a header (line 2) but no data rows" in _refused(path)
    write_text(path, [";".join(PRACTICES), "", ";;;;", "  "])
    assert "no data rows (only blank lines)" in _refused(path)


def test_nul_bytes_are_refused_with_their_lines(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes(";".join(PRACTICES).encode() + b"\np1;Utrecht;Zui\x00len;kbz;2014\n"
                     b"p2;Utrecht;Zuilen;kbz;2014\n\x00")
    message = _refused(path)
    assert "NUL bytes (line(s) 2, 4)" in message


def test_an_unterminated_quote_is_refused(tmp_path):
    lines = [";".join(PRACTICES), "p1;Utrecht;Zuilen;kbz;2014",
             'p2;Utrecht;"Overvecht;kbz;2014', "p3;Utrecht;Zuilen;kbz;2014"]
    path = write_text(tmp_path / "p.csv", lines)
    assert "record starting on line 3 is never closed" in _refused(path)
    path = write_text(tmp_path / "p.csv", lines[:-1] + ['p3;Utrecht;"Zuilen"x;kbz;2014'])
    message = _refused(path, delimiter=";")
    assert "line 4: text follows the closing '\"'" in message


def test_a_line_with_more_fields_than_the_header_is_refused(tmp_path):
    body = [f"p{i};Utrecht;Zuilen;kbz;2014" for i in range(300)]
    body[250] = "p250;Utrecht;Zuilen;kbz;2014;extra"
    path = write_text(tmp_path / "p.csv", ["# comment", ";".join(PRACTICES), *body])
    message = _refused(path)  # beyond the lines used to detect the delimiter
    assert "line 253 has 6 fields but the header (line 2) has 5" in message
    body[250] = "p250;Utrecht;Zuilen;kbz;2014"
    body[3] = "p3;Utrecht;Zuilen;kbz;2014;extra"
    write_text(path, [";".join(PRACTICES), *body])
    assert "line 5 has 6" in _refused(path)
    assert "line 5 has 6 fields but the header (line 1) has 5" in _refused(
        path, delimiter=";")


def test_an_overlong_line_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(formats, "_MAX_LINE", 64)
    monkeypatch.setattr(formats, "_BLOCK", 16)
    path = write_text(tmp_path / "p.csv", [";".join(PRACTICES), "p1;" + "x" * 200 + ";a;b;1"])
    assert "line 2 is longer than" in _refused(path)
    path.write_bytes(path.read_text().encode("utf-16"))
    assert "line 2 is longer than" in _refused(path)


def test_damaged_binary_files_are_refused_with_the_file_name(tmp_path):
    for name in ("x.parquet", "x.xlsx", "x.sav"):
        path = tmp_path / name
        path.write_bytes(b"PK\x03\x04 this is not a real file")
        assert "cannot read the file as" in _refused(path)
    path = tmp_path / "x.csv"
    person_years().to_parquet(path)  # a Parquet file named .csv
    assert "NUL bytes" in _refused(path, "person_years")


def test_every_refusal_is_a_kbz_eval_error(tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"")
    with pytest.raises(KbzEvalError):
        open_source(path)


# --- reading in batches ---------------------------------------------------------------


ROWS_WITH_EVERYTHING = [
    "# SYNTHETIC DATA",
    "",
    "# second comment",
    CLAIM_HEADER + ";opmerking",                      # line 4
    "P1;1;2015-01-01;poli_dbc;;10;ok",                # 5
    "",                                               # 6 (blank: skipped)
    'P2;2;2015-01-02;poli_dbc;;twintig;"a;b"',        # 7
    'P3;3;2015-01-03;poli_dbc;;30;"twee',             # 8
    'regels"',                                        # 9
    "P4;4;2015-01-04;polikliniek;;40",                # 10 (one field short)
    ";;;;;;",                                         # 11 (blank: skipped)
    'P5;5;2015-01-05;poli_dbc;;50;"drie\r\nregels\n"',  # 12-14 (the quote closes on 14)
    "",                                               # 15 (blank: skipped)
    "P6;6;2015-01-06;poli_dbc;;60;NA",                # 16
]


@pytest.mark.parametrize("batch_cells", [1, 7, 20, 10_000])
def test_batches_keep_physical_line_numbers(tmp_path, monkeypatch, batch_cells):
    monkeypatch.setattr(formats, "_BATCH_CELLS", batch_cells)
    path = write_text(tmp_path / "claims.csv", ROWS_WITH_EVERYTHING)
    raw = open_source(path)
    assert raw.row_numbers.tolist() == [5, 7, 8, 10, 12, 16]
    assert raw.frame["opmerking"].tolist()[:3] == ["ok", "a;b", "twee\nregels"]
    assert raw.frame["opmerking"].tolist()[4] == "drie\r\nregels\n"
    assert raw.frame["opmerking"].isna().tolist() == [False] * 3 + [True, False, True]
    assert raw.notes == ["3 blank line(s) among the data skipped"]
    assert raw.detected["comment_lines"].value == 2
    result = read_table(path, "claim_lines", on_error="drop")
    assert any("row 7 (twintig)" in r for r in result.report.drop_reasons)
    assert any("row 10 (polikliniek)" in r for r in result.report.drop_reasons)
    assert result.data["claim_id"].tolist() == ["1", "3", "5", "6"]


def test_text_columns_keep_the_read_csv_dtype_and_values(tmp_path):
    lines = [";".join(PRACTICES), "p1;Utrecht; Zuilen ;kbz;2014", "p2;NULL;n/a;;  ",
             "p3;#N/A;x;kbz;"]
    path = write_text(tmp_path / "p.csv", lines)
    raw = open_source(path)
    expected = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False,
                           na_values=list(formats.NA_TOKENS))
    pd.testing.assert_frame_equal(raw.frame, expected)
    assert raw.row_numbers.tolist() == [2, 3, 4]


def test_the_decimal_mark_question_names_the_file(tmp_path):
    path = write_text(tmp_path / "claims.csv", [
        CLAIM_HEADER, "a;1;2015-03-01;poli_dbc;;12,5", "b;2;2015-03-02;poli_dbc;;3.75",
    ])
    assert "`decimal=','`" in _refused(path, "claim_lines")
