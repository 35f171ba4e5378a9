"""Drawing for the claims analyses: DBC index, savings, GGZ change, O/E ratios.

Every function takes a result, ``ax=None`` and ``language="en"`` (or ``"nl"``: the
language of the labels) and returns the Axes; each draws exactly ``result.plot_data()``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kbz_eval.plotting import GROUP_STYLE as _GROUP_STYLE
from kbz_eval.plotting import get_ax
from kbz_eval.plotting.words import check_language, group_style, number, say, term

#: Dutch figure texts (English template -> Dutch template).
NL = {
    "DBCs per insured year, index ({year} = 100)":
        "DBC's per verzekerdejaar, index ({year} = 100)",
    "Outpatient DBCs, KBZ vs control ({population})":
        "Poliklinische DBC's, KBZ tegenover controle ({population})",
    "KBZ had costs followed the control trend": "KBZ als de kosten de controletrend volgden",
    "EUR {amount}": "EUR {amount}",
    "{outcome} per insured year (EUR)": "{outcome} per verzekerdejaar (EUR)",
    "Cost per person, KBZ vs control trend ({population})":
        "Kosten per persoon, KBZ tegenover controletrend ({population})",
    "KBZ total": "KBZ totaal",
    "control total": "controle totaal",
    "change in GGZ cost per insured year, {base_year}→{follow_year} (%)":
        "verandering GGZ-kosten per verzekerdejaar, {base_year}→{follow_year} (%)",
    "Specialist GGZ cost per insured: change per group and practice":
        "Kosten specialistische GGZ per verzekerde: verandering per groep en praktijk",
    "observed / expected (age band × sex)": "werkelijk / verwacht (leeftijd × geslacht)",
    "Risk-adjusted {outcome}": "Gecorrigeerd voor risico: {outcome}",
}


def plot_dbc_index(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Index of outpatient DBCs (base year = 100), KBZ vs control, with interval bands.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.dbc_index.DbcIndexResult`.
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        Two lines (KBZ, control; the ``index`` column of ``result.plot_data()``), a band
        per line (``ci_lower``–``ci_upper``) and a dotted reference line at 100.
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data()
    for group in ("kbz", "control"):
        sub = data[data["group"] == group].sort_values("year")
        style = group_style(_GROUP_STYLE, group, language)
        x = sub["year"].to_numpy(dtype=float)
        ax.plot(x, sub["index"].to_numpy(), **style)
        ax.fill_between(x, sub["ci_lower"].to_numpy(), sub["ci_upper"].to_numpy(),
                        color=style["color"], alpha=0.15, linewidth=0)
    ax.axhline(100, color="grey", linestyle=":", linewidth=1)
    s = result.settings
    ax.set_xticks(sorted(data["year"].unique()))
    ax.set_xlabel(say("year", language))
    ax.set_ylabel(say("DBCs per insured year, index ({year} = 100)", language,
                      year=s["base_year"]))
    ax.set_title(say("Outpatient DBCs, KBZ vs control ({population})", language,
                     population=term(s["population"], language)))
    ax.legend(frameon=False)
    return ax


def plot_savings(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Cost per insured year of the KBZ practices and their cost had they followed the
    control trend (the seeds' figure 5), with interval bands.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.savings.SavingsResult`.
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        Two lines (``kbz`` actual, ``kbz_control_trend``) with bands, from
        ``result.plot_data()``, and the saving marked in the saving year.
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data()
    styles = {
        "kbz": {"color": "#c0392b", "marker": "o", "label": say("KBZ practices", language)},
        "kbz_control_trend": {"color": "#2c3e50", "marker": "s", "linestyle": "--",
                              "label": say("KBZ had costs followed the control trend",
                                           language)},
    }
    for series, style in styles.items():
        sub = data[data["series"] == series].sort_values("year")
        x = sub["year"].to_numpy(dtype=float)
        ax.plot(x, sub["cost_per_insured_year"].to_numpy(), **style)
        ax.fill_between(x, sub["ci_lower"].to_numpy(), sub["ci_upper"].to_numpy(),
                        color=style["color"], alpha=0.12, linewidth=0)
    s = result.settings
    year = s["year"]
    sel = data[data["year"] == year].set_index("series")["cost_per_insured_year"]
    lo, hi = float(sel["kbz"]), float(sel["kbz_control_trend"])
    ax.annotate("", xy=(year, lo), xytext=(year, hi),
                arrowprops={"arrowstyle": "<->", "color": "grey"})
    ax.annotate(say("EUR {amount}", language, amount=number(hi - lo, language, 0)),
                (year, (lo + hi) / 2), xytext=(6, 0), textcoords="offset points",
                va="center", color="grey")
    ax.set_xticks(sorted(data["year"].unique()))
    ax.set_xlabel(say("year", language))
    ax.set_ylabel(say("{outcome} per insured year (EUR)", language,
                      outcome=term(s["outcome"], language)))
    ax.set_title(say("Cost per person, KBZ vs control trend ({population})", language,
                     population=term(s["population"], language)))
    ax.legend(frameon=False)
    return ax


def plot_ggz_change(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Relative change of GGZ cost per insured year per group and practice, with
    intervals (horizontal bars; groups on top).

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.ggz_change.GgzChangeResult`.
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        One bar per row of ``result.plot_data()`` (width = ``change`` in percent) with an
        error bar from ``ci_lower`` to ``ci_upper``; groups labelled "KBZ total" and
        "control total", practices by their id.
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data()
    y = np.arange(len(data))[::-1].astype(float)
    colors = [_GROUP_STYLE[g]["color"] for g in data["group"]]
    alpha = [1.0 if lv == "group" else 0.55 for lv in data["level"]]
    change = 100 * data["change"].to_numpy(dtype=float)
    bars = ax.barh(y, change, color=colors)
    for bar, a in zip(bars, alpha, strict=True):
        bar.set_alpha(a)
    err = np.vstack([change - 100 * data["ci_lower"].to_numpy(dtype=float),
                     100 * data["ci_upper"].to_numpy(dtype=float) - change])
    ax.errorbar(change, y, xerr=err, fmt="none", ecolor="black", elinewidth=1, capsize=2)
    ax.axvline(0, color="grey", linewidth=1)
    ax.set_yticks(y)
    totals = {"kbz": say("KBZ total", language), "control": say("control total", language)}
    ax.set_yticklabels([totals.get(g, str(lab)) if lv == "group" else str(lab)
                        for lab, lv, g in zip(data["label"], data["level"], data["group"],
                                              strict=True)])
    s = result.settings
    ax.set_xlabel(say("change in GGZ cost per insured year, {base_year}→{follow_year} (%)",
                      language, base_year=s["base_year"], follow_year=s["follow_year"]))
    ax.set_title(say("Specialist GGZ cost per insured: change per group and practice",
                     language))
    return ax


def plot_risk_adjustment(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Observed/expected ratio per unit and year with intervals, reference line at 1.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.risk_adjustment.RiskAdjustmentResult`.
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        One line with error bars per unit (``oe_ratio``, ``ci_lower``–``ci_upper`` of
        ``result.plot_data()``).
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data()
    units = list(data["unit"].drop_duplicates())
    by_practice = not set(units) <= set(_GROUP_STYLE)
    legend_done: set[str] = set()
    for i, unit in enumerate(units):
        sub = data[data["unit"] == unit].sort_values("year")
        x = sub["year"].to_numpy(dtype=float)
        if by_practice:
            # practices: coloured by their group, side by side within a year, each line
            # named at its end (a legend of a dozen colours cannot be read)
            group = str(sub["group"].iloc[0])
            base = (group_style(_GROUP_STYLE, group, language) if group in _GROUP_STYLE
                    else {"color": "grey", "marker": "o", "label": term(group, language)})
            style = {"color": base["color"], "marker": base["marker"], "linewidth": 0.8,
                     "markersize": 4, "alpha": 0.85,
                     "label": base["label"] if group not in legend_done else "_nolegend_"}
            legend_done.add(group)
            x = x + 0.5 * (i - (len(units) - 1) / 2) / max(len(units), 1)
        else:
            style = group_style(_GROUP_STYLE, unit, language)
        v = sub["oe_ratio"].to_numpy(dtype=float)
        err = np.vstack([v - sub["ci_lower"].to_numpy(dtype=float),
                         sub["ci_upper"].to_numpy(dtype=float) - v])
        ax.errorbar(x, v, yerr=err, capsize=2 if by_practice else 3, **style)
        if by_practice and len(x):
            ax.annotate(str(unit), (x[-1], v[-1]), xytext=(4, 0), textcoords="offset points",
                        fontsize=7, va="center", color=style["color"])
    ax.axhline(1, color="grey", linestyle=":", linewidth=1)
    ax.set_xticks(sorted(data["year"].unique()))
    ax.set_xlabel(say("year", language))
    ax.set_ylabel(say("observed / expected (age band × sex)", language))
    ax.set_title(say("Risk-adjusted {outcome}", language,
                     outcome=term(result.settings["outcome"], language)))
    ax.legend(frameon=False)
    return ax
