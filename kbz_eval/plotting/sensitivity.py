"""Drawing for pre-trend checks, sensitivity to parallel trends and the Goodman-Bacon
decomposition (:mod:`kbz_eval.estimators.pretrends`, :mod:`kbz_eval.estimators.bacon`).

Every function takes a result, ``ax=None`` and ``language="en"`` (or ``"nl"``: the
language of the labels) and returns the Axes; nothing is saved.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kbz_eval.plotting import get_ax
from kbz_eval.plotting.words import check_language, say, term
from kbz_eval.stats.pvalues import format_p

#: Marker and colour per Goodman-Bacon comparison type (legend labels:
#: :func:`bacon_label`).
BACON_STYLE = {
    "treated_vs_never": {"color": "#2c3e50", "marker": "o"},
    "earlier_vs_later": {"color": "#2980b9", "marker": "^"},
    "later_vs_earlier": {"color": "#c0392b", "marker": "x"},
    "later_vs_always": {"color": "#e67e22", "marker": "s"},
}

#: Dutch figure texts (English template -> Dutch template).
NL = {
    "treated vs never treated": "gestart tegenover nooit gestart",
    "earlier vs later treated": "eerder tegenover later gestart",
    "later vs earlier treated (forbidden)":
        "later tegenover eerder gestart (verboden vergelijking)",
    "later vs always treated (forbidden)":
        "later tegenover altijd gestart (verboden vergelijking)",
    "TWFE estimate {estimate}": "TWFE-schatting {estimate}",
    "weight in the TWFE estimate": "gewicht in de TWFE-schatting",
    "2x2 DiD estimate on {outcome}": "2×2-DiD-schatting van {outcome}",
    "conventional": "conventioneel",
    "robust ({method})": "robuust ({method})",
    "relative magnitude": "relatieve omvang",
    "smoothness": "gladheid",
    "breakdown {parameter} = {value}": "omslagpunt {parameter} = {value}",
    "effect at event time {e} ({level}% set)":
        "effect op gebeurtenistijd {e} ({level}%-betrouwbaarheidsverzameling)",
    "before treatment": "vóór de start",
    "periods since first treatment (event time)": "perioden sinds de start (gebeurtenistijd)",
    "pre-treatment effect (pointwise interval)": "effect vóór de start (puntsgewijs interval)",
    "Wald chi2({df}) = {statistic}": "Wald-chi2({df}) = {statistic}",
    "largest |t| of {df} = {statistic}": "grootste |t| van {df} = {statistic}",
    "{statistic}, {p}: zero pre-treatment effects rejected":
        "{statistic}, {p}: nul-effecten vóór de start verworpen",
    "{statistic}, {p}: zero pre-treatment effects not rejected (which does not show "
    "parallel trends hold)":
        "{statistic}, {p}: nul-effecten vóór de start niet verworpen (dat toont niet aan "
        "dat de trends parallel lopen)",
}


def _g(value: float, language: str, spec: str = "g") -> str:
    """``value`` formatted by ``spec`` with the language's decimal mark and a true
    minus."""
    text = format(value, spec).replace("-", "\u2212")
    return text.replace(".", ",") if language == "nl" else text


def bacon_label(kind: str, language: str = "en") -> str:
    """The legend label of a Goodman-Bacon comparison type in ``language``."""
    check_language(language)
    labels = {"treated_vs_never": say("treated vs never treated", language),
              "earlier_vs_later": say("earlier vs later treated", language),
              "later_vs_earlier": say("later vs earlier treated (forbidden)", language),
              "later_vs_always": say("later vs always treated (forbidden)", language)}
    return labels.get(kind, term(kind, language))


def plot_bacon(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Each 2 × 2 estimate against its weight, by comparison type.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.bacon.BaconResult`.
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        One scatter collection per comparison type present (x = ``weight``, y =
        ``estimate`` of ``result.plot_data()``, styled as in :data:`BACON_STYLE` and
        labelled by :func:`bacon_label`), a dashed horizontal line at the TWFE estimate
        and a grey line at 0.
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data()
    for kind, style in BACON_STYLE.items():
        sub = data[data["type"] == kind]
        if sub.empty:
            continue
        ax.scatter(sub["weight"].to_numpy(float), sub["estimate"].to_numpy(float),
                   color=style["color"], marker=style["marker"],
                   label=bacon_label(kind, language))
    twfe = result.settings["twfe"]
    ax.axhline(twfe, color="black", linestyle="--", linewidth=1,
               label=say("TWFE estimate {estimate}", language,
                         estimate=_g(twfe, language, ".3g")))
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlabel(say("weight in the TWFE estimate", language))
    ax.set_ylabel(say("2x2 DiD estimate on {outcome}", language,
                      outcome=term(result.settings.get("outcome", "outcome"), language)))
    ax.legend(loc="best", frameon=False)
    return ax


def plot_sensitivity(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Robust confidence sets against the restriction parameter.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.pretrends.SensitivityResult`.
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        Two error-bar containers drawn from ``result.plot_data()``: ``original`` (the
        conventional interval, placed one grid step left of the smallest parameter) and
        the robust sets (centre with bars to ``ci_lower``/``ci_upper``) at each
        parameter value; a grey line at 0 and, when finite, a dotted vertical line at the
        breakdown value.
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data()
    s = result.settings
    robust = data[data["kind"] != "original"]
    original = data[data["kind"] == "original"]
    x = robust["parameter"].to_numpy(float)
    step = float(np.min(np.diff(x))) if len(x) > 1 else max(float(x[0]), 1.0) * 0.25
    x_orig = float(x.min()) - step
    methods = {"relative_magnitude": say("relative magnitude", language),
               "smoothness": say("smoothness", language)}
    method = methods.get(s["method"], str(s["method"]).replace("_", " "))
    for frame, xs, style in (
            (original, np.array([x_orig]), {"color": "#7f8c8d", "marker": "s",
                                             "label": say("conventional", language)}),
            (robust, x, {"color": "#c0392b", "marker": "o",
                         "label": say("robust ({method})", language, method=method)})):
        centre = frame["centre"].to_numpy(float)
        err = np.vstack([centre - frame["ci_lower"].to_numpy(float),
                         frame["ci_upper"].to_numpy(float) - centre])
        ax.errorbar(xs, centre, yerr=err, linestyle="none", capsize=3, **style)
    ax.axhline(0, color="grey", linewidth=0.8)
    breakdown = s.get("breakdown", np.nan)
    if np.isfinite(breakdown):
        ax.axvline(breakdown, color="black", linestyle=":", linewidth=1,
                   label=say("breakdown {parameter} = {value}", language,
                             parameter=s["parameter_name"],
                             value=_g(breakdown, language, ".3g")))
    ax.set_xlabel(s["parameter_name"])
    ax.set_ylabel(say("effect at event time {e} ({level}% set)", language,
                      e=_g(s["e"], language), level=_g(100 * (1 - s["alpha"]), language)))
    ax.legend(loc="best", frameon=False)
    return ax


def _pretrend_title(result: Any, language: str) -> str:
    """The test's statistic, p-value and verdict (the result's headline, in
    ``language``)."""
    row = result.estimates.iloc[0]
    df = int(row["df"])
    value = _g(row["estimate"], language, ".3f")
    if result.settings["test"] == "wald":
        stat = say("Wald chi2({df}) = {statistic}", language, df=df, statistic=value)
    else:
        stat = say("largest |t| of {df} = {statistic}", language, df=df, statistic=value)
    p = format_p(row["p_value"], decimal="," if language == "nl" else ".")
    if row["p_value"] < result.settings["alpha"]:
        return say("{statistic}, {p}: zero pre-treatment effects rejected", language,
                   statistic=stat, p=p)
    return say("{statistic}, {p}: zero pre-treatment effects not rejected (which does not "
               "show parallel trends hold)", language, statistic=stat, p=p)


def plot_pretrends(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """The tested pre-treatment coefficients with pointwise intervals and the test.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.pretrends.PretrendTestResult`.
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        One error-bar container at ``result.plot_data()`` (``att`` with bars to
        ``ci_lower``/``ci_upper``), a grey line at 0 and the test statistic and p-value
        as the title (the test's statistic: sup-t or Wald; the result's headline).
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data()
    att = data["att"].to_numpy(float)
    err = np.vstack([att - data["ci_lower"].to_numpy(float),
                     data["ci_upper"].to_numpy(float) - att])
    ax.errorbar(data["event_time"].to_numpy(float), att, yerr=err, linestyle="none",
                capsize=3, color="#2c3e50", marker="s",
                label=say("before treatment", language))
    ax.axhline(0, color="grey", linewidth=0.8)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole periods only
    ax.set_xlabel(say("periods since first treatment (event time)", language))
    ax.set_ylabel(say("pre-treatment effect (pointwise interval)", language))
    ax.set_title(_pretrend_title(result, language), fontsize=9)
    return ax


__all__ = ["BACON_STYLE", "bacon_label", "plot_bacon", "plot_pretrends", "plot_sensitivity"]
