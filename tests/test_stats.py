"""The shared statistics layer: options, practice-level inference, Holm, p-values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from kbz_eval.errors import SpecificationError
from kbz_eval.stats.multiplicity import holm, mark_family
from kbz_eval.stats.options import allowed, check_option
from kbz_eval.stats.practice import (
    PracticeInference,
    PracticeSums,
    impossible_message,
    practice_assignments,
    randomisation_p_value,
)
from kbz_eval.stats.pvalues import format_p
from kbz_eval.stats.sandwich import bell_mccaffrey_df, cr1_factor, cr2_vcov


def test_check_option_message_names_option_values_and_value():
    assert check_option("inference", "practice") == "practice"
    with pytest.raises(SpecificationError, match=r"The value for `inference` must be one of "
                       r"\['practice', 'person'\], but 'persons' was passed"):
        check_option("inference", "persons")
    with pytest.raises(SpecificationError, match="`flag`"):
        check_option("flag", 1, (True, False))  # 1 == True but is not an allowed value


def test_every_declared_option_has_values():
    for name in ("population", "adjust", "interval", "inference", "practice_method"):
        assert len(allowed(name)) >= 2


def _difference_of_means(sums):
    """Statistic of group × cell sums: mean of y per unit, KBZ − control (one cell)."""
    y_k, y_c, n_k, n_c = sums[:, 0], sums[:, 1], sums[:, 2], sums[:, 3]
    return {"diff": y_k / n_k - y_c / n_c}


def _practice_means(rng, n_k, n_c):
    y = rng.normal(size=n_k + n_c)
    is_kbz = np.arange(n_k + n_c) < n_k
    sums = np.stack([y, np.ones_like(y)], axis=1)[:, :, None]  # (P, 2 values, 1 cell)
    return y, is_kbz, PracticeSums(sums, is_kbz, tuple(str(i) for i in range(y.size)))


def test_jackknife_of_a_difference_of_means_is_welch():
    """For a difference of practice means the practice-level variance is
    s²_k/n_k + s²_c/n_c and the df Welch–Satterthwaite: scipy's Welch test."""
    rng = np.random.default_rng(3)
    y, is_kbz, ps = _practice_means(rng, 5, 7)
    inf = PracticeInference(_difference_of_means, ps, method="cr2", randomisation=False)
    r = inf.infer("diff")
    a, b = y[is_kbz], y[~is_kbz]
    se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    welch = sps.ttest_ind(a, b, equal_var=False)
    assert r["estimate"] == pytest.approx(a.mean() - b.mean(), rel=1e-12)
    assert r["std_error"] == pytest.approx(se, rel=1e-10)
    assert r["p_value"] == pytest.approx(welch.pvalue, rel=1e-8)
    v_a, v_b = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    df = (v_a + v_b) ** 2 / (v_a**2 / (a.size - 1) + v_b**2 / (b.size - 1))
    assert r["df"] == pytest.approx(df, rel=1e-10)


def test_cr2_of_a_two_group_regression_equals_the_jackknife_and_welch_df():
    """Independent check: CR2 (Bell–McCaffrey) of OLS on a group dummy, one observation
    per cluster, equals the practice jackknife. Its BM df under the homoskedastic working
    model are the design-only Satterthwaite value; the practice layer's df plug in each
    group's own variance (Welch), the BM approximation with a variance per group."""
    rng = np.random.default_rng(5)
    y, is_kbz, ps = _practice_means(rng, 4, 6)
    X = np.column_stack([np.ones(y.size), is_kbz.astype(float)])
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    vcov, adj = cr2_vcov(X, y - X @ beta, np.arange(y.size))
    r = PracticeInference(_difference_of_means, ps, method="cr2",
                          randomisation=False).infer("diff")
    assert math.sqrt(vcov[1, 1]) == pytest.approx(r["std_error"], rel=1e-10)
    n1, n2 = 4, 6
    design_df = (1 / n1 + 1 / n2) ** 2 / (1 / (n1**2 * (n1 - 1)) + 1 / (n2**2 * (n2 - 1)))
    assert bell_mccaffrey_df(X, np.array([0.0, 1.0]), adj) == pytest.approx(design_df,
                                                                             rel=1e-10)


def test_cr1_factor():
    assert cr1_factor(10, 100, 3) == pytest.approx(10 / 9 * 99 / 97)
    assert cr1_factor(1, 100, 3) == 1.0


def test_wild_bootstrap_p_value_is_never_zero_and_interval_inverts_it():
    rng = np.random.default_rng(8)
    y, is_kbz, ps = _practice_means(rng, 6, 6)
    y[is_kbz] += 50.0  # a huge effect
    ps = PracticeSums(np.stack([y, np.ones_like(y)], axis=1)[:, :, None], is_kbz,
                      ps.practice_ids)
    inf = PracticeInference(_difference_of_means, ps, method="wild", n_boot=999, seed=1)
    r = inf.infer("diff")
    assert r["p_value"] == pytest.approx(1 / 1000)
    assert r["ci_lower"] > 0
    # at the interval's limits the test is on the edge of rejection
    for limit in (r["ci_lower"], r["ci_upper"]):
        inside = inf.infer("diff", null=limit + np.sign(r["estimate"] - limit) * 1e-6)
        assert inside["p_value"] >= 0.05 - 1e-9
    outside = inf.infer("diff", null=r["ci_upper"] + 1e-3)
    assert outside["p_value"] <= 0.05 + 1e-3


def test_one_practice_in_a_group_gives_no_practice_level_number():
    rng = np.random.default_rng(1)
    y, is_kbz, ps = _practice_means(rng, 1, 5)
    r = PracticeInference(_difference_of_means, ps).infer("diff")
    assert np.isfinite(r["estimate"])
    assert all(np.isnan(r[k]) for k in ("std_error", "ci_lower", "ci_upper", "p_value"))
    assert "impossible" in impossible_message(1, 5)
    assert impossible_message(2, 2) is None


def test_randomisation_is_exact_and_its_smallest_p_is_one_over_assignments():
    rng = np.random.default_rng(2)
    y, is_kbz, ps = _practice_means(rng, 4, 4)
    y[is_kbz] += 100.0
    ps = PracticeSums(np.stack([y, np.ones_like(y)], axis=1)[:, :, None], is_kbz,
                      ps.practice_ids)
    inf = PracticeInference(_difference_of_means, ps)
    assert inf.exact and inf.n_assignments == math.comb(8, 4)
    # the observed split and its mirror image are the two most extreme
    assert inf.infer("diff")["p_randomisation"] == pytest.approx(2 / 70)
    rows, exact = practice_assignments(np.arange(30) < 15, seed=0)
    assert not exact and rows.shape == (5000, 30) and (rows.sum(axis=1) == 15).all()
    assert randomisation_p_value(np.array([np.nan, 1.0, 2.0])) != randomisation_p_value(
        np.array([3.0, 1.0, 2.0]))


def _argsort_assignments(is_kbz, seed, max_assignments=5000):
    """The relabellings as drawn before they were kept per practices and seed: the
    first ``n_k`` of an argsort of uniform keys."""
    n, n_k = is_kbz.size, int(is_kbz.sum())
    keys = np.random.default_rng(seed).random((max_assignments - 1, n))
    rows = np.zeros((max_assignments - 1, n), dtype=bool)
    np.put_along_axis(rows, np.argsort(keys, axis=1)[:, :n_k], True, axis=1)
    return np.vstack([is_kbz[None, :], rows])


@pytest.mark.parametrize(("n", "n_k", "seed"), [(18, 8, 0), (18, 10, 3), (40, 3, 7)])
def test_random_assignments_are_those_of_an_argsort_and_kept_per_seed(n, n_k, seed):
    is_kbz = np.random.default_rng(n + n_k).permutation(n) < n_k
    rows, exact = practice_assignments(is_kbz, seed=seed)
    assert not exact and np.array_equal(rows, _argsort_assignments(is_kbz, seed))
    again, _ = practice_assignments(is_kbz, seed=seed)
    assert np.array_equal(again, rows) and again is not rows
    rows[1] = ~rows[1]  # the caller's copy: changing it leaves the kept one alone
    assert np.array_equal(practice_assignments(is_kbz, seed=seed)[0],
                          _argsort_assignments(is_kbz, seed))
    fresh = [practice_assignments(is_kbz, seed=None)[0] for _ in range(2)]
    assert not np.array_equal(*fresh)  # no seed: new draws every call


def test_practice_inference_shares_draws_and_repeats_its_answers():
    rng = np.random.default_rng(5)
    y, is_kbz, ps = _practice_means(rng, 9, 9)
    a = PracticeInference(_difference_of_means, ps, seed=4)
    b = PracticeInference(lambda s: {"diff": 2 * _difference_of_means(s)["diff"]}, ps,
                          seed=4)
    assert a.assignments is b.assignments and a.weights is b.weights
    assert not a.assignments.flags.writeable and not a.weights.flags.writeable
    first = a.infer("diff")
    first["p_value"] = -1.0  # the caller's dict: changing it leaves the kept one alone
    assert a.infer("diff") == a._infer("diff", (), null=0.0) != first
    assert a.infer("diff", null=1.0)["p_value"] != a.infer("diff")["p_value"]
    c = PracticeInference(_difference_of_means, ps, seed=5)
    assert not np.array_equal(c.weights, a.weights)


def test_sums_bootstrap_repeats_its_answers():
    from kbz_eval.stats.bootstrap import SumsBootstrap, bootstrap_inference

    rng = np.random.default_rng(6)
    matrix = rng.gamma(2.0, size=(300, 2))
    boot = SumsBootstrap(lambda s: {"ratio": s[:, 0] / s[:, 1]}, matrix,
                         np.arange(300) % 2, n_boot=199, seed=3, interval="percentile")
    first = boot.infer("ratio", alpha=0.05, null=1.0)
    first["p_value"] = -1.0  # the caller's dict: changing it leaves the kept one alone
    again = boot.infer("ratio", alpha=0.05, null=1.0)
    assert again == {"estimate": float(boot.estimate["ratio"][0]),
                     **bootstrap_inference(float(boot.estimate["ratio"][0]),
                                           boot.replicates["ratio"], alpha=0.05, null=1.0)}
    assert boot.infer("ratio", alpha=0.1, null=1.0)["ci_lower"] != again["ci_lower"]


def test_layout_matches_person_cell_matrix_convention():
    sums = np.arange(2 * 2 * 3, dtype=float).reshape(2, 2, 3)  # 2 practices, 2 values
    ps = PracticeSums(sums, np.array([True, False]), ("A", "B"))
    row = ps.observed()[0]
    # value 0: KBZ cells (practice A), control cells (practice B); then value 1
    assert list(row) == [0, 1, 2, 6, 7, 8, 3, 4, 5, 9, 10, 11]
    loo = ps.leave_one_out()
    assert list(loo[0]) == [0, 0, 0, 6, 7, 8, 0, 0, 0, 9, 10, 11]


def test_holm_equals_statsmodels_and_ignores_nan():
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.01, 0.04, 0.03, np.nan, 0.005, 0.5])
    ok = np.isfinite(p)
    out = holm(p)
    assert np.isnan(out[3])
    np.testing.assert_allclose(out[ok], multipletests(p[ok], method="holm")[1])


def test_mark_family_keeps_primary_and_adjusts_the_rest():
    import pandas as pd

    tidy = pd.DataFrame({"term": ["a", "b", "c", "a_persons_only"],
                         "p_value": [0.01, 0.02, 0.03, 0.001]})
    out = mark_family(tidy, ["a"])
    assert list(out["role"]) == ["primary", "secondary", "secondary", "persons only"]
    assert out["p_adjusted"].iloc[0] == 0.01
    assert list(out["p_adjusted"].iloc[1:3]) == [0.04, 0.04]
    assert np.isnan(out["p_adjusted"].iloc[3])


@pytest.mark.parametrize("p, en, nl", [
    (0.0, "p < 0.001", "p < 0,001"), (2.34e-15, "p < 0.001", "p < 0,001"),
    (0.0123, "p = 0.012", "p = 0,012"), (0.4, "p = 0.40", "p = 0,40"),
    (float("nan"), "p = n/a", "p = n/a"),
])
def test_format_p(p, en, nl):
    assert format_p(p) == en
    assert format_p(p, decimal=",") == nl


def test_wild_falls_back_to_cr2_with_two_practices_in_a_group():
    rng = np.random.default_rng(4)
    y, is_kbz, ps = _practice_means(rng, 2, 5)
    inf = PracticeInference(_difference_of_means, ps, method="wild")
    r = inf.infer("diff")
    cr2 = PracticeInference(_difference_of_means, ps, method="cr2").infer("diff")
    assert inf.method == "cr2" and "at least 3 practices" in inf.describe()
    assert np.isfinite(r["ci_upper"]) and r["ci_upper"] == pytest.approx(cr2["ci_upper"])


def test_no_variation_between_practices_gives_a_point_interval():
    is_kbz = np.arange(6) < 3
    sums = np.stack([np.ones(6), np.ones(6)], axis=1)[:, :, None]
    ps = PracticeSums(sums, is_kbz, tuple("abcdef"))
    r = PracticeInference(_difference_of_means, ps).infer("diff")
    assert r["std_error"] == 0 and r["ci_lower"] == r["ci_upper"] == 0


def _dense_cr2(X, e, cluster, w):
    """CR2 by its definition: a dense (I − H_gg)^{-1/2} per cluster (eigendecomposition)."""
    sw = np.sqrt(w)
    bread = np.linalg.pinv((X * w[:, None]).T @ X)
    meat = np.zeros((X.shape[1], X.shape[1]))
    adjustments = []
    for g in np.unique(cluster):
        rows = np.flatnonzero(cluster == g)
        xg = X[rows] * sw[rows, None]
        vals, vecs = np.linalg.eigh(np.eye(rows.size) - xg @ bread @ xg.T)
        tol = 1e-12 * max(1.0, np.abs(vals).max())
        inv = np.where(vals > tol, 1 / np.sqrt(np.clip(vals, tol, None)), 0.0)
        a = (vecs * inv) @ vecs.T
        adjustments.append((rows, a))
        score = xg.T @ (a @ (e[rows] * sw[rows]))
        meat += np.outer(score, score)
    return bread @ meat @ bread, adjustments


@pytest.mark.parametrize("seed", range(4))
def test_low_rank_cr2_equals_the_dense_definition(seed):
    """The low-rank CR2 adjustment (I + Q C Q') equals the dense eigendecomposition to
    1e-10 relative, including clusters smaller than the design's rank, a cluster that
    alone determines a coefficient (leverage 1) and weights."""
    rng = np.random.default_rng(seed)
    sizes = [1, 2, 3, 7, 40, 120]
    cluster = np.repeat(np.arange(len(sizes)), sizes)
    n = cluster.size
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.integers(0, 2, n),
                         (cluster == 0).astype(float)])
    w = rng.uniform(0.5, 2.0, n)
    e = rng.normal(size=n)
    vcov, adj = cr2_vcov(X, e, cluster, w)
    dense, dense_adj = _dense_cr2(X, e, cluster, w)
    np.testing.assert_allclose(vcov, dense, rtol=1e-10, atol=1e-12)
    for (_, low), (_, full) in zip(adj, dense_adj, strict=True):
        np.testing.assert_allclose(low.toarray(), full, rtol=1e-9, atol=1e-10)
    a = adj[-1][1]
    assert a.T is a and a.toarray().shape == (120, 120)
    c = np.array([0, 1.0, 0, 0])
    df_low = bell_mccaffrey_df(X, c, adj, w)
    assert df_low == pytest.approx(bell_mccaffrey_df(X, c, dense_adj, w), rel=1e-10)


def test_sums_bootstrap_switches_to_the_jackknife_for_many_units_and_agrees():
    """Above ``jackknife_above`` units the person-level interval is the stratified
    jackknife (normal); on the same data its standard error agrees with the bootstrap's.

    Data: 6,000 persons in two strata with skewed, zero-inflated costs; the statistic is
    a ratio of two group means minus one (smooth in the sums). Tolerance: the jackknife
    SE within 10 % of the bootstrap SE (Monte Carlo error of a 999-replicate SE is about
    2.2 %), and the intervals' centres equal the estimate.
    """
    from kbz_eval.stats.bootstrap import SumsBootstrap

    rng = np.random.default_rng(7)
    n = 6_000
    strata = np.repeat([1, 2], n // 2)
    cost = rng.lognormal(6, 1.2, n) * (rng.random(n) < 0.4)
    years = np.ones(n)
    matrix = np.zeros((n, 4))
    kbz = strata == 1
    matrix[kbz, 0], matrix[kbz, 1] = cost[kbz], years[kbz]
    matrix[~kbz, 2], matrix[~kbz, 3] = cost[~kbz], years[~kbz]

    def statistic(s):
        return {"ratio": (s[:, 0] / s[:, 1]) / (s[:, 2] / s[:, 3]) - 1}

    boot = SumsBootstrap(statistic, matrix, strata, n_boot=999, seed=1, interval="bca")
    jack = SumsBootstrap(statistic, matrix, strata, n_boot=999, seed=1, interval="bca",
                         jackknife_above=1_000)
    assert boot.method == "bootstrap" and jack.method == "jackknife"
    assert jack.replicates is None
    b = boot.infer("ratio", alpha=0.05)
    j = jack.infer("ratio", alpha=0.05)
    assert j["estimate"] == pytest.approx(b["estimate"], rel=1e-12)
    assert j["std_error"] == pytest.approx(b["std_error"], rel=0.10)
    assert (j["ci_lower"] + j["ci_upper"]) / 2 == pytest.approx(j["estimate"], rel=1e-12)
    assert 0 < j["p_value"] <= 1
    assert "jackknife" in jack.describe("BCa") and "999 replicates" in boot.describe("BCa")


@pytest.mark.parametrize("form", ["dense", "csr", "csr_with_repeats", "coo"])
def test_jackknife_moments_equal_the_jackknife_over_every_unit(form):
    """In jackknife mode only per-stratum moments of the leave-one-out values are kept
    (memory independent of the number of units); the standard error, interval and p
    equal :func:`jackknife_inference` over the full array of leave-one-out values to
    1e-10 (relative), also with a term that is not finite for some units, across
    several blocks of rows, and for the sums as a sparse matrix (a unit's sums taken
    off the total in place), also one that holds a unit's sum as several entries."""
    from scipy import sparse

    from kbz_eval.stats import bootstrap as bs

    rng = np.random.default_rng(3)
    n = 2_500
    strata = rng.integers(1, 4, n)
    matrix = np.column_stack([rng.gamma(0.5, 300, n) * (rng.random(n) < 0.6),
                              rng.uniform(0.2, 1, n), rng.poisson(2, n).astype(float)])
    matrix[7] = [0, 0, 0]

    t2 = matrix[:, 2].sum()

    def statistic(s):
        # the second column is not finite for units with 4 or more counts
        return {"rate": s[:, 0] / s[:, 1],
                "pair": np.column_stack([s[:, 2] / s[:, 1],
                                         np.where(s[:, 2] <= t2 - 4, np.nan,
                                                  s[:, 0] / s[:, 1])])}

    given = matrix
    if form == "csr":
        given = sparse.csr_matrix(matrix)
    elif form == "coo":
        given = sparse.coo_matrix(matrix)
    elif form == "csr_with_repeats":  # each sum as two entries of half of it
        csr = sparse.csr_matrix(matrix)
        data = np.repeat(csr.data / 2, 2)
        given = sparse.csr_matrix((data, np.repeat(csr.indices, 2), 2 * csr.indptr),
                                  shape=matrix.shape)
        assert not given.has_canonical_format
        before = given.data.copy()
    old_block = bs._JACKKNIFE_BLOCK
    bs._JACKKNIFE_BLOCK = 700  # several blocks
    try:
        boot = bs.SumsBootstrap(statistic, given, strata, n_boot=9, seed=1, interval="bca",
                                jackknife_above=100)
    finally:
        bs._JACKKNIFE_BLOCK = old_block
    assert boot.method == "jackknife" and boot.jackknife is None
    total = matrix.sum(axis=0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        full = statistic(total - matrix)
    assert np.isnan(full["pair"][:, 1]).any() and np.isfinite(full["pair"][:, 1]).sum() > 100
    for term, index, values in [("rate", (), full["rate"]),
                                ("pair", (0,), full["pair"][:, 0]),
                                ("pair", (1,), full["pair"][:, 1])]:
        got = boot.infer(term, index, alpha=0.05)
        want = bs.jackknife_inference(got["estimate"], values, strata, alpha=0.05)
        for key in ("std_error", "ci_lower", "ci_upper", "p_value"):
            assert got[key] == pytest.approx(want[key], rel=1e-10), (term, key)
    if form == "csr_with_repeats":  # the caller's matrix is left as it was
        np.testing.assert_array_equal(given.data, before)


def test_jackknife_blocks_in_threads_equal_one_thread_and_never_vary(monkeypatch):
    """The person jackknife's blocks evaluated by two threads (narrower blocks, moments
    added in block order) give the one-thread moments to rounding, and the same bits
    every time however the threads' work interleaves; the threads are really used."""
    import threading

    from scipy import sparse

    from kbz_eval.stats import bootstrap as bs

    rng = np.random.default_rng(8)
    n, k = 40_000, 24
    matrix = sparse.random(n, k, density=0.3, random_state=rng, format="csr") * 100
    strata = rng.integers(1, 4, n)
    seen = set()

    def statistic(s):
        seen.add(threading.current_thread().name)
        return {"ratio": s[:, :12] / s[:, 12:], "gap": s[:, 0] / s[:, 12] - s[:, 1] / s[:, 13]}

    def moments(threads):
        monkeypatch.setattr(bs, "JACKKNIFE_THREADS", threads)
        monkeypatch.setattr(bs, "_JACKKNIFE_ELEMENTS", 1_000 * k)  # 40 blocks
        total = np.asarray(matrix.sum(axis=0)).reshape(1, -1)
        estimate = statistic(total)
        return bs._leave_one_out_moments(statistic, total, matrix, strata, estimate)

    one = moments(1)
    assert not any(name.startswith("kbz-jackknife") for name in seen)
    seen.clear()
    runs = [moments(2) for _ in range(3)]
    assert sum(name.startswith("kbz-jackknife") for name in seen) == 2
    for key, (n1, a1, b1) in one.items():
        for run in runs:
            n2, a2, b2 = run[key]
            np.testing.assert_array_equal(n2, n1)
            np.testing.assert_allclose(a2, a1, rtol=1e-9, atol=1e-9)
            np.testing.assert_allclose(b2, b1, rtol=1e-12)
            for x, y in zip(run[key], runs[0][key], strict=True):
                np.testing.assert_array_equal(x, y)  # the same bits every run
