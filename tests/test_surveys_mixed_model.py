"""The random-intercept REML model behind ``cvg_trajectory`` and ``workforce_change``,
checked against a second, independent implementation, a closed form and statsmodels.

The reference below profiles the REML log-likelihood of ``y = X b + u_g + e`` over the
variance ratio ``gamma = tau² / sigma²`` with numpy/scipy only (Harville 1977; the
cluster inverse ``(I + gamma J)^-1 = I - gamma / (1 + gamma m) J``) by maximising it
directly, and shares no code with the library's fit (a root of the profiled score,
:func:`kbz_eval.estimators.cvg.fit_random_intercept`). The outside reference is
statsmodels' ``MixedLM``, which the library used before: same estimates, covariance
and variances (tolerances named at the tests).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

import kbz_eval as kbz
from kbz_eval.estimators.cvg import change_model, fit_random_intercept, wald_contrasts

COEF_TOL = 1e-4  # absolute, marks
SE_REL_TOL = 2e-3  # relative
VAR_REL_TOL = 5e-3  # relative, variance components


def reml_reference(y, x, groups):
    """Profile-REML fit; returns (beta, cov_beta, tau2, sigma2)."""
    y = np.asarray(y, float)
    x = np.asarray(x, float)
    codes, _ = pd.factorize(pd.Series(groups))
    n, p = x.shape
    m = np.bincount(codes).astype(float)
    xs = np.zeros((m.size, p))
    np.add.at(xs, codes, x)  # per-group column sums
    ys = np.bincount(codes, weights=y)
    xtx, xty = x.T @ x, x.T @ y

    def pieces(gamma):
        c = gamma / (1 + gamma * m)
        a = xtx - (xs * c[:, None]).T @ xs
        b = xty - (xs * c[:, None]).T @ ys
        beta = np.linalg.solve(a, b)
        r = y - x @ beta
        rs = np.bincount(codes, weights=r)
        quad = r @ r - (c * rs**2).sum()
        sigma2 = quad / (n - p)
        return beta, a, sigma2

    def neg_ll(log_gamma):
        gamma = np.exp(log_gamma)
        _, a, sigma2 = pieces(gamma)
        return 0.5 * ((n - p) * np.log(sigma2) + np.log1p(gamma * m).sum()
                      + np.linalg.slogdet(a)[1])

    best = optimize.minimize_scalar(neg_ll, bounds=(-15, 8), method="bounded",
                                    options={"xatol": 1e-10})
    gamma = float(np.exp(best.x))
    beta, a, sigma2 = pieces(gamma)
    return beta, sigma2 * np.linalg.inv(a), gamma * sigma2, sigma2


def _unbalanced_cvg(seed: int, n: int = 50) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    theta = rng.normal(5.0, 1.2, n)
    rows = []
    for i in range(n):
        for k, shift in enumerate((0.0, 1.0, 1.4)):
            if k and rng.random() < 0.25:
                break
            mark = int(np.clip(np.rint(theta[i] + shift + rng.normal(0, 0.7)), 1, 10))
            rows.append((f"P{i:03d}", "OV01", k + 1, mark))
    return pd.DataFrame(rows, columns=["person_id", "practice_id", "measurement",
                                       "cvg_patient"])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_change_model_matches_independent_reml(seed):
    data = _unbalanced_cvg(seed)
    y = data["cvg_patient"].to_numpy(float)
    occ = data["measurement"].to_numpy()
    contrasts, fit = change_model(y, occ, data["person_id"].to_numpy())
    x = np.column_stack([np.ones(y.size), occ == 2, occ == 3]).astype(float)
    beta, cov, tau2, sigma2 = reml_reference(y, x, data["person_id"])
    np.testing.assert_allclose(contrasts["estimate"], beta[1:], atol=COEF_TOL)
    np.testing.assert_allclose(contrasts["std_error"], np.sqrt(np.diag(cov))[1:],
                               rtol=SE_REL_TOL)
    np.testing.assert_allclose([fit.group_var, fit.residual_var], [tau2, sigma2],
                               rtol=VAR_REL_TOL)
    z = 1.959963984540054
    np.testing.assert_allclose(contrasts["ci_lower"],
                               beta[1:] - z * np.sqrt(np.diag(cov))[1:], atol=1e-3)


def test_cvg_trajectory_reports_the_validated_model():
    data = _unbalanced_cvg(4)
    res = kbz.cvg_trajectory(data)
    y = data["cvg_patient"].to_numpy(float)
    occ = data["measurement"].to_numpy()
    x = np.column_stack([np.ones(y.size), occ == 2, occ == 3]).astype(float)
    beta, cov, _, _ = reml_reference(y, x, data["person_id"])
    est = res.tidy().set_index("term")
    for k in (2, 3):
        assert est.loc[f"change_{k}_vs_1", "estimate"] == pytest.approx(beta[k - 1],
                                                                        abs=COEF_TOL)
        assert est.loc[f"change_{k}_vs_1", "std_error"] == pytest.approx(
            np.sqrt(cov[k - 1, k - 1]), rel=SE_REL_TOL)


def test_balanced_complete_data_closed_form():
    """Balanced, complete data: the REML change equals the difference of means and its
    SE is sqrt(2 MSE / n), MSE from the two-way (patient × measurement) ANOVA."""
    rng = np.random.default_rng(11)
    n, k = 40, 3
    theta = rng.normal(5, 1.3, n)
    y = theta[:, None] + np.array([0, 0.8, 1.2]) + rng.normal(0, 0.6, (n, k))
    data = pd.DataFrame({
        "person_id": np.repeat([f"P{i}" for i in range(n)], k),
        "measurement": np.tile(np.arange(1, k + 1), n), "y": y.ravel(),
    })
    contrasts, _ = change_model(data["y"].to_numpy(), data["measurement"].to_numpy(),
                                data["person_id"].to_numpy())
    resid = y - y.mean(axis=1, keepdims=True) - y.mean(axis=0) + y.mean()
    mse = (resid**2).sum() / ((n - 1) * (k - 1))
    np.testing.assert_allclose(contrasts["estimate"], y.mean(axis=0)[1:] - y.mean(axis=0)[0],
                               atol=1e-8)
    np.testing.assert_allclose(contrasts["std_error"], np.sqrt(2 * mse / n), rtol=SE_REL_TOL)


def test_workforce_group_model_matches_independent_reml():
    sample = kbz.load_sample()
    wf, practices = sample["workforce"], sample["practices"]
    res = kbz.workforce_change(wf, practices=practices, measures="workload",
                                inference="person")
    data = wf.merge(practices[["practice_id", "group"]], on="practice_id")
    data = data.dropna(subset=["workload"])
    wave = data["wave"].to_numpy()
    kbz_ = (data["group"].astype(str) == "kbz").to_numpy(float)
    x = np.column_stack([np.ones(len(data)), wave == 2, wave == 3, kbz_,
                         kbz_ * (wave == 2), kbz_ * (wave == 3)]).astype(float)
    beta, cov, _, _ = reml_reference(data["workload"].to_numpy(float), x,
                                     data["respondent_id"])
    est = res.tidy().set_index("term")
    # control change = wave effect; kbz change = wave + interaction; difference = interaction
    ctrl3 = est.loc["workload:change_wave_3_vs_1:control"]
    kbz3 = est.loc["workload:change_wave_3_vs_1:kbz"]
    diff3 = est.loc["workload:difference_wave_3:kbz-control"]
    assert ctrl3["estimate"] == pytest.approx(beta[2], abs=COEF_TOL)
    assert kbz3["estimate"] == pytest.approx(beta[2] + beta[5], abs=COEF_TOL)
    assert diff3["estimate"] == pytest.approx(beta[5], abs=COEF_TOL)
    lvec = np.array([0, 0, 1, 0, 0, 1.0])
    assert kbz3["std_error"] == pytest.approx(np.sqrt(lvec @ cov @ lvec), rel=SE_REL_TOL)
    assert diff3["std_error"] == pytest.approx(np.sqrt(cov[5, 5]), rel=SE_REL_TOL)


def test_location_intercept_for_repeated_cross_sections():
    rng = np.random.default_rng(5)
    rows = []
    for wave in (1, 2, 3):
        for p in range(8):
            loc_effect = (p - 3.5) * 0.3
            for j in range(6):
                rows.append((f"W{wave}P{p}R{j}", f"OV{p + 1:02d}", wave, "huisarts",
                             float(np.clip(np.rint(6 + loc_effect + 0.3 * (wave - 1)
                                                   + rng.normal(0, 1)), 1, 10)), 7.0))
    wf = pd.DataFrame(rows, columns=["respondent_id", "practice_id", "wave", "role",
                                     "workload", "job_satisfaction"])
    res = kbz.workforce_change(wf, measures="workload", inference="person")
    assert res.settings["random_intercept"] == "location"
    wave = wf["wave"].to_numpy()
    x = np.column_stack([np.ones(len(wf)), wave == 2, wave == 3]).astype(float)
    beta, cov, _, _ = reml_reference(wf["workload"].to_numpy(), x, wf["practice_id"])
    est = res.tidy().set_index("term")
    assert est.loc["workload:change_wave_3_vs_1", "estimate"] == pytest.approx(
        beta[2], abs=COEF_TOL)
    assert est.loc["workload:change_wave_3_vs_1", "std_error"] == pytest.approx(
        np.sqrt(cov[2, 2]), rel=SE_REL_TOL)


def test_wald_contrasts_linear_algebra():
    data = _unbalanced_cvg(8)
    y = data["cvg_patient"].to_numpy(float)
    occ = data["measurement"].to_numpy()
    x = np.column_stack([np.ones(y.size), occ == 2, occ == 3]).astype(float)
    fit = fit_random_intercept(y, x, data["person_id"].to_numpy(),
                               names=["intercept", "m2", "m3"])
    lmat = np.array([[0, -1, 1.0]])  # measurement 3 minus measurement 2
    out = wald_contrasts(fit, lmat)
    assert out["estimate"].iloc[0] == pytest.approx(fit.params[2] - fit.params[1])
    var = fit.cov[1, 1] + fit.cov[2, 2] - 2 * fit.cov[1, 2]
    assert out["std_error"].iloc[0] == pytest.approx(np.sqrt(var))


# --------------------------------------------------------------------------- statsmodels
#: ``fit_random_intercept`` (closed-form profiled REML) against statsmodels ``MixedLM``,
#: the implementation it replaced, run here as the outside reference. With a tight
#: optimiser tolerance (``gtol=1e-12``) statsmodels reaches the REML optimum and the two
#: agree to round-off (measured over 205 fits: estimates 3e-8 relative, SEs 1e-8,
#: variances 5e-8 absolute), so the tolerances below are 20-100x that.
SM_TIGHT_COEF_TOL = 1e-6  # absolute, marks
SM_TIGHT_SE_TOL = 1e-6  # relative
SM_TIGHT_VAR_TOL = 1e-6  # relative
#: With its default tolerance (what the library returned before) statsmodels stops a
#: little short of the optimum: measured over the same fits, estimates within 1.5e-5
#: marks, SEs 2e-5 and variances 6e-5 relative (except where statsmodels reports that
#: it failed to converge). The bars are about 5x that.
SM_DEFAULT_COEF_TOL = 1e-4  # absolute, marks
SM_DEFAULT_SE_TOL = 1e-4  # relative
SM_DEFAULT_VAR_TOL = 5e-4  # relative


def _sm_cases():
    """(label, y, X, groups): unbalanced CVG, the sample's workforce group model."""
    data = _unbalanced_cvg(3)
    occ = data["measurement"].to_numpy()
    yield ("cvg", data["cvg_patient"].to_numpy(float),
           np.column_stack([np.ones(len(data)), occ == 2, occ == 3]).astype(float),
           data["person_id"].to_numpy())
    sample = kbz.load_sample()
    wf = sample["workforce"].merge(sample["practices"][["practice_id", "group"]],
                                   on="practice_id").dropna(subset=["job_satisfaction"])
    wave = wf["wave"].to_numpy()
    kbz_ = (wf["group"].astype(str) == "kbz").to_numpy(float)
    yield ("workforce", wf["job_satisfaction"].to_numpy(float),
           np.column_stack([np.ones(len(wf)), wave == 2, wave == 3, kbz_, kbz_ * (wave == 2),
                            kbz_ * (wave == 3)]).astype(float),
           wf["respondent_id"].to_numpy())


@pytest.mark.parametrize("case", list(_sm_cases()), ids=lambda c: c[0])
def test_fit_equals_statsmodels_mixedlm(case):
    """Estimates, the covariance (statsmodels' observed information, not the simpler
    ``sigma² (X'V^-1 X)^-1``) and both variances; no messages on well-behaved data."""
    from kbz_eval.estimators.cvg import _fit_statsmodels

    _, y, x, groups = case
    names = [f"b{j}" for j in range(x.shape[1])]
    fit = fit_random_intercept(y, x, groups, names=names)
    assert fit.converged and fit.messages == []
    for ref, coef_tol, se_tol, var_tol in (
        (_fit_statsmodels(y, x, groups, names, gtol=1e-12), SM_TIGHT_COEF_TOL,
         SM_TIGHT_SE_TOL, SM_TIGHT_VAR_TOL),
        (_fit_statsmodels(y, x, groups, names), SM_DEFAULT_COEF_TOL, SM_DEFAULT_SE_TOL,
         SM_DEFAULT_VAR_TOL),
    ):
        assert ref.converged and ref.messages == []
        np.testing.assert_allclose(fit.params, ref.params, rtol=0, atol=coef_tol)
        np.testing.assert_allclose(np.sqrt(np.diag(fit.cov)), np.sqrt(np.diag(ref.cov)),
                                   rtol=se_tol)
        np.testing.assert_allclose(fit.cov, ref.cov, rtol=0,
                                   atol=2 * se_tol * np.abs(ref.cov).max())
        np.testing.assert_allclose([fit.group_var, fit.residual_var],
                                   [ref.group_var, ref.residual_var], rtol=var_tol)
        assert (fit.n_obs, fit.n_groups) == (ref.n_obs, ref.n_groups)


def test_boundary_fit_equals_statsmodels_and_says_so():
    """Repeated cross-sections whose location variance has its REML optimum at zero
    (seed 1 of the slow test's generator): tau² = 0 exactly, statsmodels stops at
    ~5e-10 sigma²; the same estimates and SEs and the same boundary message."""
    from kbz_eval.estimators.cvg import _fit_statsmodels

    rng = np.random.default_rng(1)
    loc_effect = rng.normal(0, 0.5, 10)
    y, wave, loc = [], [], []
    for w, shift in zip((1, 2, 3), (0.0, 0.2, 0.5), strict=True):
        for p in range(10):
            for _ in range(rng.integers(4, 9)):
                y.append(np.clip(np.rint(6.5 + loc_effect[p] + shift + rng.normal(0, 1.0)),
                                 1, 10))
                wave.append(w)
                loc.append(p)
    wave = np.asarray(wave)
    x = np.column_stack([np.ones(wave.size), wave == 2, wave == 3]).astype(float)
    names = ["intercept", "w2", "w3"]
    fit = fit_random_intercept(np.asarray(y), x, np.asarray(loc), names=names)
    ref = _fit_statsmodels(np.asarray(y), x, np.asarray(loc), names)
    assert fit.group_var == 0.0 and ref.group_var < 1e-8
    boundary = "The MLE may be on the boundary of the parameter space."
    assert fit.messages == [boundary] and boundary in ref.messages
    np.testing.assert_allclose(fit.params, ref.params, rtol=0, atol=SM_DEFAULT_COEF_TOL)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.cov)), np.sqrt(np.diag(ref.cov)),
                               rtol=SM_DEFAULT_SE_TOL)
    np.testing.assert_allclose(fit.residual_var, ref.residual_var, rtol=SM_DEFAULT_VAR_TOL)


def test_unidentified_variances_fall_back_to_statsmodels():
    """One row per group: tau² and sigma² are not separately identified, and the fit is
    statsmodels' own (same numbers exactly)."""
    from kbz_eval.estimators.cvg import _fit_statsmodels

    rng = np.random.default_rng(2)
    x = np.column_stack([np.ones(30), np.arange(30) % 3 == 1]).astype(float)
    y = x @ [5.0, 0.5] + rng.normal(0, 1, 30)
    groups = np.arange(30)
    fit = fit_random_intercept(y, x, groups, names=["a", "b"])
    ref = _fit_statsmodels(y, x, groups, ["a", "b"])
    np.testing.assert_array_equal(fit.params, ref.params)
    np.testing.assert_array_equal(fit.cov, ref.cov)
    assert (fit.group_var, fit.residual_var, fit.messages) == (ref.group_var,
                                                              ref.residual_var, ref.messages)
