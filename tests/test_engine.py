"""Claims engine: every rule on a small hand-made example with its expected output.

Each test writes out what the panel must contain, worked out by hand from the rule in
``kbz_eval.engine.build_panel``'s docstring, so a wrong rule fails here.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import warnings

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import kbz_eval as kbz
from kbz_eval.engine import (
    ATTRS_KEY,
    PanelReport,
    PanelResult,
    build_panel,
    check_ggz_window,
    claim_columns,
)
from kbz_eval.engine.reference import reference_panel
from kbz_eval.engine.scale import ScaleParams, write_claim_lines
from kbz_eval.errors import DataValidationError, SpecificationError, StatisticalWarning
from kbz_eval.tables import CARE_TYPE_PREFIX, CARE_TYPES, PERSON_YEARS

#: Deprecation notices raised inside third-party libraries (Ibis on duckdb 2 / pandas 3,
#: PySpark on pandas 3), not by kbz_eval.
THIRD_PARTY_NOTICES = [
    pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'future.infer_string' option:Warning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:Warning"),
]
pytestmark = THIRD_PARTY_NOTICES

#: Costs are rounded to cents: equal means equal to well within a cent.
COST_TOL = 1e-9

LINE_COLUMNS = ["person_id", "claim_id", "start_date", "end_date", "care_type",
                "declaration_code", "cost"]


def lines(*rows: tuple) -> pd.DataFrame:
    """Claim lines from (person, claim, start, end, care_type, code, cost) tuples."""
    df = pd.DataFrame(list(rows), columns=LINE_COLUMNS)
    for col in ("start_date", "end_date"):
        df[col] = pd.to_datetime(df[col]).dt.date
    df["cost"] = df["cost"].astype(float)
    return df


def insured(*rows: tuple) -> pd.DataFrame:
    """Insured periods from (person, year, insured_days) tuples; other columns fixed."""
    df = pd.DataFrame(list(rows), columns=["person_id", "year", "insured_days"])
    df["practice_id"] = "KBZ01"
    df["sex"] = "F"
    df["birth_year"] = 1960
    df["minima"] = False
    return df[["person_id", "year", "practice_id", "insured_days", "sex", "birth_year",
               "minima"]]


@pytest.fixture(scope="module")
def con():
    return ibis.duckdb.connect(threads=1)


def run(claims, periods, con, **kwargs) -> tuple[pd.DataFrame, PanelReport]:
    res = build_panel(claims, periods, con=con, return_report=True, **kwargs)
    assert isinstance(res, PanelResult)
    return res.panel, res.report


def row(panel: pd.DataFrame, person: str, year: int) -> pd.Series:
    hit = panel[(panel.person_id == person) & (panel.year == year)]
    assert len(hit) == 1, f"expected one row for {person} {year}, found {len(hit)}"
    return hit.iloc[0]


# --- rule 1: re-sent duplicates ------------------------------------------------------


def test_resent_duplicates_count_once(con):
    claims = lines(
        ("A", "c1", "2015-03-01", "2015-04-01", "poli_dbc", "150102", 100.0),
        ("A", "c1", "2015-03-01", "2015-04-01", "poli_dbc", "150102", 100.0),
        ("A", "c1", "2015-03-01", "2015-04-01", "poli_dbc", "150102", 100.0),
        ("A", "c2", "2015-05-01", "2015-05-01", "poli_dbc", "150102", 40.0),
    )
    panel, rep = run(claims, insured(("A", 2015, 365)), con)
    r = row(panel, "A", 2015)
    assert r.poli_dbc_count == 2
    assert r.poli_dbc_cost == pytest.approx(140.0, abs=COST_TOL)
    assert (rep.lines_in, rep.distinct_claims, rep.duplicate_lines_removed) == (4, 2, 2)
    assert (rep.resent_claims, rep.disagreeing_claims) == (1, 0)


def test_disagreeing_resends_keep_smallest_line_and_are_reported(con):
    claims = lines(
        # c1: earliest start wins although its cost is highest
        ("A", "c1", "2015-03-01", None, "poli_dbc", "150102", 200.0),
        ("A", "c1", "2015-02-01", None, "poli_dbc", "150102", 300.0),
        ("A", "c1", "2015-03-01", None, "poli_dbc", "150102", 150.0),
        # c2: same start; lowest cost wins
        ("A", "c2", "2015-06-01", "2015-07-01", "gp", None, 50.0),
        ("A", "c2", "2015-06-01", "2015-07-01", "gp", None, 20.0),
        # c3: same start and cost; the line with an end date wins (missing last),
        # its care type decides
        ("A", "c3", "2015-08-01", None, "pharmacy", None, 10.0),
        ("A", "c3", "2015-08-01", "2015-08-01", "other", None, 10.0),
    )
    panel, rep = run(claims, insured(("A", 2015, 365)), con)
    r = row(panel, "A", 2015)
    assert (r.poli_dbc_count, r.poli_dbc_cost) == (1, 300.0)
    assert (r.gp_count, r.gp_cost) == (1, 20.0)
    assert (r.other_count, r.other_cost, r.pharmacy_count) == (1, 10.0, 0)
    assert rep.resent_claims == 3
    assert rep.disagreeing_claims == 3
    assert rep.duplicate_lines_removed == 4


def test_deduplication_comes_before_the_code_filter(con):
    # the kept (earliest) line decides whether the claim is outside the basic package
    claims = lines(
        ("A", "c1", "2015-01-10", None, "poli_dbc", "160001", 80.0),
        ("A", "c1", "2015-02-10", None, "poli_dbc", "150102", 80.0),
        ("A", "c2", "2015-01-10", None, "poli_dbc", "150102", 30.0),
        ("A", "c2", "2015-02-10", None, "poli_dbc", "170001", 30.0),
    )
    panel, rep = run(claims, insured(("A", 2015, 365)), con)
    r = row(panel, "A", 2015)
    assert (r.poli_dbc_count, r.poli_dbc_cost) == (1, 30.0)
    assert rep.excluded_claims == 1
    assert rep.excluded_cost == pytest.approx(80.0)


# --- rule 2: declaration codes 16/17 -------------------------------------------------

CODE_LINES = (
    ("A", "c1", "2015-01-01", None, "poli_dbc", "160001", 1.0),
    ("A", "c2", "2015-01-01", None, "poli_dbc", "172899", 2.0),
    ("A", "c3", "2015-01-01", None, "poli_dbc", "150102", 4.0),
    ("A", "c4", "2015-01-01", None, "poli_dbc", None, 8.0),
    ("A", "c5", "2015-01-01", None, "poli_dbc", "016000", 16.0),
    ("A", "c6", "2015-01-01", None, "poli_dbc", "990016", 32.0),
)


def test_codes_16_and_17_excluded_by_default(con):
    panel, rep = run(lines(*CODE_LINES), insured(("A", 2015, 365)), con)
    r = row(panel, "A", 2015)
    # kept: 150102, missing code, 016000, 990016 -> 4 + 8 + 16 + 32
    assert (r.poli_dbc_count, r.poli_dbc_cost) == (4, 60.0)
    assert (rep.excluded_claims, rep.excluded_cost) == (2, 3.0)
    assert rep.exclude_codes == ("16", "17")


@pytest.mark.parametrize(
    ("exclude", "count", "cost"),
    [((), 6, 63.0), (("99",), 5, 31.0), (("16", "17", "01"), 3, 44.0)],
)
def test_code_exclusion_is_configurable(con, exclude, count, cost):
    panel, rep = run(lines(*CODE_LINES), insured(("A", 2015, 365)), con,
                     exclude_codes=exclude)
    r = row(panel, "A", 2015)
    assert (r.poli_dbc_count, r.poli_dbc_cost) == (count, cost)
    assert rep.exclude_codes == exclude


# --- rule 3: the claims year ---------------------------------------------------------

YEAR_LINES = (
    ("A", "c1", "2015-12-31", "2016-01-10", "poli_dbc", None, 100.0),
    ("A", "c2", "2016-01-01", "2016-01-01", "poli_dbc", None, 10.0),
    ("A", "c3", "2016-02-29", None, "poli_dbc", None, 1.0),
)


def test_claim_belongs_to_start_date_year_by_default(con):
    panel, rep = run(lines(*YEAR_LINES), insured(("A", 2015, 365), ("A", 2016, 366)), con)
    assert row(panel, "A", 2015).poli_dbc_cost == 100.0
    assert row(panel, "A", 2016).poli_dbc_cost == 11.0
    assert rep.year_rule == "start_date"
    assert rep.unassignable_claims == 0


def test_end_date_rule_moves_claims_and_reports_unassignable(con):
    panel, rep = run(lines(*YEAR_LINES), insured(("A", 2015, 365), ("A", 2016, 366)), con,
                     year_rule="end_date")
    assert row(panel, "A", 2015).poli_dbc_count == 0
    assert row(panel, "A", 2016).poli_dbc_cost == 110.0
    assert rep.year_rule == "end_date"
    assert "end_date" in rep.year_rule_text
    assert (rep.unassignable_claims, rep.unassignable_cost) == (1, 1.0)


def test_end_date_rule_needs_the_column(con):
    claims = lines(*YEAR_LINES).drop(columns="end_date")
    with pytest.raises(DataValidationError, match="end_date"):
        build_panel(claims, insured(("A", 2015, 365)), con=con, year_rule="end_date")
    # the default rule does not need it
    panel = build_panel(claims, insured(("A", 2015, 365)), con=con)
    assert panel.poli_dbc_count.tolist() == [1]


# --- rule 4: counts and costs per care type ------------------------------------------


def test_counts_and_costs_per_care_type_and_total(con):
    claims = lines(*[
        ("A", f"c{i}", "2014-06-01", None, c, None, 10.0 * (i + 1) + 0.004 * (i % 2))
        for i, c in enumerate(CARE_TYPES)
    ], ("A", "x", "2014-07-01", None, "ggz_specialist", None, 1.25))
    panel, rep = run(claims, insured(("A", 2014, 365)), con)
    r = row(panel, "A", 2014)
    expected_total = 0.0
    for i, c in enumerate(CARE_TYPES):
        p = CARE_TYPE_PREFIX[c]
        extra = 1.25 if c == "ggz_specialist" else 0.0
        cost = round(10.0 * (i + 1) + 0.004 * (i % 2) + extra, 2)
        assert r[f"{p}_count"] == (2 if c == "ggz_specialist" else 1), p
        assert r[f"{p}_cost"] == pytest.approx(cost, abs=COST_TOL), p
        expected_total += cost
    assert r.total_cost == pytest.approx(round(expected_total, 2), abs=COST_TOL)
    assert rep.panel_claims == len(CARE_TYPES) + 1


def test_unknown_care_type_reported_not_counted(con):
    claims = lines(
        ("A", "c1", "2014-06-01", None, "dental", None, 70.0),
        ("A", "c2", "2014-06-01", None, "gp", None, 30.0),
    )
    panel, rep = run(claims, insured(("A", 2014, 365)), con)
    assert row(panel, "A", 2014).total_cost == 30.0
    assert (rep.unknown_care_type_claims, rep.unknown_care_type_cost) == (1, 70.0)


# --- rule 5: insured persons without claims get zeros --------------------------------


def test_insured_without_claims_get_zero_rows(con):
    claims = lines(("A", "c1", "2015-06-01", None, "gp", None, 30.0))
    periods = insured(("A", 2015, 365), ("A", 2016, 366), ("B", 2015, 200))
    panel, rep = run(claims, periods, con)
    assert panel[["person_id", "year"]].values.tolist() == [
        ["A", 2015], ["A", 2016], ["B", 2015]]
    for person, year in (("A", 2016), ("B", 2015)):
        r = row(panel, person, year)
        assert all(r[c] == 0 for c in claim_columns()), (person, year)
        assert r.total_cost == 0.0
    assert panel[claim_columns()].notna().all().all()
    assert rep.person_years == 3


def test_no_claims_at_all_gives_all_zero_panel(con):
    claims = lines(("A", "c1", "2015-06-01", None, "gp", None, 30.0)).iloc[:0]
    panel, rep = run(claims, insured(("A", 2015, 365), ("B", 2015, 365)), con)
    assert len(panel) == 2
    assert (panel[claim_columns() + ["total_cost"]] == 0).all().all()
    assert (rep.lines_in, rep.distinct_claims, rep.panel_claims) == (0, 0, 0)


# --- rule 6: claims without an insured period ----------------------------------------


def test_claims_without_insured_period_are_counted_and_reported(con):
    claims = lines(
        ("A", "c1", "2015-06-01", None, "gp", None, 30.0),
        ("A", "c2", "2017-06-01", None, "gp", None, 12.5),        # A not insured in 2017
        ("Z", "c3", "2015-06-01", None, "poli_dbc", None, 100.0),  # Z never insured
        ("Z", "c4", "2015-07-01", None, "poli_dbc", None, 50.0),
        ("Z", "c5", "2015-07-01", None, "poli_dbc", "160001", 9.0),  # excluded first
    )
    panel, rep = run(claims, insured(("A", 2015, 365)), con)
    assert panel.person_id.tolist() == ["A"]
    assert row(panel, "A", 2015).gp_cost == 30.0
    assert rep.orphan_claims == 3
    assert rep.orphan_cost == pytest.approx(162.5)
    assert (rep.orphan_person_years, rep.orphan_persons) == (2, 2)
    assert rep.excluded_claims == 1
    assert rep.panel_claims == 1


def test_every_claim_is_accounted_for_once(con):
    claims = lines(
        ("A", "c1", "2015-06-01", None, "gp", None, 30.0),
        ("A", "c1", "2015-06-01", None, "gp", None, 30.0),
        ("A", "c2", "2017-06-01", None, "gp", None, 12.5),
        ("A", "c3", "2015-06-01", None, "gp", "170001", 1.0),
        ("A", "c4", "2015-06-01", None, "spa", None, 2.0),
        ("B", "c5", "2015-06-01", None, "gp", None, 3.0),
    )
    _, rep = run(claims, insured(("A", 2015, 365)), con, year_rule="start_date")
    parts = (rep.excluded_claims + rep.unassignable_claims + rep.orphan_claims
             + rep.unknown_care_type_claims + rep.panel_claims)
    assert parts == rep.distinct_claims == 5
    assert (rep.excluded_claims, rep.orphan_claims, rep.unknown_care_type_claims,
            rep.panel_claims) == (1, 2, 1, 1)


# --- rule 7: exposure and the GGZ regime ---------------------------------------------


def test_insured_years_is_days_over_days_in_year(con):
    periods = insured(("A", 2015, 365), ("A", 2016, 183), ("B", 2016, 366), ("B", 2015, 73))
    panel, _ = run(lines(("A", "c", "2015-01-01", None, "gp", None, 1.0)), periods, con)
    got = {(r.person_id, r.year): r.insured_years for r in panel.itertuples()}
    assert got == pytest.approx({("A", 2015): 1.0, ("A", 2016): 0.5, ("B", 2015): 0.2,
                                 ("B", 2016): 1.0})


def test_ggz_regime_by_year_and_warning_across_the_reform(con):
    claims = lines(
        ("A", "c1", "2021-12-31", None, "ggz_specialist", None, 500.0),
        ("A", "c2", "2022-01-01", None, "ggz_specialist", None, 90.0),
    )
    with pytest.warns(StatisticalWarning, match="GGZ payment reform"):
        panel, rep = run(claims, insured(("A", 2021, 365), ("A", 2022, 365)), con)
    assert panel.ggz_regime.tolist() == ["dbc", "consult"]
    assert panel.ggz_cost.tolist() == [500.0, 90.0]
    assert rep.ggz_regimes == ("dbc", "consult")
    assert rep.ggz_break is True


def test_no_ggz_warning_within_one_regime(con):
    claims = lines(("A", "c1", "2015-01-01", None, "ggz_specialist", None, 5.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", StatisticalWarning)
        panel, rep = run(claims, insured(("A", 2015, 365), ("A", 2016, 366)), con)
    assert set(panel.ggz_regime) == {"dbc"}
    assert rep.ggz_break is False


@pytest.mark.parametrize(("years", "spans"), [
    ([2012, 2016], False), ([2022, 2023], False), ([2020, 2021, 2022], True),
    ([2021], False), ([], False), ([2010, 2030], True),
])
def test_check_ggz_window(years, spans):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert check_ggz_window(years) is spans
    hits = [w for w in caught if issubclass(w.category, StatisticalWarning)]
    assert len(hits) == (1 if spans else 0)
    if spans:
        assert "31-12-2021" in str(hits[0].message)


# --- output contract -----------------------------------------------------------------


def test_columns_types_order_and_sort(con):
    claims = lines(("B", "c1", "2015-01-01", None, "gp", None, 1.0),
                   ("A", "c2", "2016-01-01", None, "gp", None, 2.0))
    periods = insured(("B", 2015, 365), ("A", 2016, 366), ("A", 2015, 365))
    periods["region"] = "Utrecht"          # an extra column passes through
    panel, _ = run(claims, periods, con)
    contract = [c for c in PERSON_YEARS.names if c in panel.columns]
    assert list(panel.columns) == contract + ["region", "insured_years"]
    assert set(PERSON_YEARS.names) - set(panel.columns) == {"age_band"}
    assert panel[["person_id", "year"]].values.tolist() == [
        ["A", 2015], ["A", 2016], ["B", 2015]]
    for c in claim_columns():
        assert panel[c].dtype == ("int64" if c.endswith("_count") else "float64"), c
    assert panel.year.dtype == "int64" and panel.insured_days.dtype == "int64"
    assert panel.minima.dtype == bool


def test_report_attached_to_pandas_output_and_caller_frames_unchanged(con):
    claims = lines(("A", "c1", "2015-01-01", None, "gp", None, 1.0))
    periods = insured(("A", 2015, 365))
    before = (claims.copy(), periods.copy())
    panel = build_panel(claims, periods, con=con)
    assert panel.attrs[ATTRS_KEY]["panel_claims"] == 1
    assert panel.attrs[ATTRS_KEY]["year_rule"] == "start_date"
    pd.testing.assert_frame_equal(claims, before[0])
    pd.testing.assert_frame_equal(periods, before[1])


def test_columns_option_gives_those_columns_of_the_full_panel(small_case, tmp_path, con):
    claims, periods = small_case
    full, full_report = run(claims, periods, con)
    wanted = ["year", "person_id", "ggz_cost", "poli_dbc_count", "minima"]
    some, report = run(claims, periods, con, columns=wanted)
    pd.testing.assert_frame_equal(some, full[wanted])
    assert report == full_report
    path = build_panel(claims, periods, con=con, columns=wanted,
                       output=tmp_path / "some.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(path), full[wanted])


@pytest.mark.parametrize("columns, message", [
    (["person_id", "ggz_kosten"], r"names \['ggz_kosten'\], which is not a panel column; "
                                  r"the panel's columns are \['person_id', 'year'"),
    ("person_id", "must be None or a list of distinct panel column names"),
    (["year", "year"], "must be None or a list of distinct"),
    ([], "must be None or a list of distinct"),
])
def test_columns_option_refuses_unknown_or_malformed_names(small_case, con, columns,
                                                           message):
    claims, periods = small_case
    with pytest.raises(SpecificationError, match=message):
        build_panel(claims, periods, con=con, columns=columns)


def test_age_band_instead_of_birth_year(con):
    periods = insured(("A", 2015, 365)).drop(columns="birth_year").assign(age_band="50-54")
    panel = build_panel(lines(("A", "c1", "2015-01-01", None, "gp", None, 1.0)), periods,
                        con=con)
    assert "age_band" in panel.columns and "birth_year" not in panel.columns
    assert panel.age_band.tolist() == ["50-54"]


# --- inputs and outputs --------------------------------------------------------------


@pytest.fixture(scope="module")
def small_case():
    claims = lines(
        ("A", "c1", "2015-03-01", "2015-04-01", "poli_dbc", "150102", 100.0),
        ("A", "c1", "2015-03-01", "2015-04-01", "poli_dbc", "150102", 100.0),
        ("A", "c2", "2015-12-31", "2016-01-02", "ggz_specialist", None, 1234.56),
        ("B", "c3", "2016-02-29", "2016-03-01", "gp", "160001", 9.99),
        ("B", "c4", "2016-07-01", "2016-07-01", "pharmacy", "990004", 12.5),
        ("C", "c5", "2016-07-01", "2016-07-01", "gp", None, 25.0),
    )
    periods = insured(("A", 2015, 365), ("A", 2016, 366), ("B", 2016, 100))
    return claims, periods


def test_input_forms_give_the_same_panel(small_case, tmp_path, con):
    claims, periods = small_case
    expected = build_panel(claims, periods, con=con)
    d = tmp_path / "in"
    (d / "claims").mkdir(parents=True)
    (d / "periods").mkdir()
    half = len(claims) // 2
    pq.write_table(pa.Table.from_pandas(claims.iloc[:half]), d / "claims" / "part-0.parquet")
    pq.write_table(pa.Table.from_pandas(claims.iloc[half:]), d / "claims" / "part-1.parquet")
    pq.write_table(pa.Table.from_pandas(periods), d / "periods" / "p.parquet")
    claims.to_csv(d / "claims.csv", index=False)
    periods.to_csv(d / "periods.csv", index=False)
    forms = {
        "folder": (d / "claims", d / "periods"),
        "glob": (str(d / "claims" / "*.parquet"), str(d / "periods" / "*.parquet")),
        "file list": ([d / "claims" / "part-0.parquet", d / "claims" / "part-1.parquet"],
                      d / "periods" / "p.parquet"),
        "single parquet": (d / "claims" / "part-0.parquet", str(d / "periods" / "p.parquet")),
        "csv": (str(d / "claims.csv"), str(d / "periods.csv")),
        "arrow": (pa.Table.from_pandas(claims), pa.Table.from_pandas(periods)),
        "ibis": (con.create_table("t_claims", claims, overwrite=True),
                 con.create_table("t_periods", periods, overwrite=True)),
    }
    for form, (c, p) in forms.items():
        got = build_panel(c, p, con=con)
        want = expected
        if form == "single parquet":
            want = build_panel(claims.iloc[:half], periods, con=con)
        pd.testing.assert_frame_equal(got, want, check_exact=False, atol=COST_TOL,
                                      obj=form)


def test_parquet_and_ibis_outputs_equal_pandas(small_case, tmp_path):
    claims, periods = small_case
    expected = build_panel(claims, periods)
    path = build_panel(claims, periods, output=tmp_path / "out" / "panel.parquet")
    assert path == tmp_path / "out" / "panel.parquet"
    pd.testing.assert_frame_equal(pd.read_parquet(path), expected)
    own = ibis.duckdb.connect()
    res = build_panel(claims, periods, con=own, output="ibis", return_report=True)
    assert isinstance(res.panel, ibis.Table)
    pd.testing.assert_frame_equal(res.panel.to_pandas(), expected)
    assert res.report.as_dict() == expected.attrs[ATTRS_KEY]


def test_lazy_public_api_and_integer_claim_ids(small_case, con):
    claims, periods = small_case
    ints = claims.assign(claim_id=claims.claim_id.str[1:].astype("int64"))
    pd.testing.assert_frame_equal(kbz.build_panel(ints, periods, con=con),
                                  build_panel(claims, periods, con=con))


# --- errors --------------------------------------------------------------------------


@pytest.mark.parametrize(("option", "value", "match"), [
    ("backend", "polars", "`backend` must be one of"),
    ("year_rule", "declaration_date", "`year_rule` must be one of"),
    ("exclude_codes", "16", "`exclude_codes` must be a tuple"),
    ("exclude_codes", ("16", ""), "`exclude_codes` must be a tuple"),
    ("output", "panda", "`output` must be 'pandas', 'ibis', or a path"),
    ("return_report", "yes", "`return_report` must be True or False"),
    ("threads", 0, "`threads` must be a positive integer"),
])
def test_bad_options_name_parameter_and_value(small_case, option, value, match):
    claims, periods = small_case
    with pytest.raises(SpecificationError, match=match) as err:
        build_panel(claims, periods, **{option: value})
    assert repr(value) in str(err.value)


def test_connection_of_another_backend_is_refused(small_case, con):
    claims, periods = small_case
    with pytest.raises(SpecificationError, match="backend='pyspark'"):
        build_panel(claims, periods, con=con, backend="pyspark")


def test_missing_columns_and_bad_inputs(small_case, con, tmp_path):
    claims, periods = small_case
    with pytest.raises(DataValidationError) as err:
        build_panel(claims.drop(columns=["cost", "care_type"]), periods, con=con)
    assert {v.column for v in err.value.violations} == {"cost", "care_type"}
    with pytest.raises(DataValidationError, match="birth_year"):
        build_panel(claims, periods.drop(columns="birth_year"), con=con)
    with pytest.raises(SpecificationError, match="does not exist"):
        build_panel(tmp_path / "nothing.parquet", periods, con=con)
    with pytest.raises(SpecificationError, match="matches no Parquet or CSV"):
        build_panel(str(tmp_path / "*.parquet"), periods, con=con)
    with pytest.raises(SpecificationError, match="must be a pandas DataFrame"):
        build_panel({"a": 1}, periods, con=con)


def test_repeated_insured_period_is_refused(small_case, con):
    claims, periods = small_case
    doubled = pd.concat([periods, periods.iloc[[0]]], ignore_index=True)
    with pytest.raises(DataValidationError, match="unique key") as err:
        build_panel(claims, doubled, con=con)
    assert err.value.violations[0].n_rows == 1
    assert "2015" in err.value.violations[0].detail


# --- the reference implementation agrees on a hand-made case -------------------------


def test_reference_agrees_on_the_hand_made_case(small_case, con):
    claims, periods = small_case
    panel, rep = run(claims, periods, con)
    ref, ref_rep = reference_panel(claims, periods)
    pd.testing.assert_frame_equal(panel, ref, check_exact=False, atol=COST_TOL)
    for key, value in ref_rep.items():
        assert getattr(rep, key) == pytest.approx(value), key


# --- the embedded sample -------------------------------------------------------------

HAVE_SYNTH = importlib.util.find_spec("kbz_eval.synth") is not None


@pytest.mark.skipif(not HAVE_SYNTH, reason="sample generator not available")
def test_build_panel_reproduces_sample_person_years():
    from kbz_eval.synth import load_sample

    sample = load_sample()
    panel = build_panel(sample["claim_lines"], sample["insured_periods"])
    expected = sample["person_years"].sort_values(["person_id", "year"]).reset_index(
        drop=True)
    common = [c for c in expected.columns if c in panel.columns]
    assert set(PERSON_YEARS.required) <= set(common)
    assert len(panel) == len(expected)
    got = panel[common].reset_index(drop=True)
    for c in common:
        if pd.api.types.is_float_dtype(expected[c]):
            np.testing.assert_allclose(got[c].to_numpy(float), expected[c].to_numpy(float),
                                       atol=0.005 + COST_TOL, err_msg=c)
        else:
            assert got[c].astype(str).tolist() == expected[c].astype(str).tolist(), c


# --- synthetic claim lines at scale ---------------------------------------------------


@pytest.fixture(scope="module")
def scaled(tmp_path_factory):
    out = tmp_path_factory.mktemp("scale")
    info = write_claim_lines(out, n_lines=60_000, seed=7, chunk_lines=25_000)
    return out, info


def test_scale_writes_exact_lines_in_chunks(scaled):
    out, info = scaled
    files = sorted((out / "claim_lines").glob("part-*.parquet"))
    assert [f.name for f in files] == ["part-00000.parquet", "part-00001.parquet",
                                       "part-00002.parquet"]
    assert sum(pq.ParquetFile(f).metadata.num_rows for f in files) == 60_000 == info["n_lines"]
    assert len(list((out / "insured_periods").glob("part-*.parquet"))) == 3
    meta = pq.ParquetFile(files[0]).schema_arrow.metadata
    assert meta[b"kbz_eval.synthetic"] == b"true"
    record = json.loads((out / "synth_info.json").read_text())
    assert record["seed"] == 7 and record["synthetic"] is True
    assert record["n_lines"] == info["n_lines"]


def test_scale_is_reproducible_and_seed_dependent(tmp_path):
    a = write_claim_lines(tmp_path / "a", n_lines=3_000, seed=1, chunk_lines=1_000)
    b = write_claim_lines(tmp_path / "b", n_lines=3_000, seed=1, chunk_lines=1_000)
    c = write_claim_lines(tmp_path / "c", n_lines=3_000, seed=2, chunk_lines=1_000)
    read = lambda d: pd.read_parquet(d / "claim_lines")  # noqa: E731
    pd.testing.assert_frame_equal(read(tmp_path / "a"), read(tmp_path / "b"))
    assert not read(tmp_path / "a").equals(read(tmp_path / "c"))
    assert a["n_persons"] == b["n_persons"]
    assert c["n_lines"] == 3_000


def test_engine_report_matches_what_the_generator_planted(scaled):
    out, info = scaled
    panel, rep = run(out / "claim_lines", out / "insured_periods",
                     ibis.duckdb.connect(threads=1))
    assert rep.lines_in == info["n_lines"]
    assert rep.duplicate_lines_removed == info["n_duplicate_lines"]
    assert rep.distinct_claims == info["n_distinct_claims"]
    assert rep.disagreeing_claims == 0          # re-sends are identical copies
    assert rep.person_years == len(panel) == info["n_person_years"]
    assert panel.person_id.nunique() == info["n_persons"]
    assert rep.orphan_claims == _expected_orphan_claims(out)
    assert rep.orphan_claims == info["n_orphan_claims"]
    assert rep.excluded_claims == info["n_non_basic_claims"]
    assert rep.unassignable_claims == 0
    assert rep.unknown_care_type_claims == 0
    assert set(panel.practice_id) <= set(ScaleParams().practices)


def _expected_orphan_claims(out) -> int:
    """Distinct in-package claims whose (person, start year) has no insured period."""
    df = pd.read_parquet(out / "claim_lines").drop_duplicates("claim_id")
    df = df[~df.declaration_code.fillna("").str.startswith(("16", "17"))]
    periods = pd.read_parquet(out / "insured_periods", columns=["person_id", "year"])
    keys = set(zip(periods.person_id, periods.year.astype(int), strict=True))
    years = pd.to_datetime(df.start_date).dt.year
    return sum((pid, y) not in keys for pid, y in zip(df.person_id, years, strict=True))


#: Tolerance for the generator's planted rates on 60,000 lines (binomial SE ≈ 0.05 pp
#: for a 1.5 % rate; 0.5 pp leaves room for the chunk-wise rounding).
RATE_TOL = 0.005


def test_scale_rates_match_parameters(scaled):
    out, info = scaled
    p = ScaleParams()
    df = pd.read_parquet(out / "claim_lines")
    first = df.drop_duplicates("claim_id")
    assert len(first) == info["n_distinct_claims"]
    # re-sends are exact copies; a claim's credit notes and corrected lines are not
    resent = len(df) - len(df.drop_duplicates())
    assert resent == info["n_duplicate_lines"]
    assert resent / len(first) == pytest.approx(p.duplicate_rate, abs=RATE_TOL)
    non_basic = first.declaration_code.fillna("").str.startswith(("16", "17"))
    assert non_basic.sum() == info["n_non_basic_claims"]
    assert non_basic.mean() == pytest.approx(p.non_basic_code_rate, abs=RATE_TOL)
    shares = first[~non_basic].care_type.value_counts(normalize=True)
    for c, share in p.care_type_share.items():
        assert shares[c] == pytest.approx(share, abs=3 * RATE_TOL), c
    assert info["n_orphan_claims"] / len(first) == pytest.approx(p.orphan_rate, abs=RATE_TOL)


def claims_shape(claims: pd.DataFrame, periods: pd.DataFrame) -> dict[str, float]:
    """Shares and means that characterise a claims extract (computed with pandas).

    Re-sends are exact copies of a line; the shares and means are over the first debit
    line (cost >= 0) of each claim, so that credit notes do not count as claims.
    """
    first = claims[claims.cost >= 0].drop_duplicates("claim_id")
    non_basic = first.declaration_code.fillna("").astype(str).str.startswith(("16", "17"))
    keys = set(zip(periods.person_id.astype(str), periods.year.astype(int), strict=True))
    years = pd.to_datetime(first.start_date).dt.year
    insured_ = np.array([(str(pid), int(y)) in keys
                         for pid, y in zip(first.person_id, years, strict=True)])
    basic = first[~non_basic.to_numpy() & insured_]
    out = {
        "duplicate_rate": (len(claims) - len(claims.drop_duplicates())) / len(first),
        "non_basic_share": float(non_basic.mean()),
        "orphan_share": float((~insured_ & ~non_basic.to_numpy()).mean()),
        "lines_per_person_year": len(basic) / len(periods),
    }
    with_claims = basic.groupby([basic.person_id.astype(str),
                                 pd.to_datetime(basic.start_date).dt.year]).ngroups
    out["share_person_years_without_claims"] = 1 - with_claims / len(periods)
    for c, share in basic.care_type.value_counts(normalize=True).items():
        out[f"share_{c}"] = float(share)
    for c, mean in basic.groupby("care_type").cost.mean().items():
        out[f"mean_cost_{c}"] = float(mean)
    return out


#: Tolerances between the scaled data and the embedded sample: shares of claims in
#: absolute percentage points, mean costs and lines per person-year relative.
SHAPE_SHARE_TOL = 0.01          # 1 pp for every share
SHAPE_RATE_TOL = 0.002          # 0.2 pp for the re-send, 16/17 and orphan rates
SHAPE_MEAN_COST_RTOL = 0.10     # 10 % for the mean cost per care type
SHAPE_LINES_RTOL = 0.05         # 5 % for lines per insured person-year
SHAPE_ZERO_TOL = 0.03           # 3 pp for the share of person-years without claims


@pytest.mark.skipif(not HAVE_SYNTH, reason="sample generator not available")
def test_scaled_data_match_the_sample_shape(tmp_path):
    from kbz_eval.synth import load_sample

    sample = load_sample()
    want = claims_shape(sample["claim_lines"], sample["insured_periods"])
    write_claim_lines(tmp_path, n_lines=300_000, seed=11, chunk_lines=150_000)
    got = claims_shape(pd.read_parquet(tmp_path / "claim_lines"),
                       pd.read_parquet(tmp_path / "insured_periods"))
    assert set(got) == set(want)
    for key in ("duplicate_rate", "non_basic_share", "orphan_share"):
        assert got[key] == pytest.approx(want[key], abs=SHAPE_RATE_TOL), key
    for key in [k for k in want if k.startswith("share_")]:
        tol = SHAPE_ZERO_TOL if key == "share_person_years_without_claims" else \
            SHAPE_SHARE_TOL
        assert got[key] == pytest.approx(want[key], abs=tol), key
    for key in [k for k in want if k.startswith("mean_cost_")]:
        assert got[key] == pytest.approx(want[key], rel=SHAPE_MEAN_COST_RTOL), key
    assert got["lines_per_person_year"] == pytest.approx(want["lines_per_person_year"],
                                                         rel=SHAPE_LINES_RTOL)


def test_scale_refuses_bad_arguments(tmp_path):
    with pytest.raises(SpecificationError, match="`n_lines` must be a positive integer"):
        write_claim_lines(tmp_path, n_lines=0)
    with pytest.raises(SpecificationError, match="`chunk_lines`"):
        write_claim_lines(tmp_path, n_lines=10, chunk_lines=10**9)
    with pytest.raises(SpecificationError, match="`duplicate_rate`"):
        write_claim_lines(tmp_path, n_lines=10,
                          params=ScaleParams(duplicate_rate=1.5))


def test_scale_dates_lie_in_the_claim_year_window(scaled):
    out, _ = scaled
    df = pd.read_parquet(out / "claim_lines", columns=["start_date", "end_date"])
    start = pd.to_datetime(df.start_date)
    assert start.min() >= pd.Timestamp(dt.date(2012, 1, 1))
    assert start.max() <= pd.Timestamp(dt.date(2016, 12, 31))
    end = pd.to_datetime(df.end_date)
    assert (end.dropna() >= start[end.notna()]).all()


def test_csv_codes_keep_leading_zeros_beyond_the_type_sniffing_sample(tmp_path, con):
    # the first 30,000 codes look like numbers; a CSV reader guessing types from them
    # would read the last one, 016000, as 16000 and exclude it as a 16… code
    n = 30_000
    claims = pd.DataFrame({
        "person_id": "1001", "claim_id": np.arange(n + 1).astype(str),
        "start_date": "2015-06-01", "care_type": "gp",
        "declaration_code": ["150102"] * n + ["016000"], "cost": 1.0,
    })
    claims.to_csv(tmp_path / "claims.csv", index=False)
    insured(("1001", 2015, 365)).to_csv(tmp_path / "periods.csv", index=False)
    panel, rep = run(tmp_path / "claims.csv", tmp_path / "periods.csv", con)
    assert panel.person_id.tolist() == ["1001"]
    assert (panel.gp_count.tolist(), rep.excluded_claims) == ([n + 1], 0)
