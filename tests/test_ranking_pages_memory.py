"""The memory-saving paths of the practice ranking and the practice pages give exactly
what the plain pandas computations they replace give: per-practice O/E sums from the
rows' positions (not a sub-frame per practice), the persons in the model counted on a
mark per person, the practice × year cells of the trends one year at a time, and the
persons per practice and year of the pages from integer codes."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from kbz_eval.estimators import claims_common as cc
from kbz_eval.estimators import practice_trends as pt
from kbz_eval.estimators import ranking
from kbz_eval.estimators.risk_adjustment import expected_values, oe_inference
from kbz_eval.report.practice_pages import practice_year_persons
from kbz_eval.synth import generate, load_sample

OUTCOME = "poli_dbc_cost"


@pytest.fixture(scope="module")
def sample() -> dict[str, pd.DataFrame]:
    """A simulated (uncalibrated) sample: plain draws, other numbers than the
    embedded one."""
    return generate(7, calibrate=False)


@pytest.fixture(scope="module")
def prepared(sample) -> cc.ClaimsPanel:
    """The ranking's prepared panel with the age × sex expected values."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cp = cc.prepare_claims(sample["person_years"], sample["practices"],
                               population="all", values=[OUTCOME], need_age_sex=True)
        exp = expected_values(cp, OUTCOME, "pooled")[0]
    cp.frame = cp.frame.assign(expected=exp)
    return cp


def _reference_rows(cp: cc.ClaimsPanel, alpha: float = 0.05) -> pd.DataFrame:
    """The per-practice table as computed before: a sub-frame per practice and a
    person-level frame within it."""
    f = cp.frame
    group_of = dict(zip(cp.practices["practice_id"], cp.practices["group"], strict=True))
    out = []
    for pid, sub in f.groupby("practice_id", sort=True):
        persons = sub.groupby("person", sort=False)[[OUTCOME, "expected"]].sum()
        inf = oe_inference(persons[OUTCOME].to_numpy(), persons["expected"].to_numpy(),
                           alpha=alpha)
        r = inf["oe_ratio"]
        observed, iy = float(sub[OUTCOME].sum()), float(sub["iy"].sum())
        out.append({"practice": pid, "group": group_of[pid], "n_persons": len(persons),
                    "insured_years": iy, "observed": observed,
                    "expected": float(sub["expected"].sum()), "crude_rate": observed / iy,
                    "estimate": r, "std_error": inf["std_error"] / r if r > 0 else np.nan,
                    "ci_lower": inf["ci_lower"], "ci_upper": inf["ci_upper"],
                    "p_value": inf["p_value"]})
    table = pd.DataFrame(out)
    table["n_persons"] = table["n_persons"].astype("Int64")
    return table


def _with_frame(cp: cc.ClaimsPanel, frame: pd.DataFrame) -> cc.ClaimsPanel:
    return cc.ClaimsPanel(frame=frame, n_persons=cp.n_persons, strata=cp.strata,
                          practices=cp.practices, n_rows_outside=cp.n_rows_outside,
                          population=cp.population, years=cp.years)


def test_practice_rows_equal_the_grouped_sums(prepared):
    got = ranking._practice_rows(prepared, OUTCOME, 0.05)
    pd.testing.assert_frame_equal(got, _reference_rows(prepared), check_exact=True)


def test_practice_rows_other_alpha(prepared):
    pd.testing.assert_frame_equal(ranking._practice_rows(prepared, OUTCOME, 0.2),
                                  _reference_rows(prepared, 0.2), check_exact=True)


def test_practice_rows_of_text_ids_and_unsorted_rows(prepared):
    """Practice ids as plain text, and rows not in person order (the grouped path)."""
    f = prepared.frame.assign(practice_id=prepared.frame["practice_id"].astype(object))
    text = _with_frame(prepared, f)
    pd.testing.assert_frame_equal(ranking._practice_rows(text, OUTCOME, 0.05),
                                  _reference_rows(text), check_exact=True)
    shuffled = _with_frame(prepared, prepared.frame.sample(frac=1, random_state=3))
    pd.testing.assert_frame_equal(ranking._practice_rows(shuffled, OUTCOME, 0.05),
                                  _reference_rows(shuffled), check_exact=True)


def test_persons_in_model_equal_nunique(prepared):
    f = prepared.frame
    ids = list(prepared.practices["practice_id"])
    for chosen in (set(ids), set(ids[::3]), {ids[0]}, set()):
        want = int(f.loc[f["practice_id"].isin(chosen), "person"].nunique())
        assert ranking._n_persons_in(prepared, chosen) == want


def test_person_sums_refuse_unsorted_rows():
    assert ranking._person_sums(np.array([0, 2, 1]), [np.ones(3)]) is None
    n, (s,) = ranking._person_sums(np.array([0, 0, 4, 7, 7, 7]),
                                   [np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])])
    assert n == 3
    np.testing.assert_array_equal(s, [3.0, 3.0, 15.0])


def test_practice_ranking_equals_the_plain_table(sample):
    """The whole ranking on the plain per-practice table: replace the memory-saving
    table by the reference and compare every output."""
    py, pr = sample["person_years"], sample["practices"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = ranking.practice_ranking(py, pr, outcome=OUTCOME, seed=5)
        saved = ranking._practice_rows
        try:
            ranking._practice_rows = lambda cp, outcome, alpha: _reference_rows(cp, alpha)
            want = ranking.practice_ranking(py, pr, outcome=OUTCOME, seed=5)
        finally:
            ranking._practice_rows = saved
    pd.testing.assert_frame_equal(got.tidy(), want.tidy(), check_exact=True)
    for name, table in want.tables.items():
        pd.testing.assert_frame_equal(got.tables[name], table, check_exact=True)
    assert got.method == want.method and got.warnings == want.warnings


@pytest.mark.parametrize("population", ["all", "minima"])
def test_trend_cells_equal_practice_year_sums(sample, population):
    indicators = ["poli_dbc_cost", "ggz_cost", "total_cost"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cp = cc.prepare_claims(sample["person_years"], sample["practices"],
                               population=population, values=indicators)
    cells = pt._cells(cp, indicators)
    reference = _with_frame(cp, cp.frame.assign(_one=1.0))
    sums, _ = cc.practice_year_sums(reference, cp.years, [*indicators, "iy", "_one"])
    np.testing.assert_array_equal(cells.totals, sums[:, :, :3])
    np.testing.assert_array_equal(cells.iy, sums[:, :, 3])
    np.testing.assert_array_equal(cells.persons, np.rint(sums[:, :, 4]).astype(np.int64))
    assert cells.persons.dtype == np.int64
    assert "_one" not in cp.frame.columns


def _grouped(panel: pd.DataFrame) -> pd.DataFrame:
    return (panel.groupby([panel["practice_id"].astype(str).rename("practice"),
                           panel["year"].astype("int64")], sort=True)["person_id"]
            .nunique().rename("n_persons").reset_index())


def _panels() -> dict[str, pd.DataFrame]:
    py = load_sample()["person_years"][["person_id", "year", "practice_id"]]
    cat = py.assign(person_id=py["person_id"].astype("category"),
                    practice_id=py["practice_id"].astype("category"),
                    year=py["year"].astype("int32"))
    missing = py.copy()
    missing.loc[missing.index[::97], "person_id"] = None
    return {
        "text": py,
        "categorical": cat,
        "unused_categories": cat.assign(practice_id=cat["practice_id"].cat.add_categories(
            ["ZZ99"])),
        "shuffled": py.sample(frac=1, random_state=2),
        "repeated_person_years": pd.concat([py, py.iloc[:500]]).sort_values(
            ["person_id", "year"], kind="stable"),
        "missing_persons": missing,
        "float_years": py.assign(year=py["year"].astype(float)),
        "empty": py.iloc[:0],
    }


@pytest.mark.parametrize("name", list(_panels()))
def test_practice_year_persons_equal_nunique(name):
    panel = _panels()[name]
    pd.testing.assert_frame_equal(practice_year_persons(panel), _grouped(panel),
                                  check_exact=True)
