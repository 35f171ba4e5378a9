"""4D-conversation ratings, practice-indicator spread and referrals avoided."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

import kbz_eval as kbz

#: Seed 004: IVM score range of the KBZ practices 30-74 % (2013) -> 74-90 % (2016).
IVM_2013, IVM_2016 = (30.0, 74.0), (74.0, 90.0)
#: Seed 004: GPs avoided a referral in two of three neighbourhood-specialist contacts.
REFERRAL_SHARE = 2 / 3
SHARE_TOL = 0.005  # the sample is calibrated to round(2/3 n) of n consultations


@pytest.fixture(scope="module")
def sample():
    return kbz.load_sample()


# --------------------------------------------------------------------- conversations
def test_share_positive_against_direct_count(sample):
    conv = sample["conversations"]
    res = kbz.conversation_ratings(conv)
    est = res.tidy().set_index("term")
    for (rtype, item), part in conv.groupby(["respondent_type", "item"]):
        x, n = int((part["rating"] >= 4).sum()), len(part)
        lo, hi = proportion_confint(x, n, method="wilson")
        row = est.loc[f"share_positive:{rtype}:{item}"]
        assert row["estimate"] == pytest.approx(x / n)
        assert (row["ci_lower"], row["ci_upper"]) == pytest.approx((lo, hi))
        assert row["n"] == n
    dist = res.tables["distribution"]
    assert dist.groupby(["respondent_type", "item"])["share"].sum().round(12).eq(1).all()
    assert dist["count"].sum() == len(conv)
    assert "n" in dist.columns and "n" in res.tables["share_positive"].columns


def test_difference_between_respondent_types(sample):
    conv = sample["conversations"]
    res = kbz.conversation_ratings(conv)
    est = res.tidy().set_index("term")
    item = conv["item"].iloc[0]
    pat = conv[(conv["respondent_type"] == "patient") & (conv["item"] == item)]
    pro = conv[(conv["respondent_type"] == "professional") & (conv["item"] == item)]
    from statsmodels.stats.proportion import confint_proportions_2indep

    x1, n1 = int((pat["rating"] >= 4).sum()), len(pat)
    x2, n2 = int((pro["rating"] >= 4).sum()), len(pro)
    lo, hi = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb")
    row = est.loc[f"difference:{item}:patient-professional"]
    assert row["estimate"] == pytest.approx(x1 / n1 - x2 / n2)
    assert (row["ci_lower"], row["ci_upper"]) == pytest.approx((lo, hi))


def test_top_box_option_and_headline(sample):
    res = kbz.conversation_ratings(sample["conversations"], positive=(5,))
    conv = sample["conversations"]
    first = conv[(conv["respondent_type"] == "patient")
                 & (conv["item"] == conv["item"].iloc[0])]
    est = res.tidy().set_index("term")
    term = f"share_positive:patient:{conv['item'].iloc[0]}"
    assert est.loc[term, "estimate"] == pytest.approx((first["rating"] == 5).mean())
    assert "rating 5 of 5" in res.headline()
    with pytest.raises(kbz.SpecificationError, match="positive"):
        kbz.conversation_ratings(conv, positive=(2, 3))


def test_rating_of_six_is_refused(sample):
    bad = sample["conversations"].copy()
    bad.loc[4, "rating"] = 6
    with pytest.raises(kbz.DataValidationError) as err:
        kbz.conversation_ratings(bad)
    assert "rating" in str(err.value) and "1 – 5" in str(err.value)
    other = sample["conversations"].copy()
    other["respondent_type"] = other["respondent_type"].astype(str)
    other.loc[0, "respondent_type"] = "family"
    with pytest.raises(kbz.DataValidationError, match="respondent_type"):
        kbz.conversation_ratings(other)


def test_empty_conversations_refused(sample):
    with pytest.raises(kbz.DataValidationError, match="no rows"):
        kbz.conversation_ratings(sample["conversations"].iloc[:0])


# --------------------------------------------------------------------- indicator spread
def test_ivm_spread_reproduces_published_ranges(sample):
    res = kbz.indicator_spread(sample["practice_indicators"], practices=sample["practices"],
                               group="kbz")
    spread = res.tables["spread"].set_index("year")
    assert (spread.loc[2013, "min"], spread.loc[2013, "max"]) == IVM_2013
    assert (spread.loc[2016, "min"], spread.loc[2016, "max"]) == IVM_2016
    short = kbz.indicator_spread(sample["practice_indicators"],
                                 practices=sample["practices"], group="kbz",
                                 years=(2013, 2016))
    assert "30–74% in 2013 → 74–90% in 2016" in short.headline()


def test_spread_statistics_by_hand(sample):
    pi = sample["practice_indicators"]
    res = kbz.indicator_spread(pi, practices=sample["practices"])
    merged = pi.merge(sample["practices"][["practice_id", "group"]], on="practice_id")
    merged["group"] = merged["group"].astype(str)
    spread = res.tables["spread"].set_index(["group", "year"])
    for key, part in merged.groupby(["group", "year"]):
        s = part["score_percent"]
        row = spread.loc[key]
        assert row["n"] == len(s)
        assert row["median"] == pytest.approx(s.median())
        assert row["iqr"] == pytest.approx(s.quantile(0.75) - s.quantile(0.25))
        assert row["range"] == pytest.approx(s.max() - s.min())
    assert set(res.tables["spread"]["group"]) == {"kbz", "control"}
    assert set(kbz.indicator_spread(pi).tables["spread"]["group"]) == {"all"}


def test_spread_errors(sample):
    pi = sample["practice_indicators"]
    with pytest.raises(kbz.SpecificationError, match="practices"):
        kbz.indicator_spread(pi, group="kbz")
    with pytest.raises(kbz.SpecificationError, match="`indicator`"):
        kbz.indicator_spread(pi, indicator="antibiotics")
    with pytest.raises(kbz.SpecificationError, match="`years`"):
        kbz.indicator_spread(pi, years=(2010,))
    bad = pi.copy()
    bad.loc[0, "score_percent"] = 101.0
    with pytest.raises(kbz.DataValidationError, match="score_percent"):
        kbz.indicator_spread(bad)


# --------------------------------------------------------------------- referrals
def test_referrals_avoided_two_of_three(sample):
    cons = sample["consults"]
    res = kbz.referrals_avoided(cons)
    shares = res.tables["shares"].set_index("specialism")
    assert shares.loc["all", "share"] == pytest.approx(REFERRAL_SHARE, abs=SHARE_TOL)
    assert shares.loc["all", "n"] == len(cons)
    for spec, part in cons.groupby("specialism"):
        x, n = int(part["referral_avoided"].sum()), len(part)
        lo, hi = proportion_confint(x, n, method="wilson")
        assert (shares.loc[spec, "ci_lower"], shares.loc[spec, "ci_upper"]) == \
            pytest.approx((lo, hi))
        assert shares.loc[spec, "n"] == n
    assert shares.drop(index="all")["n"].sum() == len(cons)
    assert "avoided a referral" in res.headline()


def test_referrals_bad_input(sample):
    bad = sample["consults"].copy().astype({"referral_avoided": object})
    bad.loc[0, "referral_avoided"] = "misschien"
    with pytest.raises(kbz.DataValidationError, match="referral_avoided"):
        kbz.referrals_avoided(bad)
    dup = pd.concat([sample["consults"], sample["consults"].iloc[[0]]], ignore_index=True)
    with pytest.raises(kbz.DataValidationError, match="duplicate"):
        kbz.referrals_avoided(dup)


def test_results_are_reachable_from_the_package():
    for name in ("cvg_trajectory", "cvg_agreement", "conversation_ratings",
                 "population_health", "workforce_change", "indicator_spread",
                 "referrals_avoided"):
        assert callable(getattr(kbz, name))
        assert name in dir(kbz)


def test_tidy_contract_columns(sample):
    from kbz_eval.results import TIDY_COLUMNS

    results = [
        kbz.conversation_ratings(sample["conversations"]),
        kbz.indicator_spread(sample["practice_indicators"]),
        kbz.referrals_avoided(sample["consults"]),
    ]
    for res in results:
        tidy = res.tidy()
        assert list(tidy.columns[: len(TIDY_COLUMNS)]) == list(TIDY_COLUMNS)
        assert tidy["n"].notna().all()
        assert isinstance(res.summary(), pd.DataFrame)
        assert np.isfinite(tidy["estimate"]).all()
