"""Drawing of a funnel plot (:func:`kbz_eval.estimators.funnel.funnel`).

Draws exactly ``result.plot_data()``: one line object per series, each tagged with the
series name as its ``gid`` so the drawing can be checked against the data.
"""

from __future__ import annotations

from typing import Any

from kbz_eval.plotting import GROUP_STYLE, get_ax
from kbz_eval.plotting.words import check_language, group_style, number, say, term

_POINTS = {**GROUP_STYLE, "units": {"color": "#2c3e50", "marker": "o", "label": "units"}}
_OTHER_MARKERS = ("^", "D", "v", "P", "X")
#: Style of each funnel curve (series name of the plot data), with its English legend
#: label; :func:`curve_style` gives it with the label in a language.
CURVES = {
    "target": {"color": "grey", "linestyle": "-", "linewidth": 1.0, "label": "target"},
    "lower_95": {"color": "#e67e22", "linestyle": "--", "linewidth": 1.2,
                 "label": "95% limits"},
    "upper_95": {"color": "#e67e22", "linestyle": "--", "linewidth": 1.2,
                 "label": "_nolegend_"},
    "lower_998": {"color": "#1f77b4", "linestyle": "-", "linewidth": 1.2,
                  "label": "99.8% limits"},
    "upper_998": {"color": "#1f77b4", "linestyle": "-", "linewidth": 1.2,
                  "label": "_nolegend_"},
}

#: Dutch figure texts (English template -> Dutch template).
NL = {
    "target": "doel",
    "95% limits": "95%-grenzen",
    "99.8% limits": "99,8%-grenzen",
    "units": "eenheden",
    "outside {limit}% limits": "buiten de {limit}%-grenzen",
    "expected (age band × sex)": "verwacht (leeftijd × geslacht)",
    "number of persons": "aantal personen",
    "insured years": "verzekerdejaren",
    "expected": "verwacht",
    "denominator": "noemer",
    "exposure": "blootstelling",
    "observed / expected": "werkelijk / verwacht",
    "proportion": "aandeel",
    "rate per insured year": "frequentie per verzekerdejaar",
    "Funnel plot: observed / expected {outcome} (age band × sex) in {years}":
        "Trechterdiagram: werkelijk / verwacht {outcome} (leeftijd × geslacht) in {years}",
    "Funnel plot: the share of persons with any {outcome} in {years}":
        "Trechterdiagram: aandeel personen met {outcome} in {years}",
    "Funnel plot: {outcome} per insured year in {years}":
        "Trechterdiagram: {outcome} per verzekerdejaar in {years}",
    "Funnel plot: observed / expected": "Trechterdiagram: werkelijk / verwacht",
    "Funnel plot: the proportion": "Trechterdiagram: het aandeel",
    "Funnel plot: the rate": "Trechterdiagram: de frequentie",
}


def curve_style(series: str, language: str = "en") -> dict[str, Any]:
    """The style of a funnel curve (:data:`CURVES`) with its legend label in
    ``language`` (``"en"`` or ``"nl"``)."""
    check_language(language)
    labels = {"target": say("target", language),
              "lower_95": say("95% limits", language),
              "lower_998": say("99.8% limits", language)}
    style = dict(CURVES[series])
    style["label"] = labels.get(series, style["label"])
    return style


def _percent(value: float, language: str) -> str:
    """A percentage level as ``95`` or ``99.8`` / ``99,8``."""
    v = float(value)
    return number(v, language, 0 if v.is_integer() else 1)


def _axis_labels(kind: str, panel: bool, language: str) -> tuple[str, str]:
    """Horizontal and vertical axis label: from the panel, or from a table of units."""
    if panel:
        x = {"ratio": say("expected (age band × sex)", language),
             "proportion": say("number of persons", language),
             "rate": say("insured years", language)}[kind]
    else:
        x = {"ratio": say("expected", language), "proportion": say("denominator", language),
             "rate": say("exposure", language)}[kind]
    y = {"ratio": say("observed / expected", language),
         "proportion": say("proportion", language),
         "rate": say("rate per insured year", language)}[kind]
    return x, y


def _title(s: dict[str, Any], language: str) -> str:
    """What the funnel shows (the estimator's ``what``, in ``language``)."""
    kind = s["kind"]
    if s.get("source") == "panel" and "outcome" in s and s.get("years"):
        years = "–".join(str(y) for y in sorted({s["years"][0], s["years"][-1]}))
        outcome = term(s["outcome"], language)
        if kind == "ratio":
            return say("Funnel plot: observed / expected {outcome} (age band × sex) in {years}",
                       language, outcome=outcome, years=years)
        if kind == "proportion":
            return say("Funnel plot: the share of persons with any {outcome} in {years}",
                       language, outcome=outcome, years=years)
        return say("Funnel plot: {outcome} per insured year in {years}", language,
                   outcome=outcome, years=years)
    return {"ratio": say("Funnel plot: observed / expected", language),
            "proportion": say("Funnel plot: the proportion", language),
            "rate": say("Funnel plot: the rate", language)}[kind]


def plot_funnel(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Funnel plot: the units as points (KBZ and control apart), the target line, the
    95 % and 99.8 % limits in use, outliers ringed and labelled.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.funnel.FunnelResult`.
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        One marker-only line per point series and one line per curve of
        ``result.plot_data()`` (``gid`` = the series name), a ring (``gid="outliers"``)
        around the units outside the ``outlier_limit`` limits, and a text per label.
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data()
    curves = [s for s in CURVES if s in set(data["series"])]
    points = [s for s in dict.fromkeys(data["series"]) if s not in CURVES]
    for series in curves:
        sub = data[data["series"] == series]
        ax.plot(sub["size"].to_numpy(dtype=float), sub["value"].to_numpy(dtype=float),
                gid=series, zorder=1, **curve_style(series, language))
    for i, series in enumerate(points):
        sub = data[data["series"] == series]
        if series in GROUP_STYLE:
            style = group_style(GROUP_STYLE, series, language)
        elif series == "units":
            style = {**_POINTS["units"], "label": say("units", language)}
        else:
            style = {"color": f"C{i + 2}", "marker": _OTHER_MARKERS[i % len(_OTHER_MARKERS)],
                     "label": term(series, language)}
        ax.plot(sub["size"].to_numpy(dtype=float), sub["value"].to_numpy(dtype=float),
                linestyle="none", markersize=6, gid=series, zorder=3, **style)
    flagged = data[data["outlier"] & ~data["series"].isin(list(CURVES))]
    if len(flagged):
        ax.plot(flagged["size"].to_numpy(dtype=float), flagged["value"].to_numpy(dtype=float),
                linestyle="none", marker="o", markersize=12, markerfacecolor="none",
                markeredgecolor="black", gid="outliers", zorder=4,
                label=say("outside {limit}% limits", language,
                          limit=_percent(result.settings["outlier_limit"], language)))
    for row in data[data["label"] != ""].itertuples(index=False):
        ax.annotate(row.label, (row.size, row.value), xytext=(5, 5), textcoords="offset points",
                    fontsize=8, gid="label")
    s = result.settings
    x_label, y_label = _axis_labels(s["kind"], s.get("source") == "panel", language)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.set_title(_title(s, language))
    ax.legend(frameon=False, fontsize=8)
    return ax


__all__ = ["CURVES", "curve_style", "plot_funnel"]
