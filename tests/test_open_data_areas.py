"""KBZ areas against references (Aim 3 costs, Aim 2 health), the report section and the
plots (checked for what they draw)."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import kbz_eval as kbz  # noqa: E402
from kbz_eval.errors import SpecificationError, StatisticalWarning  # noqa: E402
from kbz_eval.open_data import COUNTRY, DONOR_MEAN, KBZ_CITIES  # noqa: E402
from kbz_eval.report.cells import declarations  # noqa: E402

pytestmark = pytest.mark.data
TOL = 1e-9


@pytest.fixture(scope="module")
def costs(shared_data):
    return kbz.open_data.cost_per_insured_year(folder=shared_data, groups=["total"],
                                               methods=["direct"])


@pytest.fixture(scope="module")
def health(shared_data):
    return kbz.open_data.rivm_health(folder=shared_data, measures=list(
        kbz.open_data.HEALTH_INDICATORS))


def test_compare_areas_against_country_and_donors(costs):
    res = kbz.open_data.compare_areas(costs)
    est = res.estimates
    panel = costs.series(group="total", method="direct")
    pool = res.tables["donors"]["area_code"].tolist()
    assert len(pool) == 30 and not set(pool) & set(KBZ_CITIES)
    yearly = est[est["year"].notna()].set_index(["area_code", "reference", "year"])
    country = "Netherlands"  # references are shown by name, areas keyed by area_code
    for city in KBZ_CITIES:
        for year in (2011, 2018, 2023):
            diff = panel.loc[year, city] - panel.loc[year, COUNTRY]
            assert yearly.loc[(city, country, year), "estimate"] == pytest.approx(diff, rel=TOL)
            donor = panel.loc[year, city] - panel.loc[year, pool].mean()
            assert yearly.loc[(city, DONOR_MEAN, year), "estimate"] == pytest.approx(donor, rel=TOL)
    # difference in change, Utrecht (rollout 2014) against the country, by hand
    pre, post = panel.index < 2014, panel.index >= 2014
    d = panel[("UTRECHT")]
    n = panel[COUNTRY]
    expect = (d[post].mean() - d[pre].mean()) - (n[post].mean() - n[pre].mean())
    got = est.set_index("term").loc["Utrecht change minus Netherlands change", "estimate"]
    assert got == pytest.approx(expect, rel=TOL)
    assert yearly.loc[("AMSTERDAM", country, 2019), "post"]
    assert not yearly.loc[("AMSTERDAM", country, 2018), "post"]
    assert est["std_error"].isna().all()


def test_overvecht_health_change_is_plain_difference(shared_data, health):
    res = kbz.open_data.area_health_change(health)
    est = res.estimates
    assert est["std_error"].isna().all() and est["ci_lower"].isna().all()
    assert est["p_value"].isna().all()
    assert est["inference"].str.contains("point estimates only").all()
    assert "plain differences" in res.method
    # by hand from the loaded estimates
    v = health.set_index(["indicator", "area_code", "year"])["value"]
    row = est.set_index("term").loc[
        "good_health 2012-2020: Overvecht change minus Utrecht change"]
    expect = (v[("good_health", "WK034403", 2020)] - v[("good_health", "WK034403", 2012)]) - (
        v[("good_health", "GM0344", 2020)] - v[("good_health", "GM0344", 2012)])
    assert row["estimate"] == pytest.approx(expect, abs=1e-9)
    # other districts: unweighted mean of the nine other Utrecht districts
    others = [f"WK0344{i:02d}" for i in range(1, 11) if i != 3]
    d_other = np.mean([v[("loneliness", c, 2016)] - v[("loneliness", c, 2012)] for c in others])
    d_area = v[("loneliness", "WK034403", 2016)] - v[("loneliness", "WK034403", 2012)]
    got = est.set_index("term").loc[
        "loneliness 2012-2016: Overvecht change minus other districts of Utrecht change"]
    assert got["estimate"] == pytest.approx(d_area - d_other, abs=1e-9)
    assert got["n_districts"] == 10
    # the exercise guideline is only measured from 2016
    ex = est[est["indicator"] == "exercise_guideline"]
    assert set(zip(ex["year_from"], ex["year_to"], strict=True)) == {(2016, 2020)}
    # favourable follows the indicator's direction
    strain = est[est["indicator"] == "financial_strain"]
    assert (strain["favourable"] == (strain["estimate"] < 0)).all()


def test_health_change_other_area_types(health):
    city = kbz.open_data.area_health_change(health, area="GM0344")
    assert set(city.estimates["reference"]) == {"Netherlands"}
    assert city.settings["references"] == {"Netherlands": ["NL01"]}
    with pytest.raises(SpecificationError):
        kbz.open_data.area_health_change(health, area="XX0000")


def test_open_data_section_and_plots(shared_data):
    with warnings.catch_warnings():
        warnings.simplefilter("error", StatisticalWarning)  # recorded, not emitted
        section = kbz.open_data.open_data_section(folder=shared_data)
    expected = {"cost_per_insured_year", "kbz_cities_vs_references", "overvecht_health",
                *(f"synthetic_control_{c}" for c in
                  ("utrecht", "amsterdam", "rotterdam", "den_haag", "haarlem"))}
    assert set(section) == expected
    costs = section["cost_per_insured_year"]
    assert set(costs.estimates["area_code"]) == {COUNTRY, *KBZ_CITIES}
    assert set(costs.estimates["cost_group"]) == {"total", "msz", "gp", "ggz", "pharmacy"}
    assert sorted(costs.estimates["year"].unique()) == list(range(2011, 2024))
    # Utrecht: 3 pre-period years, exact fits -> flagged, no placebo p-value, the gap's
    # range over exact fits instead; the 2019 cities get the p-value on its own row
    utrecht = section["synthetic_control_utrecht"]
    assert any(w.startswith("Only 3 pre-period years") for w in utrecht.warnings)
    assert any(w.startswith("Exact pre-period fit") for w in utrecht.warnings)
    est = utrecht.estimates.set_index("term")
    assert est.loc["fit_degenerate", "estimate"] == 1
    assert np.isnan(est.loc["placebo_p_value", "p_value"])
    assert "no placebo p-value" in utrecht.headline() and "not unique" in utrecht.headline()
    for key in ("amsterdam", "rotterdam", "den_haag", "haarlem"):
        res = section[f"synthetic_control_{key}"]
        est = res.estimates.set_index("term")
        assert est.loc["fit_degenerate", "estimate"] == 0, key
        row = est.loc["placebo_p_value"]
        assert row["statistic"] == "post/pre RMSPE ratio" and row["p_min"] == 1 / 31, key
        assert row["p_value"] * 31 == pytest.approx(row["rank"]), key
        assert np.isnan(est.loc["average post-period gap", "p_value"]), key
        assert est.loc["in_time_placebo_gap", "year"] == 2015, key
        assert not res.tables["in_time_placebo"].empty, key
        assert "placebo-in-space p = " in res.headline(), key
        # city aggregates of published open data: declared as holding no person cells
        assert declarations(res) and all(c.public for c in declarations(res).values()), key
    for name, res in section.items():
        assert isinstance(res.tidy(), pd.DataFrame) and not res.tidy().empty, name
        assert isinstance(res.summary(), pd.DataFrame), name
        assert res.method, name
        ax = res.plot()
        assert ax.has_data(), name
        ax.figure.clf()
    # what was drawn: one line per city plus the country and the donor mean
    ax = section["kbz_cities_vs_references"].plot()
    labels = {line.get_label() for line in ax.get_lines()}
    assert {"Utrecht", "Den Haag", "Netherlands", DONOR_MEAN} <= labels
    drawn = [line for line in ax.get_lines() if line.get_label() == "Netherlands"][0]
    series = section["kbz_cities_vs_references"].plot_data()
    nl = series[series["area_code"] == COUNTRY].sort_values("year")
    np.testing.assert_allclose(drawn.get_ydata(), nl["value"])
    ax = section["synthetic_control_amsterdam"].plot()
    assert len(ax.get_lines()) >= 3  # treated, synthetic, start year
    ax = section["overvecht_health"].plot()
    assert len(ax.patches) == 12  # 4 indicators x 3 references
    import matplotlib.pyplot as plt

    plt.close("all")


def test_available(shared_data, tmp_path):
    assert kbz.open_data.available(shared_data) == {"vektis": True, "rivm": True}
    assert kbz.open_data.available(tmp_path) == {"vektis": False, "rivm": False}
