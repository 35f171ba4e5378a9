"""Drawing for the survey analyses (Aims 1, 2 and 4) and the practice indicators.

Every function takes a result, ``ax=None`` and ``language="en"`` and returns the Axes;
it draws exactly ``result.plot_data()`` (see each result's ``plot_data`` docstring for
the columns), with its labels in the language (:mod:`kbz_eval.plotting.words`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kbz_eval.plotting import get_ax
from kbz_eval.plotting.words import check_language, number, say, term

_DARK = "#2c3e50"
_RED = "#c0392b"
_GREY = "#95a5a6"
_AREA_COLOURS = {"area": _RED, "reference": _DARK}
_GROUP_STYLE = {"kbz": "-", "control": "--", "all": "-", "kbz − control": ":"}
_MEASURE_COLOURS = ["#c0392b", "#2980b9", "#27ae60", "#8e44ad"]
# rating 1..5: red (disagree) .. grey (neutral) .. green (agree)
_RATING_COLOURS = {1: "#b2182b", 2: "#ef8a62", 3: "#d9d9d9", 4: "#67a9cf", 5: "#2166ac"}

#: Dutch of this module's figure texts (English template -> Dutch template).
NL: dict[str, str] = {
    "{m}\n(n={n})": "{m}\n(n={n})",
    "measurement": "meting",
    "CVG (1–10)": "CVG (1–10)",
    "Self-rated health (CVG) per measurement": "Ervaren gezondheid (CVG) per meting",
    "pairs (size = number)": "paren (grootte = aantal)",
    "bias": "systematisch verschil",
    "95% limits of agreement": "95%-grenzen van overeenstemming",
    "mean of patient and GP mark": "gemiddelde van cijfer patiënt en huisarts",
    "GP mark − patient mark": "cijfer huisarts − cijfer patiënt",
    "Agreement of patient and GP CVG (Bland–Altman)":
        "Overeenstemming CVG patiënt en huisarts (Bland–Altman)",
    "taken seriously": "serieus genomen",
    "all domains discussed": "alle domeinen besproken",
    "own goals discussed": "eigen doelen besproken",
    "clear agreements": "duidelijke afspraken",
    "useful overall": "al met al nuttig",
    "{respondent}: {item} (n={n})": "{respondent}: {item} (n={n})",
    "% of ratings (left: disagree, right: agree)":
        "% van de beoordelingen (links: oneens, rechts: eens)",
    "Ratings of the 4D conversation": "Waardering van het 4D-gesprek",
    "exercise norm": "beweegnorm",
    "good self-rated health": "goed ervaren gezondheid",
    "{area}: {indicator}": "{area}: {indicator}",
    "{value}%": "{value}%",
    "% of adults": "% van de volwassenen",
    "{area} vs {reference}": "{area} tegenover {reference}",
    "{area} vs {reference} (95% CI on assumed n)":
        "{area} tegenover {reference} (95%-BI bij aangenomen n)",
    "{measure}: {group}": "{measure}: {group}",
    "KBZ": "KBZ",
    "all": "alle",
    "wave": "meting",
    "mean (1–10)": "gemiddelde (1–10)",
    "Professionals: {measure} per wave": "Professionals: {measure} per meting",
    "Professionals: workload and job satisfaction per wave":
        "Professionals: werkdruk en werkplezier per meting",
    "practice ({group})": "praktijk ({group})",
    "score (% of maximum)": "score (% van het maximum)",
    "Spread of {indicator} across practices": "Spreiding van {indicator} tussen praktijken",
    "{specialism} (n={n})": "{specialism} (n={n})",
    "% of consultations that avoided a referral (95% CI)":
        "% consulten waarbij verwijzing werd voorkomen (95%-BI)",
    "Neighbourhood specialists: referrals avoided": "Wijkspecialisten: voorkomen verwijzingen",
}


def _item(item: Any, language: str) -> str:
    """A conversation item in words."""
    names = {"taken_seriously": say("taken seriously", language),
             "all_domains_discussed": say("all domains discussed", language),
             "own_goals_discussed": say("own goals discussed", language),
             "clear_agreements": say("clear agreements", language),
             "useful_overall": say("useful overall", language)}
    return names.get(str(item), term(str(item), language).replace("_", " "))


def _group(group: Any, language: str) -> str:
    """A group of practices (``kbz``, ``control``, ``all``) in words."""
    names = {"kbz": say("KBZ", language), "control": say("control", language),
             "all": say("all", language)}
    return names.get(str(group), str(group))


def _indicator(indicator: Any, language: str) -> str:
    """A population-health indicator in words."""
    names = {"exercise_norm": say("exercise norm", language),
             "good_self_rated_health": say("good self-rated health", language)}
    return names.get(str(indicator), term(str(indicator), language).replace("_", " "))


def plot_cvg_trajectory(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Individual CVG trajectories (thin, grey) and the mean with its interval (bold).

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.cvg.CvgTrajectoryResult`.
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        One thin line per trajectory (in ``trajectory`` order), then the bold mean line
        with error bars for the intervals; labels show ``n`` per measurement.
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data()
    ind = data[data["series"] == "individual"]
    for _, part in ind.groupby("trajectory", sort=True):
        ax.plot(part["measurement"].to_numpy(dtype=float), part["value"].to_numpy(),
                color=_GREY, linewidth=0.7, alpha=0.5, marker="o", markersize=2,
                gid="individual")
    mean = data[data["series"] == "mean"]
    x = mean["measurement"].to_numpy(dtype=float)
    y = mean["value"].to_numpy(dtype=float)
    err = np.vstack([y - mean["ci_lower"].to_numpy(dtype=float),
                     mean["ci_upper"].to_numpy(dtype=float) - y])
    bars = ax.errorbar(x, y, yerr=err, color=_RED, linewidth=2.5, marker="o", capsize=4,
                       label=say("mean (95% CI)", language))
    bars.lines[0].set_gid("mean")
    ax.set_xticks(x)
    ax.set_xticklabels([say("{m}\n(n={n})", language, m=int(m), n=int(n))
                        for m, n in zip(mean["measurement"], mean["n"], strict=True)])
    ax.set_xlabel(say("measurement", language))
    ax.set_ylabel(say("CVG (1–10)", language))
    ax.set_ylim(0.5, 10.5)
    ax.set_title(say("Self-rated health (CVG) per measurement", language))
    ax.legend(frameon=False, loc="lower right")
    return ax


def plot_cvg_agreement(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Bland–Altman plot: difference (GP − patient) against the mean of both marks.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.cvg.CvgAgreementResult`.
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        One scatter (a point per distinct pair, area proportional to the number of
        pairs) and three horizontal lines: the bias (solid) and the limits of agreement
        (dashed), in that order.
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data()
    pts = data[(data["element"] == "pairs") & data["n"].notna()]
    ax.scatter(pts["mean_rating"].to_numpy(dtype=float),
               pts["difference"].to_numpy(dtype=float),
               s=15 * pts["n"].to_numpy(dtype=float), color=_DARK, alpha=0.6,
               label=say("pairs (size = number)", language))
    styles = {"bias": ("-", say("bias", language)),
              "loa_lower": ("--", say("95% limits of agreement", language)),
              "loa_upper": ("--", None)}
    for element in ("bias", "loa_lower", "loa_upper"):
        value = float(data.loc[data["element"] == element, "difference"].iloc[0])
        style, label = styles[element]
        ax.axhline(value, color=_RED, linestyle=style, linewidth=1.5, label=label,
                   gid=element)
    ax.set_xlabel(say("mean of patient and GP mark", language))
    ax.set_ylabel(say("GP mark − patient mark", language))
    ax.set_title(say("Agreement of patient and GP CVG (Bland–Altman)", language))
    ax.legend(frameon=False, loc="upper right")
    return ax


def plot_conversation_ratings(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Diverging stacked bar chart of the Likert ratings per item and respondent type.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.conversations.ConversationRatingsResult`.
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        One horizontal bar segment per row of ``plot_data()`` (in that order), the
        neutral rating centred on 0 and a vertical line at 0.
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data()
    seen: set[int] = set()
    for _, r in data.iterrows():
        rating = int(r["rating"])
        label = None if rating in seen else str(rating)
        seen.add(rating)
        ax.barh(r["position"], r["share"], left=r["left"], height=0.8,
                color=_RATING_COLOURS[rating], edgecolor="white", linewidth=0.5,
                label=label)
    bars = data.drop_duplicates("position").sort_values("position")
    ax.set_yticks(bars["position"].to_numpy())
    ax.set_yticklabels([say("{respondent}: {item} (n={n})", language,
                            respondent=term(t, language), item=_item(i, language), n=n)
                        for t, i, n in zip(bars["respondent_type"], bars["item"],
                                           bars["n"], strict=True)])
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(say("% of ratings (left: disagree, right: agree)", language))
    ax.set_title(say("Ratings of the 4D conversation", language), pad=28)
    ax.legend(title=None, frameon=False, ncols=5, loc="lower center",
              bbox_to_anchor=(0.5, 1.0), fontsize=8)
    return ax


def plot_population_health(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Percentages over the years for the area and the reference, per indicator.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.population_health.PopulationHealthResult`.
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        One line with Wilson-interval error bars per indicator × area (rows of
        ``plot_data()`` grouped in order of appearance); colour = area, marker =
        indicator. The title says when ``n`` is assumed.
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data()
    markers = ["o", "s", "^", "D", "v"]
    indicators = list(pd.unique(data["indicator"]))
    for (ind, area), part in data.groupby(["indicator", "area"], sort=False):
        role = part["role"].iloc[0]
        part = part.sort_values("year")
        x = part["year"].to_numpy(dtype=float)
        y = part["percent"].to_numpy(dtype=float)
        err = np.vstack([y - part["ci_lower"].to_numpy(dtype=float),
                         part["ci_upper"].to_numpy(dtype=float) - y])
        ax.errorbar(x, y, yerr=err, color=_AREA_COLOURS.get(role, _GREY),
                    marker=markers[indicators.index(ind) % len(markers)], capsize=3,
                    linewidth=2, label=say("{area}: {indicator}", language,
                                           area=term(area, language),
                                           indicator=_indicator(ind, language)))
        for xi, yi in zip(x, y, strict=True):
            ax.annotate(say("{value}%", language, value=number(yi, language, 0)),
                        (xi, yi), textcoords="offset points", xytext=(6, 4), fontsize=8)
    years = np.sort(pd.unique(data["year"]))
    ax.set_xticks(years.astype(float))
    ax.set_xticklabels([str(int(y)) for y in years])
    ax.set_xlabel(say("year", language))
    ax.set_ylabel(say("% of adults", language))
    area = term(result.settings["area"], language)
    reference = term(result.settings["reference"], language)
    if bool(data["n_is_assumed"].any()):
        title = say("{area} vs {reference} (95% CI on assumed n)", language, area=area,
                    reference=reference)
    else:
        title = say("{area} vs {reference}", language, area=area, reference=reference)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8, loc="best")
    return ax


def plot_workforce(result: Any, ax: Any = None, *, measure: str | None = None,
                   language: str = "en") -> Any:
    """Mean workload / job satisfaction per wave with intervals.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.workforce.WorkforceResult`.
    ax
        Axes to draw on; a new figure when ``None``.
    measure
        Draw only this measure (a figure per measure); default every measure.
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        One line with error bars per measure × group (colour = measure, line style =
        group), in the order of ``plot_data(measure=measure)``.
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data(measure=measure)
    measures = list(pd.unique(data["measure"]))
    for (m, group), part in data.groupby(["measure", "group"], sort=False):
        x = part["x"].to_numpy(dtype=float)
        y = part["mean"].to_numpy(dtype=float)
        err = np.vstack([y - part["ci_lower"].to_numpy(dtype=float),
                         part["ci_upper"].to_numpy(dtype=float) - y])
        name = term(m, language).replace("_", " ")
        label = name if group == "all" else say("{measure}: {group}", language,
                                                 measure=name, group=_group(group, language))
        ax.errorbar(x, y, yerr=err, color=_MEASURE_COLOURS[measures.index(m)
                                                           % len(_MEASURE_COLOURS)],
                    linestyle=_GROUP_STYLE.get(group, "-"), marker="o", capsize=3,
                    linewidth=2, label=label)
    waves = np.sort(pd.unique(data["wave"]))
    ax.set_xticks(waves.astype(float))
    ax.set_xticklabels([str(int(w)) for w in waves])
    ax.set_xlabel(say("wave", language))
    ax.set_ylabel(say("mean (1–10)", language))
    if measure:
        title = say("Professionals: {measure} per wave", language,
                    measure=term(measure, language).replace("_", " "))
    else:
        title = say("Professionals: workload and job satisfaction per wave", language)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    return ax


def plot_indicator_spread(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Each practice as a point per year, with the range (thin) and the IQR (thick).

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.indicators.IndicatorSpreadResult`.
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        Per group: one scatter of the practices, one ``vlines`` collection for the
        ranges, one for the IQRs and a median tick (scatter), in that order.
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data()
    colours = {"kbz": _RED, "control": _DARK, "all": _RED}
    for group, part in data.groupby("group", sort=False):
        colour = colours.get(group, _GREY)
        pts = part[part["element"] == "practice"]
        label = (say("practice", language) if group == "all" else
                 say("practice ({group})", language, group=_group(group, language)))
        ax.scatter(pts["x"].to_numpy(), pts["value"].to_numpy(), s=18, color=colour,
                   alpha=0.7, label=label)
        wide = part[part["element"] != "practice"].pivot(index="x", columns="element",
                                                         values="value")
        ax.vlines(wide.index.to_numpy(), wide["min"].to_numpy(), wide["max"].to_numpy(),
                  color=colour, linewidth=1)
        ax.vlines(wide.index.to_numpy(), wide["q1"].to_numpy(), wide["q3"].to_numpy(),
                  color=colour, linewidth=5, alpha=0.4)
        ax.scatter(wide.index.to_numpy(), wide["median"].to_numpy(), marker="_", s=200,
                   color=colour)
    years = np.sort(pd.unique(data["year"]))
    ax.set_xticks(years.astype(float))
    ax.set_xticklabels([str(int(y)) for y in years])
    ax.set_xlabel(say("year", language))
    ax.set_ylabel(say("score (% of maximum)", language))
    ax.set_title(say("Spread of {indicator} across practices", language,
                     indicator=term(result.settings["indicator"], language)))
    ax.legend(frameon=False, fontsize=8)
    return ax


def plot_referrals_avoided(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Share of consultations that avoided a referral, overall and per specialism.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.indicators.ReferralsAvoidedResult`.
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        One errorbar (points with Wilson intervals) at ``position`` (top = overall).
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data()
    y = data["position"].to_numpy(dtype=float)
    x = data["share"].to_numpy(dtype=float)
    err = np.vstack([x - data["ci_lower"].to_numpy(dtype=float),
                     data["ci_upper"].to_numpy(dtype=float) - x])
    ax.errorbar(x, y, xerr=err, fmt="o", color=_DARK, capsize=3)
    ax.set_yticks(y)
    ax.set_yticklabels([say("{specialism} (n={n})", language,
                            specialism=_group(s, language), n=n)
                        for s, n in zip(data["specialism"], data["n"], strict=True)])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel(say("% of consultations that avoided a referral (95% CI)", language))
    ax.set_title(say("Neighbourhood specialists: referrals avoided", language))
    return ax
