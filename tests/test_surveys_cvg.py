"""CVG trajectory and patient–GP agreement (Aim 1): sample figures, references, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import kbz_eval as kbz
from kbz_eval.estimators.cvg import bland_altman, icc_2_1, weighted_kappa

#: Published CVG means (seed 004): 4.7, 5.7, 6.1 at measurements 1-3, 50 patients first.
PUBLISHED_MEANS = (4.7, 5.7, 6.1)
MEAN_TOL = 0.05  # the seeds report one decimal

#: Shrout & Fleiss (1979), Psychol Bull 86:420-428, table 2: 6 targets x 4 judges.
SHROUT_FLEISS = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6],
                          [10, 5, 6, 9], [6, 2, 4, 7]])
SF_ICC21 = 0.29  # published, two decimals
SF_ICC_TOL = 0.005
#: Interval and F test of R psych::ICC on the same table (McGraw-Wong interval):
#: ICC2 0.29, F = 11, df 5 and 15, p = 0.00013, bounds 0.019 and 0.76.
PSYCH_LOWER, PSYCH_UPPER, PSYCH_F = 0.019, 0.76, 11.0
PSYCH_TOL = 0.005


@pytest.fixture(scope="module")
def sample():
    return kbz.load_sample()


@pytest.fixture(scope="module")
def trajectory(sample):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kbz.StatisticalWarning)
        return kbz.cvg_trajectory(sample["cvg"])


def _toy(n: int = 30, seed: int = 0, *, gp: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    theta = rng.normal(5, 1.3, n)
    rows = []
    for i in range(n):
        for k, shift in enumerate((0.0, 0.9, 1.2)):
            if k == 2 and i % 3 == 0:
                break
            mark = int(np.clip(np.rint(theta[i] + shift + rng.normal(0, 0.7)), 1, 10))
            gp_mark = int(np.clip(mark + rng.integers(-1, 2), 1, 10))
            rows.append((f"P{i:03d}", "OV01", k + 1, mark, gp_mark))
    frame = pd.DataFrame(rows, columns=["person_id", "practice_id", "measurement",
                                        "cvg_patient", "cvg_gp"])
    return frame if gp else frame.drop(columns="cvg_gp")


# --------------------------------------------------------------------- trajectory
def test_sample_reproduces_published_means(trajectory, sample):
    means = trajectory.tables["means"]
    np.testing.assert_allclose(means["mean"], PUBLISHED_MEANS, atol=MEAN_TOL)
    expected_n = sample["cvg"].groupby("measurement")["person_id"].nunique().to_numpy()
    assert means["n"].tolist() == expected_n.tolist()
    assert means["n"].iloc[0] == 50 and means["n"].iloc[-1] < means["n"].iloc[0]
    assert (means["n_lost_since_first"] == 50 - means["n"]).all()


def test_means_and_t_intervals_against_direct_computation(trajectory, sample):
    for k, part in sample["cvg"].groupby("measurement"):
        x = part["cvg_patient"].to_numpy(float)
        lo, hi = stats.t.interval(0.95, x.size - 1, loc=x.mean(), scale=stats.sem(x))
        row = trajectory.tidy().set_index("term").loc[f"mean_{k}"]
        assert row["estimate"] == pytest.approx(x.mean())
        assert (row["ci_lower"], row["ci_upper"]) == pytest.approx((lo, hi))
        assert row["n"] == x.size


def test_completers_and_responsiveness_by_hand(trajectory, sample):
    wide = sample["cvg"].pivot(index="person_id", columns="measurement",
                               values="cvg_patient").astype(float)
    comp = wide.dropna()
    d = comp[3] - comp[1]
    est = trajectory.tidy().set_index("term")
    row = est.loc["change_3_vs_1_completers"]
    assert row["estimate"] == pytest.approx(d.mean())
    assert row["n"] == len(comp)
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    assert row["ci_upper"] - row["estimate"] == pytest.approx(half)
    pair = wide[[1, 2]].dropna()
    change = pair[2] - pair[1]
    assert est.loc["srm_1_to_2", "estimate"] == pytest.approx(change.mean()
                                                              / change.std(ddof=1))
    assert est.loc["es_1_to_2", "estimate"] == pytest.approx(change.mean()
                                                             / pair[1].std(ddof=1))
    assert est.loc["srm_1_to_2", "n"] == len(pair)


def test_mixed_model_uses_every_patient(trajectory):
    comps = trajectory.tables["variance_components"]
    assert comps["n"].tolist() == [50, trajectory.tables["means"]["n"].sum()]
    change = trajectory.tables["change"]
    assert set(change["measurement"]) == {2, 3}
    assert (change["n_completers"] < change["n"]).any()


def test_headline_and_method(trajectory):
    text = trajectory.headline()
    assert "4.7 (n=50)" in text and "5.7" in text and "6.1" in text
    assert "mixed model" in text and "completers" in text
    assert "random intercept" not in trajectory.title
    assert "MixedLM" in trajectory.method and "REML" in trajectory.method
    assert repr(trajectory).startswith("<CvgTrajectoryResult")
    assert "<table" in trajectory._repr_html_()


def test_no_person_ids_leave_the_result(trajectory, sample):
    ids = set(sample["cvg"]["person_id"])
    frames = [trajectory.tidy(), trajectory.plot_data(), *trajectory.tables.values()]
    for frame in frames:
        for col in frame.columns:
            values = set(frame[col].astype(str))
            assert not values & ids, f"person ids in column {col}"
    ind = trajectory.plot_data().query("series == 'individual'")
    assert sorted(ind["trajectory"].unique()) == list(range(1, 51))


def test_every_table_has_n(trajectory):
    for name, frame in trajectory.tables.items():
        assert "n" in frame.columns, name


def test_caller_frame_is_not_changed(sample):
    frame = sample["cvg"].copy()
    before = frame.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kbz.StatisticalWarning)
        kbz.cvg_trajectory(frame)
        kbz.cvg_agreement(frame)
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize("bad_value", [0, 11])
def test_out_of_range_mark_is_refused(bad_value):
    frame = _toy()
    frame.loc[3, "cvg_patient"] = bad_value
    with pytest.raises(kbz.DataValidationError) as err:
        kbz.cvg_trajectory(frame)
    assert "cvg_patient" in str(err.value)
    assert "1 – 10" in str(err.value)


def test_measurement_without_respondents_is_refused():
    frame = _toy()
    frame = frame[frame["measurement"] != 2]
    with pytest.raises(kbz.DataValidationError, match="without respondents"):
        kbz.cvg_trajectory(frame)


def test_single_measurement_is_refused():
    frame = _toy()
    with pytest.raises(kbz.DataValidationError, match="only one measurement"):
        kbz.cvg_trajectory(frame[frame["measurement"] == 1])


def test_duplicate_patient_measurement_is_refused():
    frame = _toy()
    frame = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)
    with pytest.raises(kbz.DataValidationError, match="duplicate"):
        kbz.cvg_trajectory(frame)


def test_thin_last_measurement_warns():
    frame = _toy()
    third = frame.loc[frame["measurement"] == 3, "person_id"].iloc[0]
    keep = (frame["measurement"] < 3) | (frame["person_id"] == third)
    with pytest.warns(kbz.StatisticalWarning) as record:
        res = kbz.cvg_trajectory(frame[keep])
    shown = [str(w.message) for w in record]
    assert any("Measurement 3 has 1 patient" in w for w in shown)
    assert any("no completers-only estimate" in w for w in shown)
    assert sorted(shown) == sorted(res.warnings)
    assert np.isnan(res.tables["means"]["ci_lower"].iloc[-1])


def test_bad_alpha():
    with pytest.raises(kbz.SpecificationError, match="alpha"):
        kbz.cvg_trajectory(_toy(), alpha=1.5)


def test_noise_free_planted_change_is_exact():
    """Every patient improves by exactly 1 then 2 marks: every estimator says so."""
    rows = []
    for i in range(12):
        base = 3 + i % 5
        for k, shift in enumerate((0, 1, 2)):
            if k == 2 and i % 2:
                break
            rows.append((f"P{i}", "OV01", k + 1, base + shift))
    frame = pd.DataFrame(rows, columns=["person_id", "practice_id", "measurement",
                                        "cvg_patient"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = kbz.cvg_trajectory(frame).tidy().set_index("term")
    assert est.loc["change_2_vs_1", "estimate"] == pytest.approx(1.0, abs=1e-6)
    assert est.loc["change_3_vs_1", "estimate"] == pytest.approx(2.0, abs=1e-6)
    assert est.loc["change_3_vs_1_completers", "estimate"] == pytest.approx(2.0)


# --------------------------------------------------------------------- agreement
def test_icc_shrout_fleiss_table_2():
    res = icc_2_1(SHROUT_FLEISS)
    assert res.icc == pytest.approx(SF_ICC21, abs=SF_ICC_TOL)
    assert res.lower == pytest.approx(PSYCH_LOWER, abs=PSYCH_TOL)
    assert res.upper == pytest.approx(PSYCH_UPPER, abs=PSYCH_TOL)
    assert res.f_value == pytest.approx(PSYCH_F, abs=0.05)
    assert (res.df1, res.df2) == (5, 15)


def test_icc_against_anova_by_statsmodels():
    """Second route to the mean squares: a two-way OLS ANOVA in statsmodels."""
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    long = pd.DataFrame([(i, j, v) for i, row in enumerate(SHROUT_FLEISS)
                         for j, v in enumerate(row)], columns=["t", "r", "y"])
    table = anova_lm(smf.ols("y ~ C(t) + C(r)", long).fit())
    msr, msc, mse = table["mean_sq"].iloc[:3]
    n, k = SHROUT_FLEISS.shape
    expected = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    res = icc_2_1(SHROUT_FLEISS)
    assert res.icc == pytest.approx(expected, rel=1e-10)
    assert (res.ms_rows, res.ms_columns, res.ms_error) == pytest.approx((msr, msc, mse))


def test_weighted_kappa_by_hand():
    """3 categories, 10 pairs; quadratic disagreement (i - j)², computed by hand.

    Table (rows rater A 1..3, columns rater B 1..3): [[3, 1, 0], [1, 2, 1], [0, 0, 2]].
    Observed disagreement: (1 + 1 + 1) * 1 / 10 = 0.3.
    Margins A = (.4, .4, .2), B = (.4, .3, .3); expected disagreement
    = sum_ij a_i b_j (i - j)² = .4*.3*1 + .4*.3*4 + .4*.4*1 + .4*.3*1 + .2*.4*4
      + .2*.3*1 = .12 + .48 + .16 + .12 + .32 + .06 = 1.26.
    kappa_w = 1 - 0.3 / 1.26 = 0.76190...
    """
    a = [1, 1, 1, 1, 2, 2, 2, 2, 3, 3]
    b = [1, 1, 1, 2, 1, 2, 2, 3, 3, 3]
    res = weighted_kappa(a, b, weights="quadratic")
    assert res.kappa == pytest.approx(1 - 0.3 / 1.26, abs=1e-12)
    lin = weighted_kappa(a, b, weights="linear")
    # linear: observed 0.3; expected .4*.3 + .4*.3*2 + .4*.4 + .4*.3 + .2*.4*2 + .2*.3
    assert lin.kappa == pytest.approx(1 - 0.3 / (0.12 + 0.24 + 0.16 + 0.12 + 0.16 + 0.06))


@pytest.mark.parametrize("wt", ["quadratic", "linear"])
def test_weighted_kappa_against_statsmodels(wt):
    from statsmodels.stats.inter_rater import cohens_kappa

    rng = np.random.default_rng(7)
    a = rng.integers(1, 11, 120)
    b = np.clip(a + rng.integers(-2, 3, 120), 1, 10)
    table = np.zeros((10, 10))
    np.add.at(table, (a - 1, b - 1), 1)
    ref = cohens_kappa(table, wt=wt)
    res = weighted_kappa(a, b, weights=wt)
    assert res.kappa == pytest.approx(ref.kappa, abs=1e-10)
    assert res.std_error == pytest.approx(ref.std_kappa, rel=1e-8)


def test_bland_altman_one_pair_per_subject_is_classic():
    rng = np.random.default_rng(3)
    d = rng.normal(0.3, 1.0, 40)
    res = bland_altman(d, np.arange(40))
    assert res.bias == pytest.approx(d.mean())
    assert res.sd_difference == pytest.approx(d.std(ddof=1))
    assert res.loa_upper == pytest.approx(d.mean() + 1.959963984540054 * d.std(ddof=1))
    lo, hi = stats.t.interval(0.95, 39, loc=d.mean(), scale=stats.sem(d))
    assert (res.bias_lower, res.bias_upper) == pytest.approx((lo, hi))


def test_bland_altman_repeated_pairs_by_hand():
    """Bland & Altman (2007) section 5: one-way ANOVA of the differences by subject."""
    d = np.array([1.0, 2.0, 0.0, -1.0, 0.0, 1.0, 2.0, 3.0])
    subj = np.array([0, 0, 1, 1, 1, 2, 2, 2])
    # subject means 1.5, -1/3, 2; grand mean 1.0; m = 2, 3, 3; N = 8, k = 3
    msb = (2 * 0.5**2 + 3 * (4 / 3) ** 2 + 3 * 1.0**2) / 2
    msw = ((0.25 + 0.25) + (1 / 9 + 4 / 9 + 1 / 9) + (1 + 0 + 1)) / 5
    lam = (64 - (4 + 9 + 9)) / (2 * 8)
    total = (msb - msw) / lam + msw
    res = bland_altman(d, subj)
    assert res.within_var == pytest.approx(msw)
    assert res.sd_difference == pytest.approx(np.sqrt(total))
    assert res.bias == pytest.approx(1.0)


def test_agreement_on_sample(sample):
    res = kbz.cvg_agreement(sample["cvg"])
    both = sample["cvg"].dropna(subset=["cvg_gp"])
    diff = both["cvg_gp"].astype(float) - both["cvg_patient"]
    est = res.tidy().set_index("term")
    assert est.loc["bias", "estimate"] == pytest.approx(diff.mean())
    assert est.loc["bias", "n"] == len(both)
    assert est.loc["share_within_1", "estimate"] == pytest.approx((diff.abs() <= 1).mean())
    # "agree well": ICC and kappa high, limits within two marks
    assert est.loc["icc_2_1", "estimate"] > 0.75
    assert est.loc["loa_upper", "estimate"] < 2 and est.loc["loa_lower", "estimate"] > -2
    icc = icc_2_1(np.column_stack([both["cvg_patient"], both["cvg_gp"].astype(float)]))
    assert est.loc["icc_2_1", "estimate"] == pytest.approx(icc.icc)
    assert "ICC(2,1)" in res.headline() and "limits of agreement" in res.headline()
    assert res.tables["differences"]["n"].sum() == len(both)


def test_agreement_needs_gp_marks():
    with pytest.raises(kbz.DataValidationError, match="cvg_gp"):
        kbz.cvg_agreement(_toy(gp=False))


def test_agreement_out_of_range_gp_mark():
    frame = _toy()
    frame.loc[0, "cvg_gp"] = 11
    with pytest.raises(kbz.DataValidationError, match="cvg_gp"):
        kbz.cvg_agreement(frame)


def test_agreement_bad_weights():
    with pytest.raises(kbz.SpecificationError, match="weights"):
        kbz.cvg_agreement(_toy(), weights="cubic")
