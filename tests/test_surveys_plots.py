"""The survey figures draw exactly their ``plot_data()`` (Agg backend, no pictures)."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402

import kbz_eval as kbz  # noqa: E402


@pytest.fixture(scope="module")
def sample():
    return kbz.load_sample()


@pytest.fixture(scope="module")
def results(sample):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kbz.StatisticalWarning)
        return {
            "cvg": kbz.cvg_trajectory(sample["cvg"]),
            "agreement": kbz.cvg_agreement(sample["cvg"]),
            "conversations": kbz.conversation_ratings(sample["conversations"]),
            "population": kbz.population_health(sample["monitor"], area="Overvecht",
                                                reference="Utrecht"),
            "workforce": kbz.workforce_change(sample["workforce"],
                                              practices=sample["practices"]),
            "spread": kbz.indicator_spread(sample["practice_indicators"],
                                           practices=sample["practices"]),
            "referrals": kbz.referrals_avoided(sample["consults"]),
        }


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _errorbars(ax):
    return [c for c in ax.containers if isinstance(c, ErrorbarContainer)]


@pytest.mark.parametrize("name", ["cvg", "agreement", "conversations", "population",
                                  "workforce", "spread", "referrals"])
def test_plot_returns_the_given_axes(results, name):
    fig, ax = plt.subplots()
    assert results[name].plot(ax=ax) is ax
    new = results[name].plot()
    assert new is not ax and hasattr(new, "get_lines")


@pytest.mark.parametrize("name", ["cvg", "agreement", "conversations", "population",
                                  "spread", "referrals"])
def test_plot_labels_in_dutch(results, name):
    english = results[name].plot(language="en")
    dutch = results[name].plot(language="nl")
    assert dutch.get_title() != english.get_title()
    assert dutch.get_xlabel() != english.get_xlabel()


def test_workforce_labels_in_dutch(results):
    from kbz_eval.plotting.surveys import plot_workforce

    ax = plot_workforce(results["workforce"], language="nl")
    assert ax.get_title() == "Professionals: werkdruk en werkplezier per meting"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "werkdruk: KBZ" in labels and "werkplezier: controle" in labels
    with pytest.raises(ValueError, match="language"):
        plot_workforce(results["workforce"], language="de")


def test_cvg_trajectory_lines(results):
    res = results["cvg"]
    data = res.plot_data()
    ax = res.plot()
    individual = [ln for ln in ax.lines if ln.get_gid() == "individual"]
    mean = [ln for ln in ax.lines if ln.get_gid() == "mean"]
    ind = data[data["series"] == "individual"]
    assert len(individual) == ind["trajectory"].nunique() == 50
    for line, (_, part) in zip(individual, ind.groupby("trajectory", sort=True),
                               strict=True):
        np.testing.assert_array_equal(line.get_xdata(), part["measurement"])
        np.testing.assert_array_equal(line.get_ydata(), part["value"])
    m = data[data["series"] == "mean"]
    assert len(mean) == 1
    np.testing.assert_allclose(mean[0].get_ydata(), m["value"])
    assert mean[0].get_linewidth() > individual[0].get_linewidth()
    segments = _errorbars(ax)[0].lines[2][0].get_segments()
    np.testing.assert_allclose([s[:, 1].min() for s in segments], m["ci_lower"])
    np.testing.assert_allclose([s[:, 1].max() for s in segments], m["ci_upper"])


def test_agreement_points_and_lines(results):
    res = results["agreement"]
    data = res.plot_data()
    ax = res.plot()
    pts = data[data["element"] == "pairs"]
    scatter = [c for c in ax.collections if isinstance(c, PathCollection)][0]
    np.testing.assert_allclose(scatter.get_offsets(), pts[["mean_rating", "difference"]])
    np.testing.assert_allclose(scatter.get_sizes(), 15 * pts["n"])
    assert pts["n"].sum() == res.settings["n_pairs"]
    for element in ("bias", "loa_lower", "loa_upper"):
        line = [ln for ln in ax.lines if ln.get_gid() == element]
        assert len(line) == 1
        value = data.loc[data["element"] == element, "difference"].iloc[0]
        np.testing.assert_allclose(line[0].get_ydata(), [value, value])


def test_conversation_bars(results):
    res = results["conversations"]
    data = res.plot_data()
    ax = res.plot()
    patches = ax.patches
    assert len(patches) == len(data) == 2 * 5 * 5
    np.testing.assert_allclose([p.get_width() for p in patches], data["share"])
    np.testing.assert_allclose([p.get_x() for p in patches], data["left"])
    # diverging: the neutral segment straddles 0, positive ones start at or right of it
    neutral = data[data["rating"] == 3]
    assert ((neutral["left"] < 0) & (neutral["left"] + neutral["share"] > 0)
            | (neutral["share"] == 0)).all()
    assert (data.loc[data["rating"] >= 4, "left"] >= -1e-9).all()
    widths = data.groupby("position")["share"].sum()
    np.testing.assert_allclose(widths, 100)


def test_population_lines(results):
    res = results["population"]
    data = res.plot_data()
    ax = res.plot()
    bars = _errorbars(ax)
    groups = list(data.groupby(["indicator", "area"], sort=False))
    assert len(bars) == len(groups) == 4
    for bar, (_, part) in zip(bars, groups, strict=True):
        np.testing.assert_array_equal(bar.lines[0].get_xdata(), part["year"])
        np.testing.assert_allclose(bar.lines[0].get_ydata(), part["percent"])
    assert "assumed n" in ax.get_title()


@pytest.mark.parametrize("measure", [None, "workload", "job_satisfaction"])
def test_workforce_lines(results, measure):
    res = results["workforce"]
    data = res.plot_data(measure=measure)
    ax = res.plot(measure=measure)
    bars = _errorbars(ax)
    groups = list(data.groupby(["measure", "group"], sort=False))
    assert len(bars) == len(groups) == (4 if measure is None else 2)
    for bar, (_, part) in zip(bars, groups, strict=True):
        np.testing.assert_allclose(bar.lines[0].get_xdata(), part["x"])
        np.testing.assert_allclose(bar.lines[0].get_ydata(), part["mean"])
        np.testing.assert_allclose(np.rint(part["x"]), part["wave"])


def test_spread_points_and_ranges(results, sample):
    res = results["spread"]
    data = res.plot_data()
    ax = res.plot()
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    ranges = [c for c in ax.collections if isinstance(c, LineCollection)]
    groups = list(data.groupby("group", sort=False))
    assert len(scatters) == 2 * len(groups) and len(ranges) == 2 * len(groups)
    for i, (_, part) in enumerate(groups):
        pts = part[part["element"] == "practice"]
        np.testing.assert_allclose(scatters[2 * i].get_offsets(), pts[["x", "value"]])
        wide = part[part["element"] != "practice"].pivot(index="x", columns="element",
                                                         values="value")
        segs = ranges[2 * i].get_segments()
        np.testing.assert_allclose([s[:, 1].min() for s in segs], wide["min"])
        np.testing.assert_allclose([s[:, 1].max() for s in segs], wide["max"])
    assert (data["element"] == "practice").sum() == len(sample["practice_indicators"])


def test_referral_points(results):
    res = results["referrals"]
    data = res.plot_data()
    ax = res.plot()
    bar = _errorbars(ax)[0]
    np.testing.assert_allclose(bar.lines[0].get_xdata(), data["share"])
    np.testing.assert_allclose(bar.lines[0].get_ydata(), data["position"])
    assert data["specialism"].iloc[0] == "all"
