"""Standardisation: identities on constructed data, hand computations, and the
ranking-stability check on the real Vektis data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

import kbz_eval as kbz
from kbz_eval.errors import SpecificationError
from kbz_eval.open_data.standardise import COUNTRY, standardise
from kbz_eval.tables import AGE_BANDS

TOL = 1e-10  # exact identities, up to floating-point rounding


def constructed(seed: int = 7, units: int = 6) -> pd.DataFrame:
    """Units × sex × age class with random exposures and costs."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(units):
        for s in ("M", "F"):
            for k, a in enumerate(AGE_BANDS):
                exposure = float(rng.uniform(10, 1000))
                rate = 500 + 150 * k + (100 if s == "F" else 0) + 60 * u
                rows.append({"unit": f"u{u}", "year": 2018, "sex": s, "age_class": a,
                             "cost": exposure * rate * rng.uniform(0.8, 1.2),
                             "exposure": exposure})
    return pd.DataFrame(rows)


def test_crude_is_total_over_exposure():
    data = constructed()
    res = standardise(data, value="cost", exposure="exposure", by=["unit"], method="crude")
    expect = data.groupby("unit")["cost"].sum() / data.groupby("unit")["exposure"].sum()
    np.testing.assert_allclose(res.set_index("unit")["rate"], expect, rtol=TOL)


def test_direct_with_own_structure_equals_crude():
    data = constructed()
    for unit, part in data.groupby("unit"):
        std = part[["sex", "age_class", "exposure"]]
        res = standardise(part, value="cost", exposure="exposure", by=["unit"],
                          method="direct", standard=std)
        assert res["rate"].iloc[0] == pytest.approx(res["crude"].iloc[0], rel=TOL), unit
        assert res["missing_weight"].iloc[0] == pytest.approx(0.0, abs=TOL)


def test_direct_matches_hand_computation():
    data = constructed(seed=3)
    rng = np.random.default_rng(11)
    std = data[["sex", "age_class"]].drop_duplicates().assign(
        weight=rng.uniform(0, 1, 2 * len(AGE_BANDS)))
    res = standardise(data, value="cost", exposure="exposure", by=["unit"], method="direct",
                      standard=std).set_index("unit")
    w = std.set_index(["sex", "age_class"])["weight"]
    w = w / w.sum()
    for unit, part in data.groupby("unit"):
        rates = part.set_index(["sex", "age_class"]).eval("cost / exposure")
        expect = float((rates * w.reindex(rates.index)).sum())
        assert res.loc[unit, "rate"] == pytest.approx(expect, rel=TOL)


def test_direct_single_stratum_standard_gives_that_rate():
    data = constructed()
    std = pd.Series({("F", "40-44"): 1.0}).rename_axis(["sex", "age_class"])
    res = standardise(data, value="cost", exposure="exposure", by=["unit"], method="direct",
                      standard=std).set_index("unit")
    sel = data[(data["sex"] == "F") & (data["age_class"] == "40-44")].set_index("unit")
    np.testing.assert_allclose(res["rate"], sel["cost"] / sel["exposure"], rtol=TOL)


def test_direct_missing_strata_rescaled_and_reported():
    data = constructed()
    dropped = data[~((data["unit"] == "u0") & (data["age_class"] == "90+"))]
    std = data.groupby(["sex", "age_class"], as_index=False)["exposure"].sum()
    res = standardise(dropped, value="cost", exposure="exposure", by=["unit"], method="direct",
                      standard=std).set_index("unit")
    share_90 = std.loc[std["age_class"] == "90+", "exposure"].sum() / std["exposure"].sum()
    assert res.loc["u0", "missing_weight"] == pytest.approx(share_90, rel=1e-9)
    assert res.loc["u1", "missing_weight"] == pytest.approx(0.0, abs=TOL)
    part = dropped[dropped["unit"] == "u0"].merge(std, on=["sex", "age_class"],
                                                  suffixes=("", "_std"))
    weights = part["exposure_std"]
    expect = (part["cost"] / part["exposure"] * weights).sum() / weights.sum()
    assert res.loc["u0", "rate"] == pytest.approx(expect, rel=TOL)


def test_indirect_reference_population_ratio_is_one():
    data = constructed()
    pooled = data.assign(unit="all")
    res = standardise(pooled, value="cost", exposure="exposure", by=["unit"],
                      method="indirect", reference=data)
    assert res["ratio"].iloc[0] == pytest.approx(1.0, rel=TOL)
    assert res["rate"].iloc[0] == pytest.approx(res["crude"].iloc[0], rel=TOL)


def test_indirect_matches_hand_computation():
    data = constructed(seed=5)
    res = standardise(data, value="cost", exposure="exposure", by=["unit"],
                      method="indirect").set_index("unit")
    ref = data.groupby(["sex", "age_class"])[["cost", "exposure"]].sum()
    rates = ref["cost"] / ref["exposure"]
    ref_crude = ref["cost"].sum() / ref["exposure"].sum()
    for unit, part in data.groupby("unit"):
        p = part.set_index(["sex", "age_class"])
        expected = float((p["exposure"] * rates.reindex(p.index)).sum())
        ratio = p["cost"].sum() / expected
        assert res.loc[unit, "ratio"] == pytest.approx(ratio, rel=TOL)
        assert res.loc[unit, "rate"] == pytest.approx(ratio * ref_crude, rel=TOL)


def test_bad_arguments_are_refused():
    data = constructed()
    with pytest.raises(SpecificationError, match="method"):
        standardise(data, value="cost", exposure="exposure", by=["unit"], method="both")
    with pytest.raises(SpecificationError, match="lacks"):
        standardise(data, value="nope", exposure="exposure", by=["unit"])


def test_does_not_mutate_input():
    data = constructed()
    before = data.copy()
    standardise(data, value="cost", exposure="exposure", by=["unit"], method="direct")
    pd.testing.assert_frame_equal(data, before)


# --------------------------------------------------------------------------- real data
@pytest.mark.data
def test_real_identities_country(shared_data):
    res = kbz.open_data.cost_per_insured_year(years=[2016, 2018], folder=shared_data,
                                              areas=["NL", "Utrecht"], standard=2018)
    est = res.estimates.set_index(["area", "year", "cost_group", "method"])["estimate"]
    oe = res.estimates.set_index(["area", "year", "cost_group", "method"])["oe_ratio"]
    for g in ("total", "msz", "gp", "ggz", "pharmacy"):
        # the country with its own 2018 structure as standard: direct == crude
        assert est[(COUNTRY, 2018, g, "direct")] == pytest.approx(
            est[(COUNTRY, 2018, g, "crude")], rel=TOL)
        # the country is the indirect reference of its own year: O/E == 1
        for y in (2016, 2018):
            assert oe[(COUNTRY, y, g, "indirect")] == pytest.approx(1.0, rel=TOL)
    # Utrecht is younger than the country: standardising raises its cost per insured year
    assert est[("UTRECHT", 2018, "total", "direct")] > est[("UTRECHT", 2018, "total", "crude")]
    assert (res.estimates.loc[res.estimates["method"] == "direct", "missing_weight"] == 0).all()


@pytest.mark.data
def test_real_ranking_stable_under_standard_population(shared_data):
    """Rank municipalities on 2018 direct-standardised total cost with two standards: the
    national insured-years structure of 2011 and of 2023.

    Why it should be stable: both are the structure of the same national population 12
    years apart; ageing shifts a few percent of weight from younger to older classes, and
    municipalities' cost profiles over age have much the same shape, so the reweighting
    moves all of them by about the same factor. Threshold 0.98 (observed ~0.99). As a
    check that the test can fail, an extreme standard (only the three youngest classes)
    and no standardisation at all (crude) do change the ranking (Spearman below 0.9).
    """
    kw = {"years": [2011, 2018, 2023], "folder": shared_data, "groups": ["total"]}
    a = kbz.open_data.cost_per_insured_year(standard=2011, methods=["crude", "direct"], **kw)
    b = kbz.open_data.cost_per_insured_year(standard=2023, methods=["direct"], **kw)
    young = pd.DataFrame([{"sex": s, "age_class": k,
                           "weight": 1.0 if k in ("0-4", "5-9", "10-14") else 0.0}
                          for s in ("M", "F") for k in AGE_BANDS])
    c = kbz.open_data.cost_per_insured_year(standard=young, methods=["direct"], **kw)
    da = a.series(method="direct").loc[2018].drop(COUNTRY)
    db = b.series(method="direct").loc[2018].reindex(da.index)
    dc = c.series(method="direct").loc[2018].reindex(da.index)
    crude = a.series(method="crude").loc[2018].reindex(da.index)
    assert len(da) > 300
    assert spearmanr(da, db).statistic > 0.98
    assert spearmanr(da, dc).statistic < 0.9
    assert spearmanr(da, crude).statistic < 0.9


@pytest.mark.data
def test_cost_result_contract(shared_data):
    res = kbz.open_data.cost_per_insured_year(years=[2018, 2022], folder=shared_data,
                                              areas=["Rotterdam", "NL"], groups=["total", "ggz"])
    tidy = res.tidy()
    assert list(tidy.columns[:7]) == ["term", "estimate", "std_error", "ci_lower", "ci_upper",
                                      "p_value", "n"]
    assert tidy["std_error"].isna().all()  # population totals: no sampling error
    assert tidy["n"].gt(0).all()
    assert set(tidy["method"]) == {"crude", "direct", "indirect"}
    assert tidy.loc[(tidy["cost_group"] == "ggz") & (tidy["year"] == 2022), "ggz_break"].all()
    assert not tidy.loc[tidy["cost_group"] == "total", "ggz_break"].any()
    assert tidy.loc[(tidy["cost_group"] == "total") & (tidy["year"] == 2022),
                    "definition_change"].all()
    assert set(res.tables["breaks"]["cost_group"]) == {"total", "ggz"}
    assert "no sampling error" in res.method.lower() or "no intervals" in res.method.lower()
    assert "NEDERLAND" in repr(res) or "national" in repr(res)
    assert not res.summary().empty
    assert "<div" in res._repr_html_()
