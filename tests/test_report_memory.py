"""The claims analyses in bounded memory give the numbers of the plain computations.

``prepare_claims`` takes only the selected rows of the columns it needs,
``person_cell_sparse`` assembles its compressed matrix directly, and the person-level
jackknife evaluates narrower blocks of a wide layout; each is compared here with the
straightforward computation it replaces (a copy of every selected row, coordinate
triples, one large block).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

import kbz_eval as kbz
from kbz_eval import tables
from kbz_eval.errors import DataValidationError
from kbz_eval.estimators import claims_common as cc
from kbz_eval.stats import bootstrap


def _coordinate_sparse(person, cell, n_persons, n_cells, values):
    """The per-person cell sums as coordinate triples of every value and row, summed."""
    keep = cell >= 0
    rows, cols = person[keep], cell[keep]
    data = [np.asarray(v, dtype=float)[keep] for v in values]
    shape = (n_persons, len(values) * n_cells)
    if not data:
        return sparse.csr_matrix(shape)
    matrix = sparse.coo_matrix(
        (np.concatenate(data), (np.tile(rows, len(values)),
                                np.concatenate([cols + i * n_cells
                                                for i in range(len(values))]))),
        shape=shape).tocsr()
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    matrix.sort_indices()
    return matrix


@pytest.mark.parametrize("seed", range(40))
def test_person_cell_sparse_equals_the_coordinate_construction(seed):
    rng = np.random.default_rng(seed)
    n, n_persons, n_cells = int(rng.integers(0, 400)), int(rng.integers(1, 50)), \
        int(rng.integers(1, 8))
    person = rng.integers(0, n_persons, n)
    if seed % 2:
        person = np.sort(person)
    cell = rng.integers(-1 if seed % 3 else 0, n_cells, n)
    values = [rng.choice([0.0, 1.5, 2.25, -3.0, 0.1], n) * rng.integers(0, 2, n)
              for _ in range(int(rng.integers(0, 4)))]
    got = cc.person_cell_sparse(person, cell, n_persons, n_cells, values)
    want = _coordinate_sparse(person, cell, n_persons, n_cells, values)
    assert got.shape == want.shape
    assert isinstance(got, sparse.csr_matrix)
    assert np.array_equal(got.indptr, want.indptr)
    assert np.array_equal(got.indices, want.indices)
    keys = person[cell >= 0] * n_cells + cell[cell >= 0]
    if np.unique(keys).size == keys.size:  # one row per person and cell: exact
        assert np.array_equal(got.data, want.data)
    else:  # duplicates summed in another order
        np.testing.assert_allclose(got.data, want.data, rtol=1e-13, atol=1e-13)


def _stacked_coordinate_blocks(person, n_persons, blocks):
    """The layouts' coordinate matrices side by side (``scipy.sparse.hstack``)."""
    return sparse.hstack([_coordinate_sparse(person, cell, n_persons, n_cells, values)
                          for cell, n_cells, values in blocks], format="csr")


@pytest.mark.parametrize("seed", range(20))
def test_person_cell_blocks_equal_the_stacked_layouts(seed):
    rng = np.random.default_rng(100 + seed)
    n, n_persons = int(rng.integers(1, 300)), int(rng.integers(1, 40))
    person = np.sort(rng.integers(0, n_persons, n))
    blocks = []
    for _ in range(int(rng.integers(1, 4))):
        n_cells = int(rng.integers(1, 6))
        values = [rng.choice([0.0, 1.0, 2.5, 7.25], n)
                  for _ in range(int(rng.integers(0, 3)))]
        blocks.append((rng.integers(-1, n_cells, n), n_cells, values))
    got = cc.person_cell_blocks(person, n_persons, blocks)
    want = _stacked_coordinate_blocks(person, n_persons, blocks)
    want.sort_indices()
    assert got.shape == want.shape
    assert np.array_equal(got.indptr, want.indptr)
    assert np.array_equal(got.indices, want.indices)
    np.testing.assert_allclose(got.data, want.data, rtol=1e-13, atol=0)


def _row_copy_prepare(panel, practices, *, population, values, years, need_age_sex):
    """The selection as a copy of every selected row of the panel, sorted afterwards."""
    prac = cc.normalise_practices(practices)
    year = cc._whole_years(panel)
    keep_years = cc.check_years(years, np.unique(year))
    p_codes, p_texts = cc._text_codes(panel["practice_id"])
    mask = np.isin(year, keep_years)
    if population == "minima":
        mask &= cc._as_bool(panel["minima"], "minima", "panel", "person_years")
    group = cc._group_codes(p_texts, prac)[p_codes]
    mask &= group >= 0
    idx = np.flatnonzero(mask)
    sub = panel.iloc[idx]
    person, _ = cc._person_codes(sub["person_id"])
    data = {"person": person, "year": year[idx],
            "practice_id": cc._categorical(p_codes[idx], p_texts),
            "group": cc._categorical(group[idx], cc.GROUP_TEXTS),
            "iy": tables.insured_years(sub["insured_days"].to_numpy(dtype=float), year[idx])}
    for col in values:
        data[col] = sub[col].to_numpy(dtype=float)
    if need_age_sex:
        data["sex"] = cc._sexes(sub["sex"])
        data["age_band"] = cc._age_bands(sub, year[idx], "panel", "person_years")
    order = np.lexsort((data["year"], data["person"]))
    return pd.DataFrame({k: v[order] for k, v in data.items()})


@pytest.mark.parametrize(("population", "years", "need_age_sex"), [
    ("all", None, False), ("all", None, True), ("minima", None, True),
    ("all", [2013, 2016], True), ("minima", [2012, 2015], False)])
def test_prepare_claims_equals_a_copy_of_the_selected_rows(population, years,
                                                           need_age_sex):
    s = kbz.load_sample()
    panel = s["person_years"].sample(frac=1.0, random_state=3)  # rows in any order
    cp = cc.prepare_claims(panel, s["practices"], population=population,
                           values=["poli_dbc_cost", "ggz_cost"], years=years,
                           need_age_sex=need_age_sex)
    want = _row_copy_prepare(panel, s["practices"], population=population,
                             values=["poli_dbc_cost", "ggz_cost"], years=years,
                             need_age_sex=need_age_sex)
    pd.testing.assert_frame_equal(cp.frame, want, check_exact=True)


def test_prepare_claims_names_the_first_bad_rows_in_panel_order():
    s = kbz.load_sample()
    panel = s["person_years"].copy()
    panel["poli_dbc_cost"] = panel["poli_dbc_cost"].astype(float)
    bad = [7, 3, 250]
    panel.loc[panel.index[bad], "poli_dbc_cost"] = -1.0
    with pytest.raises(DataValidationError) as err:
        cc.prepare_claims(panel, s["practices"], population="all",
                          values=["poli_dbc_cost"])
    (v,) = err.value.violations
    assert v.n_rows == 3
    assert v.rows == tuple(sorted(bad))


def _tidy(result):
    return result.tidy().reset_index(drop=True)


@pytest.mark.parametrize("analysis", ["savings", "ggz_change"])
def test_person_level_results_equal_those_of_the_coordinate_matrix(analysis, monkeypatch):
    s = kbz.load_sample()
    fn = getattr(kbz, analysis)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = fn(s["person_years"], s["practices"], n_boot=199, seed=5)
        monkeypatch.setattr(cc, "person_cell_sparse", _coordinate_sparse)
        monkeypatch.setattr(cc, "person_cell_blocks", _stacked_coordinate_blocks)
        want = fn(s["person_years"], s["practices"], n_boot=199, seed=5)
    pd.testing.assert_frame_equal(_tidy(got), _tidy(want), check_exact=True)


def test_jackknife_in_narrow_blocks_equals_one_block(monkeypatch):
    rng = np.random.default_rng(11)
    n, k = 3_000, 12
    matrix = sparse.random(n, k, density=0.4, random_state=rng, format="csr") * 100
    strata = rng.integers(1, 4, n)

    def statistic(sums):
        return {"ratio": sums[:, 0:6] / sums[:, 6:12],
                "difference": sums[:, 0] / sums[:, 6] - sums[:, 1] / sums[:, 7]}

    def infer():
        b = bootstrap.SumsBootstrap(statistic, matrix, strata, n_boot=9, seed=1,
                                    interval="bca", jackknife_above=100)
        assert b.method == "jackknife"
        return [b.infer("ratio", (j,), alpha=0.05) for j in range(6)] + [
            b.infer("difference", alpha=0.05)]

    monkeypatch.setattr(bootstrap, "_JACKKNIFE_ELEMENTS", 10**9)
    one_block = infer()
    monkeypatch.setattr(bootstrap, "_JACKKNIFE_ELEMENTS", 7 * k)
    assert bootstrap._jackknife_rows(k) == 7
    narrow = infer()
    for a, b in zip(one_block, narrow, strict=True):
        for key in a:
            assert b[key] == pytest.approx(a[key], rel=1e-10, abs=1e-14)


@pytest.mark.parametrize("reference", ["pooled", "control", "table"])
def test_expected_by_codes_equals_the_join(reference):
    from kbz_eval.estimators import risk_adjustment as ra
    from kbz_eval.stats import standardise

    s = kbz.load_sample()
    cp = cc.prepare_claims(s["person_years"], s["practices"], population="all",
                           values=["poli_dbc_cost"], need_age_sex=True)
    f = cp.frame
    if reference == "table":
        rates = ra.reference_rates(f, "poli_dbc_cost", None).iloc[::2]  # strata missing
        rates = rates.assign(age_band=rates["age_band"].astype(str),
                             sex=rates["sex"].astype(str))
    else:
        mask = None if reference == "pooled" else f["group"].to_numpy() == "control"
        rates = ra.reference_rates(f, "poli_dbc_cost", mask)
    got = ra._expected_by_codes(f, rates)
    want = standardise.expected(f, rates, exposure="iy", strata=list(ra.STRATA))
    np.testing.assert_array_equal(got, want)
    if reference == "table":
        assert np.isnan(got).any()
