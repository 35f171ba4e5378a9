"""read() / read_table(): every format, detection, mapping, guard order, row numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _io_helpers import make_bsns, person_years, practices, write_text

import kbz_eval as kbz
from kbz_eval.errors import DataValidationError, IdentifierError, SpecificationError
from kbz_eval.formats import open_source
from kbz_eval.io import read, read_table

CLAIM_HEADER = "person_id;claim_id;start_date;care_type;declaration_code;cost"


def _violation(err: DataValidationError, column: str, rule: str):
    found = [v for v in err.violations if (v.column, v.rule) == (column, rule)]
    assert len(found) == 1, [v.describe() for v in err.violations]
    return found[0]


def _detected(report, key):
    d = report.detected[key]
    return d.value, d.how


# --- CSV / TXT ------------------------------------------------------------------------


def test_dutch_csv_in_cp1252(tmp_path):
    path = write_text(tmp_path / "claims.csv", [
        CLAIM_HEADER + ";zorgaanbieder_naam",
        "P0001;9001;01-03-2015;poli_dbc;;1.234,56;Ziekenhuis Café",
        "P0002;9002;1-3-2015;ggz_specialist;160001;12,5;Hôpital Sint Antonius",
        "P0003;9003;31-12-2016;poli_dbc;;0,99;Diakonessenhuis",
    ], encoding="cp1252")
    result = read_table(path, "claim_lines")
    df, rep = result.data, result.report
    assert _detected(rep, "encoding") == ("cp1252", "fallback")
    assert "not valid UTF-8" in rep.detected["encoding"].note
    assert _detected(rep, "delimiter") == (";", "detected")
    assert _detected(rep, "decimal") == (",", "detected")
    assert _detected(rep, "thousands") == (".", "detected")
    assert rep.date_formats == {"start_date": "DD-MM-YYYY"}
    np.testing.assert_allclose(df["cost"], [1234.56, 12.5, 0.99], rtol=0, atol=0)
    assert df["start_date"].tolist() == list(pd.to_datetime(
        ["2015-03-01", "2015-03-01", "2016-12-31"]))
    assert df["zorgaanbieder_naam"].tolist()[:2] == ["Ziekenhuis Café", "Hôpital Sint Antonius"]
    assert df["claim_id"].tolist() == ["9001", "9002", "9003"]
    assert df["declaration_code"].isna().tolist() == [True, False, True]
    assert list(df.columns) == ["person_id", "claim_id", "start_date", "care_type",
                                "declaration_code", "cost", "zorgaanbieder_naam"]
    assert (rep.rows_read, rep.rows_kept, rep.rows_dropped) == (3, 3, 0)


def test_encoding_can_be_forced(tmp_path):
    path = write_text(tmp_path / "p.csv", [
        "practice_id;city;neighbourhood;group;kbz_start_year",
        "p1;Utrecht;Overvecht-Noordé;kbz;2014",
    ], encoding="cp1252")
    rep = read_table(path, "practices", encoding="cp1252").report
    assert _detected(rep, "encoding") == ("cp1252", "forced")
    with pytest.raises(SpecificationError, match="not valid utf-8"):
        read(path, "practices", encoding="utf-8")


def test_utf8_bom_comma_csv_with_quotes(tmp_path):
    path = write_text(tmp_path / "monitor.csv", [
        "area,area_type,year,indicator,percent,n",
        '"Utrecht, Overvecht",neighbourhood,2014,good_self_rated_health,77.4,410',
        "Utrecht,city,2014,good_self_rated_health,90.0,5200",
        "Nederland,country,2016,good_self_rated_health,79.25,",
    ], bom=True)
    result = read_table(path, "monitor")
    df, rep = result.data, result.report
    assert _detected(rep, "encoding") == ("utf-8-sig", "detected")
    assert _detected(rep, "delimiter") == (",", "detected")
    assert _detected(rep, "decimal") == (".", "detected")
    assert list(df.columns)[:2] == ["area", "area_type"]  # no BOM in the first name
    assert df["area"].tolist()[0] == "Utrecht, Overvecht"
    np.testing.assert_allclose(df["percent"], [77.4, 90.0, 79.25], rtol=0, atol=0)
    assert df["n"].dtype == "Int64" and df["n"].isna().tolist() == [False, False, True]


def test_tab_separated_txt(tmp_path):
    path = write_text(tmp_path / "cvg.txt", [
        "person_id\tpractice_id\tmeasurement\tdate\tcvg_patient\tcvg_gp",
        "a\tp1\t1\t2015-02-01\t4\t5",
        "a\tp1\t2\t2015-08-01\t6\t",
    ])
    result = read_table(path, "cvg")
    assert _detected(result.report, "delimiter") == ("\t", "detected")
    assert result.data["cvg_patient"].tolist() == [4, 6]
    assert result.data["cvg_gp"].dtype == "Int64"
    assert result.report.date_formats == {"date": "YYYY-MM-DD (ISO 8601)"}


def test_comment_lines_are_skipped_and_row_numbers_stay_physical(tmp_path):
    path = write_text(tmp_path / "claims.csv", [
        "# SYNTHETIC DATA — no real persons",
        CLAIM_HEADER,
        "P1;1;2015-01-01;polikliniek;;10",
        "P2;2;2015-01-02;poli_dbc;;20",
    ])
    with pytest.raises(DataValidationError) as info:
        read(path, "claim_lines")
    v = _violation(info.value, "care_type", "unknown category")
    assert (v.n_rows, v.rows, v.values) == (1, (3,), ("polikliniek",))
    assert str(path) in str(info.value)


def test_row_numbers_count_blank_lines_and_quoted_line_breaks(tmp_path):
    path = write_text(tmp_path / "claims.csv", [
        "# SYNTHETIC DATA",
        "# second comment",
        CLAIM_HEADER + ";opmerking",
        "P1;1;2015-01-01;poli_dbc;;10;ok",           # line 4
        "",                                          # line 5
        "P2;2;2015-01-02;poli_dbc;;twintig;ok",      # line 6
        'P3;3;2015-01-03;poli_dbc;;30;"twee',        # line 7
        'regels"',                                   # line 8
        "P4;4;2015-01-04;polikliniek;;40;ok",        # line 9
    ])
    result = read_table(path, "claim_lines", on_error="drop")
    rep = result.report
    assert _detected(rep, "comment_lines")[0] == 2
    assert rep.rows_read == 4 and rep.rows_kept == 2
    assert rep.dropped == {"care_type: unknown category": 1, "cost: wrong type": 1}
    assert any("row 6 (twintig)" in r for r in rep.drop_reasons)
    assert any("row 9 (polikliniek)" in r for r in rep.drop_reasons)
    assert result.data["opmerking"].tolist() == ["ok", "twee\nregels"]


def test_comma_as_delimiter_and_decimal_mark_cannot_be_resolved(tmp_path):
    path = write_text(tmp_path / "claims.csv", [
        "person_id,claim_id,start_date,care_type,cost",
        "a,1,2015-03-01,poli_dbc,12,5",
        "b,2,2015-03-02,poli_dbc,3,75",
    ])
    with pytest.raises(SpecificationError) as info:
        read(path, "claim_lines")
    assert "`delimiter=`" in str(info.value) and "`decimal=`" in str(info.value)


def test_mixed_number_notation_asks_for_decimal(tmp_path):
    path = write_text(tmp_path / "claims.csv", [
        CLAIM_HEADER,
        "a;1;2015-03-01;poli_dbc;;12,5",
        "b;2;2015-03-02;poli_dbc;;3.75",
    ])
    with pytest.raises(SpecificationError, match="`decimal="):
        read(path, "claim_lines")
    result = read_table(path, "claim_lines", decimal=",", on_error="drop")
    assert _detected(result.report, "decimal") == (",", "forced")
    assert result.data["cost"].tolist() == [12.5]
    assert result.report.dropped == {"cost: wrong type": 1}


def test_ambiguous_numbers_follow_the_documented_default(tmp_path):
    path = write_text(tmp_path / "claims.csv", [
        CLAIM_HEADER,
        "a;1;2015-03-01;poli_dbc;;1.234",
        "b;2;2015-03-02;poli_dbc;;2.500",
    ])
    result = read_table(path, "claim_lines")
    assert _detected(result.report, "decimal") == (",", "default")
    assert result.data["cost"].tolist() == [1234.0, 2500.0]
    forced = read(path, "claim_lines", decimal=".")
    assert forced["cost"].tolist() == [1.234, 2.5]


def test_delimiter_tie_is_resolved_and_recorded(tmp_path):
    path = write_text(tmp_path / "t.csv", ["x;y,z", "1;2,5", "3;4,25"])
    raw = open_source(path)
    assert raw.detected["delimiter"].value == ";"
    assert "most columns" in raw.detected["delimiter"].note
    assert raw.frame.columns.tolist() == ["x", "y,z"]
    assert raw.decimal == ","
    raw = open_source(path, delimiter=",")
    assert raw.frame.columns.tolist() == ["x;y", "z"]


def test_default_yes_no_words_for_booleans(tmp_path):
    path = write_text(tmp_path / "consults.csv", [
        "consult_id;specialism;referral_avoided",
        "c1;cardiologie;ja", "c2;neurologie;Nee", "c3;interne;J", "c4;interne;n",
        "c5;interne;true", "c6;interne;0", "c7;interne;yes",
    ])
    df = read(path, "consults")
    assert df["referral_avoided"].tolist() == [True, False, True, False, True, False, True]
    assert df["referral_avoided"].dtype == bool


# --- Parquet, XLSX, SPSS ------------------------------------------------------------


def test_parquet_row_numbers_are_index_plus_two(tmp_path):
    df = person_years()
    df.loc[3, "ggz_cost"] = -1.0
    path = tmp_path / "py.parquet"
    df.to_parquet(path)
    with pytest.raises(DataValidationError) as info:
        read(path, "person_years")
    assert _violation(info.value, "ggz_cost", "negative value").rows == (5,)
    good = read(path, "person_years", on_error="drop")
    pd.testing.assert_frame_equal(
        good[["person_id", "year"]],
        df.drop(index=3)[["person_id", "year"]].astype({"person_id": "str"})
        .reset_index(drop=True),
    )


def test_xlsx_with_a_named_sheet(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "toelichting"
    book.active["A1"] = "See the sheet 'praktijken'."
    ws = book.create_sheet("praktijken")
    ws.append(["# SYNTHETIC DATA"])                                   # row 1
    ws.append(["practice_id", "city", "neighbourhood", "group", "kbz_start_year"])
    ws.append([101, "Utrecht", "Overvecht", "kbz", 2014])             # row 3
    ws.append([])                                                     # row 4
    ws.append([102, "Utrecht", "Zuilen", "controle", None])           # row 5
    path = tmp_path / "practices.xlsx"
    book.save(path)
    with pytest.raises(DataValidationError) as info:
        read(path, "practices", sheet="praktijken")
    v = _violation(info.value, "group", "unknown category")
    assert (v.rows, v.values) == ((5,), ("controle",))
    result = read_table(path, "practices", sheet="praktijken",
                        mapping={"values": {"group": {"controle": "control"}}})
    assert result.data["practice_id"].tolist() == ["101", "102"]
    assert result.data["group"].tolist() == ["kbz", "control"]
    assert _detected(result.report, "sheet") == ("praktijken", "forced")
    assert _detected(result.report, "comment_lines")[0] == 1
    with pytest.raises(SpecificationError) as info:
        read(path, "practices", sheet="Praktijken")
    assert str(info.value) == ("The value for `sheet` must be one of ['toelichting', "
                               "'praktijken'], but 'Praktijken' was passed.")
    with pytest.raises(DataValidationError):  # the first sheet is not the table
        read(path, "practices")


def _write_sav(path, df, **kwargs):
    pyreadstat = pytest.importorskip("pyreadstat")
    pyreadstat.write_sav(df, str(path), **kwargs)
    return path


def test_spss_user_missing_codes_become_missing(tmp_path):
    df = pd.DataFrame({
        "person_id": ["a", "a", "b", "c"], "practice_id": [101.0, 101.0, 102.0, 102.0],
        "measurement": [1.0, 2.0, 1.0, 1.0], "cvg_patient": [4.0, 6.0, 5.0, 7.0],
        "cvg_gp": [5.0, 99.0, 97.0, 6.0],
    })
    path = _write_sav(
        tmp_path / "cvg.sav", df,
        variable_value_labels={"cvg_gp": {99.0: "weet niet", 97.0: "geweigerd"},
                               "cvg_patient": {1.0: "zeer slecht", 10.0: "uitstekend"}},
        missing_ranges={"cvg_gp": [{"lo": 97.0, "hi": 99.0}]},
    )
    result = read_table(path, "cvg")
    out = result.data
    assert out["cvg_gp"].isna().tolist() == [False, True, True, False]
    assert out["cvg_gp"].dtype == "Int64"
    assert out["cvg_patient"].tolist() == [4, 6, 5, 7]  # numeric: codes kept
    assert out["practice_id"].tolist() == ["101", "101", "102", "102"]
    assert result.report.value_labels == []
    assert any("2 user-missing" in n for n in result.report.notes)


def test_spss_value_labels_are_applied_and_row_numbers_are_case_numbers(tmp_path):
    df = pd.DataFrame({
        "verzekerde": ["a", "b", "c"], "year": [2015.0, 2015.0, 2015.0],
        "practice_id": ["p1", "p1", "p2"], "insured_days": [365.0, 200.0, 365.0],
        "geslacht": [1.0, 2.0, 2.0], "birth_year": [1950.0, 1960.0, 1970.0],
        "minima": [1.0, 0.0, 0.0],
    })
    path = _write_sav(
        tmp_path / "periods.sav", df,
        variable_value_labels={"geslacht": {1.0: "M", 2.0: "V"},
                               "minima": {0.0: "nee", 1.0: "ja"}},
    )
    mapping = {"columns": {"verzekerde": "person_id", "geslacht": "sex"},
               "values": {"sex": {"V": "F"}}}
    result = read_table(path, "insured_periods", mapping=mapping)
    assert result.data["sex"].tolist() == ["M", "F", "F"]
    assert result.data["minima"].tolist() == [True, False, False]
    assert sorted(result.report.value_labels) == ["minima", "sex"]
    bad = df.assign(insured_days=[365.0, 200.0, 0.0])
    path = _write_sav(tmp_path / "bad.sav", bad,
                      variable_value_labels={"geslacht": {1.0: "M", 2.0: "V"}})
    with pytest.raises(DataValidationError) as info:
        read(path, "insured_periods", mapping=mapping)
    assert _violation(info.value, "insured_days", "below minimum").rows == (3,)


# --- mapping ---------------------------------------------------------------------------

EXPORT_LINES = [
    "verzekerde_id;jaar;praktijk;dagen;geslacht;geboortejaar;gemeentepolis",
    "X1;2015;p1;365;V;1950;ja",
    "X2;2015;p2;181;M;1961;nee",
]
MAPPING_TOML = """\
[columns]            # export name -> contract name
verzekerde_id = "person_id"
jaar = "year"
praktijk = "practice_id"
dagen = "insured_days"
geslacht = "sex"
geboortejaar = "birth_year"
gemeentepolis = "minima"

[values.sex]         # export code -> contract value
V = "F"
M = "M"

[values.minima]
ja = true
nee = false
"""


def test_mapping_from_toml_and_from_dict_agree(tmp_path):
    import tomllib

    path = write_text(tmp_path / "export.csv", EXPORT_LINES)
    toml_path = tmp_path / "mapping.toml"
    toml_path.write_text(MAPPING_TOML, encoding="utf-8")
    from_file = read_table(path, "insured_periods", mapping=toml_path)
    from_dict = read_table(path, "insured_periods", mapping=tomllib.loads(MAPPING_TOML))
    df = from_file.data
    assert list(df.columns) == ["person_id", "year", "practice_id", "insured_days", "sex",
                                "birth_year", "minima"]
    assert df["sex"].tolist() == ["F", "M"]
    assert df["minima"].tolist() == [True, False]
    assert df["insured_days"].tolist() == [365, 181]
    pd.testing.assert_frame_equal(df, from_dict.data)
    assert from_file.report.mapping["source"] == str(toml_path)
    assert from_dict.report.mapping["source"] == "<dict>"
    assert from_file.report.mapping["columns"]["jaar"] == "year"


def test_mapping_errors_are_clear(tmp_path):
    path = write_text(tmp_path / "export.csv", EXPORT_LINES)
    with pytest.raises(SpecificationError) as info:
        read(path, "insured_periods", mapping={"columns": {"jaartal": "year"}})
    assert "'jaartal' is not a column of the file (did you mean 'jaar'?)" in str(info.value)
    with pytest.raises(SpecificationError) as info:
        read(path, "insured_periods", mapping={"columns": {"jaar": "yaer"}})
    assert "did you mean 'year'?" in str(info.value)
    with pytest.raises(SpecificationError, match="recodes"):
        read(path, "insured_periods", mapping={"values": {"sex": {"V": "F"}}})
    with pytest.raises(SpecificationError, match="unknown mapping section"):
        read(path, "insured_periods", mapping={"kolommen": {}})
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("[columns\njaar = year", encoding="utf-8")
    with pytest.raises(SpecificationError, match="not a valid TOML"):
        read(path, "insured_periods", mapping=bad_toml)


def test_missing_columns_without_mapping_suggest_the_export_names(tmp_path):
    path = write_text(tmp_path / "export.csv", [
        "person_id;Year;practice_id;insured_days;sex;birth_year;minima",
        "X1;2015;p1;365;F;1950;ja",
    ])
    with pytest.raises(DataValidationError) as info:
        read(path, "insured_periods")
    v = _violation(info.value, "year", "missing column")
    assert "did you mean 'Year'?" in v.detail


# --- the guard comes first ------------------------------------------------------------


def test_identifiers_are_refused_before_validation(tmp_path):
    bsns = make_bsns(3, seed=11)
    path = write_text(tmp_path / "claims.csv", [
        CLAIM_HEADER + ";bsn",
        *[f"P{i};{i};2015-01-0{i + 1};poli_dbc;;-{i + 1}0;{b}" for i, b in enumerate(bsns)],
    ])
    with pytest.raises(IdentifierError) as info:
        read(path, "claim_lines")  # the negative costs are never reached
    assert "'bsn'" in str(info.value) and not any(b in str(info.value) for b in bsns)


def test_a_mapping_cannot_hide_a_bsn_column(tmp_path):
    bsns = make_bsns(3, seed=12)
    path = write_text(tmp_path / "claims.csv", [
        "klant;claim_id;start_date;care_type;cost",
        *[f"{b};{i};2015-01-01;poli_dbc;10" for i, b in enumerate(bsns)],
    ])
    with pytest.raises(IdentifierError, match="eleven-test"):
        read(path, "claim_lines", mapping={"columns": {"klant": "person_id"}})


def test_names_in_a_spreadsheet_are_refused(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["naam", "respondent_type", "item", "rating"])
    book.active.append(["A. de Vries", "patient", "q1", 4])
    path = tmp_path / "conv.xlsx"
    book.save(path)
    with pytest.raises(IdentifierError, match="person's name"):
        read(path, "conversations")


# --- the front door -------------------------------------------------------------------


def test_read_records_the_report_in_attrs_and_writes_nothing(tmp_path):
    path = write_text(tmp_path / "p.csv", [
        "# SYNTHETIC DATA",
        "practice_id;city;neighbourhood;group;kbz_start_year",
        "p1;Utrecht;Overvecht;kbz;2014",
    ])
    before = sorted(p.name for p in tmp_path.iterdir())
    df = kbz.read(path, "practices")
    result = read_table(path, "practices")
    assert df.attrs["kbz_read"] == result.report.as_dict()
    assert df.attrs["kbz_read"]["detected"]["comment_lines"]["value"] == 1
    assert df.attrs["kbz_read"]["rows_read"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert "1 of 1 rows kept" in result.report.describe()


def test_foreign_keys_through_read(tmp_path):
    df = person_years()
    df.loc[2, "practice_id"] = "onbekend"
    path = tmp_path / "py.parquet"
    df.to_parquet(path)
    with pytest.raises(DataValidationError) as info:
        read(path, "person_years", references={"practices": practices()})
    v = _violation(info.value, "practice_id", "foreign key")
    assert (v.n_rows, v.rows, v.values) == (1, (4,), ("onbekend",))


def test_options_are_checked_before_the_file_is_touched(tmp_path):
    missing = tmp_path / "nowhere.csv"
    with pytest.raises(SpecificationError) as info:
        read(missing, "practices", on_error="skip")
    assert str(info.value) == (
        "The value for `on_error` must be one of ['raise', 'drop'], but 'skip' was passed."
    )
    with pytest.raises(SpecificationError, match="`table` must be one of"):
        read(missing, "praktijken")
    with pytest.raises(FileNotFoundError):
        read(missing, "practices")
    with pytest.raises(SpecificationError, match="must end in one of"):
        read(tmp_path / "x.json", "practices")
    path = write_text(tmp_path / "p.csv", ["practice_id;city", "p1;Utrecht"])
    with pytest.raises(SpecificationError, match="`sheet` only applies to xlsx"):
        read(path, "practices", sheet="data")
    with pytest.raises(SpecificationError, match="`decimal` must be one of"):
        read(path, "practices", decimal=";")


# --- real public data -----------------------------------------------------------------


@pytest.mark.data
def test_real_vektis_cp1252_release_is_detected(shared_data):
    path = shared_data / "vektis" / "vektis_2015_gemeente_original_release_cp1252.csv"
    raw = open_source(path)
    assert raw.detected["encoding"].value == "cp1252"
    assert raw.detected["encoding"].how == "fallback"
    assert raw.detected["delimiter"].value == ";"
    assert raw.detected["decimal"].value == "."  # ';'-separated, yet a decimal point
    assert raw.row_numbers[0] == 2 and raw.row_numbers[-1] == len(raw.frame) + 1
    names = raw.frame["GEMEENTENAAM"].dropna()
    assert names.str.contains("SÚDWEST-FRYSLÂN", regex=False).any()
    kbz.check_identifiers(raw.frame, source=str(path))  # AANTAL_BSN is a count
