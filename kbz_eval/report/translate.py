"""Dutch labels for the report's figures.

The plotting functions label in English. For a Dutch report the pipeline translates the
drawn Axes afterwards: titles, axis labels, legend entries, annotations and text tick
labels, by whole phrases (:data:`PHRASES`) and a few patterns (:data:`PATTERNS`). A
phrase without a translation stays as it is; a test lists what the sample report leaves
untranslated.
"""

from __future__ import annotations

import re
from typing import Any

#: Whole labels and their Dutch translation.
PHRASES: dict[str, str] = {
    "% of adults": "% van de volwassenen",
    "% of consultations that avoided a referral (95% CI)":
        "% consulten waarbij verwijzing werd voorkomen (95%-BI)",
    "% of ratings (left: disagree, right: agree)":
        "% van de beoordelingen (links: oneens, rechts: eens)",
    "95% limits of agreement": "95%-grenzen van overeenstemming",
    "Agreement of patient and GP CVG (Bland–Altman)":
        "Overeenstemming CVG patiënt en huisarts (Bland–Altman)",
    "CVG (1–10)": "CVG (1–10)",
    "Difference-in-differences: group means over time":
        "Verschil in verschillen: groepsgemiddelden in de tijd",
    "EUR per insured year": "EUR per verzekerdejaar",
    "GP mark − patient mark": "cijfer huisarts − cijfer patiënt",
    "KBZ had costs followed the control trend": "KBZ als de kosten de controletrend volgden",
    "KBZ practices": "KBZ-praktijken",
    "KBZ total": "KBZ totaal",
    "Netherlands": "Nederland",
    "Neighbourhood specialists: referrals avoided": "Wijkspecialisten: voorkomen verwijzingen",
    "Population health: difference in change": "Gezondheid: verschil in verandering",
    "Professionals: workload and job satisfaction per wave":
        "Professionals: werkdruk en werkplezier per meting",
    "Ratings of the 4D conversation": "Waardering van het 4D-gesprek",
    "Self-rated health (CVG) per measurement": "Ervaren gezondheid (CVG) per meting",
    "Specialist GGZ cost per insured: change per group and practice":
        "Kosten specialistische GGZ per verzekerde: verandering per groep en praktijk",
    "bias": "systematisch verschil",
    "change in GGZ cost per insured year, 2013→2016 (%)":
        "verandering GGZ-kosten per verzekerdejaar, 2013→2016 (%)",
    "control": "controle",
    "control practices": "controlepraktijken",
    "control total": "controle totaal",
    "donor pool mean": "gemiddelde donorgemeenten",
    "mean (1–10)": "gemiddelde (1–10)",
    "mean (95% CI)": "gemiddelde (95%-BI)",
    "mean cost_per_insured_year": "gemiddelde kosten per verzekerdejaar",
    "mean of patient and GP mark": "gemiddelde van cijfer patiënt en huisarts",
    "measurement": "meting",
    "observed / expected (age band × sex)": "werkelijk / verwacht (leeftijd × geslacht)",
    "other districts of Utrecht": "andere wijken van Utrecht",
    "pairs (size = number)": "paren (grootte = aantal)",
    "poli_dbc_cost per insured year (EUR)": "poliklinische kosten per verzekerdejaar (EUR)",
    "score (% of maximum)": "score (% van het maximum)",
    "synthetic control": "synthetische controle",
    "treated": "behandeld",
    "wave": "meting",
    "year": "jaar",
    "expected (age band × sex)": "verwacht (leeftijd × geslacht)",
    "observed / expected": "werkelijk / verwacht",
    "target": "doel",
    "95% limits": "95%-grenzen",
    "99.8% limits": "99,8%-grenzen",
    "Practices against all practices, all years":
        "Praktijken tegenover alle praktijken, alle jaren",
    "practice (sorted by shrunken O/E)": "praktijk (gesorteerd op gekrompen W/V)",
    "KBZ practices: shrunken O/E": "KBZ-praktijken: gekrompen W/V",
    "control practices: shrunken O/E": "controlepraktijken: gekrompen W/V",
    "KBZ practices: own O/E, interval": "KBZ-praktijken: eigen W/V, interval",
    "control practices: own O/E, interval": "controlepraktijken: eigen W/V, interval",
    "periods since first treatment (event time)": "perioden sinds de start (gebeurtenistijd)",
    "before treatment": "vóór de start",
    "after treatment": "na de start",
    "weight in the TWFE estimate": "gewicht in de TWFE-schatting",
    "treated vs never treated": "gestart tegenover nooit gestart",
    "earlier vs later treated": "eerder tegenover later gestart",
    "later vs earlier treated (forbidden)":
        "later tegenover eerder gestart (verboden vergelijking)",
    "outpatient DBC cost per insured year (EUR)":
        "poliklinische kosten per verzekerdejaar (EUR)",
}

#: Patterns for labels that carry names or numbers.
PATTERNS: tuple[tuple[str, str], ...] = (
    (r"^(.+): synthetic control \(start (\d{4})\)$", r"\1: synthetische controle (start \2)"),
    (r"^Cost per person, KBZ vs control trend \((minima|all)\)$",
     r"Kosten per persoon, KBZ tegenover controletrend (\1)"),
    (r"^Outpatient DBCs, KBZ vs control \((minima|all)\)$",
     r"Poliklinische DBC's, KBZ tegenover controle (\1)"),
    (r"^DBCs per insured year, index \((\d{4}) = 100\)$",
     r"DBC's per verzekerdejaar, index (\1 = 100)"),
    (r"^Cost per insured year, (.+) \((direct|indirect|crude)\); ▲ = KBZ rollout$",
     r"Kosten per verzekerdejaar, \1 (\2); ▲ = start KBZ"),
    (r"^Cost per insured year: (.+) \((direct|indirect|crude)\)$",
     r"Kosten per verzekerdejaar: \1 (\2)"),
    (r"^Risk-adjusted (.+)$", r"Gecorrigeerd voor risico: \1"),
    (r"^Funnel plot: observed / expected (.+) \(age band × sex\) in (\d{4})$",
     r"Trechterdiagram: werkelijk / verwacht \1 (leeftijd × geslacht) in \2"),
    (r"^observed / expected (.+) \(95% intervals\)$",
     r"werkelijk / verwacht \1 (95%-intervallen)"),
    (r"^mean of all practices \(([\d.]+)\)$", r"gemiddelde van alle praktijken (\1)"),
    (r"^Spread of (.+) across practices$", r"Spreiding van \1 tussen praktijken"),
    (r"^(.+) vs (.+) \(95% CI on assumed n\)$", r"\1 tegenover \2 (95%-BI bij aangenomen n)"),
    (r"^(.+) change minus reference change \(percentage points; plain difference\)$",
     r"verandering \1 min verandering referentie (procentpunten; gewoon verschil)"),
    (r"^treatment starts \((\d{4})\)$", r"start behandeling (\1)"),
    (r"^practice \((kbz|control)\)$", r"praktijk (\1)"),
    (r"^(workload|job satisfaction): (kbz|control)$", r"\1: \2"),
    (r"^patient: (.+)$", r"patiënt: \1"),
    (r"^professional: (.+)$", r"professional: \1"),
    (r"^all \(n=(\d+)\)$", r"alle (n=\1)"),
    (r"^(.+): good self rated health$", r"\1: goed ervaren gezondheid"),
    (r"^(.+): exercise norm$", r"\1: beweegnorm"),
    (r"^effect on (.+) \((\d+)% simultaneous band\)$", r"effect op \1 (\2%-simultane band)"),
    (r"^effect on (.+) \((\d+)% pointwise band\)$", r"effect op \1 (\2%-puntsgewijze band)"),
    (r"^2x2 DiD estimate on (.+)$", r"2×2-DiD-schatting van \1"),
    (r"^TWFE estimate (\S+)$", r"TWFE-schatting \1"),
)
_COMPILED = tuple((re.compile(p), r) for p, r in PATTERNS)
#: Labels that read the same in both languages (amounts, ids).
_SAME = re.compile(r"^\s*(EUR|€)\s*[\d.,\s]+$|^[^A-Za-z]*$|^OV\d+$")
_WORDS = {"workload": "werkdruk", "job satisfaction": "werkplezier", "kbz": "KBZ",
          "control": "controle"}


def translate(text: str) -> str:
    """The Dutch label for ``text`` (unchanged when none is known)."""
    if text in PHRASES:
        return PHRASES[text]
    for pattern, repl in _COMPILED:
        if pattern.match(text):
            out = pattern.sub(repl, text)
            for en, nl in PHRASES.items():  # a known phrase inside, e.g. the outcome
                if len(en) > 12 and en in out:
                    out = out.replace(en, nl)
            for en, nl in _WORDS.items():
                out = re.sub(rf"\b{en}\b", nl, out)
            return out
    return text


def _labels(ax: Any) -> list[Any]:
    items = [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label]
    legend = ax.get_legend()
    if legend is not None:
        items += list(legend.get_texts())
    items += list(ax.texts)
    return items


def translate_figure(fig: Any, language: str) -> list[str]:
    """Translate every label of ``fig`` in place; returns the labels left in English."""
    if language != "nl":
        return []
    left = []
    for ax in fig.axes:
        for item in _labels(ax):
            text = item.get_text()
            if text:
                new = translate(text)
                item.set_text(new)
                if new == text and text not in PHRASES and not _SAME.match(text):
                    left.append(text)
        for get, setter in ((ax.get_xticklabels, ax.set_xticklabels),
                            (ax.get_yticklabels, ax.set_yticklabels)):
            labels = get()
            texts = [t.get_text() for t in labels]
            if any(re.search(r"[A-Za-z]", t) for t in texts):
                ticks = ax.get_xticks() if setter == ax.set_xticklabels else ax.get_yticks()
                (ax.set_xticks if setter == ax.set_xticklabels else ax.set_yticks)(ticks)
                setter([translate(t) for t in texts])
    return left
