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
            assert diff == pytest.approx(kbz_ - ctrl)
    assert result.settings["random_intercept"] == "respondent"
    assert result.settings["repeated_respondents"]
    assert "kbz − control" in result.headline()


def test_sample_planted_direction(result):
    """The sample plants falling workload at KBZ practices vs rising at controls."""
    est = result.tidy().set_index("term")
    assert est.loc["workload:difference_wave_3:kbz-control", "estimate"] < 0


def test_without_practices_one_change_per_wave():
    res = kbz.workforce_change(_survey())
    terms = set(res.tidy()["term"])
    assert terms == {f"{m}:change_wave_{k}_vs_1" for m in ("workload", "job_satisfaction")
                     for k in (2, 3)}
    assert set(res.tables["means"]["group"]) == {"all"}
    with pytest.raises(kbz.SpecificationError, match="measure"):
        res.plot_data(measure="stress")


def test_options_are_checked():
    wf = _survey()
    with pytest.raises(kbz.SpecificationError, match="measures"):
        kbz.workforce_change(wf, measures="stress")
    with pytest.raises(kbz.SpecificationError, match="random_intercept"):
        kbz.workforce_change(wf, random_intercept="practice")
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
