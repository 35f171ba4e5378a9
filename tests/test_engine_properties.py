"""Property tests: the Ibis engine equals the plain pandas reference on random inputs.

Hypothesis draws small claim files with everything that makes claims data tricky:
re-sent lines (identical and disagreeing), persons insured without claims, claims on
31 December and 1 January, leap days, codes starting 16/17 and look-alikes, missing
codes and end dates, unknown care types, orphans, both year rules and several code
exclusions. ``kbz_eval.engine.reference.reference_panel`` is the independent pandas
implementation of the same documented rules.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kbz_eval.engine import build_panel
from kbz_eval.engine.reference import reference_panel
from kbz_eval.tables import CARE_TYPES

#: Deprecation notices raised inside third-party libraries (Ibis on duckdb 2 / pandas 3,
#: PySpark on pandas 3), not by kbz_eval.
THIRD_PARTY_NOTICES = [
    pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'future.infer_string' option:Warning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:Warning"),
]
pytestmark = THIRD_PARTY_NOTICES

#: Costs are whole cents, so sums are exact to far below a cent.
COST_TOL = 1e-6

PERSONS = ("A", "B", "C", "D")
YEARS = (2015, 2016, 2017)
#: Dates at and around year boundaries, and the leap day.
EDGE_DATES = (
    dt.date(2014, 12, 31), dt.date(2015, 1, 1), dt.date(2015, 12, 31), dt.date(2016, 1, 1),
    dt.date(2016, 2, 29), dt.date(2016, 12, 31), dt.date(2017, 1, 1), dt.date(2017, 12, 31),
    dt.date(2018, 1, 1),
)
CODES = (None, "160001", "172899", "17", "16", "150102", "016000", "990016", "1", "")
CARE = (*CARE_TYPES, "dental")

dates = st.one_of(
    st.sampled_from(EDGE_DATES),
    st.dates(min_value=dt.date(2014, 12, 1), max_value=dt.date(2018, 1, 31)),
)


@st.composite
def claim_line(draw) -> dict:
    start = draw(dates)
    end = draw(st.one_of(st.none(), st.integers(0, 400).map(
        lambda d: start + dt.timedelta(days=d))))
    return {
        "person_id": draw(st.sampled_from(PERSONS + ("Z",))),   # Z is never insured
        "claim_id": draw(st.one_of(st.sampled_from([f"c{i}" for i in range(8)]),
                                   st.none())),
        "start_date": start,
        "end_date": end,
        "care_type": draw(st.sampled_from(CARE)),
        "declaration_code": draw(st.sampled_from(CODES)),
        "cost": draw(st.integers(0, 500_000)) / 100,
    }


#: A re-send that disagrees: the same claim with one field changed.
CHANGES = {
    "start_date": dates,
    "end_date": st.one_of(st.none(), dates),
    "cost": st.integers(0, 500_000).map(lambda c: c / 100),
    "care_type": st.sampled_from(CARE),
    "declaration_code": st.sampled_from(CODES),
    "person_id": st.sampled_from(PERSONS),
}


@st.composite
def claim_file(draw) -> pd.DataFrame:
    rows = draw(st.lists(claim_line(), min_size=0, max_size=25))
    if rows:
        index = st.integers(0, len(rows) - 1)
        # identical re-sends of some lines
        rows += [dict(rows[i]) for i in draw(st.lists(index, max_size=8))]
        # disagreeing re-sends: a copy with one field changed
        for i, field in draw(st.lists(st.tuples(index, st.sampled_from(sorted(CHANGES))),
                                      max_size=8)):
            rows.append({**rows[i], field: draw(CHANGES[field])})
        rows = draw(st.permutations(rows))
    df = pd.DataFrame(rows, columns=["person_id", "claim_id", "start_date", "end_date",
                                     "care_type", "declaration_code", "cost"])
    df["cost"] = df["cost"].astype("float64")
    for col in ("person_id", "claim_id", "care_type", "declaration_code"):
        df[col] = df[col].astype("str")
    for col in ("start_date", "end_date"):
        df[col] = pd.to_datetime(df[col])
    return df


@st.composite
def insured_periods(draw) -> pd.DataFrame:
    # most person-years insured; the drawn set is the gaps (persons insured without
    # claims arise wherever no claim falls)
    every = {(p, y) for p in PERSONS for y in YEARS}
    gaps = draw(st.sets(st.sampled_from(sorted(every)), max_size=len(every)))
    rows = []
    for person, year in sorted(every - gaps):
        days = 366 if year == 2016 else 365
        rows.append({
            "person_id": person, "year": year, "practice_id": f"OV0{PERSONS.index(person)}",
            "insured_days": draw(st.integers(1, days)), "sex": "F" if person < "C" else "M",
            "birth_year": 1950 + PERSONS.index(person), "minima": person == "A",
        })
    return pd.DataFrame(rows, columns=["person_id", "year", "practice_id", "insured_days",
                                       "sex", "birth_year", "minima"])


@pytest.fixture(scope="module")
def con():
    return ibis.duckdb.connect(threads=1)


#: 40 random claim files: each holds about 25 lines with every tricky case drawn at once
#: (re-sends, edge dates, codes, orphans, unknown care types), and the year rule and the
#: code exclusion are drawn too: each of their 8 pairs comes up 5 times on average.
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(
    claims=claim_file(),
    periods=insured_periods(),
    year_rule=st.sampled_from(["start_date", "end_date"]),
    exclude=st.sampled_from([("16", "17"), (), ("15",), ("1",)]),
)
def test_engine_equals_pandas_reference(con, claims, periods, year_rule, exclude):
    res = build_panel(claims, periods, con=con, year_rule=year_rule, exclude_codes=exclude,
                      return_report=True)
    ref, ref_report = reference_panel(claims, periods, year_rule=year_rule,
                                      exclude_codes=exclude)
    pd.testing.assert_frame_equal(res.panel, ref, check_exact=False, atol=COST_TOL)
    for key, value in ref_report.items():
        assert getattr(res.report, key) == pytest.approx(value, abs=COST_TOL), key
    rep = res.report
    assert (rep.excluded_claims + rep.unassignable_claims + rep.orphan_claims
            + rep.unknown_care_type_claims + rep.panel_claims) == rep.distinct_claims
    assert rep.lines_in == len(claims)
    assert rep.person_years == len(periods)
