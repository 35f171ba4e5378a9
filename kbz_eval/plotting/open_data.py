"""Drawing the open-data results: cost series, area comparisons, synthetic control and
health changes. Each function takes the result, ``ax=None`` and ``language="en"`` (or
``"nl"``: the language of the labels) and returns the Axes.

Areas are labelled by :func:`~kbz_eval.open_data.vektis.display_name` ("Den Haag",
"Overvecht", "Netherlands"), whether the result holds the keys or the display names; in
Dutch the country is "Nederland"."""

from __future__ import annotations

import re
from typing import Any

from kbz_eval.open_data.standardise import COUNTRY
from kbz_eval.open_data.vektis import display_name
from kbz_eval.plotting import get_ax
from kbz_eval.plotting.words import check_language, say, term

_COUNTRY = display_name(COUNTRY)
_DONOR_MEAN = "donor pool mean"
_PART = re.compile(r"^(?P<city>.+) (?P<kind>district|neighbourhood) (?P<code>\d+)$")
_OTHER_DISTRICTS = re.compile(r"^other districts of (?P<city>.+)$")

#: Dutch figure texts (English template -> Dutch template).
NL = {
    "Netherlands": "Nederland",
    "donor pool mean": "gemiddelde donorgemeenten",
    "{city} district {code}": "{city} wijk {code}",
    "{city} neighbourhood {code}": "{city} buurt {code}",
    "other districts of {city}": "andere wijken van {city}",
    "total": "totaal",
    "Cost per insured year: {group} ({method})": "Kosten per verzekerdejaar: {group} ({method})",
    "EUR per insured year": "EUR per verzekerdejaar",
    "Cost per insured year, {group} ({method}); ▲ = KBZ rollout":
        "Kosten per verzekerdejaar, {group} ({method}); ▲ = start KBZ",
    "synthetic control": "synthetische controle",
    "{area}: synthetic control (start {year})": "{area}: synthetische controle (start {year})",
    "Gap to synthetic control: treated (black) and placebos (grey)":
        "Verschil met de synthetische controle: behandeld (zwart) en placebo's (grijs)",
    "gap": "verschil",
    "good or very good self-rated health": "goed of zeer goed ervaren gezondheid",
    "meets the exercise guideline": "voldoet aan de beweegrichtlijn",
    "difficulty making ends meet": "moeite met rondkomen",
    "lonely": "eenzaam",
    "{area} change minus reference change (percentage points; plain difference)":
        "verandering {area} min verandering referentie (procentpunten; gewoon verschil)",
    "Population health: difference in change": "Gezondheid: verschil in verandering",
}


def _label(area: Any, language: str = "en") -> str:
    """The display name of an area (a Vektis spelling, a StatLine code or a name) in
    ``language``."""
    name = display_name(str(area))
    if name == _COUNTRY:
        return say("Netherlands", language)
    if name == _DONOR_MEAN:
        return say("donor pool mean", language)
    others = _OTHER_DISTRICTS.match(name)
    if others:
        return say("other districts of {city}", language, city=others["city"])
    part = _PART.match(name)
    if part and part["kind"] == "district":
        return say("{city} district {code}", language, city=part["city"], code=part["code"])
    if part:
        return say("{city} neighbourhood {code}", language, city=part["city"],
                   code=part["code"])
    return name


def _group(group: Any, language: str) -> str:
    """A cost group's name: ``total`` in words, other groups by their key."""
    return say("total", language) if str(group) == "total" else term(group, language)


def _indicator(indicator: Any, language: str) -> str:
    """The plain name of a health-monitor indicator."""
    names = {"good_health": say("good or very good self-rated health", language),
             "exercise_guideline": say("meets the exercise guideline", language),
             "financial_strain": say("difficulty making ends meet", language),
             "loneliness": say("lonely", language)}
    return names.get(str(indicator), term(indicator, language))


def cost_series(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Cost per insured year over the years: one line per area, the country in black.

    Parameters
    ----------
    result
        The open-data cost result (:mod:`kbz_eval.open_data.standardise`).
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data()
    for area, part in data.groupby("area", sort=False):
        part = part.sort_values("year")
        style = ({"color": "black", "linewidth": 2.5, "zorder": 3}
                 if display_name(str(area)) == _COUNTRY else {"linewidth": 1.5})
        ax.plot(part["year"], part["estimate"], marker="o", markersize=3,
                label=_label(area, language), **style)
    if len(data):
        group, method = data["cost_group"].iloc[0], data["method"].iloc[0]
        ax.set_title(say("Cost per insured year: {group} ({method})", language,
                         group=_group(group, language), method=term(method, language)))
    ax.set_xlabel(say("year", language))
    ax.set_ylabel(say("EUR per insured year", language))
    ax.legend(fontsize="small", frameon=False)
    return ax


def area_comparison(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Areas, the country and the donor-pool mean; triangles mark KBZ rollout years.

    Parameters
    ----------
    result
        The area comparison (:mod:`kbz_eval.open_data.areas`).
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data()
    for area, part in data.groupby("area", sort=False):
        part = part.sort_values("year")
        if display_name(str(area)) == _COUNTRY:
            style = {"color": "black", "linewidth": 2.5, "zorder": 3}
        elif area == _DONOR_MEAN:
            style = {"color": "grey", "linewidth": 2, "linestyle": "--", "zorder": 2}
        else:
            style = {"linewidth": 1.5}
        (line,) = ax.plot(part["year"], part["value"], label=_label(area, language), **style)
        waves = [int(y) for y in str(part["rollout_years"].iloc[0]).split(",") if y]
        marked = part[part["year"].isin(waves)]
        if len(marked):
            ax.plot(marked["year"], marked["value"], linestyle="none", marker="^",
                    markersize=8, color=line.get_color())
    settings = getattr(result, "settings", {})
    ax.set_title(say("Cost per insured year, {group} ({method}); ▲ = KBZ rollout", language,
                     group=_group(settings.get("group", "total"), language),
                     method=term(settings.get("method", "direct"), language)))
    ax.set_xlabel(say("year", language))
    ax.set_ylabel(say("EUR per insured year", language))
    ax.legend(fontsize="small", frameon=False)
    return ax


def synthetic_control(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Treated series against its synthetic control; dotted lines at the KBZ waves.

    Parameters
    ----------
    result
        A synthetic-control result (:mod:`kbz_eval.open_data.synthetic_control`).
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data()
    settings = result.settings
    treated = settings.get("treated")
    ax.plot(data["year"], data["treated"], color="black", linewidth=2,
            label=_label(treated, language) if treated else term("treated", language))
    ax.plot(data["year"], data["synthetic"], color="tab:blue", linestyle="--", linewidth=2,
            label=say("synthetic control", language))
    start = settings.get("treatment_year")
    for wave in settings.get("waves", [start]):
        ax.axvline(wave, color="grey", linestyle=":" if wave != start else "-", linewidth=1)
    ax.set_title(say("{area}: synthetic control (start {year})", language,
                     area=_label(treated or "", language), year=start))
    ax.set_xlabel(say("year", language))
    outcome = settings.get("outcome_label", "outcome")
    ax.set_ylabel(say("EUR per insured year", language) if outcome == "EUR per insured year"
                  else term(outcome, language))
    ax.legend(fontsize="small", frameon=False)
    return ax


def synthetic_control_placebos(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Gaps of every placebo (grey) and of the treated unit (black).

    Parameters
    ----------
    result
        A synthetic-control result (:mod:`kbz_eval.open_data.synthetic_control`).
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.
    """
    check_language(language)
    ax = get_ax(ax)
    gaps = result.tables["placebo_gaps"]
    treated = result.settings.get("treated")
    if treated not in gaps.columns:  # the columns carry display names
        treated = display_name(str(treated))
    for col in gaps.columns:
        if col in ("year", treated):
            continue
        ax.plot(gaps["year"], gaps[col], color="lightgrey", linewidth=1)
    ax.plot(gaps["year"], gaps[treated], color="black", linewidth=2,
            label=_label(treated, language))
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.axvline(result.settings.get("treatment_year"), color="grey", linewidth=1)
    ax.set_title(say("Gap to synthetic control: treated (black) and placebos (grey)",
                     language))
    ax.set_xlabel(say("year", language))
    ax.set_ylabel(say("gap", language))
    ax.legend(fontsize="small", frameon=False)
    return ax


def health_change(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Difference in change per indicator (longest span), one bar per reference.

    Parameters
    ----------
    result
        The health-monitor comparison (:mod:`kbz_eval.open_data.areas`).
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data()
    indicators = list(dict.fromkeys(data["indicator"]))
    references = list(dict.fromkeys(data["reference"]))
    height = 0.8 / max(len(references), 1)
    for k, ref in enumerate(references):
        part = data[data["reference"] == ref].set_index("indicator").reindex(indicators)
        ys = [i + k * height for i in range(len(indicators))]
        ax.barh(ys, part["estimate"].fillna(0.0), height=height, label=_label(ref, language))
    ax.set_yticks([i + 0.4 - height / 2 for i in range(len(indicators))])
    spans = data.groupby("indicator", sort=False).first()
    ax.set_yticklabels([f"{_indicator(ind, language)} {int(spans.loc[ind, 'year_from'])}-"
                        f"{int(spans.loc[ind, 'year_to'])}" for ind in indicators])
    ax.axvline(0, color="black", linewidth=0.8)
    area = _label(result.settings.get("area_name") or result.settings.get("area", ""),
                  language)
    ax.set_xlabel(say("{area} change minus reference change (percentage points; "
                      "plain difference)", language, area=area))
    ax.set_title(say("Population health: difference in change", language))
    ax.legend(fontsize="small", frameon=False)
    return ax
