"""The faster internals of the claims analyses give the numbers of the plain computations.

Each test holds the straightforward computation that a faster path replaced (kept here
as the reference) and checks that the fast path gives the same numbers: exactly where
the arithmetic is the same, and to :data:`ROOT_TOL` where a different algorithm finds
the same maximum-likelihood root (the DiD of :func:`kbz.dbc_index` without strata).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import sparse, stats

from kbz_eval.errors import DataValidationError
from kbz_eval.estimators import claims_common as cc
from kbz_eval.estimators import dbc_index, ggz_change, risk_adjustment
from kbz_eval.stats import bootstrap, glm

#: Relative agreement of two solvers of the same likelihood equations (both converge to
#: rounding, ~1e-15; the claims results agree to ~5e-14).
ROOT_TOL = 1e-12


# --------------------------------------------------------------------------- Poisson fits
def _poisson_newton_reference(X, y, offset, *, max_iter=100, tol=1e-10):
    """The Newton fit recomputing the means at the start of every step."""
    Y, off = np.atleast_2d(y).astype(float), np.atleast_2d(offset).astype(float)
    n_fit, k = Y.shape[0], X.shape[1]
    beta = np.linalg.lstsq(X, np.log((Y + 0.5) / np.exp(off)).T, rcond=None)[0].T.copy()

    def loglik(b):
        eta = b @ X.T + off
        return (Y * eta - np.exp(eta)).sum(axis=1)

    ll = loglik(beta)
    outer = (X[:, :, None] * X[:, None, :]).reshape(X.shape[0], k * k)
    converged = np.zeros(n_fit, dtype=bool)
    for _ in range(max_iter):
        mu = np.exp(beta @ X.T + off)
        step = np.linalg.solve((mu @ outer).reshape(n_fit, k, k),
                               ((Y - mu) @ X)[..., None])[..., 0]
        t = np.ones(n_fit)
        new = beta + step
        new_ll = loglik(new)
        for _ in range(30):
            worse = new_ll < ll - 1e-12 * np.abs(ll)
            if not worse.any():
                break
            t = np.where(worse, t / 2, t)
            new = beta + t[:, None] * step
            new_ll = loglik(new)
        change = np.abs(new - beta).max(axis=1)
        beta, ll = new, new_ll
        converged = change < tol * (1 + np.abs(beta).max(axis=1))
        if converged.all():
            break
    return beta, bool(converged.all())


def test_poisson_newton_is_the_plain_newton_fit_exactly():
    rng = np.random.default_rng(1)
    X = dbc_index._did_design((2012, 2013, 2014, 2015), 0, [2014, 2015])
    exposure = rng.uniform(50, 500, size=(300, X.shape[0]))
    y = rng.poisson(exposure * 0.3).astype(float)
    got, ok = glm.poisson_newton(X, y, np.log(exposure))
    want, ok_want = _poisson_newton_reference(X, y, np.log(exposure))
    assert ok and ok_want
    np.testing.assert_array_equal(got, want)
    one, _ = glm.poisson_newton(X, y[0], np.log(exposure[0]))
    np.testing.assert_array_equal(one, _poisson_newton_reference(X, y[0],
                                                                 np.log(exposure[0]))[0][0])


def test_did_without_strata_is_the_seven_parameter_fit():
    rng = np.random.default_rng(2)
    years = (2012, 2013, 2014, 2015, 2016)
    did_cells = dbc_index._did_design(years, 0, [2014, 2015, 2016])
    n = 2000
    exposure = rng.uniform(20, 2000, size=(n, 2, len(years)))
    rate = rng.uniform(0.05, 3.0, size=(n, 2, len(years)))
    events = np.maximum(rng.poisson(exposure * rate), 1).astype(float)
    events[:5] = [1.0, 1e4, 3.0, 1.0, 7.0]  # lopsided rows: some far from the start
    post = did_cells[:len(years), -1] == 1
    got = dbc_index._did_without_strata(events, exposure, post)
    flat = (n, 2 * len(years), 1)
    want = dbc_index._fit_cells(did_cells, events.reshape(flat), exposure.reshape(flat))[:, -1]
    np.testing.assert_allclose(np.exp(got), np.exp(want), rtol=ROOT_TOL, atol=0)
    np.testing.assert_allclose(got, want, rtol=0, atol=ROOT_TOL)


def test_did_without_strata_has_the_closed_form_of_two_years():
    """One year before and one after: the DiD is the ratio of the two rate ratios."""
    events = np.array([[[30.0, 20.0], [40.0, 60.0]]])
    exposure = np.array([[[100.0, 110.0], [120.0, 150.0]]])
    got = dbc_index._did_without_strata(events, exposure, np.array([False, True]))
    rr = (events[0, 0] / exposure[0, 0]) / (events[0, 1] / exposure[0, 1])
    assert got[0] == pytest.approx(np.log(rr[1] / rr[0]), rel=ROOT_TOL)


# --------------------------------------------------------------------------- practices
def _normalise_reference(practices: pd.DataFrame) -> pd.DataFrame:
    """The pandas string-method path of ``normalise_practices`` (valid tables only)."""
    pid = practices["practice_id"].astype("string").str.strip()
    group = practices["group"].astype("string").str.strip().str.lower()
    start = (pd.to_numeric(practices["kbz_start_year"], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan) if "kbz_start_year" in practices.columns
        else np.full(len(practices), np.nan))
    out = pd.DataFrame({"practice_id": pid.to_numpy(dtype=object).astype(str),
                        "group": group.to_numpy(dtype=object).astype(str),
                        "kbz_start_year": start})
    return out.sort_values("practice_id", kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("ids,groups", [
    (["K2", "C1", "K10", "C0"], ["kbz", "control", "KBZ", "Control"]),  # plain text
    ([" K2", "C1 ", "K10", "C0"], ["kbz ", "control", "kbz", "control"]),  # to strip
    (["K2", "Ç1", "K10", "C0"], ["kbz", "control", "kbz", "control"]),  # not ASCII
])
def test_normalise_practices_matches_the_string_methods(ids, groups):
    table = pd.DataFrame({"practice_id": ids, "group": groups,
                          "kbz_start_year": pd.array([2014, None, 2015, None], dtype="Int64")})
    got = cc.normalise_practices(table)
    pd.testing.assert_frame_equal(got, _normalise_reference(table), check_exact=True)
    no_start = cc.normalise_practices(table.drop(columns="kbz_start_year"))
    pd.testing.assert_frame_equal(no_start, _normalise_reference(
        table.drop(columns="kbz_start_year")), check_exact=True)


def test_normalise_practices_still_refuses_duplicates_and_unknown_groups():
    with pytest.raises(DataValidationError, match="practice_id"):
        cc.normalise_practices(pd.DataFrame({"practice_id": ["A", "A"],
                                             "group": ["kbz", "control"]}))
    with pytest.raises(DataValidationError, match="group"):
        cc.normalise_practices(pd.DataFrame({"practice_id": ["A", "B"],
                                             "group": ["kbz", "other"]}))


def test_external_reference_rates_match_the_string_methods():
    ref = pd.DataFrame({"age_band": ["0-4", "5-9 ", "0-4", "5-9"],
                        "sex": ["f", "F", "m", "M"], "rate": [1.0, 2.0, 3.0, 4.0]})
    plain = ref.assign(age_band=ref["age_band"].str.strip(), sex=ref["sex"].str.upper())
    for table in (ref, plain):
        want = pd.DataFrame({
            "age_band": table["age_band"].astype("string").str.strip().to_numpy(
                dtype=object).astype(str),
            "sex": table["sex"].astype("string").str.strip().str.upper().to_numpy(
                dtype=object).astype(str),
            "rate": table["rate"].to_numpy(dtype=float)})
        pd.testing.assert_frame_equal(risk_adjustment._external_rates(table), want,
                                      check_exact=True)


# --------------------------------------------------------------------------- small helpers
def test_safe_ratio_is_the_masked_quotient():
    rng = np.random.default_rng(3)
    num = rng.normal(size=(50, 2, 3))
    den = rng.normal(size=(50, 2, 3))
    den[::4] = 0.0
    den[1, 0, 0], num[2, 1, 1] = np.nan, np.inf
    for a, b in ((num, den), (num, den[:, :, [0]]), (num[:, 0, 0], 0.0), (1.0, 0.0),
                 (np.float64(2.0), np.float64(4.0))):
        a_, b_ = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            want = np.where(b_ != 0, a_ / np.where(b_ != 0, b_, 1.0), np.nan)
        got = cc.safe_ratio(a, b)
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)


def test_row_codes_are_the_mapped_values():
    cats = pd.Series(pd.Categorical(["B", "A", "C", "A"], categories=["A", "B", "C", "D"]))
    years = pd.Series(np.array([2016, 2012, 2013, 2012], dtype=np.int64))
    for column, mapping in ((cats, {"A": 2, "B": 0, "C": 1}),
                            (years, {2012: 1, 2013: 0, 2016: 2}),
                            (years.astype(float), {2012.0: 1, 2013.0: 0, 2016.0: 2})):
        got = cc.row_codes(column, mapping)
        want = column.map(mapping).to_numpy(dtype=np.int64)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, want)
    with warnings.catch_warnings():  # a value without a code: Series.map decides
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_array_equal(cc.row_codes(years, {2012: 1}),
                                      years.map({2012: 1}).to_numpy(dtype=np.int64))


def test_sparse_cells_message_names_the_small_rows_only():
    frame = pd.DataFrame({"g": ["a", "b"], "n_persons": [12, 30]})
    assert cc.sparse_cells_message(frame, ["g"]) is None
    frame.loc[1, "n_persons"] = 3
    assert cc.sparse_cells_message(frame, ["g"]).startswith("1 cell(s) rest on fewer")


# --------------------------------------------------------------------------- bootstrap
def _bootstrap_sums_reference(matrix, strata, *, n_boot, seed):
    """The resampling with SciPy converting the transposed counts itself."""
    rng = np.random.default_rng(seed)
    matrix = matrix.tocsr().astype(float)
    out = np.zeros((n_boot, matrix.shape[1]))
    for s in np.unique(strata):
        members = np.flatnonzero(strata == s)
        n_s, sub = members.size, matrix[members]
        block = max(1, min(n_boot, bootstrap._BLOCK_ELEMENTS // max(n_s, 1)))
        for start in range(0, n_boot, block):
            b = min(block, n_boot - start)
            draws = rng.integers(0, n_s, size=(b, n_s))
            draws += (np.arange(b) * n_s)[:, None]
            counts = np.bincount(draws.ravel(), minlength=b * n_s).reshape(b, n_s)
            out[start:start + b] += (sub.T @ counts.T).T
    return out


def test_sparse_bootstrap_sums_are_unchanged():
    rng = np.random.default_rng(4)
    dense = rng.gamma(0.3, 500.0, size=(700, 12)) * (rng.random((700, 12)) < 0.2)
    matrix = sparse.csr_matrix(dense)
    strata = rng.integers(1, 4, size=700)
    got = bootstrap.stratified_bootstrap_sums(matrix, strata, n_boot=199, seed=5)
    want = _bootstrap_sums_reference(matrix, strata, n_boot=199, seed=5)
    np.testing.assert_array_equal(got, want)


def test_jackknife_acceleration_is_unchanged():
    rng = np.random.default_rng(6)
    jack = rng.normal(size=500) ** 3
    strata = rng.integers(1, 4, size=500)

    def reference(j, s):
        ok = np.isfinite(j)
        codes, values = s[ok], j[ok]
        n_s = np.bincount(codes)
        mean_s = np.bincount(codes, weights=values) / np.maximum(n_s, 1)
        u = (n_s[codes] - 1) * (mean_s[codes] - values)
        den = np.sum(u**2)
        return float(np.sum(u**3) / (6 * den**1.5)) if den > 0 else 0.0

    wide = np.column_stack([jack, jack])  # a strided column, as the analyses pass
    assert bootstrap.jackknife_acceleration(wide[:, 0], strata) == reference(jack, strata)
    jack[::7] = np.nan
    assert bootstrap.jackknife_acceleration(jack, strata) == reference(jack, strata)


# --------------------------------------------------------------------------- GLM contrast
@pytest.mark.parametrize("df", [np.inf, 7.3])
def test_glm_contrast_uses_the_frozen_distributions_numbers(df):
    vcov = np.array([[0.04, 0.01], [0.01, 0.09]])
    grad = np.array([0.3, -1.2])
    got = ggz_change._glm_contrast(0.21, grad, vcov, df, 0.05, log=True)
    dist = stats.norm if not np.isfinite(df) else stats.t(df)
    se = float(np.sqrt(grad @ vcov @ grad))
    q = float(dist.ppf(0.975))
    assert got["p_value"] == float(2 * dist.sf(0.21 / se))
    assert got["ci_lower"] == float(np.exp(0.21 - q * se))
    assert got["ci_upper"] == float(np.exp(0.21 + q * se))


def test_log_scale_interval_uses_the_normal_distributions_numbers():
    got = risk_adjustment._log_scale(1.3, 0.2, 0.05)
    z = stats.norm.ppf(0.975)
    assert got == {"ci_lower": float(1.3 * np.exp(-z * 0.2)),
                   "ci_upper": float(1.3 * np.exp(z * 0.2)),
                   "p_value": float(2 * stats.norm.sf(abs(np.log(1.3)) / 0.2))}
