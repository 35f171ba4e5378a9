"""Drawing for the page of one practice (:mod:`kbz_eval.report.practice_pages`).

The page shows one practice among the others: the practice is highlighted and named,
the other practices are drawn without names (unless the data give them a label). Every
function draws exactly the frame it is given — the page's figure data, already
small-cell suppressed and anonymised by the report — takes ``ax=None`` and
``language="en"`` and returns the Axes. Labels are written in the language
(:mod:`kbz_eval.plotting.words`); :data:`NL` also holds the Dutch of the labels the
page adds itself (:mod:`kbz_eval.report.practice_pages`).

The funnel, ranking and indicator figures come in two layers, so that a report with
many pages draws the layer shared by every page once: ``draw_*_base`` draws what is the
same on every page (all practices alike, the limits, the legend) and ``draw_*_own`` the
practice of the page on top, returning its artists. ``plot_practice_*`` draws both.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kbz_eval.plotting import GROUP_STYLE, get_ax
from kbz_eval.plotting.funnel import CURVES, curve_style
from kbz_eval.plotting.spc import PEER_STYLE
from kbz_eval.plotting.words import check_language, group_style, say

#: The practice of the page (its label: "this practice" in the page's language).
OWN_STYLE = {"color": "#e67e22", "edgecolor": "black"}
#: Practices of neither group (KBZ and control practices: GROUP_STYLE; the practice of
#: the page is drawn like its group, then on top).
_GROUP_DEFAULT = {"color": "#7f8c8d", "marker": "^"}
#: Funnel curves of the page (series name -> style): those of the report's funnel.
CURVE_STYLE = CURVES

#: Dutch of the page figures' texts (English template -> Dutch template), including
#: the labels :mod:`kbz_eval.report.practice_pages` adds to them.
NL: dict[str, str] = {
    "this practice": "deze praktijk",
    "practices": "praktijken",
    "expected (age band × sex)": "verwacht (leeftijd × geslacht)",
    "observed / expected": "werkelijk / verwacht",
    "{group}: own O/E, interval": "{group}: eigen W/V, interval",
    "mean of all practices": "gemiddelde van alle praktijken",
    "shrunken O/E": "gekrompen W/V",
    "observed / expected (95% intervals)": "werkelijk / verwacht (95%-intervallen)",
    "practices, by shrunken O/E": "praktijken, op gekrompen W/V",
    "practices: range": "praktijken: bereik",
    "practices: middle half": "praktijken: middelste helft",
    "practices: median": "praktijken: mediaan",
    "score (% of maximum)": "score (% van het maximum)",
    "per insured year": "per verzekerdejaar",
    # added by the practice pages
    "Outpatient DBCs {year}: observed / expected":
        "Poliklinische DBC's {year}: werkelijk / verwacht",
    "Outpatient hospital care (DBC) cost": "Kosten poliklinische ziekenhuiszorg (DBC)",
    "Specialist mental health care (GGZ) cost": "Kosten specialistische GGZ",
    "Total cost": "Totale kosten",
    "EUR per insured year": "EUR per verzekerdejaar",
}


def _group(group: str, language: str = "en") -> dict[str, Any]:
    """Colour, marker and legend label of a group's practices."""
    if group in GROUP_STYLE:
        return group_style(GROUP_STYLE, group, language)
    return {**_GROUP_DEFAULT, "label": say("practices", language)}


def _floats(frame: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)


def _own_handle(language: str = "en", marker: str = "*") -> Any:
    """A legend entry for the practice of the page (drawn by a ``draw_*_own``)."""
    from matplotlib.lines import Line2D

    return Line2D([], [], linestyle="none", marker=marker, markersize=11,
                  color=OWN_STYLE["color"], markeredgecolor=OWN_STYLE["edgecolor"],
                  label=say("this practice", language))


def _own(data: pd.DataFrame) -> np.ndarray:
    return data["own"].to_numpy(dtype=bool) if "own" in data.columns else np.zeros(
        len(data), dtype=bool)


# --------------------------------------------------------------------------- funnel
def draw_funnel_base(data: pd.DataFrame, ax: Any = None, *, language: str = "en") -> Any:
    """The funnel layer shared by every page: the limits, every practice as a point of
    its group, the labels of the practices other than the page's, axis labels and the
    legend (with an entry for the practice of the page).

    Parameters
    ----------
    data
        The page's funnel data: ``series`` (a group — ``"kbz"``, ``"control"``, ... —
        for a practice's point, or a curve of :data:`CURVE_STYLE`), ``x`` (size:
        expected count), ``y`` (observed / expected), ``own`` (the practice of the
        page) and ``label`` (text next to a point; empty for none).
    ax
        Axes to draw on; a new figure when ``None``.

    Returns
    -------
    matplotlib.axes.Axes
        One line per curve and one marker-only line per group (``gid`` = the series
        name), one annotation per label of a practice other than the page's.
    """
    check_language(language)
    ax = get_ax(ax)
    for series in CURVE_STYLE:
        sub = data[data["series"] == series]
        if len(sub):
            ax.plot(_floats(sub, "x"), _floats(sub, "y"), gid=series, zorder=1,
                    **curve_style(series, language))
    points = data[~data["series"].isin(list(CURVE_STYLE))]
    for group in dict.fromkeys(points["series"]):
        sub = points[points["series"] == group]
        ax.plot(_floats(sub, "x"), _floats(sub, "y"), linestyle="none", markersize=6,
                alpha=0.6, gid=str(group), zorder=2, **_group(str(group), language))
    own = _own(points)
    for row in points[~own & (points["label"].astype(str) != "")].itertuples(index=False):
        ax.annotate(str(row.label), (float(row.x), float(row.y)), xytext=(6, 6),
                    textcoords="offset points", fontsize=8, gid="label")
    ax.set_xlabel(say("expected (age band × sex)", language))
    ax.set_ylabel(say("observed / expected", language))
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=[*handles, _own_handle(language)], frameon=False, fontsize=8,
              loc="best")
    return ax


def draw_funnel_own(data: pd.DataFrame, ax: Any, *, language: str = "en") -> list[Any]:
    """The practice of the page (rows with ``own``) as a large star with its label, on
    top of :func:`draw_funnel_base`; returns the artists drawn (``gid="own"``). The
    label is the practice's name, the same in either ``language``."""
    check_language(language)
    sub = data[_own(data)]
    x, y = _floats(sub, "x"), _floats(sub, "y")
    artists = [ax.plot(x, y, linestyle="none", marker="*", markersize=17,
                       color=OWN_STYLE["color"], markeredgecolor=OWN_STYLE["edgecolor"],
                       gid="own", zorder=4)[0]]
    for xi, yi, label in zip(x, y, sub["label"].astype(str), strict=True):
        if label and np.isfinite(xi) and np.isfinite(yi):
            artists.append(ax.annotate(label, (xi, yi), xytext=(8, 8),
                                       textcoords="offset points", fontsize=9,
                                       fontweight="bold", gid="own_label", zorder=5))
    return artists


def plot_practice_funnel(data: pd.DataFrame, ax: Any = None, *,
                         language: str = "en") -> Any:
    """One practice in the funnel plot of all practices: :func:`draw_funnel_base` and
    :func:`draw_funnel_own`, labelled in ``language`` (``"en"`` or ``"nl"``). Returns
    the Axes."""
    ax = draw_funnel_base(data, ax, language=language)
    draw_funnel_own(data, ax, language=language)
    return ax


# --------------------------------------------------------------------------- ranking
def _bars(ax: Any, sub: pd.DataFrame, *, color: str, marker: str, size: float,
          width: float, filled: bool, gid: str) -> list[Any]:
    y = _floats(sub, "position")
    return [
        ax.hlines(y, _floats(sub, "ci_lower"), _floats(sub, "ci_upper"), color=color,
                  linewidth=width, gid=f"interval_{gid}", zorder=2),
        ax.plot(_floats(sub, "estimate"), y, linestyle="none", marker=marker,
                markersize=size, color=color, markeredgecolor=color,
                markerfacecolor=color if filled else "white", gid=f"estimate_{gid}",
                zorder=3)[0],
        ax.plot(_floats(sub, "shrunken"), y, linestyle="none", marker="D",
                markersize=size * 0.7, color=color, gid=f"shrunken_{gid}", zorder=3)[0],
    ]


def draw_ranking_base(data: pd.DataFrame, ax: Any = None, *,
                      pooled: float | None = None, language: str = "en") -> Any:
    """The caterpillar layer shared by every page: every practice shown, by group —
    own O/E (hollow marker) with its interval and the shrunken O/E (diamond) — at its
    ``position``, the tick labels of the practices other than the page's, a dotted
    line at 1 and a dashed one at the mean of all practices.

    Parameters
    ----------
    data
        The page's ranking data, one row per practice shown: ``position`` (y, 0 at the
        bottom), ``label`` (empty for an unnamed practice), ``group``, ``own``,
        ``estimate``, ``ci_lower``, ``ci_upper`` and ``shrunken``.
    ax
        Axes to draw on; a new figure when ``None``.
    pooled
        The mean O/E of all practices, when known.
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        Per group a ``hlines`` collection of intervals (``gid="interval_<group>"``),
        the own O/E and the shrunken O/E as marker-only lines.
    """
    check_language(language)
    ax = get_ax(ax)
    for group in dict.fromkeys(data["group"]):
        style = _group(str(group), language)
        _bars(ax, data[data["group"] == group], color=style["color"],
              marker=style["marker"], size=5, width=1.0, filled=False, gid=str(group))
        ax.plot([], [], linestyle="-", marker=style["marker"], color=style["color"],
                markerfacecolor="white",
                label=say("{group}: own O/E, interval", language, group=style["label"]))
    own = _own(data)
    ax.set_yticks(_floats(data, "position"))
    ax.set_yticklabels(["" if mine else str(label)
                        for label, mine in zip(data["label"], own, strict=True)])
    ax.set_ylim(-0.7, max(len(data), 1) - 0.3)
    ax.axvline(1.0, color="grey", linestyle=":", linewidth=1)
    if pooled is not None and np.isfinite(pooled):
        ax.axvline(pooled, color="grey", linestyle="--", linewidth=1,
                   label=say("mean of all practices", language))
    ax.plot([], [], linestyle="none", marker="D", markersize=4, color="grey",
            label=say("shrunken O/E", language))
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=[*handles, _own_handle(language)], frameon=False, fontsize=7,
              loc="best")
    ax.set_xlabel(say("observed / expected (95% intervals)", language))
    ax.set_ylabel(say("practices, by shrunken O/E", language))
    return ax


def draw_ranking_own(data: pd.DataFrame, ax: Any, *, language: str = "en") -> list[Any]:
    """The practice of the page (rows with ``own``) on top of
    :func:`draw_ranking_base`: a thick interval, a star, its shrunken O/E and its name
    beside the axis; returns the artists drawn. The name is the same in either
    ``language``."""
    check_language(language)
    from matplotlib.transforms import blended_transform_factory

    sub = data[_own(data)]
    artists = _bars(ax, sub, color=OWN_STYLE["color"], marker="*", size=12, width=2.6,
                    filled=True, gid="own")
    where = blended_transform_factory(ax.transAxes, ax.transData)
    for y, label in zip(_floats(sub, "position"), sub["label"].astype(str), strict=True):
        if label:
            artists.append(ax.text(-0.012, y, label, transform=where, ha="right",
                                   va="center", fontsize=8, fontweight="bold",
                                   gid="own_label"))
    return artists


def plot_practice_ranking(data: pd.DataFrame, ax: Any = None, *,
                          pooled: float | None = None, language: str = "en") -> Any:
    """One practice in the caterpillar plot of all practices: :func:`draw_ranking_base`
    and :func:`draw_ranking_own`, labelled in ``language`` (``"en"`` or ``"nl"``).
    Returns the Axes."""
    ax = draw_ranking_base(data, ax, pooled=pooled, language=language)
    draw_ranking_own(data, ax, language=language)
    return ax


# --------------------------------------------------------------------------- indicator
def draw_indicator_base(data: pd.DataFrame, ax: Any = None, *,
                        language: str = "en") -> Any:
    """The indicator layer shared by every page: the spread of all practices per year
    (range min–max thin, middle half q1–q3 thick, median tick) and the legend.

    Parameters
    ----------
    data
        The page's indicator data: ``year``, ``element`` (``"own"`` for the practice's
        score, or ``"min"``, ``"q1"``, ``"median"``, ``"q3"``, ``"max"`` of all
        practices) and ``value`` (percent). Missing values are not drawn.
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        Two ``vlines`` collections and a median scatter; the vertical axis spans the
        spread (0–100 when no spread is shown).
    """
    check_language(language)
    ax = get_ax(ax)
    spread = data[data["element"] != "own"].pivot_table(
        index="year", columns="element", values="value", aggfunc="first", dropna=False)
    for col in ("min", "q1", "median", "q3", "max"):
        if col not in spread.columns:
            spread[col] = np.nan
    years = spread.index.to_numpy(dtype=float)
    if len(spread):
        ax.vlines(years, spread["min"].to_numpy(dtype=float),
                  spread["max"].to_numpy(dtype=float), color="#7f8c8d", linewidth=1,
                  label=say("practices: range", language))
        ax.vlines(years, spread["q1"].to_numpy(dtype=float),
                  spread["q3"].to_numpy(dtype=float), color="#7f8c8d", linewidth=6,
                  alpha=0.45, label=say("practices: middle half", language))
        ax.scatter(years, spread["median"].to_numpy(dtype=float), marker="_", s=220,
                   color="#2c3e50", label=say("practices: median", language), zorder=3)
    low, high = np.nanmin(spread[["min"]].to_numpy(dtype=float), initial=np.inf), \
        np.nanmax(spread[["max"]].to_numpy(dtype=float), initial=-np.inf)
    if np.isfinite(low) and np.isfinite(high):
        pad = max(2.0, 0.08 * (high - low))
        ax.set_ylim(max(0.0, low - pad), min(100.0, high + pad))
    else:
        ax.set_ylim(0.0, 100.0)
    all_years = sorted({int(y) for y in pd.to_numeric(data["year"], errors="coerce")
                        .dropna()})
    ax.set_xticks([float(y) for y in all_years])
    ax.set_xticklabels([str(y) for y in all_years])
    ax.set_xlim(min(all_years, default=0) - 0.5, max(all_years, default=0) + 0.5)
    ax.set_xlabel(say("year", language))
    ax.set_ylabel(say("score (% of maximum)", language))
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=[*handles, _own_handle(language)], frameon=False, fontsize=7,
              loc="best")
    return ax


def draw_indicator_own(data: pd.DataFrame, ax: Any, *, language: str = "en") -> list[Any]:
    """The practice's own scores (``element="own"``) as a line with stars on top of
    :func:`draw_indicator_base`; returns the artists drawn (``gid="own"``; no text, so
    the same in either ``language``)."""
    check_language(language)
    own = data[data["element"] == "own"].sort_values("year")
    return [ax.plot(_floats(own, "year"), _floats(own, "value"), color=OWN_STYLE["color"],
                    marker="*", markersize=12, markeredgecolor=OWN_STYLE["edgecolor"],
                    linewidth=1.5, gid="own", zorder=4)[0]]


def plot_practice_indicator(data: pd.DataFrame, ax: Any = None, *,
                            language: str = "en") -> Any:
    """One practice's indicator scores against the spread of all practices:
    :func:`draw_indicator_base` and :func:`draw_indicator_own`, labelled in ``language``
    (``"en"`` or ``"nl"``). Returns the Axes."""
    ax = draw_indicator_base(data, ax, language=language)
    draw_indicator_own(data, ax, language=language)
    return ax


# --------------------------------------------------------------------------- trends
def plot_practice_trend(data: pd.DataFrame, ax: Any = None, *,
                        language: str = "en") -> Any:
    """One practice's XmR chart of one indicator, with the KBZ and control peers.

    Parameters
    ----------
    data
        ``PracticeTrendsResult.plot_data(practice=..., indicator=...)`` (suppressed):
        ``series`` (``"practice"``, ``"kbz_peers"``, ``"control_peers"``), ``year``,
        ``value``, ``segment``, ``centre``, ``lower``, ``upper``, ``variation``.
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        What :func:`kbz_eval.plotting.spc.draw_chart` draws for the practice (values,
        centre and limits per segment, special-cause points), then one dotted line per
        peer group present; no legend (a page shares one legend between its charts).
    """
    from kbz_eval.plotting.spc import draw_chart, peer_label

    check_language(language)
    ax = get_ax(ax)
    own = data[data["series"] == "practice"].sort_values("year", kind="stable")
    draw_chart(ax, own["year"].to_numpy(dtype=float), own.reset_index(drop=True),
               label=say("this practice", language), language=language)
    for series, style in PEER_STYLE.items():
        sub = data[data["series"] == series].sort_values("year", kind="stable")
        if len(sub):
            ax.plot(_floats(sub, "year"), _floats(sub, "value"), linestyle=":",
                    linewidth=1.2, markersize=3, zorder=1,
                    label=peer_label(series, language), **style)
    years = sorted({int(y) for y in pd.to_numeric(data["year"], errors="coerce").dropna()})
    ax.set_xticks([float(y) for y in years])
    ax.set_xticklabels([str(y) for y in years])
    ax.set_xlabel(say("year", language))
    ax.set_ylabel(say("per insured year", language))
    return ax


__all__ = ["CURVE_STYLE", "GROUP_STYLE", "OWN_STYLE", "PEER_STYLE", "draw_funnel_base",
           "draw_funnel_own", "draw_indicator_base", "draw_indicator_own",
           "draw_ranking_base", "draw_ranking_own", "plot_practice_funnel",
           "plot_practice_indicator", "plot_practice_ranking", "plot_practice_trend"]
