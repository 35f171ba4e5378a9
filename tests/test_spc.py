"""XmR charts (``kbz_eval.stats.spc``) and practice trends with control limits.

Limits are checked on a worked example computed by hand; each special-cause rule on a
constructed series that triggers exactly it, and not on one that just misses it;
re-basing; the practice-level front door on the synthetic sample; the result contract;
the option checks; and the false-signal rate on stable simulated series.
"""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import kbz_eval as kbz  # noqa: E402
from kbz_eval import tables  # noqa: E402
from kbz_eval.errors import SpecificationError, StatisticalWarning  # noqa: E402
from kbz_eval.estimators.practice_trends import (  # noqa: E402
    SERIES_COLUMNS,
    PracticeTrendsResult,
    XmrResult,
    practice_trends,
    xmr,
)
from kbz_eval.plotting.spc import plot_practice_trends  # noqa: E402
from kbz_eval.results import TIDY_COLUMNS  # noqa: E402
from kbz_eval.stats.spc import RULES, XmrOptions, xmr_frame  # noqa: E402

#: Limits against a hand computation.
LIMIT_TOL = 1e-9
#: Rates recomputed in pandas (another summation order).
RATE_TOL = 1e-9
#: Points of a stable normal process outside the XmR limits: 0.27 % (2 Φ(−3)).
NOMINAL_OUTSIDE = 0.0027
#: |observed − nominal| allowed for 200,000 simulated points (about 4 Monte Carlo SEs).
FALSE_SIGNAL_TOL = 0.0006
#: A sustained shift of 2σ after a fixed 12-point baseline is flagged in at least this
#: share of simulated series (observed ≈ 0.99 with seed 7).
SHIFT_POWER = 0.95

#: NHSRplotthedots' vignette "Deviations from Excel defaults" charts this series to
#: show the screening of moving ranges.
VIGNETTE = [1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        return fn(*args, **kwargs)


def _flags(frame: pd.DataFrame) -> dict[str, list[int]]:
    return {r: np.flatnonzero(frame[r].to_numpy()).tolist() for r in RULES}


# --------------------------------------------------------------------------- limits
def test_limits_of_the_vignette_series_equal_a_hand_computation():
    """Worked by hand. 18 points summing to 35: centre 35/18. Moving ranges: 15 of 1,
    then 8 (2 → 10) and 9 (10 → 1): MR̄ = 32/17. Screening: 3.267 × 32/17 = 6.15, so 8
    and 9 are set aside and MR̄ = 15/15 = 1. Limits 35/18 ± 2.66 (screened, the
    NHSRplotthedots default) and 35/18 ± 2.66 × 32/17 (unscreened, as the Excel tool);
    σ̂ = 2.66/3 × MR̄, 2-sigma lines 35/18 ± 2 σ̂."""
    centre = 35 / 18
    for screen, mr_bar in ((True, 1.0), (False, 32 / 17)):
        f = xmr_frame(VIGNETTE, options=XmrOptions(screen_outliers=screen))
        row = f.iloc[0]
        assert row["centre"] == pytest.approx(centre, abs=LIMIT_TOL)
        assert row["mean_moving_range"] == pytest.approx(mr_bar, abs=LIMIT_TOL)
        assert row["upper"] == pytest.approx(centre + 2.66 * mr_bar, abs=LIMIT_TOL)
        assert row["lower"] == pytest.approx(centre - 2.66 * mr_bar, abs=LIMIT_TOL)
        assert row["upper_2sigma"] == pytest.approx(centre + 2 * 2.66 / 3 * mr_bar,
                                                    abs=LIMIT_TOL)
        assert row["lower_1sigma"] == pytest.approx(centre - 2.66 / 3 * mr_bar,
                                                    abs=LIMIT_TOL)
        assert _flags(f)["outside_limits"] == [4]
        assert np.isnan(f["moving_range"].iloc[0])
    used = xmr_frame(VIGNETTE)["moving_range_used"].to_numpy()
    assert used.sum() == 15 and not used[4] and not used[5]


def test_a_fixed_baseline_uses_only_its_points():
    """By hand: baseline [3, 5, 4] → centre 4, moving ranges 2 and 1, MR̄ 1.5, limits
    4 ± 3.99; the later 8 is outside (8 > 7.99), 7.9 would not be."""
    f = xmr_frame([3, 5, 4, 8, 6], options=XmrOptions(baseline=3))
    assert f["centre"].iloc[0] == pytest.approx(4.0, abs=LIMIT_TOL)
    assert f["mean_moving_range"].iloc[0] == pytest.approx(1.5, abs=LIMIT_TOL)
    assert f["upper"].iloc[0] == pytest.approx(7.99, abs=LIMIT_TOL)
    assert _flags(f)["outside_limits"] == [3]
    assert f["baseline"].tolist() == [True, True, True, False, False]
    assert not _flags(xmr_frame([3, 5, 4, 7.9, 6], options=XmrOptions(baseline=3)))[
        "outside_limits"]


# --------------------------------------------------------------------------- rules
# Every rule series: 20 baseline points alternating ±0.2 (centre 0, MR̄ 0.4,
# σ̂ = 0.35467, 2-sigma lines ±0.70933, limits ±1.064), then the pattern, then more of
# the alternation. No other rule can fire on the alternation.
BASE = [0.2, -0.2] * 10
AFTER = [-0.2, 0.2] * 5

def _chart(pattern, **options):
    opts = XmrOptions(baseline=20, **options)
    return xmr_frame(np.array(BASE + list(pattern) + AFTER), options=opts)


def test_the_constructed_baseline_has_the_stated_limits():
    f = _chart([])
    assert f["centre"].iloc[0] == pytest.approx(0.0, abs=LIMIT_TOL)
    assert f["upper"].iloc[0] == pytest.approx(1.064, abs=LIMIT_TOL)
    assert f["upper_2sigma"].iloc[0] == pytest.approx(2 * 2.66 / 3 * 0.4, abs=LIMIT_TOL)
    assert not f["special_cause"].any()


def test_outside_limits_flags_only_the_point_beyond_a_limit():
    assert _flags(_chart([1.1])) == {"outside_limits": [20], "run": [], "trend": [],
                                     "two_of_three": []}
    assert _flags(_chart([-1.1]))["outside_limits"] == [20]
    assert not _chart([1.05])["special_cause"].any()  # inside 1.064


def test_a_run_of_seven_flags_all_seven_and_six_flags_nothing():
    seven = [0.5, 0.3, 0.6, 0.2, 0.5, 0.3, 0.4]  # above 0, neither rising nor falling
    f = _chart(seven)
    assert _flags(f) == {"outside_limits": [], "run": list(range(20, 27)), "trend": [],
                         "two_of_three": []}
    assert (f.loc[20:26, "direction"] == "high").all()
    assert not _chart(seven[:6])["special_cause"].any()
    assert _flags(_chart(seven[:6], run_length=6))["run"] == list(range(20, 26))
    below = _chart([0.3, *(-v for v in seven), 0.3])  # bracketed by points above
    assert _flags(below)["run"] == list(range(21, 28))
    assert (below.loc[21:27, "direction"] == "low").all()


def test_a_point_on_the_centre_line_ends_a_run():
    assert not _chart([0.5, 0.3, 0.6, 0.0, 0.5, 0.3, 0.4])["special_cause"].any()


def test_a_trend_of_six_flags_all_six_and_five_flags_nothing():
    six = [-0.5, -0.3, -0.1, 0.1, 0.3, 0.5]  # after -0.2 (a fall), before -0.2 (a fall)
    f = _chart(six)
    assert _flags(f) == {"outside_limits": [], "run": [], "trend": list(range(20, 26)),
                         "two_of_three": []}
    assert (f.loc[20:25, "trend_direction"] == "high").all()
    assert not _chart([-0.5, -0.3, 0.1, 0.3, 0.5])["special_cause"].any()
    falling = _chart([0.5, 0.3, 0.1, -0.1, -0.3, -0.5], trend_length=6)
    # 0.2 → 0.5 is a rise, so the falling trend starts at 0.5: six points
    assert _flags(falling)["trend"] == list(range(20, 26))
    assert (falling.loc[20:25, "trend_direction"] == "low").all()
    assert not _chart(six, trend_length=7)["special_cause"].any()


def test_an_equal_value_ends_a_trend():
    assert not _chart([-0.5, -0.3, -0.3, 0.1, 0.3, 0.5])["special_cause"].any()


def test_two_of_three_beyond_two_sigma_on_one_side():
    assert _flags(_chart([0.9, 0.1, 0.9])) == {"outside_limits": [], "run": [],
                                               "trend": [], "two_of_three": [20, 22]}
    assert _flags(_chart([0.9, 0.9]))["two_of_three"] == [20, 21]
    assert _flags(_chart([-0.9, -0.1, -0.9]))["two_of_three"] == [20, 22]
    # just missing: opposite sides, or three positions apart
    assert not _chart([0.9, 0.1, -0.9])["special_cause"].any()
    assert not _chart([0.9, 0.1, 0.1, 0.9])["special_cause"].any()
    assert not _chart([0.9])["special_cause"].any()


def test_rules_can_be_switched_off_and_directions_become_variation_classes():
    f = _chart([1.1], rules=("run", "trend"))
    assert not f["special_cause"].any()
    assert _chart([1.1], improvement="decrease")["variation"].iloc[20] == \
        "special_cause_concern"
    assert _chart([1.1], improvement="increase")["variation"].iloc[20] == \
        "special_cause_improvement"
    assert _chart([-1.1], improvement="decrease")["variation"].iloc[20] == \
        "special_cause_improvement"
    assert _chart([1.1])["variation"].iloc[20] == "special_cause_neutral_high"
    assert _chart([1.1])["variation"].iloc[0] == "common_cause"


# --------------------------------------------------------------------------- re-basing
def test_rebasing_gives_each_segment_its_own_limits_and_rules():
    before = [10, 11, 10, 11, 10, 11]
    after = [20, 21, 20, 21, 20, 21]
    periods = list(range(2001, 2013))
    flat = _quiet(xmr, before + after, periods=periods)
    assert flat.tables["chart"]["special_cause"].any()  # the step is a signal
    r = _quiet(xmr, before + after, periods=periods, rebase_at=2007)
    chart = r.tables["chart"]
    assert chart["segment"].tolist() == [0] * 6 + [1] * 6
    assert chart["centre"].iloc[0] == pytest.approx(10.5, abs=LIMIT_TOL)
    assert chart["centre"].iloc[6] == pytest.approx(20.5, abs=LIMIT_TOL)
    assert np.isnan(chart["moving_range"].iloc[6])  # no moving range across the break
    assert chart["mean_moving_range"].iloc[6] == pytest.approx(1.0, abs=LIMIT_TOL)
    assert not chart["special_cause"].any()
    assert chart["segment_start"].tolist() == [2001] * 6 + [2007] * 6
    assert r.tables["limits"]["segment_end"].tolist() == [2006, 2012]
    assert [t for t in r.tidy()["term"] if t.startswith("centre")] == ["centre_0",
                                                                        "centre_1"]


def test_runs_do_not_cross_a_rebase():
    # four points above the centre at the end of one segment and four at the start of
    # the next: a run of 8 without the break, none with it
    values = [0.2, -0.2] * 6 + [0.1, 0.3, 0.2, 0.4] + [0.3, 0.1, 0.4, 0.2] + [-0.2, 0.2] * 6
    periods = list(range(len(values)))
    one = _quiet(xmr, values, periods=periods, run_length=8)
    assert one.tables["chart"]["run"].sum() == 8
    two = _quiet(xmr, values, periods=periods, rebase_at=16, run_length=8)
    assert not two.tables["chart"]["run"].any()


def test_monthly_periods_and_a_series_index_are_kept():
    months = pd.period_range("2021-01", periods=14, freq="M")
    values = pd.Series(np.r_[[5.0, 6.0] * 7], index=months)
    r = _quiet(xmr, values, rebase_at=months[7])
    assert list(r.tables["chart"]["period"]) == list(months)
    assert r.tables["limits"]["segment_start"].tolist() == [months[0], months[7]]
    ax = r.plot()
    assert len(ax.lines[0].get_xdata()) == 14


def test_few_points_warn_and_two_points_are_enough():
    with pytest.warns(StatisticalWarning, match="at least 12"):
        r = xmr([1.0, 2.0])
    assert r.tables["chart"]["mean_moving_range"].iloc[0] == pytest.approx(1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", StatisticalWarning)
        xmr(np.arange(12.0) % 3)
    with pytest.warns(StatisticalWarning) as caught:
        r = xmr([1.0, 2.0, 3.0], rebase_at=3)
    assert any("single baseline point" in str(w.message) for w in caught)
    assert np.isnan(r.tables["limits"]["upper"].iloc[1])


# --------------------------------------------------------------------------- false signals
def test_false_signal_rate_of_stable_normal_series_is_nominal():
    """4,000 stable N(0, 1) series of 50 points, stacked as segments of one chart
    (vectorised): without screening, about 0.27 % of points fall outside the limits.
    Screening the moving ranges narrows the limits, so it signals somewhat more often
    (≈ 0.4 % here), never less."""
    rng = np.random.default_rng(20261122)
    n_series, n_points = 4000, 50
    x = rng.standard_normal(n_series * n_points)
    labels = np.repeat(np.arange(n_series), n_points)
    plain = xmr_frame(x, labels, options=XmrOptions(screen_outliers=False))
    assert plain["segment"].nunique() == n_series
    rate = plain["outside_limits"].mean()
    assert abs(rate - NOMINAL_OUTSIDE) < FALSE_SIGNAL_TOL, rate
    screened = xmr_frame(x, labels)["outside_limits"].mean()
    assert rate <= screened < 2 * NOMINAL_OUTSIDE + FALSE_SIGNAL_TOL


def test_a_sustained_shift_is_flagged_and_the_null_much_less_often():
    """2,000 series of 24 points, limits fixed on the first 12; from point 13 on the mean
    shifts by 2σ (planted) or not (null). Some rule fires after the baseline in at least
    SHIFT_POWER of the planted series; in the null series the four rules together fire
    in about a third (the known cost of several rules on 12 points)."""
    rng = np.random.default_rng(7)
    n_series, n_points = 2000, 24
    noise = rng.standard_normal((n_series, n_points))
    labels = np.repeat(np.arange(n_series), n_points)
    shift = np.zeros(n_points)
    shift[12:] = 2.0
    share = {}
    for name, x in (("planted", noise + shift), ("null", noise)):
        f = xmr_frame(x.ravel(), labels, options=XmrOptions(baseline=12))
        flagged = f["special_cause"].to_numpy().reshape(n_series, n_points)[:, 12:]
        share[name] = flagged.any(axis=1).mean()
    assert share["planted"] >= SHIFT_POWER
    assert share["null"] < 0.5


# --------------------------------------------------------------------------- practices
@pytest.fixture(scope="module")
def sample():
    return kbz.load_sample()


@pytest.fixture(scope="module")
def trends(sample):
    return _quiet(practice_trends, sample["person_years"], sample["practices"],
                  indicator=["poli_dbc_cost", "ggz_cost"], rebase_at="kbz_start")


def test_practice_rates_equal_a_pandas_recomputation(sample, trends):
    py = sample["person_years"]
    iy = tables.insured_years(py["insured_days"].to_numpy(), py["year"].to_numpy())
    cells = py.assign(iy=iy).rename(columns={"practice_id": "practice"}).groupby(
        ["practice", "year"]).agg(
        cost=("poli_dbc_cost", "sum"), iy=("iy", "sum"), persons=("person_id", "nunique"))
    s = trends.tables["series"]
    s = s[s["indicator"] == "poli_dbc_cost"].set_index(["practice", "year"])
    joined = s.join(cells, how="inner")
    assert len(joined) == len(cells) == 60
    np.testing.assert_allclose(joined["value"], joined["cost"] / joined["iy"], rtol=RATE_TOL)
    assert (joined["n_persons"] == joined["persons"]).all()


def test_practice_limits_equal_xmr_of_the_practice_series(trends):
    s = trends.tables["series"]
    own = s[(s["practice"] == "OV09") & (s["indicator"] == "ggz_cost")]
    # OV09 started KBZ in 2015: new limits from 2015
    assert own["segment_start"].tolist() == [2012] * 3 + [2015] * 2
    r = _quiet(xmr, own["value"].to_numpy(), periods=own["year"].to_numpy(),
               rebase_at=2015, improvement="decrease")
    chart = r.tables["chart"]
    for col in ("centre", "lower", "upper"):
        np.testing.assert_allclose(own[col], chart[col], atol=LIMIT_TOL)
    for col in ("special_cause", "variation"):
        assert own[col].tolist() == chart[col].tolist()
    control = s[(s["practice"] == "OV02")]
    assert set(control["segment_start"]) == {2012, 2014}  # the common KBZ start year


def test_peers_leave_the_practice_out(sample, trends):
    py = sample["person_years"]
    prac = sample["practices"]
    iy = tables.insured_years(py["insured_days"].to_numpy(), py["year"].to_numpy())
    py = py.assign(iy=iy).merge(prac[["practice_id", "group"]], on="practice_id")
    peers = trends.tables["peers"]
    n_kbz = int((prac["group"] == "kbz").sum())
    for practice, group in (("OV03", "kbz"), ("OV05", "control")):
        for peer_group in ("kbz", "control"):
            rows = peers[(peers["practice"] == practice) & (peers["peer_group"] == peer_group)
                         & (peers["indicator"] == "poli_dbc_cost")].set_index("year")
            sel = py[(py["group"] == peer_group) & (py["practice_id"] != practice)]
            by_year = sel.groupby("year")
            np.testing.assert_allclose(rows["value"], by_year["poli_dbc_cost"].sum()
                                       / by_year["iy"].sum(), rtol=RATE_TOL)
            assert (rows["n_persons"] == by_year["person_id"].nunique()).all()
            expected = (n_kbz if peer_group == "kbz" else len(prac) - n_kbz) - (
                group == peer_group)
            assert (rows["n_practices"] == expected).all()


def test_every_person_table_carries_n_persons_and_no_person_id(trends):
    for name in ("series", "peers", "signals", "limits"):
        t = trends.tables[name]
        assert "n_persons" in t.columns, name
        assert not any("person_id" in c for c in t.columns)
    assert list(trends.tables["series"].columns) == list(SERIES_COLUMNS)
    s = trends.tables["series"]
    base = s.groupby(["practice", "indicator", "segment"])["n_persons"].transform("min")
    assert (s["limits_n_persons"] == base).all()


def test_a_planted_step_in_one_practice_is_flagged(sample):
    py = sample["person_years"].copy()
    py.loc[(py["practice_id"] == "OV05") & (py["year"] >= 2015), "poli_dbc_cost"] *= 1.5
    r = _quiet(practice_trends, py, sample["practices"], practice=["OV05", "OV06"])
    sig = r.tables["signals"]
    assert set(sig["practice"]) >= {"OV05"}
    flagged = sig[(sig["practice"] == "OV05") & (sig["year"] >= 2015)]
    assert (flagged["variation"] == "special_cause_concern").all() and len(flagged)
    assert "OV05" in r.headline()
    # the caller's frame is not modified
    assert "_one" not in py.columns and "_one" not in sample["person_years"].columns


def test_short_yearly_series_warn(sample):
    with pytest.warns(StatisticalWarning, match="at least 12"):
        r = practice_trends(sample["person_years"], sample["practices"], practice="OV01")
    assert r.warnings and "provisional" in r.warnings[0]


# --------------------------------------------------------------------------- contract
def test_results_honour_the_contract(trends):
    x = _quiet(xmr, VIGNETTE)
    for r in (x, trends):
        tidy = r.tidy()
        assert list(tidy.columns[:len(TIDY_COLUMNS)]) == list(TIDY_COLUMNS)
        assert isinstance(r.summary(), pd.DataFrame)
        assert "\n" not in repr(r)
        assert "<table" in r._repr_html_()
        assert r.method
    assert isinstance(x, XmrResult) and isinstance(trends, PracticeTrendsResult)
    assert x.plotter == "spc:plot_xmr"
    assert trends.plotter == "spc:plot_practice_trends"


def test_plot_xmr_draws_its_plot_data():
    r = _quiet(xmr, VIGNETTE, improvement="increase")
    ax = r.plot()
    data = r.plot_data()
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), data["value"])
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), data["centre"])
    np.testing.assert_array_equal(ax.lines[2].get_ydata(), data["upper"])
    np.testing.assert_array_equal(ax.lines[3].get_ydata(), data["lower"])
    assert len(ax.lines) == 4
    special = data[data["special_cause"]]
    assert len(ax.collections) == 1
    np.testing.assert_array_equal(ax.collections[0].get_offsets()[:, 1], special["value"])


def test_plot_practice_trends_draws_its_plot_data(trends):
    data = trends.plot_data(practice="OV09", indicator="ggz_cost")
    _, ax = plt.subplots()
    out = plot_practice_trends(trends, ax, practice="OV09", indicator="ggz_cost")
    assert out is ax
    own = data[data["series"] == "practice"]
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), own["value"])
    segments = own["segment"].unique()
    for k, seg in enumerate(segments):
        part = own[own["segment"] == seg]
        np.testing.assert_array_equal(ax.lines[1 + 3 * k].get_ydata(), part["centre"])
        np.testing.assert_array_equal(ax.lines[2 + 3 * k].get_ydata(), part["upper"])
        np.testing.assert_array_equal(ax.lines[3 + 3 * k].get_ydata(), part["lower"])
    peers = ax.lines[1 + 3 * len(segments):]
    for line, name in zip(peers, ("kbz_peers", "control_peers"), strict=True):
        np.testing.assert_array_equal(line.get_ydata(),
                                      data.loc[data["series"] == name, "value"])
    assert sum(len(c.get_offsets()) for c in ax.collections) == int(own["special_cause"].sum())
    default = trends.plot()  # the first practice and indicator
    assert len(default.lines[0].get_ydata()) == len(
        trends.plot_data()[lambda d: d["series"] == "practice"])


# --------------------------------------------------------------------------- options
@pytest.mark.parametrize(("kwargs", "words"), [
    ({"run_length": 1}, ["`run_length`", "at least 2", "1"]),
    ({"trend_length": 2.5}, ["`trend_length`", "at least 3", "2.5"]),
    ({"improvement": "up"}, ["`improvement`", "'increase'", "'up'"]),
    ({"rules": ["runs"]}, ["`rules`", "'two_of_three'", "'runs'"]),
    ({"screen_outliers": "yes"}, ["`screen_outliers`", "True", "'yes'"]),
    ({"baseline": 1}, ["`baseline`", "at least 2", "1"]),
    ({"rebase_at": 99}, ["`rebase_at`", "99"]),
    ({"rebase_at": 1}, ["`rebase_at`", "after the first"]),
    ({"periods": [1, 1, 2, 3]}, ["`periods`", "distinct"]),
    ({"periods": [1, 2]}, ["`periods`", "one time point per value"]),
    ({"label": 3}, ["`label`", "3"]),
])
def test_xmr_refuses_bad_options_naming_them(kwargs, words):
    with pytest.raises(SpecificationError) as err:
        xmr([1.0, 2.0, 3.0, 4.0], **kwargs)
    for w in words:
        assert w in str(err.value), (w, str(err.value))


@pytest.mark.parametrize("values", [[1.0], [1.0, np.nan, 2.0], "abc", [1.0, "x"]])
def test_xmr_refuses_bad_values(values):
    with pytest.raises(SpecificationError, match="`values`|at least 2"):
        xmr(values)


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"practice": "XX"}, ["`practice`", "'OV01'", "'XX'"]),
    ({"indicator": "cost"}, ["`indicator`", "'poli_dbc_cost'", "'cost'"]),
    ({"rebase_at": "start"}, ["`rebase_at`", "'kbz_start'", "'start'"]),
    ({"rebase_at": 2012}, ["`rebase_at`", "after the first", "2012"]),
    ({"rebase_at": 2030}, ["`rebase_at`", "2030"]),
    ({"population": "poor"}, ["`population`", "'minima'", "'poor'"]),
    ({"improvement": "lower"}, ["`improvement`", "'decrease'", "'lower'"]),
])
def test_practice_trends_refuses_bad_options_naming_them(sample, kwargs, words):
    with pytest.raises(SpecificationError) as err:
        practice_trends(sample["person_years"], sample["practices"], **kwargs)
    for w in words:
        assert w in str(err.value), (w, str(err.value))
