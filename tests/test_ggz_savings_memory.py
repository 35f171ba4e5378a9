"""The memory-saving sums of ``kbz.ggz_change`` and ``kbz.savings`` equal the plain
computation: every value as a full-length float array, persons recoded with
``np.unique``, the dense person × cell matrix and the practices' sums of those arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kbz_eval as kbz
from kbz_eval.estimators import claims_common as cc
from kbz_eval.estimators import ggz_change as gz
from kbz_eval.estimators import savings as sv
from kbz_eval.estimators.risk_adjustment import expected_values
from kbz_eval.stats.practice import PracticeSums


@pytest.fixture(scope="module")
def sample():
    return kbz.load_sample()


def _switchers(sample, seed=7, share=0.2):
    """The sample with the practice of a share of the person-years drawn anew, so
    persons change practice and group between years (unsorted cell keys)."""
    py = sample["person_years"].copy()
    rng = np.random.default_rng(seed)
    rows = rng.random(len(py)) < share
    ids = sample["practices"]["practice_id"].to_numpy()
    py.loc[rows, "practice_id"] = rng.choice(ids, size=int(rows.sum()))
    return py


@pytest.fixture(scope="module", params=["sample", "switchers"])
def panel(request, sample):
    if request.param == "sample":
        return sample["person_years"]
    return _switchers(sample)


# --------------------------------------------------------------------------- ggz_change
def _ggz_reference(cp, design, outcome, adjusted, reference):
    """The sums as the plain computation builds them (one full-length array per value)."""
    f = cp.frame
    year, cost = f["year"].to_numpy(), f[outcome].to_numpy()
    person = cp.person_array()
    new = gz._new_patients(person, year, cost, target=design.follow, lookback=design.base)
    placebo_new = (np.zeros(len(f), bool) if design.placebo is None else gz._new_patients(
        person, year, cost, target=design.placebo[1], lookback=design.placebo[0]))
    values = [cost, f["iy"].to_numpy(), np.ones(len(f)), (cost > 0).astype(float),
              new.astype(float), cost * new, placebo_new.astype(float), cost * placebo_new]
    if adjusted:
        main = np.isin(year, (design.base, design.follow))
        exp = expected_values(cc.ClaimsPanel(
            frame=f[main].reset_index(drop=True), n_persons=cp.n_persons, strata=cp.strata,
            practices=cp.practices, n_rows_outside=0, population=cp.population,
            years=cp.years), outcome, reference)[0]
        values.append(np.zeros(len(f)))
        values[-1][main] = exp
    keep = np.isin(year, design.cells)
    values = [v[keep] for v in values]
    rows = f[keep].reset_index(drop=True)
    code = np.unique(person[keep], return_inverse=True)[1].ravel()
    n_persons, n_cells = int(code.max()) + 1, len(design.cells)
    year_cell = rows["year"].map({y: i for i, y in enumerate(design.cells)}).to_numpy()
    is_kbz_row = rows["group"].to_numpy() == "kbz"
    group = np.where(is_kbz_row, 0, 1)
    present = set(rows["practice_id"])
    ids = [p for p in cp.practices["practice_id"] if p in present]
    practice = rows["practice_id"].map({p: i for i, p in enumerate(ids)}).to_numpy(
        dtype=np.int64)
    is_kbz = cp.practices.set_index("practice_id").loc[ids, "group"].to_numpy() == "kbz"
    psums = PracticeSums.from_rows(practice, year_cell, values, is_kbz=is_kbz,
                                   n_cells=n_cells, practice_ids=ids)
    matrix = np.hstack([
        cc.person_cell_matrix(code, group * n_cells + year_cell, n_persons, 2 * n_cells,
                              values),
        cc.person_cell_matrix(code, np.where(year_cell <= 1, practice * 2 + year_cell, -1),
                              n_persons, 2 * len(ids), values[:4])])
    has_kbz = np.bincount(code, weights=is_kbz_row, minlength=n_persons) > 0
    has_ctl = np.bincount(code, weights=~is_kbz_row, minlength=n_persons) > 0
    strata = has_kbz.astype(np.int64) + 2 * has_ctl.astype(np.int64)
    sel = new[keep] | placebo_new[keep]
    glm = rows.loc[sel, [outcome, "practice_id", "group", "age_band", "sex"]].reset_index(
        drop=True).assign(new=new[keep][sel], placebo_new=placebo_new[keep][sel])
    return matrix, psums, strata, glm


@pytest.mark.parametrize("options", [
    {},
    {"adjust": "age_sex"},
    {"placebo_years": (2012, 2014)},
    {"adjust": "age_sex", "reference": "control", "population": "minima",
     "placebo_years": (2012, 2015), "base_year": 2013, "follow_year": 2016},
    {"base_year": 2012, "follow_year": 2015},
])
def test_ggz_sums_equal_the_plain_computation(panel, sample, options):
    base, follow = options.get("base_year", 2013), options.get("follow_year", 2016)
    adjusted = options.get("adjust") == "age_sex"
    reference = options.get("reference", "pooled")
    population = options.get("population", "all")
    placebo, required, _ = gz._placebo(panel, base, follow, options.get("placebo_years"))
    design, rows, cp = gz._prepared_rows(
        panel, sample["practices"], (base, follow), placebo, "ggz_cost",
        population=population, required=required, adjusted=adjusted, reference=reference)
    cells = gz._cells(rows, design, adjusted=adjusted)
    assert len(cp.frame) == 0  # the prepared rows are let go
    full = cc.prepare_claims(panel, sample["practices"], population=population,
                             values=["ggz_cost"], need_age_sex=True, required_years=required,
                             years=[y for _, y in required] + list(placebo or ()))
    matrix, psums, strata, glm = _ggz_reference(full, design, "ggz_cost", adjusted,
                                                reference)
    np.testing.assert_array_equal(cells.person_matrix.toarray(), matrix)
    np.testing.assert_array_equal(cells.practice_sums.sums, psums.sums)
    np.testing.assert_array_equal(cells.practice_sums.is_kbz, psums.is_kbz)
    assert cells.practice_sums.practice_ids == psums.practice_ids
    np.testing.assert_array_equal(cells.strata, strata)
    np.testing.assert_array_equal(
        cells.observed.ravel(), matrix[:, :cells.n_group_columns].sum(axis=0))
    pd.testing.assert_frame_equal(cells.frame, glm, check_exact=True)


def test_sorted_person_codes_equal_np_unique():
    rng = np.random.default_rng(3)
    person = np.sort(rng.integers(0, 50, size=400)) * 3 + 11
    np.testing.assert_array_equal(gz._sorted_codes(person),
                                  np.unique(person, return_inverse=True)[1])
    shuffled = rng.permutation(person)  # not sorted: falls back to np.unique
    np.testing.assert_array_equal(gz._sorted_codes(shuffled),
                                  np.unique(shuffled, return_inverse=True)[1])
    assert gz._sorted_codes(np.array([], dtype=np.int64)).size == 0


# --------------------------------------------------------------------------- savings
@pytest.mark.parametrize("options", [
    {"population": "minima"},
    {"population": "all"},
    {"population": "all", "adjust": "age_sex"},
    {"population": "minima", "adjust": "age_sex", "reference": "control",
     "years": [2012, 2013, 2015]},
])
def test_savings_sums_equal_the_plain_computation(panel, sample, options):
    adjusted = options.get("adjust") == "age_sex"
    population, years = options["population"], options.get("years")
    cells, cp, yrs = sv._prepared_cells(
        panel, sample["practices"], population=population, outcome="poli_dbc_cost",
        years=years, year=2015, base_year=2012, adjusted=adjusted,
        reference=options.get("reference", "pooled"))
    assert len(cp.frame) == 0  # the prepared rows are let go
    full = cc.prepare_claims(panel, sample["practices"], population=population,
                             values=["poli_dbc_cost"], years=years, need_age_sex=adjusted,
                             required_years=[("year", 2015), ("base_year", 2012)])
    f = full.frame
    values = [f["poli_dbc_cost"].to_numpy(), f["iy"].to_numpy(), np.ones(len(f))]
    if adjusted:
        values.append(expected_values(full, "poli_dbc_cost",
                                      options.get("reference", "pooled"))[0])
    matrix = cc.person_cell_matrix(full.person_array(), cc.cell_codes(full, yrs),
                                   full.n_persons, 2 * len(yrs), values)
    ids = full.practices["practice_id"].tolist()
    psums = PracticeSums.from_rows(
        f["practice_id"].map({p: i for i, p in enumerate(ids)}).to_numpy(dtype=np.int64),
        f["year"].map({y: i for i, y in enumerate(yrs)}).to_numpy(dtype=np.int64), values,
        is_kbz=full.practices["group"].to_numpy() == "kbz", n_cells=len(yrs),
        practice_ids=ids)
    np.testing.assert_array_equal(cells.person_matrix.toarray(), matrix)
    np.testing.assert_array_equal(cells.practice_sums.sums, psums.sums)
    np.testing.assert_array_equal(cells.observed.ravel(), matrix.sum(axis=0))
    np.testing.assert_array_equal(cp.strata, full.strata)
    assert cp.n_persons == full.n_persons and cp.n_rows_outside == full.n_rows_outside


@pytest.mark.parametrize("slice_rows", [997, 5000, 10**9])
def test_savings_person_matrix_by_slices_equals_one_build(sample, slice_rows):
    cp = cc.prepare_claims(_switchers(sample), sample["practices"], population="all",
                           values=["poli_dbc_cost"])
    f = cp.frame
    values = [f["poli_dbc_cost"].to_numpy(), f["iy"].to_numpy(), np.ones(len(f))]
    cell = cc.cell_codes(cp, cp.years)
    cell[::5] = -1  # rows outside every cell
    whole = cc.person_cell_sparse(cp.person_array(), cell, cp.n_persons, 2 * len(cp.years),
                                  values)
    sliced = sv._person_matrix(cp.person_array(), cell, cp.n_persons, 2 * len(cp.years),
                               values, slice_rows=slice_rows)
    assert sliced.shape == whole.shape
    for name in ("data", "indices", "indptr"):
        np.testing.assert_array_equal(getattr(sliced, name), getattr(whole, name))
