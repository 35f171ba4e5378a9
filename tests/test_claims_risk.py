"""``kbz.risk_adjustment``: O/E ratios by indirect standardisation, checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from _claims_helpers import quiet as _quiet
from scipy import stats

import kbz_eval as kbz
from kbz_eval.errors import DataValidationError, SpecificationError

EXACT = 1e-12


def _tiny():
    """Two strata (young/old women), one year, two practices; full insured years.

    KBZ: young 100, 300; old 1000.   Control: young 200; old 800, 1600.
    """
    rows = [("k1", "kbz", "20-24", 100.0), ("k2", "kbz", "20-24", 300.0),
            ("k3", "kbz", "70-74", 1000.0), ("c1", "control", "20-24", 200.0),
            ("c2", "control", "70-74", 800.0), ("c3", "control", "70-74", 1600.0)]
    panel = pd.DataFrame({
        "person_id": [r[0] for r in rows], "year": 2015,
        "practice_id": [r[1].upper() for r in rows], "insured_days": 365, "sex": "F",
        "age_band": [r[2] for r in rows], "poli_dbc_cost": [r[3] for r in rows],
    })
    practices = pd.DataFrame({"practice_id": ["KBZ", "CONTROL"], "group": ["kbz", "control"]})
    return panel, practices


def test_oe_equals_a_hand_computation_with_the_pooled_reference():
    panel, practices = _tiny()
    r = _quiet(kbz.risk_adjustment, panel, practices)
    t = r.tables["observed_expected"].set_index("unit")
    # pooled rates: young (100 + 300 + 200) / 3 = 200; old (1000 + 800 + 1600) / 3 = 3400/3
    young, old = 200.0, 3400.0 / 3
    assert t.loc["kbz", "expected"] == pytest.approx(2 * young + old, rel=EXACT)
    assert t.loc["control", "expected"] == pytest.approx(young + 2 * old, rel=EXACT)
    assert t.loc["kbz", "oe_ratio"] == pytest.approx(1400 / (2 * young + old), rel=EXACT)
    assert t.loc["control", "oe_ratio"] == pytest.approx(2600 / (young + 2 * old), rel=EXACT)
    # one year, pooled reference: expected totals add up to the observed total
    assert t["expected"].sum() == pytest.approx(t["observed"].sum(), rel=EXACT)
    ref = r.tables["reference_rates"].set_index("age_band")["rate"]
    assert ref["20-24"] == pytest.approx(young) and ref["70-74"] == pytest.approx(old)


def test_oe_interval_is_the_ratio_estimator_variance_by_hand():
    panel, practices = _tiny()
    r = _quiet(kbz.risk_adjustment, panel, practices, alpha=0.1)
    row = r.tidy().set_index("term").loc["oe_kbz_2015"]
    young, old = 200.0, 3400.0 / 3
    o = np.array([100.0, 300.0, 1000.0])
    e = np.array([young, young, old])
    ratio = o.sum() / e.sum()
    se = math.sqrt(3 / 2 * np.sum((o - ratio * e) ** 2)) / e.sum()
    z = stats.norm.ppf(0.95)
    assert row["std_error"] == pytest.approx(se, rel=EXACT)
    assert row["ci_lower"] == pytest.approx(ratio * math.exp(-z * se / ratio), rel=EXACT)
    assert row["ci_upper"] == pytest.approx(ratio * math.exp(z * se / ratio), rel=EXACT)
    assert row["p_value"] == pytest.approx(
        2 * stats.norm.sf(abs(math.log(ratio)) / (se / ratio)), rel=1e-9)


def test_control_reference_gives_the_control_group_an_oe_of_one():
    panel, practices = _tiny()
    r = _quiet(kbz.risk_adjustment, panel, practices, reference="control")
    t = r.tables["observed_expected"].set_index("unit")
    assert t.loc["control", "oe_ratio"] == pytest.approx(1.0, rel=EXACT)
    # control rates: young 200, old 1200 -> KBZ expected 2*200 + 1200
    assert t.loc["kbz", "oe_ratio"] == pytest.approx(1400 / 1600, rel=EXACT)


def test_external_reference_table():
    panel, practices = _tiny()
    ref = pd.DataFrame({"age_band": ["20-24", "70-74"], "sex": ["F", "F"],
                        "rate": [150.0, 1000.0]})
    r = _quiet(kbz.risk_adjustment, panel, practices, reference=ref)
    t = r.tables["observed_expected"].set_index("unit")
    assert t.loc["kbz", "expected"] == pytest.approx(1300.0, rel=EXACT)
    assert t.loc["control", "expected"] == pytest.approx(2150.0, rel=EXACT)
    assert r.settings["reference"] == "table"


def test_external_reference_missing_a_stratum_is_an_error():
    panel, practices = _tiny()
    ref = pd.DataFrame({"age_band": ["20-24"], "sex": ["F"], "rate": [150.0]})
    with pytest.raises(SpecificationError, match="no rate for 1 age band × sex strata"):
        kbz.risk_adjustment(panel, practices, reference=ref)


def test_by_practice_and_standardised_rate():
    panel, practices = _tiny()
    r = _quiet(kbz.risk_adjustment, panel, practices, by="practice")
    t = r.tables["observed_expected"]
    assert set(t["unit"]) == {"KBZ", "CONTROL"}
    crude_ref = 4000 / 6  # all costs / all insured years
    np.testing.assert_allclose(t["standardised_rate"], t["oe_ratio"] * crude_ref, rtol=EXACT)


def test_sample_oe_over_years_and_tables(recwarn):
    s = kbz.load_sample()
    r = _quiet(kbz.risk_adjustment, s["person_years"], s["practices"],
               outcome="poli_dbc_count", population="minima")
    t = r.tables["observed_expected"]
    assert len(t) == 10 and (t["n_persons"] >= 10).all()
    # pooled over groups and years, observed and expected totals agree
    assert t["observed"].sum() == pytest.approx(t["expected"].sum(), rel=1e-9)
    for table in r.tables.values():
        assert "n_persons" in table.columns
    assert "indirect standardisation" in r.method.lower()


def test_missing_age_information_is_reported():
    panel, practices = _tiny()
    with pytest.raises(DataValidationError, match="age_band or birth_year"):
        kbz.risk_adjustment(panel.drop(columns="age_band"), practices)


@pytest.mark.parametrize("kwargs, match", [
    ({"by": "person"}, r"`by` must be one of \['group', 'practice'\], but 'person'"),
    ({"reference": "nl"}, r"`reference` must be one of \['pooled', 'control'\], but 'nl'"),
    ({"years": [2030]}, r"`years` must be a year in the panel \[2015\], but 2030"),
])
def test_bad_arguments(kwargs, match):
    panel, practices = _tiny()
    with pytest.raises(SpecificationError, match=match):
        kbz.risk_adjustment(panel, practices, **kwargs)


def test_plot_draws_one_errorbar_line_per_unit():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg", force=True)
    import matplotlib.pyplot as plt

    s = kbz.load_sample()
    r = _quiet(kbz.risk_adjustment, s["person_years"], s["practices"], years=[2013, 2016],
               outcome="ggz_cost")
    ax = r.plot()
    data = r.plot_data()
    assert len(ax.containers) == 2  # one errorbar per unit
    for container, unit in zip(ax.containers, ("kbz", "control"), strict=True):
        sub = data[data["unit"] == unit].sort_values("year")
        line, _, (bars,) = container.lines
        np.testing.assert_allclose(line.get_ydata(), sub["oe_ratio"])
        segments = bars.get_segments()
        np.testing.assert_allclose([seg[:, 1].min() for seg in segments], sub["ci_lower"])
        np.testing.assert_allclose([seg[:, 1].max() for seg in segments], sub["ci_upper"])
    assert any(np.allclose(ln.get_ydata(), 1) for ln in ax.get_lines())
    plt.close(ax.figure)
