"""Workforce change (Aim 4): means per wave, location and role; errors; options.

The mixed-model numbers are checked against an independent REML implementation in
``test_surveys_mixed_model.py``; coverage over many seeds in ``test_surveys_slow.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import kbz_eval as kbz
from kbz_eval.stats.pvalues import format_p


@pytest.fixture(scope="module")
def sample():
    return kbz.load_sample()


@pytest.fixture(scope="module")
def result(sample):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kbz.StatisticalWarning)
        return kbz.workforce_change(sample["workforce"], practices=sample["practices"])


def _survey(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(40):
        practice = f"OV{r % 4 + 1:02d}"
        base = rng.normal(0, 0.8)
        for wave in (1, 2, 3):
            rows.append((f"R{r:03d}", practice, wave, "huisarts" if r % 2 else "POH-GGZ",
                         float(np.clip(np.rint(7 + base - 0.3 * (wave - 1)
                                               + rng.normal(0, 0.7)), 1, 10)),
                         float(np.clip(np.rint(6.5 + base + 0.2 * (wave - 1)
                                               + rng.normal(0, 0.7)), 1, 10))))
    return pd.DataFrame(rows, columns=["respondent_id", "practice_id", "wave", "role",
                                       "workload", "job_satisfaction"])


def test_means_per_cell_against_groupby(result, sample):
    wf = sample["workforce"].merge(sample["practices"][["practice_id", "group"]],
                                   on="practice_id")
    wf["group"] = wf["group"].astype(str)
    for table, keys in (("means", ["group", "wave"]),
                        ("means_by_location", ["wave", "practice_id"]),
                        ("means_by_role", ["wave", "role"])):
        got = result.tables[table]
        for m in ("workload", "job_satisfaction"):
            ref = (wf.groupby(keys)[m].agg(["mean", "count", "sem"])
                   .add_prefix("ref_").reset_index())
            mine = got[got["measure"] == m].merge(ref, on=keys)
            assert len(mine) == len(ref) == (got["measure"] == m).sum()
            np.testing.assert_allclose(mine["mean"], mine["ref_mean"])
            assert (mine["n"] == mine["ref_count"]).all()
            ok = mine["ref_count"] > 1
            half = stats.t.ppf(0.975, mine.loc[ok, "ref_count"] - 1) * mine.loc[ok, "ref_sem"]
            np.testing.assert_allclose(mine.loc[ok, "ci_upper"] - mine.loc[ok, "mean"], half)


def test_every_table_has_n_and_no_respondent_ids(result, sample):
    ids = set(sample["workforce"]["respondent_id"])
    for name, frame in {**result.tables, "tidy": result.tidy(),
                        "plot": result.plot_data()}.items():
        assert "n" in frame.columns or "n_groups" in frame.columns, name
        for col in frame.columns:
            assert not set(frame[col].astype(str)) & ids, (name, col)


def test_group_contrasts_are_consistent(result):
    est = result.tidy().set_index("term")
    for m in ("workload", "job_satisfaction"):
        for k in (2, 3):
            kbz_ = est.loc[f"{m}:change_wave_{k}_vs_1:kbz", "estimate"]
            ctrl = est.loc[f"{m}:change_wave_{k}_vs_1:control", "estimate"]
            diff = est.loc[f"{m}:difference_wave_{k}:kbz-control", "estimate"]
            assert diff == pytest.approx(kbz_ - ctrl, abs=1e-10)
    assert result.settings["random_intercept"] == "respondent"
    assert result.settings["repeated_respondents"]


def test_sample_planted_direction(result):
    """The sample plants falling workload at KBZ practices vs rising at controls."""
    est = result.tidy().set_index("term")
    assert est.loc["workload:difference_wave_3:kbz-control", "estimate"] < 0


def test_without_practices_one_change_per_wave():
    res = kbz.workforce_change(_survey())
    terms = set(res.tidy()["term"])
    changes = {f"{m}:change_wave_{k}_vs_1" for m in ("workload", "job_satisfaction")
               for k in (2, 3)}
    assert terms == changes | {t + "_persons_only" for t in changes}
    assert "no comparison group" in res.headline()
    assert set(res.tables["means"]["group"]) == {"all"}
    with pytest.raises(kbz.SpecificationError, match="measure"):
        res.plot_data(measure="stress")


def test_options_are_checked():
    wf = _survey()
    with pytest.raises(kbz.SpecificationError, match="measures"):
        kbz.workforce_change(wf, measures="stress")
    with pytest.raises(kbz.SpecificationError, match="random_intercept"):
        kbz.workforce_change(wf, random_intercept="practice")
    with pytest.raises(kbz.SpecificationError,
                       match=r"`inference` must be one of \['practice', 'person'\]"):
        kbz.workforce_change(wf, inference="persons")
    with pytest.raises(kbz.SpecificationError, match="`practice_method`"):
        kbz.workforce_change(wf, practice_method="jackknife")
    with pytest.raises(kbz.SpecificationError, match="`n_boot`"):
        kbz.workforce_change(wf, n_boot=10)
    res = kbz.workforce_change(wf, measures="workload", random_intercept="location")
    assert res.settings["random_intercept"] == "location"
    assert "location" in res.method


def test_rating_out_of_range_is_refused():
    wf = _survey()
    wf.loc[5, "workload"] = 11.0
    with pytest.raises(kbz.DataValidationError, match="workload"):
        kbz.workforce_change(wf)


def test_wave_without_respondents_is_refused():
    wf = _survey()
    with pytest.raises(kbz.DataValidationError, match="without respondents"):
        kbz.workforce_change(wf[wf["wave"] != 2])
    empty_measure = _survey()
    empty_measure.loc[empty_measure["wave"] == 3, "job_satisfaction"] = np.nan
    with pytest.raises(kbz.DataValidationError, match="job_satisfaction"):
        kbz.workforce_change(empty_measure)
    # leaving that measure out is fine
    kbz.workforce_change(empty_measure, measures="workload")


def test_single_wave_and_unknown_practice(sample):
    wf = _survey()
    with pytest.raises(kbz.SpecificationError, match="two waves"):
        kbz.workforce_change(wf[wf["wave"] == 1])
    with pytest.raises(kbz.DataValidationError, match="foreign key"):
        kbz.workforce_change(wf.assign(practice_id="XX99"), practices=sample["practices"])


def test_caller_frame_is_not_changed(sample):
    wf = sample["workforce"].copy()
    before = wf.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kbz.StatisticalWarning)
        kbz.workforce_change(wf, practices=sample["practices"])
    pd.testing.assert_frame_equal(wf, before)


# --------------------------------------------------------------------------- practice level
#: Agreement of CR2 and its degrees of freedom with the written-out definitions (the
#: mixed model's variance components are passed through, so round-off only).
CR2_TOL = 1e-6
DIFF3 = "{}:difference_wave_3:kbz-control"


def test_kbz_minus_control_is_practice_level_and_wider_than_persons_only(result):
    """The effect row (KBZ − control) is practice-level by default, its interval is at
    least as wide as the persons-only one on the sample, and the headline shows it."""
    est = result.tidy().set_index("term")
    assert result.settings["inference"] == "practice"
    for m in ("workload", "job_satisfaction"):
        for k in (2, 3):
            main = est.loc[f"{m}:difference_wave_{k}:kbz-control"]
            person = est.loc[f"{m}:difference_wave_{k}:kbz-control_persons_only"]
            assert main["inference"] == "practice" and person["inference"] == "person"
            assert main["group"] == "kbz − control"
            assert main["estimate"] == person["estimate"]
            assert main["ci_upper"] - main["ci_lower"] >= person["ci_upper"] - person["ci_lower"]
            assert main["std_error"] >= person["std_error"]
    # within-group changes are practice-level too, and have no persons-only twin
    assert est.loc["workload:change_wave_3_vs_1:kbz", "inference"] == "practice"
    assert "workload:change_wave_3_vs_1:kbz_persons_only" not in est.index
    text = result.headline()
    job = est.loc[DIFF3.format("job_satisfaction")]
    assert "KBZ − control practices" in text and "control practices" in text
    assert f"job_satisfaction {job['estimate']:+.2f} (95% CI {job['ci_lower']:+.2f} to " in text
    assert format_p(job["p_value"]) in text
    kbz_only = est.loc["job_satisfaction:change_wave_3_vs_1:kbz", "estimate"]
    assert f"{kbz_only:+.2f}" not in text  # never the KBZ-only change
    assert "persons only" not in text and "wild cluster bootstrap-t" in text


def test_person_inference_keeps_the_model_intervals_labelled(sample, result):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kbz.StatisticalWarning)
        person = kbz.workforce_change(sample["workforce"], practices=sample["practices"],
                                      inference="person")
    tidy = person.tidy().set_index("term")
    assert set(tidy["inference"]) == {"person"}
    assert not any(t.endswith("_persons_only") for t in tidy.index)
    assert "persons only — ignores variation between practices" in person.headline()
    assert "persons only" in person.method and "practice_variance" not in person.tables
    # the same numbers as the persons-only secondary rows of the default
    twin = result.tidy().set_index("term").loc[DIFF3.format("workload") + "_persons_only"]
    for col in ("estimate", "std_error", "ci_lower", "ci_upper", "p_value"):
        assert tidy.loc[DIFF3.format("workload"), col] == twin[col]


def _cr2_by_definition(x, y, cl, v_half_inv, c):
    """CR2 and Bell–McCaffrey df of ``c'beta`` for GLS with covariance ``V``, written out:
    whiten with the symmetric ``V^{-1/2}``, then ``A_g = (I - H_gg)^{-1/2}`` (SVD),
    ``var = sum_g (c'(X'X)^-1 X_g' A_g e_g)^2`` and ``df = tr(Q)^2 / tr(Q^2)`` with
    ``Q = M (sum_g p_g p_g') M``, ``p_g = A_g X_g (X'X)^-1 c`` (the variance is a
    quadratic form ``eps' Q eps`` in iid whitened errors)."""
    xw, yw = v_half_inv @ x, v_half_inv @ y
    bread = np.linalg.inv(xw.T @ xw)
    beta = bread @ xw.T @ yw
    e = yw - xw @ beta
    hat = xw @ bread @ xw.T
    n = len(y)
    var, q = 0.0, np.zeros((n, n))
    for g in np.unique(cl):
        rows = np.flatnonzero(cl == g)
        u, sv, _ = np.linalg.svd(np.eye(rows.size) - hat[np.ix_(rows, rows)])
        keep = sv > 1e-10
        a = (u[:, keep] / np.sqrt(sv[keep])) @ u[:, keep].T
        p = np.zeros(n)
        p[rows] = a @ xw[rows] @ bread @ c
        var += float(p @ e) ** 2
        q += np.outer(p, p)
    m = np.eye(n) - hat
    q = m @ q @ m
    return float(c @ beta), np.sqrt(var), np.trace(q) ** 2 / np.trace(q @ q)


def test_practice_cr2_and_df_equal_a_hand_computation(sample):
    """Workload on the sample, practice_method="cr2": the CR2 standard error (by
    practice) and the Bell–McCaffrey df of the KBZ − control difference at wave 3 equal
    the definitions applied to the GLS model with the fitted random-intercept
    covariance; the reported SE is the larger of CR2 and the model-based SE."""
    wf, practices = sample["workforce"], sample["practices"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kbz.StatisticalWarning)
        res = kbz.workforce_change(wf, practices=practices, measures="workload",
                                   practice_method="cr2")
    data = wf.merge(practices[["practice_id", "group"]], on="practice_id")
    data = data.dropna(subset=["workload"]).reset_index(drop=True)
    wave = data["wave"].to_numpy()
    is_kbz = (data["group"].astype(str) == "kbz").to_numpy(float)
    x = np.column_stack([np.ones(len(data)), wave == 2, wave == 3, is_kbz,
                         is_kbz * (wave == 2), is_kbz * (wave == 3)]).astype(float)
    comp = res.tables["variance_components"].iloc[0]
    same = (data["respondent_id"].to_numpy()[:, None]
            == data["respondent_id"].to_numpy()[None, :])
    cov = comp["within_var"] * np.eye(len(data)) + comp["between_var"] * same
    vals, vecs = np.linalg.eigh(cov)
    v_half_inv = (vecs / np.sqrt(vals)) @ vecs.T
    c = np.array([0, 0, 0, 0, 0, 1.0])
    est, se, dof = _cr2_by_definition(x, data["workload"].to_numpy(float),
                                      data["practice_id"].to_numpy(), v_half_inv, c)
    row = res.tidy().set_index("term").loc[DIFF3.format("workload")]
    var = res.tables["practice_variance"].set_index("term").loc[DIFF3.format("workload")]
    assert row["estimate"] == pytest.approx(est, abs=1e-6)
    assert var["se_cr2"] == pytest.approx(se, rel=CR2_TOL)
    assert row["df"] == pytest.approx(dof, rel=CR2_TOL)
    assert 4 < row["df"] < 11  # 12 practices, 6 per group: well below a persons' df
    assert row["std_error"] == max(var["se_cr2"], var["se_model"])
    q = stats.t.ppf(0.975, row["df"])
    assert row["ci_upper"] - row["estimate"] == pytest.approx(q * row["std_error"], rel=1e-12)


def test_one_practice_in_a_group_gives_no_practice_level_number(sample):
    wf = _survey()
    wf["practice_id"] = wf["practice_id"].replace({"OV03": "OV02", "OV04": "OV02"})
    practices = sample["practices"]  # OV01 kbz; OV02 control
    with pytest.warns(kbz.StatisticalWarning, match="Practice-level inference is impossible"):
        res = kbz.workforce_change(wf, practices=practices)
    row = res.tidy().set_index("term").loc[DIFF3.format("workload")]
    assert np.isfinite(row["estimate"])
    assert np.isnan(row["ci_lower"]) and np.isnan(row["p_value"])
    assert "no practice-level interval" in res.headline()


def _shocked_survey(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """12 practices (6 KBZ), 8 staff, 3 waves, 85% response; practice effects and a
    practice × wave shock (sd 0.3 marks) that persons of a practice share."""
    rng = np.random.default_rng(seed)
    slope = {"kbz": -0.25, "control": 0.10}
    practices = pd.DataFrame({
        "practice_id": [f"OV{i + 1:02d}" for i in range(12)], "city": "Utrecht",
        "neighbourhood": "Overvecht", "group": ["kbz", "control"] * 6,
        "kbz_start_year": [2014, None] * 6,
    })
    level, shock = rng.normal(0, 0.4, 12), rng.normal(0, 0.3, (12, 3))
    rows = []
    for p in range(12):
        b = slope["kbz" if p % 2 == 0 else "control"]
        for s in range(8):
            person = rng.normal(0, 0.9)
            for wave in (1, 2, 3):
                if rng.random() > 0.85:
                    continue
                v = (7 + level[p] + person + b * (wave - 1) + shock[p, wave - 1]
                     + rng.normal(0, 0.8))
                rows.append((f"R{p:02d}{s:02d}", f"OV{p + 1:02d}", wave, "huisarts",
                             min(max(float(np.rint(v)), 1.0), 10.0), 7.0))  # = np.clip
    wf = pd.DataFrame(rows, columns=["respondent_id", "practice_id", "wave", "role",
                                     "workload", "job_satisfaction"])
    return wf, practices, 2 * (slope["kbz"] - slope["control"])


@pytest.mark.slow
def test_practice_level_covers_with_practice_shocks_where_persons_only_does_not():
    """200 seeds. Measured: practice level (CR2, Bell–McCaffrey df) 0.945, persons only
    0.855 (the persons-only rows of the same fits)."""
    practice, person = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kbz.StatisticalWarning)
        for seed in range(200):
            wf, practices, truth = _shocked_survey(seed)
            tidy = kbz.workforce_change(wf, practices=practices, measures="workload",
                                        practice_method="cr2").tidy().set_index("term")
            for store, term in ((practice, DIFF3), (person, DIFF3 + "_persons_only")):
                row = tidy.loc[term.format("workload")]
                store.append(row["ci_lower"] <= truth <= row["ci_upper"])
    assert 0.92 <= np.mean(practice) <= 0.98
    assert np.mean(person) < 0.90  # persons only: too narrow when practices vary
