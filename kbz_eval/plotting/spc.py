"""Drawing for statistical process control: XmR charts and practice trends.

Each function takes a result, ``ax=None`` and ``language="en"`` and returns the Axes;
each draws exactly ``result.plot_data()``, with its labels in the language
(:mod:`kbz_eval.plotting.words`). Colours follow NHS "Making Data Count": grey for common-cause
points, blue for improvement, orange for concern, purple for neutral special causes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kbz_eval.plotting import get_ax
from kbz_eval.plotting.words import check_language, say, term

#: Marker colour per variation class of a special-cause point (the legend label:
#: :func:`variation_label`).
VARIATION_STYLE = {
    "special_cause_improvement": {"color": "#289de0"},
    "special_cause_concern": {"color": "#fab428"},
    "special_cause_neutral_high": {"color": "#361475"},
    "special_cause_neutral_low": {"color": "#361475"},
}
_COMMON = "#7b7d7d"
#: The peers' lines (the legend label: :func:`peer_label`); the practice pages' trend
#: charts draw their peers with the same style.
PEER_STYLE = {
    "kbz_peers": {"color": "#c0392b", "marker": "o"},
    "control_peers": {"color": "#2c3e50", "marker": "s"},
}

#: Dutch of this module's figure texts (English template -> Dutch template).
NL: dict[str, str] = {
    "special cause: improvement": "bijzondere oorzaak: verbetering",
    "special cause: concern": "bijzondere oorzaak: zorgpunt",
    "special cause: high": "bijzondere oorzaak: hoog",
    "special cause: low": "bijzondere oorzaak: laag",
    "KBZ peers (other practices)": "KBZ-praktijken (andere)",
    "control peers (other practices)": "controlepraktijken (andere)",
    "centre (mean)": "middellijn (gemiddelde)",
    "process limits": "controlegrenzen",
    "period": "periode",
    "XmR chart: {label}": "XmR-diagram: {label}",
    "practice {practice}": "praktijk {practice}",
    "{indicator} per insured year": "{indicator} per verzekerdejaar",
    "outpatient DBC cost": "kosten poliklinische DBC's",
    "specialist GGZ cost": "kosten specialistische GGZ",
    "total cost": "totale kosten",
    "Practice {practice}: {indicator} per insured year with control limits":
        "Praktijk {practice}: {indicator} per verzekerdejaar met controlegrenzen",
}


def variation_label(variation: str, language: str = "en") -> str:
    """The legend label of a special-cause variation class in ``language``."""
    labels = {"special_cause_improvement": say("special cause: improvement", language),
              "special_cause_concern": say("special cause: concern", language),
              "special_cause_neutral_high": say("special cause: high", language),
              "special_cause_neutral_low": say("special cause: low", language)}
    return labels.get(variation, term(variation, language))


def indicator_label(indicator: str, language: str = "en") -> str:
    """A cost indicator of the practice trends in words, lower case."""
    labels = {"poli_dbc_cost": say("outpatient DBC cost", language),
              "ggz_cost": say("specialist GGZ cost", language),
              "total_cost": say("total cost", language)}
    return labels.get(indicator, term(indicator, language))


def peer_label(series: str, language: str = "en") -> str:
    """The legend label of a peer group's line (``kbz_peers``, ``control_peers``)."""
    labels = {"kbz_peers": say("KBZ peers (other practices)", language),
              "control_peers": say("control peers (other practices)", language)}
    return labels.get(series, term(series, language))


def x_positions(periods: Any) -> tuple[np.ndarray, list[str] | None]:
    """Horizontal positions of the periods: numbers and dates as they are (pandas
    Periods as their start), anything else as ``0, 1, ...`` with the periods as tick
    labels (returned as the second value, else ``None``)."""
    values = pd.Series(periods).reset_index(drop=True)
    if isinstance(values.dtype, pd.PeriodDtype):
        return values.dt.to_timestamp().to_numpy(), None
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=float), None
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.to_numpy(), None
    return np.arange(len(values), dtype=float), [str(v) for v in values]


def draw_chart(ax: Any, x: np.ndarray, data: pd.DataFrame, *, label: str,
               language: str = "en") -> None:
    """The XmR elements, in this order: the value line (``label``, already in the
    language); per segment the centre line (solid) and the upper and lower limits
    (dashed), each drawn over the segment's points; then one scatter per special-cause
    variation class present. ``language`` (``"en"`` or ``"nl"``): the language of the
    legend labels."""
    check_language(language)
    value = data["value"].to_numpy(dtype=float)
    ax.plot(x, value, color=_COMMON, marker="o", markersize=4, linewidth=1.2,
            label=label, zorder=2)
    segment = data["segment"].to_numpy()
    for k, seg in enumerate(pd.unique(segment)):
        at = segment == seg
        first = k == 0
        ax.plot(x[at], data["centre"].to_numpy(dtype=float)[at], color="#231f20",
                linewidth=1, label=say("centre (mean)", language) if first else None,
                zorder=1)
        ax.plot(x[at], data["upper"].to_numpy(dtype=float)[at], color="#8a1538",
                linestyle="--", linewidth=1,
                label=say("process limits", language) if first else None, zorder=1)
        ax.plot(x[at], data["lower"].to_numpy(dtype=float)[at], color="#8a1538",
                linestyle="--", linewidth=1, zorder=1)
    variation = data["variation"].to_numpy(dtype=object)
    for name, style in VARIATION_STYLE.items():
        at = variation == name
        if at.any():
            ax.scatter(x[at], value[at], s=42, zorder=3, color=style["color"],
                       label=variation_label(name, language))


def plot_xmr(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """XmR chart: the series, the centre line and process limits per segment, and the
    special-cause points highlighted.

    Parameters
    ----------
    result
        An :class:`~kbz_eval.estimators.practice_trends.XmrResult`.
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        From ``result.plot_data()``: one line of the values (``value``), per segment
        three lines over the segment's points (``centre``, ``upper``, ``lower``) and
        one scatter per special-cause ``variation`` class present.
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data()
    x, labels = x_positions(data["period"])
    label = term(result.settings.get("label", "value"), language)
    draw_chart(ax, x, data, label=label, language=language)
    if labels is not None:
        ax.set_xticks(x)
        ax.set_xticklabels(labels, rotation=45, ha="right")
    elif np.issubdtype(np.asarray(x).dtype, np.datetime64):
        ax.tick_params(axis="x", labelrotation=30)
    ax.set_xlabel(say("period", language))
    ax.set_ylabel(label)
    ax.set_title(say("XmR chart: {label}", language, label=label))
    ax.legend(frameon=False, fontsize="small")
    return ax


def plot_practice_trends(result: Any, ax: Any = None, *, practice: str | None = None,
                         indicator: str | None = None, language: str = "en") -> Any:
    """One practice's yearly series on its XmR chart, with the KBZ and control peers'
    series as lines.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.practice_trends.PracticeTrendsResult`.
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.
    practice, indicator
        Which chart (default: the first practice and indicator of the result).
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        From ``result.plot_data(practice, indicator)``: the practice's values, centre and
        limits per segment and special-cause points as :func:`plot_xmr` draws them, then
        one line per peer group present (``kbz_peers``, ``control_peers``).
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data(practice=practice, indicator=indicator)
    own = data[data["series"] == "practice"].sort_values("year")
    practice = str(own["practice"].iloc[0]) if len(own) else str(practice)
    indicator = str(data["indicator"].iloc[0]) if len(data) else str(indicator)
    x = own["year"].to_numpy(dtype=float)
    draw_chart(ax, x, own.reset_index(drop=True),
               label=say("practice {practice}", language, practice=practice),
               language=language)
    for series, style in PEER_STYLE.items():
        sub = data[data["series"] == series].sort_values("year")
        if len(sub):
            ax.plot(sub["year"].to_numpy(dtype=float), sub["value"].to_numpy(dtype=float),
                    linestyle=":", linewidth=1.2, markersize=3, zorder=1,
                    label=peer_label(series, language), **style)
    years = sorted(pd.unique(data["year"]))
    ax.set_xticks([float(y) for y in years])
    ax.set_xticklabels([str(int(y)) for y in years])
    name = indicator_label(indicator, language)
    ax.set_xlabel(say("year", language))
    ax.set_ylabel(say("{indicator} per insured year", language, indicator=name))
    ax.set_title(say("Practice {practice}: {indicator} per insured year with control limits",
                     language, practice=practice, indicator=name))
    ax.legend(frameon=False, fontsize="small")
    return ax


__all__ = ["PEER_STYLE", "VARIATION_STYLE", "draw_chart", "peer_label", "plot_practice_trends",
           "plot_xmr", "variation_label", "x_positions"]
