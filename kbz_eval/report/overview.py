"""The Quadruple Aim overview: one panel per aim with the headline estimate, its
interval and a plain sentence, in the report's language."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from kbz_eval.report import formatting as fmt
from kbz_eval.results import Result


@dataclass(frozen=True)
class Panel:
    """One aim's panel: the headline value, its interval and a sentence."""

    aim: int
    value: str
    interval: str
    sentence: str


def _row(result: Result, term: str) -> pd.Series | None:
    t = result.tidy()
    hit = t[t["term"] == term]
    return None if hit.empty else hit.iloc[0]


def _aim1(r: Result, lang: str) -> Panel | None:
    m1, m3, chg = _row(r, "mean_1"), _row(r, "mean_3"), _row(r, "change_3_vs_1")
    if m1 is None or m3 is None or chg is None:
        return None
    n = lambda v: fmt.number(v, language=lang, decimals=1)  # noqa: E731
    ci = fmt.interval(chg["ci_lower"], chg["ci_upper"], language=lang, decimals=1)
    if lang == "nl":
        s = (f"Het gemiddelde rapportcijfer van patiënten voor hun eigen gezondheid (CVG) ging "
             f"van {n(m1['estimate'])} bij de eerste naar {n(m3['estimate'])} bij de derde "
             f"meting ({int(m1['n'])} en {int(m3['n'])} patiënten); volgens het gemengde model "
             f"is de verandering {n(chg['estimate'])} punt {ci}.")
    else:
        s = (f"Patients' mean self-rated health mark (CVG) went from {n(m1['estimate'])} at the "
             f"first to {n(m3['estimate'])} at the third measurement ({int(m1['n'])} and "
             f"{int(m3['n'])} patients); the mixed-model change is {n(chg['estimate'])} points "
             f"{ci}.")
    return Panel(1, "+" + n(chg["estimate"]) if chg["estimate"] > 0 else n(chg["estimate"]),
                 ci, s)


def _aim2(r: Result, lang: str) -> Panel | None:
    row = _row(r, "difference_in_change:good_self_rated_health")
    if row is None:
        return None
    area, ref = r.settings.get("area", "the area"), r.settings.get("reference", "the reference")
    pp = fmt.number(row["estimate"], language=lang, decimals=1)
    size = fmt.number(abs(row["estimate"]), language=lang, decimals=1)
    ci = fmt.interval(row["ci_lower"], row["ci_upper"], language=lang, decimals=1)
    if lang == "nl":
        verb = "daalde" if row["estimate"] < 0 else "steeg"
        s = (f"Het aandeel inwoners met een goed ervaren gezondheid {verb} in {area} {size} "
             f"procentpunt meer dan in {ref}; verschil in verandering {pp} {ci}.")
    else:
        verb = "fell" if row["estimate"] < 0 else "rose"
        s = (f"The share of residents in good self-rated health {verb} {size} percentage "
             f"points more in {area} than in {ref}; difference in change {pp} {ci}.")
    t = r.tidy()
    if "n_is_assumed" in t.columns and t["n_is_assumed"].fillna(False).astype(bool).any():
        s += (" De intervallen rusten op een aangenomen aantal respondenten."
              if lang == "nl" else
              " The intervals rest on an assumed number of respondents.")
    return Panel(2, f"{pp} pp" if lang == "en" else f"{pp} %-punt", ci, s)


def _aim3(r: Result, lang: str) -> Panel | None:
    row, net = _row(r, "saving_per_person"), _row(r, "net_saving")
    if row is None:
        return None
    e = lambda v: fmt.euro(v, language=lang)  # noqa: E731
    ci = fmt.interval(row["ci_lower"], row["ci_upper"], language=lang, kind="euro")
    year = r.settings.get("year", "")
    n = fmt.number(row["n"], language=lang)
    net_text = e(net["estimate"]) if net is not None else "—"
    if lang == "nl":
        s = (f"Als de poliklinische kosten van de {n} minima-verzekerden van de KBZ-praktijken "
             f"net zo waren gestegen als bij de controlepraktijken, was er in {year} "
             f"{e(row['estimate'])} per persoon meer uitgegeven {ci}; na aftrek van de extra "
             f"financiering is de besparing {net_text}.")
    else:
        s = (f"Had outpatient DBC costs of the {n} minima insured at KBZ practices grown like "
             f"the control practices', {year} would have cost {e(row['estimate'])} more per "
             f"person {ci}; net of the extra financing the saving is {net_text}.")
    return Panel(3, e(row["estimate"]), ci, s)


def _aim4(r: Result, lang: str) -> Panel | None:
    terms = r.tidy()["term"].tolist()
    # with practices given, changes are per group (``...:kbz``); lead with KBZ practices
    waves = [(int(m.group(1)), t) for t in terms
             if (m := re.fullmatch(r"job_satisfaction:change_wave_(\d+)_vs_1(?::kbz)?", t))]
    if not waves:
        return None
    last, term = max(waves)
    where = {"en": " at KBZ practices", "nl": " in KBZ-praktijken"}[lang] if term.endswith(
        ":kbz") else ""
    row = _row(r, term)
    v = fmt.number(row["estimate"], language=lang, decimals=2)
    ci = fmt.interval(row["ci_lower"], row["ci_upper"], language=lang, decimals=2)
    if lang == "nl":
        s = (f"Het werkplezier van professionals{where} veranderde van de eerste tot de {last}e "
             f"meting met {v} punt op een schaal van 1 tot 10 {ci}.")
    else:
        s = (f"Professionals' job satisfaction{where} changed by {v} points on a 1–10 scale from "
             f"the first to wave {last} {ci}.")
    return Panel(4, "+" + v if row["estimate"] > 0 else v, ci, s)


#: Aim -> (analysis key that leads it, panel builder).
LEADS = {1: ("cvg_trajectory", _aim1), 2: ("population_health", _aim2),
         3: ("savings_minima", _aim3), 4: ("workforce_change", _aim4)}


def overview(results: dict[str, Result], language: str) -> list[Panel]:
    """A panel for every aim whose lead analysis ran."""
    panels = []
    for key, build in LEADS.values():
        if key in results and (panel := build(results[key], language)) is not None:
            panels.append(panel)
    return panels
