"""The data contract checked in the engine equals the pandas reader, row for row.

:func:`kbz_eval.engine.validate.check_source` must return what
:func:`kbz_eval.io.read_table` returns (the contract columns, the same rows and values)
and report the same violations (column, rule, rows, values, detail), on the synthetic
sample and on broken copies of it, without loading the input into pandas.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import shutil
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from kbz_eval.engine import validate as engine_validate
from kbz_eval.engine.validate import CheckedSource, check_source
from kbz_eval.errors import DataValidationError, IdentifierError, SpecificationError
from kbz_eval.io import read_table
from kbz_eval.privacy import eleven_test
from kbz_eval.tables import get_table

#: Deprecation notices raised inside third-party libraries, not by kbz_eval.
pytestmark = [
    pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'future.infer_string' option:Warning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:Warning"),
]

CLAIM_HEADER = "person_id,claim_id,start_date,end_date,care_type,declaration_code,cost"
CARE_CODES = {"poli_dbc": "P", "clinical_dbc": "K", "ggz_specialist": "G", "ggz_basic": "B",
              "gp": "H", "pharmacy": "F", "other": "O"}


@pytest.fixture(scope="module")
def sample(shared_sample) -> Path:
    """The synthetic sample, written once for the run (these tests only read it)."""
    return shared_sample


#: The persons of the claim-line extracts compared row for row: pseudonyms ending in
#: these digits, a fifth of the sample (about 160,000 lines: every care type, year,
#: code form and the re-sends and credit notes), so the comparisons in pandas stay short.
PERSON_DIGITS = "27"


@pytest.fixture(scope="module")
def claim_extract(sample, tmp_path_factory) -> Path:
    """The sample's claim lines of a fifth of its persons (:data:`PERSON_DIGITS`), as
    ``claim_lines.csv`` (the sample's own lines, the comment and header kept) and as
    ``claim_lines.parquet`` (with the sample's Parquet types and metadata)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    out = tmp_path_factory.mktemp("claim_extract")
    lines = (sample / "claim_lines.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# SYNTHETIC DATA") and lines[1] == CLAIM_HEADER
    kept = [line for line in lines[2:] if line.split(",", 1)[0][-1] in PERSON_DIGITS]
    (out / "claim_lines.csv").write_text("\n".join(lines[:2] + kept) + "\n",
                                         encoding="utf-8")
    table = pq.read_table(sample / "claim_lines.parquet")
    table = table.filter(pc.match_substring_regex(table["person_id"],
                                                  f"[{PERSON_DIGITS}]$"))
    assert table.num_rows == len(kept) > 100_000
    pq.write_table(table, out / "claim_lines.parquet")
    return out


@pytest.fixture(scope="module")
def practices(sample) -> pd.DataFrame:
    return read_table(sample / "practices.csv", "practices").data


@pytest.fixture
def con():
    backend = ibis.duckdb.connect()
    yield backend
    backend.disconnect()


def normalise(df: pd.DataFrame) -> pd.DataFrame:
    """Both readers' frames in one form: text as str, dates as datetime64[ns], sorted."""
    out = {}
    for name in df.columns:
        s = df[name]
        if isinstance(s.dtype, pd.CategoricalDtype) or not (
            pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)
            or pd.api.types.is_datetime64_any_dtype(s.dtype)
        ):
            s = s.astype(object).where(s.notna(), None).astype(str)
        elif pd.api.types.is_datetime64_any_dtype(s.dtype):
            s = s.astype("datetime64[ns]")
        elif pd.api.types.is_bool_dtype(s.dtype):
            s = s.astype("boolean")
        elif pd.api.types.is_integer_dtype(s.dtype):
            s = s.astype("Int64")
        out[name] = s
    frame = pd.DataFrame(out)
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def assert_same_data(con, checked: CheckedSource, expected: pd.DataFrame) -> None:
    got = con.to_pandas(checked.relation)
    assert list(got.columns) == [c for c in expected.columns if c in got.columns]
    pd.testing.assert_frame_equal(normalise(got), normalise(expected[list(got.columns)]))
    assert checked.rows_kept == len(expected)


def problems(call) -> list[tuple]:
    """The violations a call raises, as (column, rule, rows, values, n_rows, detail)."""
    with pytest.raises(DataValidationError) as info:
        call()
    return [(v.column, v.rule, v.rows, v.values, v.n_rows, v.detail)
            for v in info.value.violations]


def head_rows(path: Path, n: int) -> tuple[list[str], list[list[str]]]:
    """The comment and header lines and the first ``n`` data rows of a sample CSV."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[:2], [line.split(",") for line in lines[2:2 + n]]


def write_rows(path: Path, head: list[str], rows: list[list[str]]) -> Path:
    path.write_text("\n".join(head + [",".join(r) for r in rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def broken_claims(sample, tmp_path_factory) -> Path:
    head, rows = head_rows(sample / "claim_lines.csv", 3000)
    rows[10][2] = "2015-02-30"  # no such day
    rows[11][2] = "gisteren"
    rows[20][6] = "-12.50"
    rows[30][4] = "dentist"
    rows[40][6] = "1e309"
    rows[41][6] = ""
    rows[42][0] = ""
    rows[50][3] = "31-12-2012"  # the other date form, in an ISO column
    rows[60][6] = "12a5"
    rows[70][2] = " 2014-01-02 "  # stripped, read
    # a credit note exceeding its claim (rows 24 and 3003); row 23's is a credit note
    rows.append(rows[21][:6] + [f"{-float(rows[21][6]) - 100:.2f}"])
    return write_rows(tmp_path_factory.mktemp("broken") / "claims.csv", head, rows)


@pytest.fixture(scope="module")
def broken_periods(sample, tmp_path_factory) -> Path:
    head, rows = head_rows(sample / "insured_periods.csv", 2000)
    rows[5] = list(rows[4])  # a duplicated key
    rows[7][2] = "XX99"  # unknown practice
    rows[8][1] = "1999"
    rows[9][3] = "400"
    rows[10][3] = "0"
    rows[11][7] = "misschien"
    rows[12][7] = "JA"
    rows[13][4] = "X"
    rows[14][1] = "2013.5"
    rows[15][5] = "9007199254740993"  # beyond 2^53
    rows[16][3] = ""
    rows[17][7] = "nee"
    return write_rows(tmp_path_factory.mktemp("broken") / "periods.csv", head, rows)


# ---------------------------------------------------------------------------
# the synthetic sample: same rows and values as read_table


@pytest.mark.parametrize("name", ["claim_lines.parquet", "claim_lines.csv"])
def test_claim_lines_equal_read_table(con, claim_extract, name):
    path = claim_extract / name
    checked = check_source(con, path, "claim_lines")
    expected = read_table(path, "claim_lines").data
    assert checked.violations == []
    assert checked.rows_read == checked.rows_kept == len(expected)
    assert checked.fmt == name.split(".")[1]
    assert checked.files == [str(path.resolve())]
    assert_same_data(con, checked, expected)


def test_insured_periods_equal_read_table(con, sample, practices):
    refs = {"practices": practices}
    checked = check_source(con, sample / "insured_periods.csv", "insured_periods",
                           references=refs)
    expected = read_table(sample / "insured_periods.csv", "insured_periods",
                          references=refs).data
    assert checked.violations == []
    assert_same_data(con, checked, expected)
    assert checked.detected["delimiter"] == ","
    assert checked.detected["header_line"] == "2"  # after the comment line


def test_clean_parquet_is_handed_on_as_read_and_padded_text_is_still_stripped(
        con, claim_extract, tmp_path):
    """A clean Parquet input with contract types (integer claim ids included) is handed
    on as read: the relation scans the files without the check's row positions, and
    holds the same data as ``read_table``. Padded text in one row makes the check fall
    back to the typed reading, so the value is stripped as ``read_table`` strips it."""
    lines = pd.read_parquet(claim_extract / "claim_lines.parquet")
    lines["claim_id"] = pd.factorize(lines["claim_id"])[0].astype("int64") + 10**12
    clean = tmp_path / "clean.parquet"
    lines.to_parquet(clean, index=False)
    checked = check_source(con, clean, "claim_lines")
    sql = str(con.compile(checked.relation))
    assert "file_row_number" not in sql and "REGEXP" not in sql.upper()
    assert checked.relation["claim_id"].type().is_integer()  # its text is unique too
    as_text = checked.relation.mutate(claim_id=checked.relation["claim_id"].cast("string"))
    assert_same_data(con, dataclasses.replace(checked, relation=as_text),
                     read_table(clean, "claim_lines").data)

    padded = lines.copy()
    padded["person_id"] = padded["person_id"].astype(str)
    padded.loc[5, "person_id"] = "  " + padded.loc[5, "person_id"] + " "
    path = tmp_path / "padded.parquet"
    padded.to_parquet(path, index=False)
    checked = check_source(con, path, "claim_lines")
    assert "file_row_number" in str(con.compile(checked.relation))
    got = con.to_pandas(checked.relation)
    assert set(got["person_id"]) == set(lines["person_id"].astype(str))
    assert_same_data(con, checked, read_table(path, "claim_lines").data)


#: Texts whose edges the engine's cheap padding test must judge as ``str.strip`` does:
#: every ASCII white space at either end, white space only, empty, other control
#: characters (left as they are), non-ASCII first and last letters, inner spaces.
EDGE_TEXTS = [" a", "a ", "\ta", "a\n", "\r\na\x0b", "\x0ca", "   ", "", "a", "\x01a\x1f",
              "é a ç", " é", "ç\t", "a b", "Ωmega", "€", None]


@pytest.mark.parametrize("duckdb_form", [True, False])
def test_padding_test_strips_what_str_strip_strips(con, duckdb_form):
    """The test for padded text (first or last character at or below the space) finds
    every ASCII-padded value; the stripped text equals Python's ``strip`` for ASCII
    white space, and a value that only looks padded (a control character) is unchanged.
    Both forms are checked on DuckDB: the indexed one it uses, and the portable one
    (``substr``/``right``) other backends use."""
    t = ibis.memtable(pd.DataFrame({"i": range(len(EDGE_TEXTS)),
                                    "s": pd.Series(EDGE_TEXTS, dtype=object)}))
    got = con.to_pandas(t.select("i", out=engine_validate._text(t["s"], duckdb_form))
                        .order_by("i"))["out"].tolist()
    ascii_space = " \t\n\r\x0b\x0c"
    want = [None if v is None or v.strip(ascii_space) == "" else v.strip(ascii_space)
            for v in EDGE_TEXTS]
    assert [None if pd.isna(g) else g for g in got] == want
    assert want[9] == "\x01a\x1f" and want[0] == "a" and want[6] is None


def test_clean_text_is_read_as_it_is_and_changed_text_is_not(con, claim_extract, tmp_path):
    """The check hands a Parquet input on as read only when reading changes no text (no
    value stripped or emptied), judged by each text's length in bytes: one edge text in
    one row decides it, multi-byte letters and control characters included."""
    lines = pd.read_parquet(claim_extract / "claim_lines.parquet").head(50)
    lines["declaration_code"] = lines["declaration_code"].astype(object)
    ascii_space = " \t\n\r\x0b\x0c"
    seen = set()
    for i, text in enumerate(t for t in EDGE_TEXTS if t and t.strip(ascii_space)):
        edited = lines.copy()
        edited.loc[7, "declaration_code"] = text
        path = tmp_path / f"edge{i}.parquet"
        edited.to_parquet(path, index=False)
        checked = check_source(con, path, "claim_lines")
        as_read = "file_row_number" not in str(con.compile(checked.relation))
        assert as_read == (text.strip(ascii_space) == text), repr(text)
        got = con.to_pandas(checked.relation.filter(
            checked.relation["claim_id"] == str(edited.loc[7, "claim_id"])))
        assert got["declaration_code"].tolist() == [text.strip(ascii_space)], repr(text)
        seen.add(as_read)
    assert seen == {True, False}


def test_integer_ids_stored_as_numbers_are_given_unless_missing(con, tmp_path):
    """A text column stored as integers (claim ids) is given where its value is, and a
    missing one is reported, without the value being written as text."""
    lines = pd.DataFrame({
        "person_id": ["P1", "P2", "P3"], "claim_id": pd.array([10, None, 12], "Int64"),
        "start_date": pd.to_datetime(["2015-01-02"] * 3).date,
        "end_date": pd.to_datetime(["2015-01-03"] * 3).date,
        "care_type": ["gp"] * 3, "declaration_code": ["x"] * 3, "cost": [1.0, 2.0, 3.0]})
    path = tmp_path / "ids.parquet"
    lines.to_parquet(path, index=False)
    found = problems(lambda: check_source(con, path, "claim_lines"))
    assert [(c, r, tuple(rows)) for c, r, rows, *_ in found] == [
        ("claim_id", "missing value", (3,))]
    assert found == problems(lambda: read_table(path, "claim_lines"))


# ---------------------------------------------------------------------------
# broken copies: the same violations


def test_broken_claim_lines_csv_same_violations(con, broken_claims):
    want = problems(lambda: read_table(broken_claims, "claim_lines"))
    got = problems(lambda: check_source(con, broken_claims, "claim_lines",
                                        max_rows_listed=5))
    assert got == want
    rules = {(column, rule) for column, rule, *_ in got}
    assert {("start_date", "wrong type"), ("end_date", "wrong type"),
            ("cost", "credit exceeds claim"), ("care_type", "unknown category"),
            ("cost", "number out of range"), ("cost", "missing value"),
            ("person_id", "missing value"), ("cost", "wrong type")} == rules


def test_broken_claim_lines_parquet_same_violations(con, broken_claims, tmp_path):
    frame = pd.read_csv(broken_claims, skiprows=1, dtype=str, keep_default_na=False)
    frame["cost"] = pd.to_numeric(frame["cost"], errors="coerce")  # 1e309 -> inf
    frame.to_parquet(tmp_path / "claims.parquet")
    want = problems(lambda: read_table(tmp_path / "claims.parquet", "claim_lines"))
    got = problems(lambda: check_source(con, tmp_path / "claims.parquet", "claim_lines",
                                        max_rows_listed=5))
    assert got == want
    assert ("cost", "number out of range", (42,), ("inf",)) in [g[:4] for g in got]


def test_broken_insured_periods_same_violations(con, broken_periods, practices):
    refs = {"practices": practices}
    want = problems(lambda: read_table(broken_periods, "insured_periods", references=refs))
    got = problems(lambda: check_source(con, broken_periods, "insured_periods",
                                        references=refs, max_rows_listed=5))
    assert got == want
    by_rule = {(g[0], g[1]): g for g in got}
    assert by_rule[("person_id + year", "duplicate key")][2:4] == (
        (7, 8), ("P0000001 / 2016", "P0000001 / 2016"))
    assert by_rule[("practice_id", "foreign key")][2] == (10,)
    assert ("birth_year", "number out of range") in by_rule


def test_drop_mode_equals_read_table(con, broken_periods, practices):
    refs = {"practices": practices}
    expected = read_table(broken_periods, "insured_periods", references=refs,
                          on_error="drop")
    checked = check_source(con, broken_periods, "insured_periods", references=refs,
                           on_error="drop", max_rows_listed=5)
    assert checked.rows_read == expected.report.rows_read == 2000
    assert checked.rows_kept == expected.report.rows_kept
    assert [v.describe() for v in checked.violations] == expected.report.drop_reasons
    assert_same_data(con, checked, expected.data)  # duplicated keys dropped too


def test_missing_column_raises_also_when_dropping(con, broken_periods, tmp_path):
    frame = pd.read_csv(broken_periods, skiprows=1, dtype=str, keep_default_na=False)
    frame.drop(columns=["sex"]).rename(columns={"minima": "Minima"}).to_csv(
        tmp_path / "periods.csv", index=False)
    for on_error in ("raise", "drop"):
        want = problems(lambda on_error=on_error: read_table(
            tmp_path / "periods.csv", "insured_periods", on_error=on_error))
        got = problems(lambda on_error=on_error: check_source(
            con, tmp_path / "periods.csv", "insured_periods", on_error=on_error,
            max_rows_listed=5))
        assert got == want
        assert got[0][:2] == ("sex", "missing column")
        assert "did you mean 'Minima'" in got[1][5]


def test_number_out_of_range_in_whole_numbers_and_floats(con, tmp_path):
    path = tmp_path / "claims.csv"
    path.write_text(CLAIM_HEADER + "\nP1,C1,2015-01-01,,gp,1,1e309\nP1,C2,2015-01-01,,gp,1,"
                    "-1e309\nP1,C3,2015-01-02,,gp,1,1e308\n", encoding="utf-8")
    got = problems(lambda: check_source(con, path, "claim_lines"))
    assert [g[:4] for g in got] == [
        ("cost", "number out of range", (2, 3), ("1e309", "-1e309"))]
    assert got == problems(lambda: read_table(path, "claim_lines"))


# ---------------------------------------------------------------------------
# a Dutch export with a mapping


@pytest.fixture(scope="module")
def dutch_export(sample, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("dutch")
    # the first 3000 lines of the sample, read as the whole file reads them
    first = write_rows(folder / "first.csv", *head_rows(sample / "claim_lines.csv", 3000))
    src = read_table(first, "claim_lines").data
    assert len(src) == 3000
    out = pd.DataFrame({
        "verzekerde": src["person_id"], "declaratie_nr": src["claim_id"],
        "begindatum": src["start_date"].dt.strftime("%d-%m-%Y"),
        "einddatum": src["end_date"].dt.strftime("%d-%m-%Y"),
        "soort": src["care_type"].astype(str).map(CARE_CODES),
        "prestatiecode": src["declaration_code"],
        "bedrag": src["cost"].map(lambda v: f"{v:,.2f}".translate(str.maketrans(",.", ".,"))),
        "opmerking": "geen",
    })
    out.loc[5, "bedrag"] = "1.234,56"
    out.loc[7, "soort"] = "Z"
    out.loc[9, "begindatum"] = "1-3-2014"
    out.loc[11, "bedrag"] = "1O,00"  # a letter O for a zero
    path = folder / "export.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("# export zorgverzekeraar\r\n\r\n")
        out.to_csv(fh, sep=";", index=False, lineterminator="\r\n")
    return path


DUTCH_MAPPING = {
    "columns": {"verzekerde": "person_id", "declaratie_nr": "claim_id",
                "begindatum": "start_date", "einddatum": "end_date", "soort": "care_type",
                "prestatiecode": "declaration_code", "bedrag": "cost"},
    "values": {"care_type": {v: k for k, v in CARE_CODES.items()}},
}


def test_dutch_export_with_mapping_equals_read_table(con, dutch_export):
    def engine(**kw):
        return check_source(con, dutch_export, "claim_lines", mapping=DUTCH_MAPPING,
                            max_rows_listed=5, **kw)

    want = problems(lambda: read_table(dutch_export, "claim_lines", mapping=DUTCH_MAPPING))
    assert problems(engine) == want
    assert [w[:3] for w in want] == [("care_type", "unknown category", (11,)),
                                     ("cost", "wrong type", (15,))]
    expected = read_table(dutch_export, "claim_lines", mapping=DUTCH_MAPPING,
                          on_error="drop")
    checked = engine(on_error="drop")
    assert_same_data(con, checked, expected.data)
    assert checked.rows_kept == 2998
    assert {k: checked.detected[k] for k in ("delimiter", "decimal", "thousands",
                                             "header_line")} == {
        "delimiter": ";", "decimal": ",", "thousands": ".", "header_line": "3"}
    assert checked.detected["date format of 'start_date'"] == "DD-MM-YYYY"


# ---------------------------------------------------------------------------
# the identifier guard


def bsn_numbers(n: int, seed: int = 1) -> list[str]:
    rng = np.random.default_rng(seed)
    candidates = pd.Series(rng.integers(100_000_000, 999_999_999, 40 * n)).astype(str)
    return candidates[eleven_test(candidates)].drop_duplicates().iloc[:n].tolist()


def test_identifier_columns_are_refused(con, sample, tmp_path):
    claims = pd.read_parquet(sample / "claim_lines.parquet").head(500)
    claims.assign(bsn="x").to_parquet(tmp_path / "named.parquet")
    with pytest.raises(IdentifierError, match="bsn"):
        check_source(con, tmp_path / "named.parquet", "claim_lines")
    claims.assign(kenmerk=bsn_numbers(500)).to_parquet(tmp_path / "values.parquet")
    with pytest.raises(IdentifierError, match="kenmerk"):
        check_source(con, tmp_path / "values.parquet", "claim_lines")


def test_declarations_follow_the_mapping(con, sample, tmp_path):
    claims = pd.read_parquet(sample / "claim_lines.parquet").head(500)
    claims = claims.rename(columns={"claim_id": "declaratie_nr"})
    claims["declaratie_nr"] = bsn_numbers(500)  # claim numbers with a check digit
    claims.to_parquet(tmp_path / "claims.parquet")
    mapping = {"columns": {"declaratie_nr": "claim_id"}}
    with pytest.raises(IdentifierError):
        check_source(con, tmp_path / "claims.parquet", "claim_lines", mapping=mapping)
    declared = {**mapping, "identifiers": {"not_bsn": ["declaratie_nr"]}}
    checked = check_source(con, tmp_path / "claims.parquet", "claim_lines", mapping=declared)
    assert checked.rows_kept == 500


def test_parquet_sample_is_runs_spread_over_every_file(con, sample, tmp_path):
    """A Parquet input longer than the sample gives runs of consecutive rows at evenly
    spaced places of the files taken one after another, so an identifier column is
    refused wherever its values stand."""
    from kbz_eval.engine.validate import SAMPLE_ROWS, SAMPLE_RUNS

    sizes = (7_000, 23_000, 10_000)  # 40,000 rows: runs of 500 every 2,000 rows
    at = np.cumsum((0, *sizes))
    for i in range(len(sizes)):
        pd.DataFrame({"position": np.arange(at[i], at[i + 1])}).to_parquet(
            tmp_path / f"part-{i}.parquet", row_group_size=1_000)
    files = [str(tmp_path / f"part-{i}.parquet") for i in range(len(sizes))]
    opened = engine_validate._open(con, files, "parquet", str(tmp_path))
    footers = [pq.read_metadata(f) for f in files]
    n, got = engine_validate._count_and_sample(con, opened, str(tmp_path), footers)
    assert n == 40_000
    length, gap = SAMPLE_ROWS // SAMPLE_RUNS, 40_000 // SAMPLE_RUNS
    want = np.concatenate([np.arange(j * gap, j * gap + length) for j in range(SAMPLE_RUNS)])
    np.testing.assert_array_equal(got.column("position").to_numpy(), want)

    # identifier values only in the rows of the last file are still found
    claims = pd.read_parquet(sample / "claim_lines.parquet").head(24_000)
    claims["kenmerk"] = None
    claims.iloc[:12_000].to_parquet(tmp_path / "ids-0.parquet")
    last = claims.iloc[12_000:].copy()
    last["kenmerk"] = bsn_numbers(12_000)
    last.to_parquet(tmp_path / "ids-1.parquet")
    with pytest.raises(IdentifierError, match="kenmerk"):
        check_source(con, [tmp_path / "ids-0.parquet", tmp_path / "ids-1.parquet"],
                     "claim_lines")



def test_statistics_settle_only_typed_columns_without_missing_values(con, sample, tmp_path):
    """The not-empty rule of a column stored as whole numbers or dates is left out of the
    scan only when every row group of every file counts no missing value; a file
    without statistics or without the column keeps the rule, and a missing value in any
    file is still reported with its row."""
    claims = pd.read_parquet(sample / "claim_lines.parquet").head(3_000)
    claims["claim_id"] = np.arange(3_000, dtype=np.int64)
    first, second = claims.iloc[:1_500].copy(), claims.iloc[1_500:].copy()
    first.to_parquet(tmp_path / "a.parquet", row_group_size=500)
    second.to_parquet(tmp_path / "b.parquet", row_group_size=500)
    files = [str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")]
    mapped = engine_validate._parquet_table(con, files, str(tmp_path))

    def no_nulls(mapped):
        return engine_validate._parquet_no_nulls([pq.read_metadata(f) for f in files], mapped)

    settled = no_nulls(mapped)
    assert {"claim_id", "start_date"} <= settled
    assert not {"person_id", "care_type", "cost"} & settled  # text and floats never
    second.to_parquet(tmp_path / "b.parquet", write_statistics=False)
    assert not no_nulls(mapped) & {"claim_id", "start_date"}
    second.drop(columns="start_date").to_parquet(tmp_path / "b.parquet")
    mapped = engine_validate._parquet_table(con, files, str(tmp_path))
    assert "start_date" not in no_nulls(mapped)
    broken = second.copy()
    broken["claim_id"] = broken["claim_id"].astype("Int64")
    broken.iloc[7, broken.columns.get_loc("claim_id")] = pd.NA
    broken.to_parquet(tmp_path / "b.parquet", row_group_size=500)
    assert "claim_id" not in no_nulls(engine_validate._parquet_table(con, files,
                                                                  str(tmp_path)))
    got = problems(lambda: check_source(con, tmp_path, "claim_lines"))
    assert [g[:3] for g in got] == [("claim_id", "missing value", (9,))]


# ---------------------------------------------------------------------------
# files, rows and the layout of text files


def test_several_parquet_files_number_rows_per_file(con, sample, tmp_path):
    src = pd.read_parquet(sample / "claim_lines.parquet").head(250)
    first, second = src.iloc[:100].copy(), src.iloc[100:].copy()
    first.loc[3, "care_type"] = "dentist"
    second.loc[second.index[4], "care_type"] = "dentist"
    (tmp_path / "2015").mkdir()
    (tmp_path / "2016").mkdir()
    first.to_parquet(tmp_path / "2015" / "part-0.parquet")
    second.to_parquet(tmp_path / "2016" / "part-0.parquet")
    got = problems(lambda: check_source(con, tmp_path, "claim_lines"))
    assert [g[:3] for g in got] == [("care_type", "unknown category", (5, 6))]
    assert got[0][5].endswith("Rows listed by file: 2015/part-0.parquet: 5; "
                              "2016/part-0.parquet: 6")
    checked = check_source(con, [tmp_path / "2015", tmp_path / "2016"], "claim_lines",
                           on_error="drop")
    assert (checked.rows_read, checked.rows_kept) == (250, 248)
    assert checked.detected["files"] == "2"
    assert int(con.execute(checked.relation.count())) == 248


def test_text_file_layout(con, tmp_path):
    """BOM, comment lines, short rows, empty rows and a quoted line break (which needs
    the serial reader and makes the numbers of later lines one too low)."""
    lines = ["# extract", "person_id;claim_id;start_date;end_date;care_type;"
             "declaration_code;cost", 'P1;C1;2014-01-01;;gp;"12\n34";10,5',
             "P1;C2;2014-01-02;;gp", ";;;;;;", "  ;NA;", "P2;C3;2014-01-03;;xx;1;-1"]
    path = tmp_path / "claims.csv"
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    want = problems(lambda: read_table(path, "claim_lines"))
    got = problems(lambda: check_source(con, path, "claim_lines"))
    assert [g[:2] for g in got] == [g[:2] for g in want]
    # care type xx (line 8) and a missing cost (line 5); the -1 is a credit note
    assert [g[2] for g in want] == [(8,), (5,)]
    assert [g[2] for g in got] == [(7,), (4,)]
    checked = check_source(con, path, "claim_lines", on_error="drop")
    assert (checked.rows_read, checked.rows_kept) == (3, 1)
    row = con.to_pandas(checked.relation).iloc[0]
    assert (row["declaration_code"], row["cost"]) == ("12\n34", 10.5)


def test_refused_layouts(con, tmp_path):
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(b"# extract\r\n" + CLAIM_HEADER.encode() + b"\nP1,C1,2014-01-01,,gp,1,1\n")
    with pytest.raises(SpecificationError, match="end in different ways"):
        check_source(con, mixed, "claim_lines")
    wide = tmp_path / "wide.csv"
    wide.write_text(CLAIM_HEADER + "\n" + "P1,C1,2014-01-01,,gp,1,1\n" * 300
                    + "P1,C1,2014-01-01,,gp,1,1,9\n", encoding="utf-8")  # past the sniffing
    with pytest.raises(SpecificationError, match="cannot read the input"):
        check_source(con, wide, "claim_lines")
    empty = tmp_path / "empty.csv"
    empty.write_text(CLAIM_HEADER + "\n", encoding="utf-8")
    with pytest.raises(SpecificationError, match="no data rows"):
        check_source(con, empty, "claim_lines")


def test_options_are_checked(con, sample, tmp_path):
    path = sample / "claim_lines.parquet"
    with pytest.raises(SpecificationError, match="on_error"):
        check_source(con, path, "claim_lines", on_error="ignore")
    for bad in (0, 2.5, True):
        with pytest.raises(SpecificationError, match="max_rows_listed"):
            check_source(con, path, "claim_lines", max_rows_listed=bad)
    with pytest.raises(SpecificationError, match="table"):
        check_source(con, path, "claims")
    with pytest.raises(SpecificationError, match="does not exist"):
        check_source(con, tmp_path / "nothing.parquet", "claim_lines")
    with pytest.raises(SpecificationError, match="not a column of the file"):
        check_source(con, path, "claim_lines", mapping={"columns": {"kosten": "cost"}})


def test_max_rows_listed_and_order(con, broken_claims, tmp_path):
    head, rows = head_rows(broken_claims, 3000)
    for i in range(100, 160):
        rows[i][4] = "dentist"
    path = write_rows(tmp_path / "claims.csv", head, rows)
    got = problems(lambda: check_source(con, path, "claim_lines", max_rows_listed=30))
    unknown = next(g for g in got if g[1] == "unknown category")
    assert unknown[4] == 61
    assert unknown[2] == (33, *range(103, 132))


def test_portable_summary_equals_duckdb_summary(con, broken_periods, practices):
    """The summary other backends run (plain Ibis) gives what DuckDB's SQL gives."""
    opened = engine_validate._open(con, [str(broken_periods)], "csv", "x")
    plan = engine_validate._plan(con, opened.table, get_table("insured_periods"),
                                 {"practices": practices}, (".", None), {}, set())
    sql = engine_validate._summary_sql(con, plan, 3)
    portable = engine_validate._summary_portable(plan, 3)
    assert {k: v for k, v in sql.items() if v is not None} == portable
    assert sql["n_rows"] == 2000 and sql["n_kept"] < 2000


# ---------------------------------------------------------------------------
# scale


@pytest.mark.slow
def test_millions_of_lines_with_a_low_memory_limit(tmp_path):
    from kbz_eval.engine.scale import write_claim_lines

    info = write_claim_lines(tmp_path, n_lines=2_000_000, chunk_lines=500_000)
    con = ibis.duckdb.connect(memory_limit="500MB", threads=2,
                              temp_directory=str(tmp_path / "spill"))
    checked = check_source(con, tmp_path / "claim_lines", "claim_lines")
    assert checked.rows_read == checked.rows_kept == info["n_lines"]
    assert checked.detected["files"] == str(info["n_chunks"])
    csv_path = tmp_path / "claims.csv"
    con.raw_sql(f"COPY (SELECT * FROM read_parquet('{tmp_path}/claim_lines/*.parquet')) "
                f"TO '{csv_path}' (HEADER, DELIMITER ';')")
    checked = check_source(con, csv_path, "claim_lines", on_error="drop")
    assert checked.rows_read == checked.rows_kept == info["n_lines"]
    assert int(con.execute(checked.relation.count())) == info["n_lines"]
    periods = check_source(con, tmp_path / "insured_periods", "insured_periods")
    assert periods.rows_kept == info["n_person_years"]


# ---------------------------------------------------------------------------
# Spark


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and os.path.exists(os.path.join(home, "bin", "java")):
        return os.path.join(home, "bin", "java")
    return shutil.which("java")


@pytest.mark.spark
def test_spark_reports_what_duckdb_reports(con, broken_periods, tmp_path):
    if _java() is None or importlib.util.find_spec("pyspark") is None:
        pytest.skip("PySpark and a Java runtime are needed")
    from pyspark.sql import SparkSession

    running = SparkSession.getActiveSession()
    session = (SparkSession.builder.master("local[1]").appName("kbz_eval-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    ours = running is None
    head, rows = head_rows(broken_periods, 100)
    rows[8][1], rows[11][7] = "2010", "ja"  # keep two of the problems: key, insured_days
    rows[10][3], rows[12][7], rows[13][4], rows[14][1] = "365", "ja", "M", "2013"
    rows[15][5], rows[16][3] = "1950", "365"
    path = write_rows(tmp_path / "periods.csv", head, rows)
    try:
        spark = check_source(ibis.pyspark.connect(session), path, "insured_periods",
                             on_error="drop", max_rows_listed=5)
        spark_data = spark.relation.to_pandas()
    finally:
        if ours:
            session.stop()
    duck = check_source(con, path, "insured_periods", on_error="drop", max_rows_listed=5)
    # row numbers: Spark reads this one small file in order on one core
    assert spark.violations == duck.violations
    assert spark.rows_kept == duck.rows_kept
    pd.testing.assert_frame_equal(normalise(spark_data),
                                  normalise(con.to_pandas(duck.relation)))
