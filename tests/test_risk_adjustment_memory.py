"""The cell sums of ``kbz.risk_adjustment`` (one stable sort of cell codes, persons
counted by comparing neighbours) equal the plain computation: ``groupby`` sub-frames
of the prepared panel, ``nunique`` persons and the sums of each sub-frame."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import kbz_eval as kbz
from kbz_eval.errors import DataValidationError
from kbz_eval.estimators import claims_common as cc
from kbz_eval.estimators import risk_adjustment as ra

OUTCOME = "poli_dbc_cost"


@pytest.fixture(scope="module")
def sample():
    return kbz.load_sample()


def _variant(sample, name: str) -> pd.DataFrame:
    """The sample's panel in one of the shapes the analysis must treat alike."""
    py = sample["person_years"]
    rng = np.random.default_rng(11)
    if name == "str":
        return py
    if name == "unsorted":
        return py.sample(frac=1, random_state=3)
    if name == "categorical":  # as the report reads the panel: sorted text categories
        out = py.sort_values(["person_id", "year"]).reset_index(drop=True)
        out["person_id"] = pd.Categorical(out["person_id"],
                                          categories=sorted(out["person_id"].unique()))
        for column in ("practice_id", "sex", "age_band"):
            out[column] = out[column].astype("category")
        return out
    if name == "int":
        out = py.sample(frac=1, random_state=4)
        out["person_id"] = out["person_id"].str[1:].astype(np.int64)
        return out
    if name == "switchers":  # persons change practice (and group) between years
        out = py.copy()
        rows = rng.random(len(out)) < 0.2
        ids = sample["practices"]["practice_id"].to_numpy()
        out.loc[rows, "practice_id"] = rng.choice(ids, size=int(rows.sum()))
        return out
    raise ValueError(name)


def _run(panel, practices, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ra.risk_adjustment(panel, practices, outcome=OUTCOME, **options)


def _plain_cells(panel, practices, *, by, population, years):
    """``observed_expected`` sums from ``groupby`` sub-frames of the prepared panel."""
    cp = cc.prepare_claims(panel, practices, population=population, values=[OUTCOME],
                           years=years, need_age_sex=True)
    expected = ra.expected_values(cp, OUTCOME, "pooled")[0]
    f = cp.frame.assign(expected=expected)
    keys = ["group", "year"] if by == "group" else ["practice_id", "year"]
    rows = []
    for (unit, year), sub in f.groupby(keys, sort=True, observed=True):
        o, e = sub[OUTCOME].to_numpy(), sub["expected"].to_numpy()
        rows.append({"unit": str(unit), "year": int(year),
                     "n_persons": sub["person"].nunique(),
                     "insured_years": float(np.nansum(sub["iy"].to_numpy())),
                     "observed": float(np.nansum(o)), "expected": float(np.nansum(e)),
                     "oe_ratio": ra.oe_inference(o, e, alpha=0.05)["oe_ratio"]})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("panel_name", ["str", "unsorted", "categorical", "int",
                                        "switchers"])
@pytest.mark.parametrize("by,inference,population,years", [
    ("group", "practice", "all", None),
    ("group", "person", "minima", None),
    ("group", "practice", "all", [2013, 2015]),
    ("practice", "person", "all", None),
    ("practice", "person", "minima", [2014, 2016]),
])
def test_cells_equal_groupby_sub_frames(sample, panel_name, by, inference, population,
                                        years):
    """Persons, sums and O/E of every unit × year equal those of the ``groupby``
    sub-frames, bit for bit, whatever the person ids and the row order."""
    panel = _variant(sample, panel_name)
    result = _run(panel, sample["practices"], by=by, inference=inference,
                  population=population, years=years)
    got = result.tables["observed_expected"]
    want = _plain_cells(panel, sample["practices"], by=by, population=population,
                        years=years)
    if by == "group":  # groupby sorts the group texts; the table is in kbz, control order
        want = want.sort_values("unit", key=lambda s: s.map({"kbz": 0, "control": 1}),
                                kind="stable")
    columns = list(want.columns)
    assert_frame_equal(got[columns].reset_index(drop=True).astype({"unit": object}),
                       want.reset_index(drop=True).astype({"unit": object}),
                       check_exact=True, check_dtype=False)
    terms = result.estimates.set_index("term")
    for row in want.itertuples():
        assert terms.loc[f"oe_{row.unit}_{row.year}", "n"] == row.n_persons


def test_row_order_and_id_type_do_not_change_the_result(sample):
    """Shuffled rows and a categorical of the ids give the same tables and estimates
    as the sorted text ids, bit for bit."""
    practices = sample["practices"]
    for by in ("group", "practice"):
        base = _run(_variant(sample, "str"), practices, by=by)
        for name in ("unsorted", "categorical"):
            other = _run(_variant(sample, name), practices, by=by)
            assert_frame_equal(base.estimates, other.estimates, check_exact=True)
            for key, table in base.tables.items():
                assert_frame_equal(table, other.tables[key], check_exact=True)
            assert base.headline() == other.headline()


def test_person_who_changes_practice_counts_in_both_cells():
    """A person who moves from a KBZ to a control practice is counted in each cell
    once, and the KBZ / control comparison uses the smaller group's persons."""
    practices = pd.DataFrame({"practice_id": ["A", "B"], "group": ["kbz", "control"]})
    rows = []
    for person, first, second in (("p1", "A", "B"), ("p2", "A", "A"), ("p3", "B", "B"),
                                  ("p4", "A", "A"), ("p5", "B", "B")):
        for year, practice in ((2014, first), (2015, second)):
            rows.append({"person_id": person, "year": year, "practice_id": practice,
                         "insured_days": 365, "sex": "F" if person < "p3" else "M",
                         "age_band": "40-44", OUTCOME: float(len(rows) * 10 + 5)})
    panel = pd.DataFrame(rows).iloc[::-1]  # rows not sorted
    for by in ("group", "practice"):
        table = _run(panel, practices, by=by, inference="person").tables[
            "observed_expected"]
        n = table.set_index(["unit", "year"])["n_persons"]
        first, second = (("kbz", "control") if by == "group" else ("A", "B"))
        assert n[(first, 2014)] == 3 and n[(second, 2014)] == 2
        assert n[(first, 2015)] == 2 and n[(second, 2015)] == 3
        observed = table.set_index(["unit", "year"])["observed"]
        assert observed[(second, 2015)] == 15.0 + 55.0 + 95.0  # p1, p3, p5 in 2015
    compare = _run(panel, practices, inference="person").tables["kbz_vs_control"]
    assert compare["n_persons"].tolist() == [2, 2]


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("reference", ["pooled", "control"])
def test_reference_rate_persons_equal_nunique(sample, flip, reference):
    """``n_persons`` per age band × sex equals ``groupby().nunique()``, also when
    persons change sex or age band back and forth (the counting then sorts)."""
    panel = sample["person_years"].copy()
    if flip:
        rng = np.random.default_rng(5)
        rows = rng.random(len(panel)) < 0.1
        panel.loc[rows, "sex"] = np.where(panel.loc[rows, "sex"] == "M", "F", "M")
        rows = rng.random(len(panel)) < 0.05
        panel.loc[rows, "age_band"] = rng.choice(np.array(["0-4", "30-34", "90+"]),
                                                 size=int(rows.sum()))
    cp = cc.prepare_claims(panel, sample["practices"], population="all",
                           values=[OUTCOME], need_age_sex=True)
    f = cp.frame
    mask = None if reference == "pooled" else f["group"].to_numpy() == "control"
    got = ra.reference_rates(f, OUTCOME, mask)
    sub = f if mask is None else f[mask]
    want = sub.groupby(["age_band", "sex"], observed=True, sort=True)["person"].nunique()
    assert got["n_persons"].tolist() == want.tolist()
    assert got[["age_band", "sex"]].astype(str).agg(tuple, axis=1).tolist() == [
        (str(a), str(s)) for a, s in want.index]


@pytest.mark.parametrize("monotone", [True, False])
def test_distinct_persons_per_code_equals_unique_pairs(monotone):
    """The neighbour count equals the number of distinct (person, code) pairs."""
    rng = np.random.default_rng(2)
    person = np.sort(rng.integers(0, 300, size=2000))
    code = rng.integers(0, 7, size=person.size)
    if monotone:  # each person's codes never decrease: the path without a sort
        code = code[np.lexsort((code, person))]
    got = ra._distinct_persons_per_code(person, code, 8)
    pairs = np.unique(np.stack([code, person]), axis=1)
    assert got.tolist() == np.bincount(pairs[0], minlength=8).tolist()
    assert got[7] == 0


def test_missing_outcome_and_repeated_person_year_are_refused(sample):
    """The contract has no missing outcome and one row per person and year, which the
    counting and the sums rely on: both are refused."""
    panel = sample["person_years"].copy()
    panel.loc[panel.index[3], OUTCOME] = np.nan
    with pytest.raises(DataValidationError):
        _run(panel, sample["practices"])
    twice = pd.concat([sample["person_years"], sample["person_years"].iloc[:1]])
    with pytest.raises(DataValidationError):
        _run(twice, sample["practices"])
