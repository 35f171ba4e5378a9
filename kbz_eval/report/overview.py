"""The Quadruple Aim overview: one panel per aim with the headline estimate, its
interval and a plain sentence, in the report's language."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from kbz_eval import disclosure
from kbz_eval.report import formatting as fmt
from kbz_eval.results import Result
from kbz_eval.stats.pvalues import format_p


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


def _suppressed(*rows: pd.Series) -> bool:
    """Whether a row the sentence needs was withheld (small cell: estimate or n is NaN)."""
    return any(pd.isna(r["estimate"]) or ("n" in r and pd.isna(r["n"])) for r in rows)


def _withheld(aim: int, lang: str) -> Panel:
    """The panel of an aim whose headline rests on a suppressed small cell."""
    label = disclosure.SUPPRESSED_LABEL[lang]
    if lang == "nl":
        s = ("De uitkomst van dit doel berust op te weinig personen om te publiceren "
             f"({label}).")
    else:
        s = f"This aim's headline rests on too few persons to publish ({label})."
    return Panel(aim, "—", "", s)


def _aim1(r: Result, lang: str) -> Panel | None:
    m1, m3, chg = _row(r, "mean_1"), _row(r, "mean_3"), _row(r, "change_3_vs_1")
    if m1 is None or m3 is None or chg is None:
        return None
    if _suppressed(m1, m3, chg):
        return _withheld(1, lang)
    n = lambda v: fmt.number(v, language=lang, decimals=1)  # noqa: E731
    c = lambda v: fmt.number(v, language=lang)  # noqa: E731
    ci = fmt.interval(chg["ci_lower"], chg["ci_upper"], language=lang, decimals=1)
    if lang == "nl":
        s = (f"Het gemiddelde rapportcijfer van patiënten voor hun eigen gezondheid (CVG) ging "
             f"van {n(m1['estimate'])} bij de eerste naar {n(m3['estimate'])} bij de derde "
             f"meting ({c(m1['n'])} en {c(m3['n'])} patiënten); volgens het gemengde model "
             f"is de verandering {n(chg['estimate'])} punt {ci}. Er is geen "
             "vergelijkingsgroep: dit is een ongecontroleerde voor-en-navergelijking van de "
             "voor KBZ gekozen patiënten, en regressie naar het gemiddelde is niet "
             "uitgesloten.")
    else:
        s = (f"Patients' mean self-rated health mark (CVG) went from {n(m1['estimate'])} at the "
             f"first to {n(m3['estimate'])} at the third measurement ({c(m1['n'])} and "
             f"{c(m3['n'])} patients); the mixed-model change is {n(chg['estimate'])} points "
             f"{ci}. There is no comparison group: this is an uncontrolled before/after "
             "change of the patients selected for KBZ, and regression to the mean is not "
             "excluded.")
    return Panel(1, "+" + n(chg["estimate"]) if chg["estimate"] > 0 else n(chg["estimate"]),
                 ci, s)


def _aim2(r: Result, lang: str) -> Panel | None:
    row = _row(r, "difference_in_change:good_self_rated_health")
    if row is None:
        return None
    if _suppressed(row):
        return _withheld(2, lang)
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


def _level_words(row: pd.Series, r: Result, lang: str) -> str:
    """Which level the interval is at, in the reader's words."""
    n_k, n_c = r.settings.get("n_practices_kbz"), r.settings.get("n_practices_control")
    if str(row.get("inference", "practice")) == "person":
        return ("alleen personen — negeert verschillen tussen praktijken" if lang == "nl"
                else "persons only — ignores variation between practices")
    if n_k is None or n_c is None:
        return "op praktijkniveau" if lang == "nl" else "at practice level"
    if lang == "nl":
        return f"op praktijkniveau: {n_k} KBZ- tegenover {n_c} controlepraktijken"
    return f"at practice level: {n_k} KBZ against {n_c} control practices"


def _p(row: pd.Series, lang: str) -> str:
    return format_p(row["p_value"], decimal="," if lang == "nl" else ".")


def _aim3(r: Result, lang: str) -> Panel | None:
    row, net = _row(r, "saving_per_person"), _row(r, "net_saving")
    if row is None:
        return None
    if _suppressed(row):
        return _withheld(3, lang)
    if net is not None and _suppressed(net):
        net = None
    e = lambda v: fmt.euro(v, language=lang)  # noqa: E731
    ci = fmt.interval(row["ci_lower"], row["ci_upper"], language=lang, kind="euro")
    st = r.settings
    year = st.get("year", "")
    level = _level_words(row, r, lang)
    financing = e(st.get("extra_financing_eur", float("nan")))
    assumed = bool(st.get("extra_financing_is_assumption", False))
    pop = st.get("population", "minima")
    iy = _row(r, "insured_years")
    years_en = years_nl = ""
    if iy is not None and not _suppressed(iy):
        count = fmt.number(iy["estimate"], language=lang)
        years_en = f" over the {count} insured years"
        years_nl = f" over de {count} verzekerdenjaren"
    if net is not None:
        net_ci = fmt.interval(net["ci_lower"], net["ci_upper"], language=lang, kind="euro")
        net_text = f"{e(net['estimate'])} {net_ci}"
    else:
        net_text = "—"
    if lang == "nl":
        who = "minima-verzekerden" if pop == "minima" else "verzekerden"
        s = (f"Besparing per verzekerdenjaar van {who} van de KBZ-praktijken in {year}, "
             f"tegenover de kostenontwikkeling bij de controlepraktijken: "
             f"{e(row['estimate'])} {ci} ({level}; {_p(row, lang)}). Totaal{years_nl}, na "
             f"aftrek van {financing} extra financiering"
             f"{' (een aanname)' if assumed else ''}: {net_text}.")
    else:
        who = "minima-insured persons" if pop == "minima" else "insured persons"
        s = (f"Saving per insured year of {who} at KBZ practices in {year}, against the "
             f"cost trend of the control practices: {e(row['estimate'])} {ci} ({level}; "
             f"{_p(row, lang)}). Total{years_en}, net of {financing} extra financing"
             f"{' (an assumption)' if assumed else ''}: {net_text}.")
    return Panel(3, e(row["estimate"]), ci, s)


def _aim4(r: Result, lang: str) -> Panel | None:
    terms = r.tidy()["term"].tolist()
    # with practices given, lead with the KBZ − control difference at the last wave
    diffs = [(int(m.group(1)), t) for t in terms
             if (m := re.fullmatch(r"job_satisfaction:difference_wave_(\d+):kbz-control", t))]
    if diffs:
        last, term = max(diffs)
        row = _row(r, term)
        if _suppressed(row):
            return _withheld(4, lang)
        v = fmt.number(row["estimate"], language=lang, decimals=2)
        ci = fmt.interval(row["ci_lower"], row["ci_upper"], language=lang, decimals=2)
        level = _level_words(row, r, lang)
        if lang == "nl":
            s = (f"Verandering in werkplezier van professionals van de eerste tot de {last}e "
                 f"meting, KBZ-praktijken min controlepraktijken: {v} punt op een schaal van "
                 f"1 tot 10 {ci} ({level}; {_p(row, lang)}).")
        else:
            s = (f"Change in professionals' job satisfaction from the first to wave {last}, "
                 f"KBZ practices minus control practices: {v} points on a 1–10 scale {ci} "
                 f"({level}; {_p(row, lang)}).")
        return Panel(4, "+" + v if row["estimate"] > 0 else v, ci, s)
    waves = [(int(m.group(1)), t) for t in terms
             if (m := re.fullmatch(r"job_satisfaction:change_wave_(\d+)_vs_1(?::kbz)?", t))]
    if not waves:
        return None
    last, term = max(waves)
    at_kbz = term.endswith(":kbz")
    row = _row(r, term)
    if _suppressed(row):
        return _withheld(4, lang)
    v = fmt.number(row["estimate"], language=lang, decimals=2)
    ci = fmt.interval(row["ci_lower"], row["ci_upper"], language=lang, decimals=2)
    if lang == "nl":
        where = " in KBZ-praktijken" if at_kbz else ""
        s = (f"Het werkplezier van professionals{where} veranderde van de eerste tot de {last}e "
             f"meting met {v} punt op een schaal van 1 tot 10 {ci}. Er is geen "
             "vergelijkingsgroep.")
    else:
        where = " at KBZ practices" if at_kbz else ""
        s = (f"Professionals' job satisfaction{where} changed by {v} points on a 1–10 scale from "
             f"the first to wave {last} {ci}. There is no comparison group.")
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
