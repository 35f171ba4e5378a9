"""Staggered difference-in-differences (Callaway & Sant'Anna): ``staggered_did``.

References: R ``did`` 2.5.0 on ``mpdta`` (``../shared/data/did``; see its README). The
R calls behind each scenario (analytic standard errors, ``bstrap = FALSE``)::

    library(did)
    data(mpdta)
    a <- att_gt(yname = "lemp", tname = "year", idname = "countyreal",
                gname = "first.treat", data = mpdta, bstrap = FALSE, cband = FALSE,
                control_group = CONTROL, est_method = METHOD, xformla = XFORMLA)
    aggte(a, type = "simple" | "group" | "dynamic" | "calendar", bstrap = FALSE)

with, per scenario, ``mpdta_nev_dr``: nevertreated, "dr", ~1; ``mpdta_nyt_dr``:
notyettreated, "dr", ~1; ``mpdta_nev_ipw``: nevertreated, "ipw", ~1;
``mpdta_nev_reg_cov``: nevertreated, "reg", ~lpop. The scenario ``sim_nev_dr`` is on a
simulated panel that is not shipped, so it cannot be checked here.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from kbz_eval.errors import SpecificationError, StatisticalWarning
from kbz_eval.estimators.staggered import StaggeredDidResult, staggered_did
from kbz_eval.results import TIDY_COLUMNS

#: ATT(g, t) and aggregated ATTs against R did: absolute difference.
ATT_TOL = 1e-6
#: Analytic standard errors against R did: relative difference.
SE_RTOL = 0.01
#: Noise-free synthetic data: the planted effect is recovered to rounding error.
EXACT_TOL = 1e-9

SCENARIOS = {
    "mpdta_nev_dr": {"control": "never", "estimation": "dr"},
    "mpdta_nyt_dr": {"control": "notyet", "estimation": "dr"},
    "mpdta_nev_ipw": {"control": "never", "estimation": "ipw"},
    "mpdta_nev_reg_cov": {"control": "never", "estimation": "reg", "covariates": ["lpop"]},
}
#: Reference scenarios whose data are not shipped.
NOT_SHIPPED = {"sim_nev_dr"}

MPDTA = {"outcome": "lemp", "unit": "countyreal", "time": "year", "group": "first.treat"}


@pytest.fixture(scope="module")
def did_dir(shared_data):
    folder = shared_data / "did"
    if not (folder / "mpdta.csv").is_file():
        pytest.skip(f"mpdta reference data not found in {folder}")
    return folder


@pytest.fixture(scope="module")
def mpdta(did_dir) -> pd.DataFrame:
    return pd.read_csv(did_dir / "mpdta.csv")


@pytest.fixture(scope="module")
def fits(mpdta) -> dict[str, StaggeredDidResult]:
    return {name: staggered_did(mpdta, **MPDTA, bootstrap=False, **kw)
            for name, kw in SCENARIOS.items()}


# ------------------------------------------------------------------ R did reference
@pytest.mark.data
def test_reference_files_hold_only_known_scenarios(did_dir):
    attgt = pd.read_csv(did_dir / "r_did_2.5.0_attgt.csv")
    aggte = pd.read_csv(did_dir / "r_did_2.5.0_aggte.csv")
    known = set(SCENARIOS) | NOT_SHIPPED
    assert set(attgt["scenario"]) == known
    assert set(aggte["scenario"]) == known


@pytest.mark.data
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_att_gt_matches_r_did(scenario, did_dir, fits):
    ref = pd.read_csv(did_dir / "r_did_2.5.0_attgt.csv")
    ref = ref[ref["scenario"] == scenario]
    ours = fits[scenario].tables["att_gt"]
    merged = ref.merge(ours, left_on=["group", "t"], right_on=["group", "time"],
                       suffixes=("_r", ""), validate="one_to_one")
    assert len(merged) == len(ref) == len(ours) == 12
    np.testing.assert_allclose(merged["att"], merged["att_r"], rtol=0, atol=ATT_TOL)
    np.testing.assert_allclose(merged["se"], merged["se_r"], rtol=SE_RTOL)


@pytest.mark.data
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_aggregations_match_r_did(scenario, did_dir, fits):
    ref = pd.read_csv(did_dir / "r_did_2.5.0_aggte.csv")
    ref = ref[ref["scenario"] == scenario]
    res = fits[scenario]
    overall = res.tables["overall"].set_index("aggregation")
    keys = {"group": "group", "dynamic": "event_time", "calendar": "time"}
    checked = 0
    for kind, rows in ref.groupby("type"):
        r_overall = rows.iloc[0]
        assert abs(overall.loc[kind, "att"] - r_overall["overall_att"]) < ATT_TOL
        assert overall.loc[kind, "se"] == pytest.approx(r_overall["overall_se"],
                                                        rel=SE_RTOL)
        checked += 1
        if kind == "simple":
            continue
        table = res.tables[kind]
        merged = rows.merge(table, left_on="egt", right_on=keys[kind],
                            validate="one_to_one")
        assert len(merged) == len(rows) == len(table)
        np.testing.assert_allclose(merged["att"], merged["att_egt"], rtol=0, atol=ATT_TOL)
        np.testing.assert_allclose(merged["se"], merged["se_egt"], rtol=SE_RTOL)
        checked += len(merged)
    assert checked == len(ref) + 3  # every detail row plus the three overall rows
    tidy = res.tidy().set_index("term")
    for kind in ("simple", "group", "dynamic", "calendar"):
        assert tidy.loc[f"att_{kind}", "estimate"] == overall.loc[kind, "att"]


@pytest.mark.data
def test_mpdta_counts_are_units(fits):
    res = fits["mpdta_nev_dr"]
    gt = res.tables["att_gt"].set_index(["group", "time"])
    assert gt.loc[(2004, 2004), "n_treated"] == 20
    assert gt.loc[(2006, 2006), "n_treated"] == 40
    assert gt.loc[(2007, 2007), "n_treated"] == 131
    assert (gt["n_control"] == 309).all()
    nyt = fits["mpdta_nyt_dr"].tables["att_gt"].set_index(["group", "time"])
    assert nyt.loc[(2004, 2004), "n_control"] == 309 + 40 + 131
    assert nyt.loc[(2004, 2007), "n_control"] == 309
    dyn = res.tables["dynamic"].set_index("event_time")
    assert dyn.loc[0, "n_treated"] == 191 and dyn.loc[3, "n_treated"] == 20
    assert res.tidy()["n"].eq(500).all()
    assert res.settings["n_units"] == 500 and res.settings["n_clusters"] == 500


# ------------------------------------------------------------------ contract
@pytest.mark.data
def test_result_contract_and_bands(mpdta):
    before = mpdta.copy()
    res = staggered_did(mpdta, **MPDTA, n_boot=499, seed=3)
    pd.testing.assert_frame_equal(mpdta, before)  # the caller's frame is untouched
    tidy = res.tidy()
    assert tuple(tidy.columns[: len(TIDY_COLUMNS)]) == TIDY_COLUMNS
    assert list(tidy["term"]) == ["att_simple", "att_group", "att_dynamic",
                                  "att_calendar"]
    assert set(res.tables) >= {"att_gt", "simple", "dynamic", "group", "calendar"}
    gt = res.tables["att_gt"]
    assert {"group", "time", "att", "se", "ci_lower", "ci_upper", "n_units"} <= set(gt)
    # simultaneous bands are wider than pointwise intervals, and reproducible by seed
    crit = res.settings["critical_values"]
    assert crit["att_gt"] > 1.96 and crit["dynamic"] > 1.96
    assert (gt["ci_upper"] - gt["ci_lower"] > gt["pointwise_upper"]
            - gt["pointwise_lower"]).all()
    again = staggered_did(mpdta, **MPDTA, n_boot=499, seed=3)
    pd.testing.assert_frame_equal(res.tables["att_gt"], again.tables["att_gt"])
    text = res.headline()
    assert "never-treated units" in text and "lemp" in text
    notyet = staggered_did(mpdta, **MPDTA, control="notyet", bootstrap=False)
    assert "not-yet-treated" in notyet.headline()
    assert "\n" not in repr(res) and "StaggeredDidResult" in repr(res)
    assert "Callaway" in res.method and "influence function" in res.method
    assert "<table" in res._repr_html_()
    assert isinstance(res.summary(), pd.DataFrame)


@pytest.mark.data
def test_plot_draws_plot_data(mpdta):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = staggered_did(mpdta, **MPDTA, n_boot=199)
    data = res.plot_data()
    assert list(data.columns) == ["event_time", "att", "se", "ci_lower", "ci_upper",
                                  "post"]
    ax = res.plot()
    try:
        containers = ax.containers
        assert len(containers) == 2
        drawn = {}
        for container in containers:
            line = container.lines[0]
            for x, y in zip(line.get_xdata(), line.get_ydata(), strict=True):
                drawn[float(x)] = float(y)
            segments = container.lines[2][0].get_segments()
            for seg in segments:
                x = float(seg[0][0])
                row = data[data["event_time"] == x].iloc[0]
                assert sorted([seg[0][1], seg[1][1]]) == pytest.approx(
                    [row["ci_lower"], row["ci_upper"]])
        assert drawn == pytest.approx(dict(zip(data["event_time"].astype(float),
                                               data["att"], strict=True)))
    finally:
        plt.close(ax.figure)


# ------------------------------------------------------------------ bad options
def _tiny() -> pd.DataFrame:
    rows = [(u, t, [0, 2, 3][u % 3]) for u in range(12) for t in range(1, 5)]
    frame = pd.DataFrame(rows, columns=["unit", "t", "g"])
    frame["y"] = frame["unit"] * 0.3 + frame["t"] * 0.1 + (frame["unit"] % 4) * 0.01 * \
        frame["t"]
    return frame


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("control", "both", ["`control`", "'never'", "'notyet'", "'both'"]),
        ("estimation", "ols", ["`estimation`", "'reg'", "'ipw'", "'dr'", "'ols'"]),
        ("base_period", "fixed", ["`base_period`", "'varying'", "'universal'",
                                  "'fixed'"]),
        ("bootstrap", "yes", ["`bootstrap`", "True", "False", "'yes'"]),
        ("anticipation", -1, ["`anticipation`", "-1"]),
        ("anticipation", 1.5, ["`anticipation`", "1.5"]),
        ("n_boot", 10, ["`n_boot`", "10"]),
        ("alpha", 1.5, ["`alpha`", "1.5"]),
        ("seed", -2, ["`seed`", "-2"]),
    ],
)
def test_bad_options_name_parameter_allowed_values_and_value(option, value, expected):
    with pytest.raises(SpecificationError) as info:
        staggered_did(_tiny(), outcome="y", unit="unit", time="t", group="g",
                      **{option: value})
    for part in expected:
        assert part in str(info.value)


def test_bad_columns_are_named():
    frame = _tiny()
    with pytest.raises(SpecificationError, match="`outcome`.*'yy'.*Did you mean 'y'"):
        staggered_did(frame, outcome="yy", unit="unit", time="t", group="g")
    with pytest.raises(SpecificationError, match="`group`"):
        staggered_did(frame.assign(g=frame["g"].astype(str)), outcome="y", unit="unit",
                      time="t", group="g")
    varying = frame.copy()
    varying.loc[0, "g"] = 3
    with pytest.raises(SpecificationError, match="same in every row of a unit"):
        staggered_did(varying, outcome="y", unit="unit", time="t", group="g")
    with pytest.raises(SpecificationError, match="one row per unit and period"):
        staggered_did(pd.concat([frame, frame.head(1)]), outcome="y", unit="unit",
                      time="t", group="g")
    never_free = frame[frame["g"] > 0]
    with pytest.raises(SpecificationError, match="control='never' needs never-treated"):
        staggered_did(never_free, outcome="y", unit="unit", time="t", group="g")


# ------------------------------------------------------------------ planted effect
def _planted(effect: float = 2.0, *, slope: float = 0.0) -> pd.DataFrame:
    """Noise-free panel: unit and period effects, a covariate-driven trend, and a
    homogeneous effect from each unit's first treatment period on."""
    rows = [(u, t, [0, 0, 2013, 2014, 2016][u % 5]) for u in range(50)
            for t in range(2011, 2018)]
    frame = pd.DataFrame(rows, columns=["unit", "year", "start"])
    x = (frame["unit"] * 7 % 11) / 10.0
    frame["x"] = x
    treated = (frame["start"] > 0) & (frame["year"] >= frame["start"])
    frame["y"] = (0.4 * frame["unit"] + 0.3 * (frame["year"] - 2011) ** 1.5
                  + slope * x * (frame["year"] - 2011) + effect * treated)
    return frame


@pytest.mark.parametrize("control", ["never", "notyet"])
@pytest.mark.parametrize("estimation", ["reg", "ipw", "dr"])
def test_planted_homogeneous_effect_is_exact(control, estimation):
    res = staggered_did(_planted(), outcome="y", unit="unit", time="year", group="start",
                        control=control, estimation=estimation, n_boot=199)
    gt = res.tables["att_gt"]
    np.testing.assert_allclose(gt.loc[gt["post"], "att"], 2.0, atol=EXACT_TOL)
    np.testing.assert_allclose(gt.loc[~gt["post"], "att"], 0.0, atol=EXACT_TOL)
    np.testing.assert_allclose(res.tidy()["estimate"], 2.0, atol=EXACT_TOL)
    dyn = res.tables["dynamic"]
    np.testing.assert_allclose(dyn["att"], np.where(dyn["post"], 2.0, 0.0),
                               atol=EXACT_TOL)


@pytest.mark.parametrize("estimation", ["reg", "dr"])
def test_planted_effect_with_covariate_trend(estimation):
    """Trends differ linearly in ``x``: with ``x`` as covariate the outcome regression
    (and so the doubly robust estimator) is exact; without it the estimate is biased."""
    frame = _planted(slope=1.0)
    # make x predict the cohort, so that ignoring it biases the comparison
    frame["x"] = frame["x"] + (frame["start"] > 0) * 0.5
    frame["y"] = (0.4 * frame["unit"] + frame["x"] * (frame["year"] - 2011)
                  + 2.0 * ((frame["start"] > 0) & (frame["year"] >= frame["start"])))
    res = staggered_did(frame, outcome="y", unit="unit", time="year", group="start",
                        covariates=["x"], estimation=estimation, bootstrap=False)
    assert res.tidy().loc[0, "estimate"] == pytest.approx(2.0, abs=EXACT_TOL)
    naive = staggered_did(frame, outcome="y", unit="unit", time="year", group="start",
                          estimation=estimation, bootstrap=False)
    assert abs(naive.tidy().loc[0, "estimate"] - 2.0) > 0.1


def test_universal_base_period_and_anticipation():
    res = staggered_did(_planted(), outcome="y", unit="unit", time="year", group="start",
                        base_period="universal", bootstrap=False)
    gt = res.tables["att_gt"]
    base = gt[gt["time"] == gt["base_time"]]
    assert len(base) == 3 and (base["att"] == 0).all() and base["se"].isna().all()
    assert (gt["event_time"] == -1).sum() == 3
    ant = staggered_did(_planted(), outcome="y", unit="unit", time="year", group="start",
                        anticipation=1, bootstrap=False)
    post = ant.tables["att_gt"][ant.tables["att_gt"]["post"]]
    assert (post["base_time"] == post["group"] - 2).all()
    np.testing.assert_allclose(post["att"], 2.0, atol=EXACT_TOL)


def test_unbalanced_panel_is_balanced_with_a_warning():
    frame = _planted().drop(index=[3, 10])  # one row of unit 0 and one of unit 1
    with pytest.warns(StatisticalWarning, match="2 units .* were dropped"):
        res = staggered_did(frame, outcome="y", unit="unit", time="year", group="start",
                            bootstrap=False)
    assert res.settings["n_units"] == 48
    assert res.settings["dropped"]["units_unbalanced"] == 2


def test_notyet_without_never_treated_uses_last_cohort():
    frame = _planted()
    frame = frame[frame["start"] > 0]
    with pytest.warns(StatisticalWarning, match="last cohort"):
        res = staggered_did(frame, outcome="y", unit="unit", time="year", group="start",
                            control="notyet", bootstrap=False)
    gt = res.tables["att_gt"]
    assert set(gt["group"]) == {2013, 2014} and gt["time"].max() == 2015
    np.testing.assert_allclose(gt.loc[gt["post"], "att"], 2.0, atol=EXACT_TOL)


def test_cluster_option():
    frame = _planted()
    rng = np.random.default_rng(1)
    frame["y"] = frame["y"] + rng.normal(size=len(frame))
    frame["practice"] = frame["unit"] // 5
    base = staggered_did(frame, outcome="y", unit="unit", time="year", group="start",
                         bootstrap=False)
    same = staggered_did(frame, outcome="y", unit="unit", time="year", group="start",
                         cluster="unit", bootstrap=False)
    pd.testing.assert_frame_equal(base.tables["att_gt"], same.tables["att_gt"])
    with pytest.warns(StatisticalWarning, match="Only 10 clusters of 'practice'"):
        by_practice = staggered_did(frame, outcome="y", unit="unit", time="year",
                                    group="start", cluster="practice", n_boot=199)
    assert by_practice.settings["n_clusters"] == 10
    np.testing.assert_allclose(by_practice.tables["att_gt"]["att"],
                               base.tables["att_gt"]["att"])
    assert not np.allclose(by_practice.tables["att_gt"]["se"], base.tables["att_gt"]["se"])
    frame.loc[frame.index[0], "practice"] = 99
    with pytest.raises(SpecificationError, match="one cluster"):
        staggered_did(frame, outcome="y", unit="unit", time="year", group="start",
                      cluster="practice")


def test_no_warning_on_clean_balanced_panel():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        staggered_did(_planted(), outcome="y", unit="unit", time="year", group="start",
                      n_boot=99)


@pytest.mark.slow
def test_coverage_with_planted_dynamic_effects():
    """200 seeds, 1,000 units (200 in each of the cohorts 2013, 2014 and 2016, 400
    never treated), effects growing with event time (1 + 0.5 e), unit effects and unit
    noise: the simple ATT's 95% interval and the 95% simultaneous band over all
    ATT(g, t) cover the planted values at close to the nominal rate, and the simple
    ATT is unbiased. (With 40 units per cohort the same check gives about 0.91 for
    the band: the analytic standard errors have no small-sample correction, as in R.)
    """
    n_units, seeds = 1000, 200
    rows = [(u, t, [0, 0, 2013, 2014, 2016][u % 5]) for u in range(n_units)
            for t in range(2011, 2018)]
    base = pd.DataFrame(rows, columns=["unit", "year", "start"])
    post = (base["start"] > 0) & (base["year"] >= base["start"])
    effect = np.where(post, 1.0 + 0.5 * (base["year"] - base["start"]), 0.0)
    simple_hits = band_hits = 0
    errors = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        frame = base.copy()
        frame["y"] = (rng.normal(size=n_units)[frame["unit"]] + 0.2 * (frame["year"] - 2011)
                      + effect + rng.normal(size=len(frame)))
        res = staggered_did(frame, outcome="y", unit="unit", time="year", group="start",
                            n_boot=499, seed=seed)
        gt = res.tables["att_gt"]
        truth = np.where(gt["post"], 1.0 + 0.5 * gt["event_time"], 0.0)
        band_hits += bool(np.all((gt["ci_lower"] <= truth) & (truth <= gt["ci_upper"])))
        simple_truth = truth[gt["post"]].mean()  # equal cohort sizes
        row = res.tidy().iloc[0]
        simple_hits += bool(row["ci_lower"] <= simple_truth <= row["ci_upper"])
        errors.append(row["estimate"] - simple_truth)
    assert 0.92 <= simple_hits / seeds <= 0.98
    assert 0.92 <= band_hits / seeds <= 0.98
    assert abs(np.mean(errors)) < 3 * np.std(errors) / np.sqrt(seeds)


# --------------------------------------------------------------------------- weights
def _weighted_panel(seed: int = 3) -> pd.DataFrame:
    """60 units, cohorts 2014 / 2015 / never, a covariate, heterogeneous effects and
    integer weights 1-3 (constant within a unit)."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(60):
        g = [0, 2014, 2015][u % 3]
        x = rng.normal()
        w = int(rng.integers(1, 4))
        a = rng.normal()
        for t in range(2012, 2017):
            eff = (1.0 + 0.3 * u / 60 + 0.5 * (t - g)) if g and t >= g else 0.0
            rows.append((u, t, g, x, w, a + 0.3 * (t - 2012) * (1 + x) + eff
                         + rng.normal(scale=0.4)))
    return pd.DataFrame(rows, columns=["unit", "year", "start", "x", "w", "y"])


@pytest.mark.parametrize("estimation", ["reg", "ipw", "dr"])
def test_integer_weights_equal_replicated_units(estimation):
    """Weights of k equal k copies of the unit: identical ATT(g, t) and aggregations,
    and, clustering the copies on their original unit, identical standard errors (to
    1e-10), for all three estimators with a covariate."""
    panel = _weighted_panel()
    copies = panel.loc[panel.index.repeat(panel["w"])].copy()
    copies["copy"] = copies.groupby(["unit", "year"]).cumcount()
    copies["unit_copy"] = copies["unit"] * 10 + copies["copy"]
    spec = dict(outcome="y", time="year", group="start", covariates=["x"],
                estimation=estimation, bootstrap=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        weighted = staggered_did(panel, unit="unit", weights="w", **spec)
        replicated = staggered_did(copies, unit="unit_copy", cluster="unit", **spec)
        plain = staggered_did(panel, unit="unit", **spec)
    for name in ("att_gt", "dynamic", "group", "calendar", "overall"):
        a, b = weighted.tables[name], replicated.tables[name]
        np.testing.assert_allclose(a["att"], b["att"], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(a["se"], b["se"], rtol=1e-8)
    # the weights matter: unweighted estimates differ
    assert not np.allclose(weighted.tables["att_gt"]["att"], plain.tables["att_gt"]["att"])
    assert "weighted by 'w'" in weighted.method


def test_equal_weights_change_nothing():
    panel = _weighted_panel().assign(one=2.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        a = staggered_did(panel, outcome="y", unit="unit", time="year", group="start",
                          weights="one", bootstrap=False)
        b = staggered_did(panel, outcome="y", unit="unit", time="year", group="start",
                          bootstrap=False)
    pd.testing.assert_frame_equal(a.tables["overall"], b.tables["overall"],
                                  check_exact=False, rtol=1e-12)


@pytest.mark.parametrize(("change", "message"), [
    (lambda p: p.assign(w=np.where(p["year"] == 2013, 9, p["w"])), "same in every row"),
    (lambda p: p.assign(w=-p["w"]), "non-negative"),
    (lambda p: p.assign(w=0), "all zero"),
    (lambda p: p.assign(w="a"), "must be numeric"),
])
def test_bad_weights_are_named(change, message):
    with pytest.raises(SpecificationError, match=message):
        staggered_did(change(_weighted_panel()), outcome="y", unit="unit", time="year",
                      group="start", weights="w", bootstrap=False)
