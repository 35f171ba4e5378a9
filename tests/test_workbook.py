"""The report workbook and the label catalogue.

The sample report is run once per language; its published tables (captured on their way
to the workbook writer) are written again and read back with openpyxl: numbers are
numbers with a number format, counts and years whole numbers, suppression labels text,
headers in the report's language, a contents sheet with working links, and the same
bytes every time. Every sheet and column of the sample report must have a label.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from conftest import shared_data_dir

from kbz_eval.disclosure import SUPPRESSED_LABEL
from kbz_eval.report import labels
from kbz_eval.report.labels import label, missing_labels, unit
from kbz_eval.report.workbook import MAX_SHEET_NAME, sheet_names, write_workbook

LANGUAGES = ("nl", "en")


@pytest.fixture(scope="module")
def reports(shared_report_nl, shared_report_en) -> dict[str, dict]:
    """Per language: the report folder and the tables and about rows it wrote (the
    sample report of kbz.toml with 199 replicates and the open data when they are
    here, built once for the run; its tables captured on their way to the workbook
    writer)."""
    out: dict[str, dict] = {}
    for language, shared in zip(LANGUAGES, (shared_report_nl, shared_report_en),
                                strict=True):
        seen = shared.recorded()
        out[language] = {"folder": shared.folder, "tables": seen["tables"],
                         "about": seen["about"]}
    return out


@pytest.fixture(scope="module")
def written(reports, tmp_path_factory) -> dict[str, Path]:
    """The captured tables written as a workbook in each language."""
    base = tmp_path_factory.mktemp("written")
    out = {}
    for language, rep in reports.items():
        path = base / f"report_{language}.xlsx"
        write_workbook(path, rep["tables"], rep["about"], language=language)
        out[language] = path
    return out


def _names(reports, language: str) -> dict[str, str]:
    contents = labels.WORKBOOK["contents"].text(language)
    about = labels.WORKBOOK["about"].text(language)
    return sheet_names(list(reports[language]["tables"]), language,
                       reserved=(contents, about))


# ------------------------------------------------------------------------ catalogue


def test_every_sheet_and_column_of_the_sample_report_has_a_label(reports):
    for language, rep in reports.items():
        tables = rep["tables"]
        assert len(tables) > 40
        assert missing_labels(tables) == [], language
        for key, frame in tables.items():
            assert missing_labels(frame.columns, table=key) == [], (language, key)
            heads = [label(str(c), language, table=key) for c in frame.columns]
            assert len(set(heads)) == len(heads), (language, key, heads)
        # the CSV files (tables and figure data) use the same column names
        for path in sorted(rep["folder"].glob("*/*.csv")) + [rep["folder"] /
                                                               "data_quality.csv"]:
            columns = pd.read_csv(path, nrows=0).columns
            table = path.stem.replace("__", ".")
            assert missing_labels(columns, table=table) == [], (language, path.name)


def test_open_data_sheets_are_labelled_when_the_data_are_here(reports):
    if shared_data_dir() is None:
        pytest.skip("real public data not found: the report has no open-data sheets")
    keys = [k for k in reports["nl"]["tables"] if k.startswith("open_data_")]
    assert any(k.startswith("open_data_synthetic_control_") for k in keys)
    assert missing_labels(keys) == []


def test_unknown_names_fall_back_to_the_name_and_are_reported():
    assert label("a_column_nobody_declared", "nl") == "a_column_nobody_declared"
    assert missing_labels(["n_persons", "a_column_nobody_declared", "year",
                           "a_column_nobody_declared", "savings_minima.tidy",
                           "savings_minima.no_such_table"]) == [
        "a_column_nobody_declared", "savings_minima.no_such_table"]
    # place names are data only in the tables that carry them as columns
    assert missing_labels(["UTRECHT"]) == ["UTRECHT"]
    assert missing_labels(["UTRECHT"], table="open_data_x.placebo_gaps") == []


def test_labels_and_units_of_common_columns():
    assert label("poli_dbc_cost", "nl") == "Kosten poliklinische DBC's"
    assert label("poli_dbc_cost", "en") == "Outpatient DBC costs"
    assert label("n_persons", "nl") == "Aantal personen"
    assert label("n_persons", "en") == "Number of persons"
    assert unit("poli_dbc_cost") == "EUR"
    assert unit("n_persons") == "persons"
    assert unit("year") == "year"
    assert unit("p_value") == "p_value"
    assert unit("term") is None
    assert unit("ci_lower", "savings_minima.by_group_year") == "EUR"
    assert unit("ci_lower", "referrals_avoided.shares") == "share"
    assert label("savings_minima.tidy", "nl").startswith("Besparing op poliklinische")
    with pytest.raises(ValueError, match="language"):
        label("n", "de")


def test_every_column_has_a_known_unit_and_both_languages():
    for name, entry in labels.COLUMNS.items():
        assert entry.unit is None or entry.unit in labels.UNITS, name
        assert entry.nl and entry.en, name
    for table in labels.TABLE_UNITS.values():
        assert set(table.values()) <= set(labels.UNITS)


# ------------------------------------------------------------------------- workbook


def _table_sheets(path: Path, reports, language: str):
    wb = openpyxl.load_workbook(path)
    names = _names(reports, language)
    for key, frame in reports[language]["tables"].items():
        yield key, frame, wb[names[key]]


def test_sheet_names_are_readable_unique_and_short(written, reports):
    for language, path in written.items():
        wb = openpyxl.load_workbook(path, read_only=True)
        names = wb.sheetnames
        assert names[0] == labels.WORKBOOK["contents"].text(language)
        assert names[1] == labels.WORKBOOK["about"].text(language)
        assert len(names) == len(reports[language]["tables"]) + 2
        assert len({n.lower() for n in names}) == len(names)
        assert all(len(n) <= MAX_SHEET_NAME for n in names)
        assert not any("~" in n for n in names), names
        assert (labels.STANDALONE_TABLES["data_quality"].short(language)) in names


def test_cells_are_numbers_counts_whole_and_text_stays_text(written, reports):
    for language, path in written.items():
        checked = {"int": 0, "float": 0, "str": 0}
        for key, frame, ws in _table_sheets(path, reports, language):
            rows = list(ws.iter_rows(min_row=2))
            assert len(rows) == len(frame), key
            for c, col in enumerate(frame.columns):
                whole = unit(str(col), key) in labels.WHOLE_UNITS
                for value, row in zip(frame[col].tolist(), rows, strict=True):
                    cell = row[c]
                    if value is None or value is pd.NA or (isinstance(value, float)
                                                          and np.isnan(value)):
                        assert cell.value is None, (key, col)
                    elif isinstance(value, bool):
                        assert cell.value is value, (key, col)
                    elif isinstance(value, (int, float)):
                        assert cell.data_type == "n", (key, col, value)
                        assert cell.number_format != "General", (key, col)
                        if isinstance(value, int) or (whole and float(value).is_integer()):
                            assert type(cell.value) is int, (key, col, value)
                            assert cell.number_format in ("0", "€ #,##0.00"), (key, col)
                            checked["int"] += 1
                        else:
                            assert cell.value == pytest.approx(value, rel=1e-12), (key, col)
                            checked["float"] += 1
                    else:
                        assert cell.data_type == "s" and cell.value == str(value), (key, col)
                        checked["str"] += 1
        assert min(checked.values()) > 100, (language, checked)


def test_counts_years_money_and_p_values_have_their_formats(written, reports):
    for language, path in written.items():
        tables = reports[language]["tables"]
        wb = openpyxl.load_workbook(path)
        ws = wb[_names(reports, language)["savings_minima.by_group_year"]]
        heads = [c.value for c in ws[1]]
        frame = tables["savings_minima.by_group_year"]
        assert heads == [label(c, language) for c in frame.columns]
        row = {h: c for h, c in zip(heads, ws[2], strict=True)}
        year = row[label("year", language)]
        assert type(year.value) is int and year.number_format == "0"
        persons = row[label("n_persons", language)]
        assert type(persons.value) is int and persons.number_format == "0"
        cost = row[label("cost_per_insured_year", language)]
        assert isinstance(cost.value, float) and cost.number_format == "€ #,##0.00"
        ws = wb[_names(reports, language)["dbc_index.event_study"]]
        heads = [c.value for c in ws[1]]
        p = ws.cell(2, heads.index(label("p_value", language)) + 1)
        assert isinstance(p.value, float) and "0.000" in p.number_format


def test_headers_are_in_the_report_language(written, reports):
    for language, path in written.items():
        for key, frame, ws in _table_sheets(path, reports, language):
            heads = [c.value for c in ws[1]]
            assert heads == [label(str(c), language, table=key) for c in frame.columns], key
    wb = openpyxl.load_workbook(written["nl"], read_only=True)
    heads = next(wb[_names(reports, "nl")["savings_minima.by_group_year"]].values)
    assert "Aantal personen" in heads and "Jaar" in heads
    assert not {"n_persons", "year", "Number of persons"} & set(heads)


def test_header_row_is_frozen_and_filtered(written, reports):
    from openpyxl.utils import get_column_letter

    for language, path in written.items():
        for key, frame, ws in _table_sheets(path, reports, language):
            assert ws.freeze_panes == "A2", key
            last = get_column_letter(len(frame.columns))
            assert ws.auto_filter.ref == f"A1:{last}{max(len(frame), 1) + 1}", key
            widths = [ws.column_dimensions[get_column_letter(i + 1)].width
                      for i in range(len(frame.columns))]
            assert all(8 <= w <= 53 for w in widths), (key, widths)


def test_contents_sheet_links_every_sheet(written, reports):
    for language, path in written.items():
        wb = openpyxl.load_workbook(path)
        ws = wb.worksheets[0]
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref
        listed = {}
        for row in ws.iter_rows(min_row=2):
            link = row[1].hyperlink
            assert link is not None and link.target is None, row[1].value
            target = link.location.rpartition("!")[0].strip("'").replace("''", "'")
            assert target == row[1].value and target in wb.sheetnames
            listed[target] = row
        assert set(listed) == set(wb.sheetnames[1:])
        names = _names(reports, language)
        for key, frame in reports[language]["tables"].items():
            row = listed[names[key]]
            assert row[3].value == len(frame) and type(row[3].value) is int
            assert row[4].value == key
            assert row[5].value == ", ".join(map(str, frame.columns))
            assert row[0].value == label(key, language)


def test_about_sheet_is_in_the_report_language(written):
    about = {lang: dict(list(openpyxl.load_workbook(p, read_only=True).worksheets[1]
                             .values)[1:]) for lang, p in written.items()}
    assert {"Bronnen", "Periode", "Onthullingsregel", "Synthetische gegevens"} <= set(
        about["nl"])
    assert {"Sources", "Period", "Suppression rule", "Synthetic data"} <= set(about["en"])
    assert SUPPRESSED_LABEL["nl"] in about["nl"]["Onthullingsregel"]
    assert "personen" in about["nl"]["Onthullingsregel"]
    assert about["nl"]["Synthetische gegevens"].startswith("ja")
    assert "fewer than" in about["en"]["Suppression rule"]


def test_suppression_labels_stay_text(written, reports):
    for language, path in written.items():
        found = 0
        for _, _, ws in _table_sheets(path, reports, language):
            for row in ws.iter_rows(min_row=2):
                for cell in row:
                    if cell.value == SUPPRESSED_LABEL[language]:
                        assert cell.data_type == "s"
                        found += 1
        assert found > 50, language


def test_same_tables_give_the_same_bytes(reports, tmp_path):
    rep = reports["nl"]
    write_workbook(tmp_path / "a.xlsx", rep["tables"], rep["about"], language="nl")
    write_workbook(tmp_path / "b.xlsx", rep["tables"], rep["about"], language="nl")
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()


def test_the_report_writes_its_workbook_in_its_language(reports):
    for language, rep in reports.items():
        wb = openpyxl.load_workbook(rep["folder"] / "report.xlsx", read_only=True)
        assert wb.sheetnames[0] == labels.WORKBOOK["contents"].text(language)


# ------------------------------------------------------------------- small frames


def test_small_frame_types_and_formats(tmp_path):
    label_nl = SUPPRESSED_LABEL["nl"]
    frame = pd.DataFrame({
        "year": [2012.0, 2013.0, np.nan],
        "n_persons": pd.array([1234, 5, pd.NA], dtype="Int64"),
        "n": pd.Series([12, label_nl, "7"], dtype=object),
        "cost_per_insured_year": [1083.702034901185, 1.5, np.inf],
        "p_value": [0.0137, 1e-9, 0.5],
        "share": [0.25, 0.5, label_nl],
        "post": [True, False, True],
        "brand_new": [0.123456789012345, 2.0, 3.0],
        "n_practices": pd.Series([np.int64(6), np.float64(7.0), label_nl], dtype=object),
    })
    path = tmp_path / "small.xlsx"
    write_workbook(path, {"savings_minima.by_group_year": frame}, [("period", "2012–2016")],
                   language="nl")
    ws = openpyxl.load_workbook(path).worksheets[2]
    rows = list(ws.iter_rows(values_only=False))
    assert [c.value for c in rows[0]] == [
        "Jaar", "Aantal personen", "Aantal (n)", "Kosten per verzekerdejaar", "p-waarde",
        "Aandeel", "Na de start", "brand_new", "Aantal praktijken"]
    year, persons, n, cost, p, share, post, new, practices = rows[1]
    assert (year.value, year.number_format) == (2012, "0")
    assert (persons.value, persons.number_format) == (1234, "0")
    assert (n.value, n.number_format) == (12, "0")
    assert cost.number_format == "€ #,##0.00"
    assert p.number_format == '[<0.001]"<0,001";0.000'
    assert share.number_format == "0.0%"
    assert post.value is True
    assert new.data_type == "n" and new.number_format == "#,##0.000"
    assert (practices.value, practices.number_format) == (6, "0")
    assert type(rows[2][8].value) is int and rows[3][8].value == label_nl
    assert rows[2][2].value == label_nl and rows[2][2].data_type == "s"
    assert rows[3][2].value == "7" and rows[3][2].data_type == "s"  # text stays text
    assert rows[3][0].value is None and rows[3][1].value is None
    assert rows[3][5].value == label_nl


def test_sheet_names_without_labels_stay_unique_and_short():
    long = "open_data_a_table_nobody_labelled_with_a_long_name"
    names = sheet_names([f"{long}.one", f"{long}.two", "x[1]:y", "Inhoud"], "nl",
                        reserved=("Inhoud",))
    values = list(names.values())
    assert len({v.lower() for v in values}) == 4
    assert all(len(v) <= MAX_SHEET_NAME for v in values)
    assert values[1].endswith("(2)") and values[2] == "x_1__y" and values[3] == "Inhoud (2)"
    assert sheet_names([f"{long}.one", f"{long}.two"], "nl") == {
        k: v for k, v in names.items() if k.startswith(long)}


def test_unknown_language_is_refused(tmp_path):
    with pytest.raises(ValueError, match="language"):
        write_workbook(tmp_path / "x.xlsx", {}, [], language="de")
