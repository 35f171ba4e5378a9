"""A page per practice: how one practice compares with the others.

Practice managers are one of the report's three kinds of users. Their page answers:
is my practice different from what is expected, or just small (a funnel plot); how
did it move over the years, and was a change more than the usual year-to-year
variation (trends with control limits against the KBZ and control peers); where does
it rank, honestly (a caterpillar with shrunken estimates and rank intervals); how does
it prescribe (the IVM score against the spread of all practices). In plain sentences
too.

The practice results are computed **once**, for all practices together
(:func:`compute_practice_results`): every practice's page draws from the same results,
so the pages agree with each other. They pass the report's small-cell suppression
before anything is drawn or written — the same declarations
(:mod:`kbz_eval.report.cells`) and the same machinery
(:func:`kbz_eval.report.pipeline._suppressed_result`) as every section of
``report.html`` — so a page never shows a cell resting on fewer than the threshold;
when the practice's own cells are suppressed the page says so instead of showing
numbers. A page names only its own practice; the other practices are drawn without
names unless ``[practice_pages] label_others = true``.

Files: ``practices/<practice id>.html`` (self-contained: figures embedded as PNG) and
``practices/index.html`` (:func:`write_practice_pages`). Same inputs give
byte-identical pages (fixed seeds, no dates, figures without metadata).
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kbz_eval import disclosure
from kbz_eval.disclosure import Cells
from kbz_eval.errors import DataValidationError, SpecificationError
from kbz_eval.plotting.words import say
from kbz_eval.report import formatting as fmt
from kbz_eval.report import html as html_report
from kbz_eval.report.config import ENGINE_TABLES, ReportConfig
from kbz_eval.report.messages import localise
from kbz_eval.results import Result

#: Folder of the pages inside the report folder.
FOLDER = "practices"
#: The index of the pages, inside :data:`FOLDER`.
INDEX_FILE = "index.html"
#: Funnel plot: observed / expected count of outpatient DBCs, last year, all practices.
FUNNEL_OUTCOME = "poli_dbc_count"
#: Ranking: observed / expected outpatient DBC cost, last year.
RANKING_OUTCOME = "poli_dbc_cost"
#: Trends with control limits, per insured year (those present in the panel).
TREND_INDICATORS = ("poli_dbc_cost", "ggz_cost", "total_cost")
#: The practice indicator shown against the spread of all practices.
IVM_INDICATOR = "ivm"
#: Resolution of the page figures (screen, not print: the pages are read on screen).
PAGE_DPI = 100
#: Width of the page figures, inches (at :data:`PAGE_DPI`: 580 pixels, drawn small to
#: keep a report of hundreds of pages fast).
FIGURE_WIDTH = 5.8
#: Disclosure declaration of a page's own IVM scores: a practice's score rests on its
#: insured persons that year (the IVM extract counts none, so the panel's persons of the
#: practice are the count; a year without panel persons counts 0 and is withheld).
OWN_INDICATOR_CELLS = Cells(counts=("n_persons",), keys=("practice", "year"))
#: The curves of a funnel plot.
_CURVES = ("target", "lower_95", "upper_95", "lower_998", "upper_998")
#: Parts of a page, in page order.
PARTS = ("funnel", "trends", "ranking", "ivm")
#: The inputs the pages read (a page of one practice reads no other input).
PAGE_INPUTS = ("practices", "person_years", *ENGINE_TABLES, "practice_indicators")


# =========================================================================== words
_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "heading": "Practice {p}: compared with the other practices",
        "index_heading": "Pages per practice",
        "index_intro": "One page per practice: its position in the funnel plot, its "
        "trends with control limits against the KBZ and control peers, its place in the "
        "ranking and its IVM prescribing score against all practices. Each page names "
        "only its own practice.",
        "index_intro_labelled": "One page per practice: its position in the funnel plot, "
        "its trends with control limits against the KBZ and control peers, its place in "
        "the ranking and its IVM prescribing score against all practices. The other "
        "practices are named on every page ([practice_pages] label_others = true).",
        "group": "group", "page": "page", "kbz": "KBZ", "control": "control",
        "all_pages": "All practice pages", "report": "The whole report",
        "intro": "How practice {p} ({g}) compares with the {n} practices of the "
        "evaluation — KBZ and control practices — on the hospital and specialist mental "
        "health care of its insured persons. Expected values are adjusted for age and sex "
        "where the text says so. The other practices are drawn without their names.",
        "intro_labelled": "How practice {p} ({g}) compares with the {n} practices of the "
        "evaluation — KBZ and control practices — on the hospital and specialist mental "
        "health care of its insured persons. Expected values are adjusted for age and sex "
        "where the text says so.",
        "funnel_title": "1. Outpatient DBCs: observed against expected, {y}",
        "trends_title": "2. Costs per insured year: trends with control limits",
        "ranking_title": "3. Ranking on outpatient DBC cost, {y}",
        "ivm_title": "4. Prescribing efficiency (IVM)",
        "figure_data": "Data behind the figure",
        "method": "Method and assumptions",
        "withheld": "Withheld for practice {p}: it would rest on fewer than {n} persons "
        "({label}).",
        "no_data": "Practice {p} has no insured persons in the claims panel for this part.",
        "not_computed": "Not computed for this report: {why}",
        "no_ivm": "No IVM scores in the inputs (practice_indicators).",
        "funnel_facts": "In {y}, {obs} outpatient DBCs were observed among the {n} insured "
        "persons of practice {p}, against {exp} expected from their age and sex at the "
        "rates of all practices: observed / expected (O/E) {oe}.",
        "inside95": "Your O/E {oe} lies inside the 95% limits ({lo}–{hi}): as expected, "
        "allowing for chance and the size of the practice.",
        "above95": "Your O/E {oe} lies above the 95% limits ({lo}–{hi}) but inside the "
        "99.8% limits: possibly more than expected; watch the next year before "
        "concluding.",
        "below95": "Your O/E {oe} lies below the 95% limits ({lo}–{hi}) but inside the "
        "99.8% limits: possibly fewer than expected; watch the next year before "
        "concluding.",
        "above998": "Your O/E {oe} lies above the 99.8% limits ({lo}–{hi}): more "
        "outpatient DBCs than expected, unlikely to be chance alone.",
        "below998": "Your O/E {oe} lies below the 99.8% limits ({lo}–{hi}): fewer "
        "outpatient DBCs than expected, unlikely to be chance alone.",
        "widened": "The limits are widened because practices differ more than chance "
        "alone explains (overdispersion).",
        "trend_last": "{name}: {v} per insured year in {y}",
        "peers": "KBZ peers {k}, control peers {c}",
        "peer_kbz": "KBZ peers {k}", "peer_control": "control peers {c}",
        "limits": "control limits {since}{lo} to {hi} around {centre}",
        "since": "since {y}: ",
        "common": "no special cause: the year-to-year changes are within the practice's "
        "usual variation",
        "special": "special cause: {what}",
        "years_withheld": "{years} withheld ({label})",
        "trend_note": "A chart describes the practice's own variation over the years "
        "(five yearly points give provisional limits); the peers' lines are for "
        "comparison and are not tested.",
        "ranking": "Rank {r} of {k} (rank 1 = lowest cost relative to expected), 95% "
        "interval of the rank {lo}–{hi}. Shrunken O/E {s} ({slo}–{shi}); the practice's "
        "own O/E {e} ({elo}–{ehi}), adjusted for age and sex.",
        "rank_wide": "The rank interval is wide: the data cannot place the practice "
        "reliably among the others, so read the rank as a range, not as a league "
        "position.",
        "rank_narrow": "The rank interval is narrow enough to place the practice among "
        "the others.",
        "ivm_own": "IVM score {y}: {v}",
        "ivm_peers": "{n} practices: median {med}, range {lo}–{hi}",
        "ivm_peers_withheld": "the spread of all practices is withheld ({label})",
        "funnel_alt": "Funnel plot: practice {p} among all practices",
        "trends_alt": "Trends with control limits of practice {p}",
        "ranking_alt": "Ranking: practice {p} among all practices",
        "ivm_alt": "IVM score of practice {p} against all practices",
        "suppression": "Cells resting on fewer than {n} persons are not shown and read "
        "'too few observations'; when one practice's cells are hidden, those of another "
        "practice of the same group are hidden too, so that they cannot be worked out "
        "from totals.",
        "practice_label": "practice",
    },
    "nl": {
        "heading": "Praktijk {p}: vergeleken met de andere praktijken",
        "index_heading": "Pagina's per praktijk",
        "index_intro": "Eén pagina per praktijk: de plaats in de trechtergrafiek, de "
        "trends met controlegrenzen tegenover de KBZ- en controlepraktijken, de plaats in "
        "de rangorde en de IVM-score tegenover alle praktijken. Elke pagina noemt alleen "
        "de eigen praktijk.",
        "index_intro_labelled": "Eén pagina per praktijk: de plaats in de "
        "trechtergrafiek, de trends met controlegrenzen tegenover de KBZ- en "
        "controlepraktijken, de plaats in de rangorde en de IVM-score tegenover alle "
        "praktijken. De andere praktijken worden op elke pagina genoemd "
        "([practice_pages] label_others = true).",
        "group": "groep", "page": "pagina", "kbz": "KBZ", "control": "controle",
        "all_pages": "Alle praktijkpagina's", "report": "Het hele rapport",
        "intro": "Hoe praktijk {p} ({g}) zich verhoudt tot de {n} praktijken van de "
        "evaluatie — KBZ- en controlepraktijken — in de ziekenhuiszorg en specialistische "
        "GGZ van haar verzekerden. Verwachte waarden zijn gecorrigeerd voor leeftijd en "
        "geslacht waar de tekst dat zegt. De andere praktijken staan zonder naam in de "
        "figuren.",
        "intro_labelled": "Hoe praktijk {p} ({g}) zich verhoudt tot de {n} praktijken van "
        "de evaluatie — KBZ- en controlepraktijken — in de ziekenhuiszorg en "
        "specialistische GGZ van haar verzekerden. Verwachte waarden zijn gecorrigeerd "
        "voor leeftijd en geslacht waar de tekst dat zegt.",
        "funnel_title": "1. Poliklinische DBC's: werkelijk tegenover verwacht, {y}",
        "trends_title": "2. Kosten per verzekerdejaar: trends met controlegrenzen",
        "ranking_title": "3. Rangorde op poliklinische kosten, {y}",
        "ivm_title": "4. Doelmatig voorschrijven (IVM)",
        "figure_data": "Gegevens achter de figuur",
        "method": "Methode en aannames",
        "withheld": "Niet getoond voor praktijk {p}: dit zou rusten op minder dan {n} "
        "personen ({label}).",
        "no_data": "Praktijk {p} heeft voor dit onderdeel geen verzekerden in de "
        "declaratiegegevens.",
        "not_computed": "Niet berekend voor dit rapport: {why}",
        "no_ivm": "Geen IVM-scores in de invoer (practice_indicators).",
        "funnel_facts": "In {y} zijn bij de {n} verzekerden van praktijk {p} {obs} "
        "poliklinische DBC's waargenomen, tegenover {exp} verwacht op grond van hun "
        "leeftijd en geslacht bij de cijfers van alle praktijken: werkelijk / verwacht "
        "(W/V) {oe}.",
        "inside95": "Uw W/V {oe} ligt binnen de 95%-grenzen ({lo}–{hi}): zoals verwacht, "
        "rekening houdend met toeval en de grootte van de praktijk.",
        "above95": "Uw W/V {oe} ligt boven de 95%-grenzen ({lo}–{hi}) maar binnen de "
        "99,8%-grenzen: mogelijk meer dan verwacht; kijk eerst naar het volgende jaar.",
        "below95": "Uw W/V {oe} ligt onder de 95%-grenzen ({lo}–{hi}) maar binnen de "
        "99,8%-grenzen: mogelijk minder dan verwacht; kijk eerst naar het volgende jaar.",
        "above998": "Uw W/V {oe} ligt boven de 99,8%-grenzen ({lo}–{hi}): meer "
        "poliklinische DBC's dan verwacht, waarschijnlijk niet alleen door toeval.",
        "below998": "Uw W/V {oe} ligt onder de 99,8%-grenzen ({lo}–{hi}): minder "
        "poliklinische DBC's dan verwacht, waarschijnlijk niet alleen door toeval.",
        "widened": "De grenzen zijn verbreed omdat praktijken meer verschillen dan toeval "
        "alleen verklaart (overdispersie).",
        "trend_last": "{name}: {v} per verzekerdejaar in {y}",
        "peers": "KBZ-praktijken {k}, controlepraktijken {c}",
        "peer_kbz": "KBZ-praktijken {k}", "peer_control": "controlepraktijken {c}",
        "limits": "controlegrenzen {since}{lo} tot {hi} rond {centre}",
        "since": "vanaf {y}: ",
        "common": "geen bijzondere oorzaak: de veranderingen van jaar tot jaar vallen "
        "binnen de gewone variatie van de praktijk",
        "special": "bijzondere oorzaak: {what}",
        "years_withheld": "{years} niet getoond ({label})",
        "trend_note": "Een grafiek beschrijft de eigen variatie van de praktijk over de "
        "jaren (vijf jaarcijfers geven voorlopige grenzen); de lijnen van de andere "
        "praktijken zijn ter vergelijking en worden niet getoetst.",
        "ranking": "Plaats {r} van {k} (plaats 1 = laagste kosten ten opzichte van "
        "verwacht), 95%-interval van de plaats {lo}–{hi}. Gekrompen W/V {s} "
        "({slo}–{shi}); eigen W/V van de praktijk {e} ({elo}–{ehi}), gecorrigeerd voor "
        "leeftijd en geslacht.",
        "rank_wide": "Het interval van de plaats is breed: de gegevens kunnen de praktijk "
        "niet betrouwbaar rangschikken tussen de andere; lees de plaats als een bereik, "
        "niet als een positie in een ranglijst.",
        "rank_narrow": "Het interval van de plaats is smal genoeg om de praktijk tussen "
        "de andere te plaatsen.",
        "ivm_own": "IVM-score {y}: {v}",
        "ivm_peers": "{n} praktijken: mediaan {med}, bereik {lo}–{hi}",
        "ivm_peers_withheld": "de spreiding van alle praktijken wordt niet getoond "
        "({label})",
        "funnel_alt": "Trechtergrafiek: praktijk {p} tussen alle praktijken",
        "trends_alt": "Trends met controlegrenzen van praktijk {p}",
        "ranking_alt": "Rangorde: praktijk {p} tussen alle praktijken",
        "ivm_alt": "IVM-score van praktijk {p} tegenover alle praktijken",
        "suppression": "Cellen die op minder dan {n} personen rusten worden niet getoond "
        "en lezen 'onvoldoende waarnemingen'; als de cellen van één praktijk verborgen "
        "zijn, worden die van een andere praktijk uit dezelfde groep ook verborgen, zodat "
        "ze niet uit totalen zijn af te leiden.",
        "practice_label": "praktijk",
    },
}


def _indicator_name(indicator: str, language: str) -> str:
    """A cost indicator's name, as the title of its chart and in the sentences."""
    names = {"poli_dbc_cost": say("Outpatient hospital care (DBC) cost", language),
             "ggz_cost": say("Specialist mental health care (GGZ) cost", language),
             "total_cost": say("Total cost", language)}
    return names.get(indicator, indicator)


#: Special-cause rules in words.
_RULE_WORDS = {
    "en": {("outside_limits", "high"): "above the upper limit",
           ("outside_limits", "low"): "below the lower limit",
           ("run", "high"): "in a run above the centre line",
           ("run", "low"): "in a run below the centre line",
           ("trend", "high"): "in a rising trend",
           ("trend", "low"): "in a falling trend",
           ("two_of_three", "high"): "two of three near the upper limit",
           ("two_of_three", "low"): "two of three near the lower limit"},
    "nl": {("outside_limits", "high"): "boven de bovengrens",
           ("outside_limits", "low"): "onder de ondergrens",
           ("run", "high"): "in een reeks boven de middellijn",
           ("run", "low"): "in een reeks onder de middellijn",
           ("trend", "high"): "in een stijgende trend",
           ("trend", "low"): "in een dalende trend",
           ("two_of_three", "high"): "twee van drie dicht bij de bovengrens",
           ("two_of_three", "low"): "twee van drie dicht bij de ondergrens"},
}
_VERDICT = {
    "en": {"special_cause_improvement": "improvement", "special_cause_concern": "concern"},
    "nl": {"special_cause_improvement": "verbetering", "special_cause_concern": "zorgpunt"},
}


# =========================================================================== inputs
#: The panel selection (:attr:`kbz_eval.report.analyses.Analysis.selection`) of the
#: pages' trends: every insured person, every year (:func:`compute_practice_results`).
PAGES_SELECTION = "all"


def pages_possible(inputs: Iterable[str]) -> bool:
    """Whether inputs of these table names give practice pages: the claims panel
    (``person_years``, or claim lines with insured periods) and ``practices``."""
    names = set(inputs)
    panel = "person_years" in names or all(t in names for t in ENGINE_TABLES)
    return panel and "practices" in names


def check_practice(practice: Any, practices: pd.DataFrame) -> str:
    """``practice`` as a known practice id, else a :class:`SpecificationError` listing
    the known ids."""
    known = sorted(practices["practice_id"].astype(str).unique().tolist())
    if not isinstance(practice, str) or practice not in known:
        raise SpecificationError(
            f"The value for `practice` must be a practice id of the practices table, one "
            f"of {known}, but {practice!r} was passed.")
    return practice


def page_filenames(practice_ids: Iterable[str]) -> dict[str, str]:
    """The file name of each practice's page: the id where it is a safe file name
    (letters, digits, ``-`` and ``_``), else a cleaned id with a short hash of the id,
    so that different ids never share a file (also on case-insensitive file systems)
    and ``index.html`` is never taken."""
    out: dict[str, str] = {}
    taken = {INDEX_FILE.removesuffix(".html")}
    for pid in sorted({str(p) for p in practice_ids}):
        safe = re.sub(r"[^A-Za-z0-9_-]+", "_", pid).strip("_")[:80] or "practice"
        if safe != pid or safe.lower() in taken:
            safe = f"{safe}-{hashlib.sha256(pid.encode('utf-8')).hexdigest()[:10]}"
        taken.add(safe.lower())
        out[pid] = f"{safe}.html"
    return out


# =========================================================================== results
@dataclass
class PracticeResults:
    """The practice results behind every page, computed once and small-cell suppressed.

    Every result is the suppressed copy made by
    :func:`kbz_eval.report.pipeline._suppressed_result` (small cells missing, its
    ``plot_data`` suppressed); nothing here holds an unsuppressed cell.

    Attributes
    ----------
    practices
        ``practice_id, group`` of every practice of the practices table, sorted.
    year
        The year of the funnel plot and the ranking (the last analysed year).
    funnel, trends, ranking, ivm
        Suppressed results, or ``None`` when not computed (see ``problems``).
    own_ivm
        ``practice, year, score_percent`` per practice and year (``NaN`` where
        withheld), or ``None``.
    indicators
        The trend indicators charted.
    problems
        Part -> why it was not computed.
    threshold, language, label_others
        From the configuration.
    """

    practices: pd.DataFrame
    year: int | None
    funnel: Result | None = None
    trends: Result | None = None
    ranking: Result | None = None
    ivm: Result | None = None
    own_ivm: pd.DataFrame | None = None
    indicators: list[str] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)
    threshold: int = disclosure.DEFAULT_THRESHOLD
    language: str = "en"
    label_others: bool = False

    @property
    def n_practices(self) -> int:
        return len(self.practices)

    def group_of(self, practice: str) -> str:
        g = self.practices.loc[self.practices["practice_id"] == practice, "group"]
        return str(g.iloc[0]) if len(g) else ""


def _years(panel: pd.DataFrame, cfg: ReportConfig) -> list[int]:
    """The analysed years: the panel's years within ``[analysis] years``."""
    present = sorted(int(y) for y in pd.unique(panel["year"]))
    span = cfg.analysis.get("years")
    if span:
        present = [y for y in present if span[0] <= y <= span[1]]
    return present


def _attempt(name: str, problems: dict[str, str], run: Callable[[], Result]
             ) -> Result | None:
    """``run()``, or ``None`` with the reason recorded when the data do not allow it."""
    try:
        with warnings.catch_warnings():
            # the estimators' warnings describe all practices (and may name them); the
            # pages state their own limits instead
            warnings.simplefilter("ignore")
            return run()
    except (SpecificationError, DataValidationError, ValueError) as exc:
        problems[name] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None


def _suppress(name: str, result: Result | None, cfg: ReportConfig,
              problems: dict[str, str]) -> Result | None:
    """The small-cell-suppressed copy of ``result`` (the report's own machinery)."""
    from kbz_eval.report.cells import declarations
    from kbz_eval.report.pipeline import _suppressed_result

    if result is None:
        return None
    specs = declarations(result)
    if "plot_data" not in specs:
        problems[name] = (f"{type(result).__name__} has no disclosure declaration "
                          "(kbz_eval.report.cells), so nothing of it is published.")
        return None
    drawn, _published, _plot, _notes = _suppressed_result(result, cfg)
    return drawn


def _trend_plot_data(result: Result, drawn: Result, cfg: ReportConfig) -> None:
    """Give ``drawn`` a ``plot_data(practice=, indicator=)`` that serves the suppressed
    figure data of every practice and indicator, protected in one pass together with
    the result's tables (as :func:`kbz_eval.report.pipeline._suppressed_result` does
    for one view at a time)."""
    from kbz_eval.report.cells import declarations
    from kbz_eval.report.pipeline import _protected

    s = result.settings
    views = [result.plot_data(practice=p, indicator=ind)
             for p in s["practices"] for ind in s["indicators"]]
    combined = pd.concat(views, ignore_index=True)
    frames = {"tidy": result.tidy(), **result.tables, "plot_data": combined}
    kept, masks, _ = _protected(result, frames, cfg)
    spec = declarations(result)["plot_data"]
    hidden = disclosure.apply_mask(kept["plot_data"], masks["plot_data"], spec)
    drawn.plot_data = _TrendViews(  # type: ignore[method-assign]
        hidden, s["practices"][0], s["indicators"][0])


class _TrendViews:
    """``plot_data(practice=, indicator=)`` of the suppressed trends: one view of the
    figure data protected in one pass. An object rather than a closure, so the practice
    results can be pickled (the pages are built in worker processes)."""

    def __init__(self, hidden: pd.DataFrame, practice: str, indicator: str) -> None:
        self.hidden, self.practice, self.indicator = hidden, practice, indicator

    def __call__(self, practice: str | None = None, indicator: str | None = None
                 ) -> pd.DataFrame:
        practice = self.practice if practice is None else practice
        indicator = self.indicator if indicator is None else indicator
        at = (self.hidden["practice"] == practice) & (self.hidden["indicator"] == indicator)
        return self.hidden.loc[at].reset_index(drop=True)


def _grouped_persons(panel: pd.DataFrame) -> pd.DataFrame:
    """:func:`practice_year_persons` by ``groupby(...).nunique()`` (any panel)."""
    return (panel.groupby([panel["practice_id"].astype(str).rename("practice"),
                           panel["year"].astype("int64")], sort=True)["person_id"]
            .nunique().rename("n_persons").reset_index())


def _value_codes(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer code of every row (``-1``: missing) and the values the codes stand for;
    a categorical column gives its own codes, without a pass over the rows."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy(), column.cat.categories
    codes, uniques = pd.factorize(column)
    return codes, pd.Index(uniques)


def _one_row_per_person_year(person: np.ndarray, year: np.ndarray) -> bool:
    """Whether the rows run person by person (equal codes together, in ascending code)
    with the years of each person strictly increasing: then no person-year repeats."""
    if person.size < 2:
        return True
    if (person[1:] < person[:-1]).any():
        return False
    same = person[1:] == person[:-1]
    return not (same & (year[1:] <= year[:-1])).any()


def practice_year_persons(panel: pd.DataFrame) -> pd.DataFrame:
    """Distinct persons per practice and year of the panel: ``practice`` (text),
    ``year``, ``n_persons``, sorted by practice and year.

    The frame ``groupby([practice_id as text, year])["person_id"].nunique()`` gives.
    On a panel of one row per person-year, in person order (as
    :func:`kbz_eval.report.engine_inputs.read_panel` gives it), the distinct persons are
    the rows, counted per year on the practice codes; any other panel (unsorted, with
    missing values or repeated person-years) is grouped as written.
    """
    year = panel["year"]
    if not pd.api.types.is_integer_dtype(year.dtype) or not len(panel):
        return _grouped_persons(panel)
    practice, ids = _value_codes(panel["practice_id"])
    person, _ = _value_codes(panel["person_id"])
    texts = ids.astype(str)
    y = year.to_numpy()
    if ((practice < 0).any() or (person < 0).any() or not texts.is_unique
            or not _one_row_per_person_year(person, y)):
        return _grouped_persons(panel)
    first, last = int(y.min()), int(y.max())
    counts = np.zeros((len(ids), last - first + 1), dtype=np.int64)
    for j in range(counts.shape[1]):
        counts[:, j] = np.bincount(practice[y == first + j], minlength=len(ids))
    by_text = np.argsort(np.asarray(texts, dtype=object), kind="stable")
    code, j = np.nonzero(counts[by_text])
    return pd.DataFrame({
        "practice": pd.Series(np.asarray(texts, dtype=object)[by_text][code]).astype(str),
        "year": (j + first).astype(np.int64),
        "n_persons": counts[by_text][code, j]})


def _own_indicator(tables: Mapping[str, pd.DataFrame], persons: pd.DataFrame,
                   cfg: ReportConfig) -> pd.DataFrame | None:
    """Each practice's IVM score per year, withheld where the practice had fewer than
    the threshold of insured persons that year (:data:`OWN_INDICATOR_CELLS`)."""
    pi = tables.get("practice_indicators")
    if pi is None:
        return None
    own = pi[pi["indicator"].astype(str) == IVM_INDICATOR]
    own = own.dropna(subset=["score_percent"])
    if own.empty:
        return None
    frame = pd.DataFrame({
        "practice": own["practice_id"].astype(str).to_numpy(),
        "year": own["year"].astype("int64").to_numpy(),
        "score_percent": own["score_percent"].astype(float).to_numpy()})
    frame = frame.merge(persons, on=["practice", "year"], how="left")
    # a year without persons in the panel rests on no known count: withheld
    frame["n_persons"] = frame["n_persons"].fillna(0).astype("int64")
    frame = frame.sort_values(["practice", "year"], kind="stable", ignore_index=True)
    mask = disclosure.protect({"own": frame}, {"own": OWN_INDICATOR_CELLS},
                              threshold=cfg.suppression_threshold)["own"]
    hidden = disclosure.apply_mask(frame, mask, OWN_INDICATOR_CELLS)
    return hidden[["practice", "year", "score_percent"]]


def _report_analysis(key: str, part: str, tables: Mapping[str, pd.DataFrame],
                     cfg: ReportConfig, computed: Mapping[str, Result],
                     problems: dict[str, str], fallback: Callable[[], Result]
                     ) -> Result | None:
    """The report's own (suppressed) result of analysis ``key`` when the report computed
    it, else that analysis run now as the report runs it (``fallback`` when the report
    has no such analysis), suppressed."""
    if key in computed:
        return computed[key]
    from kbz_eval.report.analyses import ANALYSES

    spec = next((a for a in ANALYSES if a.key == key), None)
    run = fallback if spec is None else (lambda: spec.run(dict(tables), cfg))
    return _suppress(part, _attempt(part, problems, run), cfg, problems)


def compute_practice_results(tables: Mapping[str, pd.DataFrame], cfg: ReportConfig, *,
                             computed: Mapping[str, Result] | None = None
                             ) -> PracticeResults:
    """Compute the practice results once, for all practices, and suppress them.

    Parameters
    ----------
    tables
        The report's tables: ``person_years`` (the claims panel), ``practices`` and,
        when configured, ``practice_indicators``. Not modified.
    cfg
        The report configuration (years, seed, threshold, language, label_others).
    computed
        The report's suppressed results by analysis key: the funnel
        (``practice_funnel``) and the ranking (``practice_ranking``) of ``report.html``
        are reused, not computed again, so the pages and the report agree.

    Returns
    -------
    PracticeResults
        The suppressed results behind every page.

    Notes
    -----
    * Funnel (as the report's section ``practice_funnel``): observed / expected count
      of outpatient DBCs per practice in the last panel year, expected from age band ×
      sex at the rates of all practices (indirect standardisation), additive
      overdispersion (:func:`kbz_eval.funnel`).
    * Ranking (as the report's section ``practice_ranking``): observed / expected
      outpatient DBC cost, age band × sex, shrunken estimates and rank intervals
      (:func:`kbz_eval.practice_ranking`, seed ``[analysis] seed``).
    * Trends: the yearly rate per insured year of outpatient DBC cost, specialist GGZ
      cost and total cost per practice on an XmR chart, limits re-based at the KBZ
      start, with the KBZ and control peers (:func:`kbz_eval.practice_trends`).
    * IVM: each practice's own score per year (withheld where the practice has fewer
      insured persons than the threshold that year) and the spread of the published
      scores (:func:`kbz_eval.indicator_spread`), so that the spread cannot give a
      withheld score away.

    All persons of a practice are counted (``population="all"``): a page describes the
    practice's whole insured list, not the minima alone.
    """
    from kbz_eval.estimators.funnel import funnel
    from kbz_eval.estimators.indicators import indicator_spread
    from kbz_eval.estimators.practice_trends import KBZ_START, practice_trends
    from kbz_eval.estimators.ranking import practice_ranking

    computed = computed or {}
    panel, practices = tables["person_years"], tables["practices"]
    prac = pd.DataFrame({"practice_id": practices["practice_id"].astype(str),
                         "group": practices["group"].astype(str)}).sort_values(
        "practice_id", kind="stable", ignore_index=True)
    years = _years(panel, cfg)
    problems: dict[str, str] = {}
    out = PracticeResults(practices=prac, year=max(years) if years else None,
                          threshold=cfg.suppression_threshold, language=cfg.language,
                          label_others=cfg.practice_pages.label_others,
                          problems=problems)
    if not years:
        for part in PARTS:
            problems[part] = "the claims panel has no year in [analysis] years."
        return out
    seed = int(cfg.analysis.get("seed", 0))
    indicators = [i for i in TREND_INDICATORS if i in panel.columns]
    out.indicators = indicators

    out.funnel = _report_analysis("practice_funnel", "funnel", tables, cfg, computed,
                                  problems, lambda: funnel(
                                      panel, practices, kind="ratio",
                                      outcome=FUNNEL_OUTCOME))
    if out.funnel is not None:
        out.year = int(max(out.funnel.settings["years"]))
    out.ranking = _report_analysis("practice_ranking", "ranking", tables, cfg, computed,
                                   problems, lambda: practice_ranking(
                                       panel, practices, outcome=RANKING_OUTCOME,
                                       seed=seed))
    raw_trends = _attempt("trends", problems, lambda: practice_trends(
        panel, practices, indicator=indicators, years=years, rebase_at=KBZ_START))
    out.trends = _suppress("trends", raw_trends, cfg, problems)
    if out.trends is not None and raw_trends is not None:
        _trend_plot_data(raw_trends, out.trends, cfg)
    if "practice_indicators" in tables:
        persons = practice_year_persons(panel)
        out.own_ivm = _own_indicator(tables, persons, cfg)
        # the spread of the scores that are published, each on its practice's page: a
        # spread over all practices would give a withheld score away (11 of 12 scores
        # known, the minimum, quartiles and maximum of all 12 published)
        shown = (None if out.own_ivm is None else
                 out.own_ivm.dropna(subset=["score_percent"])[["practice", "year"]])
        if shown is None or shown.empty:
            problems["ivm"] = (f"no practice has an IVM score resting on at least "
                               f"{cfg.suppression_threshold} insured persons.")
        else:
            pi = tables["practice_indicators"]
            keys = pd.MultiIndex.from_frame(shown)
            at = pd.MultiIndex.from_arrays([pi["practice_id"].astype(str),
                                            pi["year"].astype("int64")]).isin(keys)
            raw_ivm = _attempt("ivm", problems, lambda: indicator_spread(
                pi[at], indicator=IVM_INDICATOR))
            out.ivm = _suppress("ivm", raw_ivm, cfg, problems)
    return out


# =========================================================================== page parts
@dataclass
class PracticePage:
    """One practice's page.

    Attributes
    ----------
    practice
        The practice id.
    filename
        Its file name inside :data:`FOLDER`.
    html
        The whole page.
    sentences
        Part -> the plain sentences of that part (what the page says in words).
    figure_data
        Figure -> the frame it draws (suppressed and anonymised): ``funnel``,
        ``trends_<indicator>``, ``ranking``, ``ivm``.
    """

    practice: str
    filename: str
    html: str
    sentences: dict[str, list[str]] = field(default_factory=dict)
    figure_data: dict[str, pd.DataFrame] = field(default_factory=dict)


def _num(value: Any, language: str, decimals: int) -> str:
    return fmt.number(float(value), language=language, decimals=decimals)


def _finite(*values: Any) -> bool:
    try:
        return all(v is not None and np.isfinite(float(v)) for v in values)
    except (TypeError, ValueError):
        return False


def _display_frame(frame: pd.DataFrame, language: str, value: str) -> pd.DataFrame:
    """A page's figure data as text, numbers in the language's format; in the rows whose
    ``value`` was withheld, every missing cell reads as the suppression label."""
    label = disclosure.SUPPRESSED_LABEL[language]
    text = html_report.display(frame, language)
    withheld = ~np.isfinite(pd.to_numeric(frame[value], errors="coerce").to_numpy(
        dtype=float))
    for col in text.columns:
        cells = text[col].to_numpy(dtype=object)
        text[col] = np.where(withheld & (cells == "—"), label, cells)
    return text


def funnel_data(res: PracticeResults, practice: str) -> pd.DataFrame:
    """The page's funnel figure data: every practice shown as a point of its group, the
    practice of the page flagged ``own`` and named, the others named only with
    ``label_others``, and the 95 % and 99.8 % limits on a grid spanning the practices
    shown.

    Columns ``series, practice, group, own, x, y, label`` (``series`` the group of a
    point or a curve; ``x`` the expected count, ``y`` observed / expected). Read from
    the funnel's suppressed ``units`` table: a practice whose cells are suppressed is
    left out. The curves are evaluated afresh
    (:func:`kbz_eval.stats.funnel.funnel_limits`, with the model-wide target and
    overdispersion of the funnel) on a grid of the sizes of the practices shown, so the
    drawing says nothing about the size of a suppressed practice.
    """
    from kbz_eval.stats.funnel import funnel_limits

    assert res.funnel is not None
    units = res.funnel.tables["units"]
    x = pd.to_numeric(units["size"], errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(units["value"], errors="coerce").to_numpy(dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    unit = units["unit"].astype(str).to_numpy(dtype=object)[keep]
    group = units["group"].astype(str).to_numpy(dtype=object)[keep]
    own = unit == practice
    names = np.where(own, practice, unit if res.label_others else "").astype(object)
    points = pd.DataFrame({"series": group, "practice": names, "group": group,
                           "own": own, "x": x[keep], "y": y[keep], "label": names,
                           "_unit": unit})
    # the same order on every page (by group, size and id)
    points = points.sort_values(["group", "x", "_unit"], kind="stable").drop(
        columns="_unit")
    curves = []
    if len(points):
        d = res.funnel.tables["dispersion"].iloc[0]
        grid = np.geomspace(0.8 * float(points["x"].min()),
                            1.15 * float(points["x"].max()), 120)
        limits = funnel_limits(grid, kind=str(d["kind"]), transform=str(d["transform"]),
                               target=float(d["target"]),
                               overdispersion=str(d["overdispersion"]),
                               phi=float(d["phi"]), tau2=float(d["tau2"]))
        limits["target"] = np.full_like(grid, float(d["target"]))
        for series in _CURVES:
            curves.append(pd.DataFrame({"series": series, "practice": "", "group": "",
                                        "own": False, "x": grid, "y": limits[series],
                                        "label": ""}))
    return pd.concat([points, *curves], ignore_index=True)


def ranking_data(res: PracticeResults, practice: str) -> pd.DataFrame:
    """The page's caterpillar data: the practices shown (suppressed ones left out),
    sorted by shrunken O/E and numbered from 0 at the bottom; only the practice of the
    page is named (all with ``label_others``).

    Columns ``position, practice, label, group, own, estimate, ci_lower, ci_upper,
    shrunken, shrunken_lower, shrunken_upper, rank, rank_lower, rank_upper``.
    """
    assert res.ranking is not None
    data = res.ranking.plot_data()
    shown = data.dropna(subset=["estimate", "shrunken"]).sort_values(
        ["shrunken", "practice"], kind="stable").reset_index(drop=True)
    own = (shown["practice"].astype(str) == practice).to_numpy()
    names = np.where(own, practice, shown["practice"].astype(str) if res.label_others
                     else "").astype(object)
    out = pd.DataFrame({"position": np.arange(len(shown), dtype=np.int64),
                        "practice": names, "label": names,
                        "group": shown["group"].astype(str).to_numpy(), "own": own})
    for col in ("estimate", "ci_lower", "ci_upper", "shrunken", "shrunken_lower",
                "shrunken_upper", "rank", "rank_lower", "rank_upper"):
        out[col] = pd.to_numeric(shown[col], errors="coerce").to_numpy(dtype=float)
    return out


def indicator_data(res: PracticeResults, practice: str) -> pd.DataFrame:
    """The page's IVM data: the spread of all practices per year (``min, q1, median,
    q3, max``; missing where suppressed) and the practice's own scores (``own``).

    Columns ``year, element, value``.
    """
    assert res.ivm is not None
    spread = res.ivm.tables["spread"]
    spread = spread[spread["group"].astype(str) == "all"]
    long = spread.melt(id_vars=["year"], value_vars=["min", "q1", "median", "q3", "max"],
                       var_name="element", value_name="value")
    parts = [long]
    if res.own_ivm is not None:
        own = res.own_ivm[res.own_ivm["practice"] == practice]
        parts.insert(0, pd.DataFrame({"year": own["year"].to_numpy(), "element": "own",
                                      "value": own["score_percent"].to_numpy(dtype=float)}))
    out = pd.concat(parts, ignore_index=True)
    out["year"] = out["year"].astype("int64")
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype(float)
    return out.sort_values(["year", "element"], kind="stable", ignore_index=True)


# --------------------------------------------------------------------------- sentences
def _withheld(t: dict[str, str], practice: str, res: PracticeResults) -> str:
    return t["withheld"].format(p=practice, n=res.threshold,
                                label=disclosure.SUPPRESSED_LABEL[res.language])


def funnel_sentences(res: PracticeResults, practice: str) -> list[str]:
    """The funnel part in words, from the suppressed units table."""
    t, lang = _TEXT[res.language], res.language
    assert res.funnel is not None
    units = res.funnel.tables["units"]
    row = units[units["unit"].astype(str) == practice]
    if row.empty:
        return [t["no_data"].format(p=practice)]
    r = row.iloc[0]
    if not _finite(r["value"], r["observed"], r["expected"], r["n_persons"],
                   r["lower_95"], r["upper_95"], r["lower_998"], r["upper_998"]):
        return [_withheld(t, practice, res)]
    oe = _num(r["value"], lang, 2)
    out = [t["funnel_facts"].format(
        y=res.year, obs=_num(r["observed"], lang, 0), n=_num(r["n_persons"], lang, 0),
        p=practice, exp=_num(r["expected"], lang, 0), oe=oe)]
    v = float(r["value"])
    if v > float(r["upper_998"]):
        key, lo, hi = "above998", r["lower_998"], r["upper_998"]
    elif v < float(r["lower_998"]):
        key, lo, hi = "below998", r["lower_998"], r["upper_998"]
    elif v > float(r["upper_95"]):
        key, lo, hi = "above95", r["lower_95"], r["upper_95"]
    elif v < float(r["lower_95"]):
        key, lo, hi = "below95", r["lower_95"], r["upper_95"]
    else:
        key, lo, hi = "inside95", r["lower_95"], r["upper_95"]
    out.append(t[key].format(oe=oe, lo=_num(lo, lang, 2), hi=_num(hi, lang, 2)))
    d = res.funnel.tables["dispersion"].iloc[0]
    if bool(d["widened"]):
        out.append(t["widened"])
    return out


def _money(value: float, lang: str) -> str:
    return fmt.euro(value, language=lang)


def _years_text(years: Sequence[int]) -> str:
    from kbz_eval.estimators.practice_trends import year_ranges

    return year_ranges(years)


def trend_sentences(res: PracticeResults, practice: str, indicator: str,
                    data: pd.DataFrame) -> str:
    """One indicator's trend in words, from the page's (suppressed) figure data and the
    suppressed signals table."""
    t, lang = _TEXT[res.language], res.language
    name = _indicator_name(indicator, lang)
    own = data[data["series"] == "practice"].sort_values("year")
    shown = own[np.isfinite(pd.to_numeric(own["value"], errors="coerce").to_numpy(
        dtype=float))]
    if shown.empty:
        return f"{name}: {_withheld(t, practice, res)}"
    last = shown.iloc[-1]
    year = int(last["year"])
    text = t["trend_last"].format(name=name, v=_money(last["value"], lang), y=year)
    peers = data[(data["series"] != "practice") & (data["year"] == year)]
    vals = {str(s).removesuffix("_peers"): v for s, v in zip(
        peers["series"], pd.to_numeric(peers["value"], errors="coerce"), strict=True)
        if _finite(v)}
    if "kbz" in vals and "control" in vals:
        text += " (" + t["peers"].format(k=_money(vals["kbz"], lang),
                                         c=_money(vals["control"], lang)) + ")"
    elif "kbz" in vals:
        text += f" ({t['peer_kbz'].format(k=_money(vals['kbz'], lang))})"
    elif "control" in vals:
        text += f" ({t['peer_control'].format(c=_money(vals['control'], lang))})"
    parts = [text]
    if _finite(last["centre"], last["lower"], last["upper"]):
        segment_years = own.loc[own["segment"] == last["segment"], "year"]
        since = (t["since"].format(y=int(segment_years.min()))
                 if own["segment"].nunique() > 1 else "")
        parts.append(t["limits"].format(since=since, lo=_money(last["lower"], lang),
                                        hi=_money(last["upper"], lang),
                                        centre=_money(last["centre"], lang)))
    published = set(shown["year"].astype(int))
    signals = pd.DataFrame()
    if res.trends is not None and "signals" in res.trends.tables:
        sig = res.trends.tables["signals"]
        signals = sig[(sig["practice"].astype(str) == practice)
                      & (sig["indicator"] == indicator)
                      & sig["year"].astype(int).isin(published)
                      & sig["rule"].notna() & sig["direction"].notna()]
    if signals.empty:
        parts.append(t["common"])
    else:
        words = []
        for (rule, direction), part in signals.groupby(["rule", "direction"], sort=False):
            verdicts = sorted({_VERDICT[lang][v] for v in part["variation"].dropna()
                               if v in _VERDICT[lang]})
            words.append(f"{_years_text(part['year'].astype(int).unique())} "
                         f"{_RULE_WORDS[lang].get((rule, direction), str(rule))}"
                         + (f" ({', '.join(verdicts)})" if verdicts else ""))
        parts.append(t["special"].format(what="; ".join(words)))
    hidden = sorted(set(own["year"].astype(int)) - published)
    if hidden:
        parts.append(t["years_withheld"].format(
            years=_years_text(hidden), label=disclosure.SUPPRESSED_LABEL[lang]))
    return "; ".join(parts) + "."


def ranking_sentences(res: PracticeResults, practice: str) -> list[str]:
    """The ranking part in words, from the suppressed practices table."""
    t, lang = _TEXT[res.language], res.language
    assert res.ranking is not None
    table = res.ranking.tables["practices"]
    row = table[table["practice"].astype(str) == practice]
    if row.empty:
        return [t["no_data"].format(p=practice)]
    r = row.iloc[0]
    cols = ("rank", "rank_lower", "rank_upper", "shrunken", "shrunken_lower",
            "shrunken_upper", "estimate", "ci_lower", "ci_upper")
    if not _finite(*(r[c] for c in cols)):
        return [_withheld(t, practice, res)]
    k = len(res.ranking.plot_data())
    lo, hi = int(r["rank_lower"]), int(r["rank_upper"])
    out = [t["ranking"].format(
        r=int(r["rank"]), k=k, lo=lo, hi=hi, s=_num(r["shrunken"], lang, 3),
        slo=_num(r["shrunken_lower"], lang, 3), shi=_num(r["shrunken_upper"], lang, 3),
        e=_num(r["estimate"], lang, 3), elo=_num(r["ci_lower"], lang, 3),
        ehi=_num(r["ci_upper"], lang, 3))]
    out.append(t["rank_wide"] if hi - lo + 1 > k / 2 else t["rank_narrow"])
    return out


def indicator_sentences(res: PracticeResults, practice: str, data: pd.DataFrame
                        ) -> list[str]:
    """The IVM part in words, from the page's (suppressed) figure data."""
    t, lang = _TEXT[res.language], res.language
    label = disclosure.SUPPRESSED_LABEL[lang]
    own = data[data["element"] == "own"]
    shown = own[np.isfinite(own["value"].to_numpy(dtype=float))]
    if own.empty:
        return [t["no_data"].format(p=practice)]
    if shown.empty:
        return [_withheld(t, practice, res)]
    year = int(shown["year"].max())
    text = t["ivm_own"].format(y=year, v=fmt.percent(
        float(shown.loc[shown["year"] == year, "value"].iloc[0]), language=lang,
        decimals=0))
    spread = data[(data["year"] == year) & (data["element"] != "own")].set_index(
        "element")["value"]
    n = None
    if res.ivm is not None:
        sp = res.ivm.tables["spread"]
        sp = sp[(sp["group"].astype(str) == "all") & (sp["year"].astype(int) == year)]
        n = sp["n"].iloc[0] if len(sp) else None
    if _finite(n, *(spread.get(k) for k in ("median", "min", "max"))):
        text += " (" + t["ivm_peers"].format(
            n=int(n), med=fmt.percent(spread["median"], language=lang, decimals=0),
            lo=fmt.percent(spread["min"], language=lang, decimals=0),
            hi=fmt.percent(spread["max"], language=lang, decimals=0)) + ")"
    else:
        text += " (" + t["ivm_peers_withheld"].format(label=label) + ")"
    out = [text + "."]
    hidden = sorted(set(own["year"].astype(int)) - set(shown["year"].astype(int)))
    if hidden:
        out.append(t["years_withheld"].format(years=_years_text(hidden), label=label)
                   + ".")
    return out


# --------------------------------------------------------------------------- figures
def _new_figure(width: float, height: float, rows: int = 1) -> tuple[Any, Any]:
    """A detached figure with ``rows`` axes (the report's style is set by the caller,
    :func:`build_page`, once per page)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=PAGE_DPI)
    return fig, fig.subplots(rows, 1, squeeze=False)[:, 0]


class _Layers:
    """A figure whose shared layer is drawn once; each page draws its own practice on
    a copy of it (Agg blitting). Every page's PNG is what a full draw of the shared
    layer with the page's artists on top gives, without drawing the shared layer again.
    """

    def __init__(self, fig: Any) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.fig = fig
        self.canvas = FigureCanvasAgg(fig)
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(fig.bbox)

    def png(self, draw_own: Callable[[Any], list[Any]]) -> str:
        """Base64 PNG of the shared layer with ``draw_own(ax)``'s artists on top."""
        from PIL import Image

        self.canvas.restore_region(self.background)
        ax = self.fig.axes[0]
        artists = draw_own(ax)
        renderer = self.canvas.get_renderer()
        for artist in artists:
            artist.draw(renderer)
        width, height = self.canvas.get_width_height()
        image = Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(),
                                 "raw", "RGBA", 0, 1)
        buf = io.BytesIO()
        image.save(buf, format="png", dpi=(PAGE_DPI, PAGE_DPI))
        for artist in artists:
            artist.remove()
        return base64.b64encode(buf.getvalue()).decode("ascii")


def _legend_below(fig: Any, ax: Any, *, ncol: int = 3) -> None:
    """Move the legend of ``ax`` under the figure, where it hides no data."""
    legend = ax.get_legend()
    if legend is None:
        return
    handles, texts = legend.legend_handles, [t.get_text() for t in legend.get_texts()]
    legend.remove()
    fig.legend(handles, texts, loc="lower center", ncol=ncol, frameon=False, fontsize=7)


def _shared(frame: pd.DataFrame, res: PracticeResults) -> pd.DataFrame:
    """A page's figure data as the layer shared by every page: no practice is the
    page's own, and only ``label_others`` names practices."""
    out = frame.assign(own=False)
    if not res.label_others:
        out["label"] = ""
    return out


def _own_layer(frame: pd.DataFrame, res: PracticeResults) -> pd.DataFrame:
    """A page's figure data for its own layer: with ``label_others`` the shared layer
    already names the practice."""
    return frame.assign(label="") if res.label_others else frame


def _png(fig: Any) -> str:
    """The figure as base64 PNG, byte-identical for the same figure (no metadata)."""
    import matplotlib as mpl

    from kbz_eval.report.figures import _RC

    buf = io.BytesIO()
    with mpl.rc_context(_RC):
        fig.savefig(buf, format="png", dpi=PAGE_DPI, metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _layers(cache: dict[str, _Layers], key: str, make: Callable[[], Any]) -> _Layers:
    """The shared layer ``key`` of this run's pages, drawn by ``make()`` the first time
    (``make`` returns the figure)."""
    if key not in cache:
        cache[key] = _Layers(make())
    return cache[key]


# --------------------------------------------------------------------------- page
def _figure(image: str, alt: str) -> str:
    width = int(round(FIGURE_WIDTH * PAGE_DPI))
    return (f"<figure><img src='data:image/png;base64,{image}' alt='{html.escape(alt)}' "
            f"width='{width}'></figure>")


def _method_details(t: Mapping[str, str], method: str, language: str) -> str:
    """The folded "method and assumptions" block: the method text in the page's
    language (through the message catalogue)."""
    return _details(t["method"], f"<p>{html.escape(localise(method, language))}</p>")


def _details(summary: str, content: str) -> str:
    return f"<details><summary>{html.escape(summary)}</summary>{content}</details>"


def _paragraphs(lines: Sequence[str]) -> list[str]:
    """Sentences as paragraphs; one that withholds numbers is set apart."""
    marks = tuple(disclosure.SUPPRESSED_LABEL.values())
    return [f"<p class='withheld'>{html.escape(x)}</p>" if any(m in x for m in marks)
            else f"<p>{html.escape(x)}</p>" for x in lines]


def _not_computed(res: PracticeResults, practice: str, part: str) -> str:
    """Why a part is missing, in the words of the error, other practices unnamed."""
    why = res.problems[part]
    for other in sorted(res.practices["practice_id"], key=len, reverse=True):
        if other != practice:
            why = re.sub(rf"(?<![A-Za-z0-9]){re.escape(other)}(?![A-Za-z0-9])", "…", why)
    return _TEXT[res.language]["not_computed"].format(why=why)


def _html_table(frame: pd.DataFrame) -> str:
    """A text frame as an HTML table in the report's style (escaped; scrolls sideways
    rather than widening the page)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row)
                   + "</tr>" for row in frame.itertuples(index=False, name=None))
    return (f"<div class='scroll'><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{rows}</tbody></table></div>")


def _data_table(frame: pd.DataFrame, res: PracticeResults, t: dict[str, str],
                value: str) -> str:
    return _details(t["figure_data"], _html_table(
        _display_frame(frame, res.language, value)))


def _funnel_part(res: PracticeResults, practice: str, page: PracticePage,
                 t: dict[str, str], cache: dict[str, _Layers]) -> list[str]:
    from kbz_eval.plotting.practice_page import draw_funnel_base, draw_funnel_own

    body = [f"<h2 id='funnel'>{html.escape(t['funnel_title'].format(y=res.year))}</h2>"]
    if res.funnel is None:
        return body + _paragraphs([_not_computed(res, practice, "funnel")])
    data = funnel_data(res, practice)
    sentences = funnel_sentences(res, practice)
    page.figure_data["funnel"] = data
    page.sentences["funnel"] = sentences

    def make() -> Any:
        fig, (ax,) = _new_figure(FIGURE_WIDTH, 3.9)
        fig.subplots_adjust(left=0.12, right=0.98, bottom=0.27, top=0.93)
        draw_funnel_base(_shared(data, res), ax, language=res.language)
        ax.set_title(say("Outpatient DBCs {year}: observed / expected", res.language,
                         year=res.year), fontsize=10)
        ax.tick_params(labelsize=8)
        _legend_below(fig, ax)
        return fig

    image = _layers(cache, "funnel", make).png(
        lambda ax: draw_funnel_own(_own_layer(data, res), ax, language=res.language))
    body.append(_figure(image, t["funnel_alt"].format(p=practice)))
    body += _paragraphs(sentences)
    shown = data.loc[~data["series"].isin(_CURVES),
                     ["practice", "group", "x", "y"]].rename(
        columns={"x": "expected", "y": "observed_expected"})
    body.append(_data_table(shown, res, t, "observed_expected"))
    body.append(_method_details(t, res.funnel.method, res.language))
    return body


def _trends_part(res: PracticeResults, practice: str, page: PracticePage,
                 t: dict[str, str], cache: dict[str, _Layers],
                 ) -> list[str]:
    from kbz_eval.plotting.practice_page import plot_practice_trend

    body = [f"<h2 id='trends'>{html.escape(t['trends_title'])}</h2>"]
    if res.trends is None:
        return body + _paragraphs([_not_computed(res, practice, "trends")])
    if practice not in res.trends.settings["practices"]:
        return body + _paragraphs([t["no_data"].format(p=practice)])
    indicators = list(res.trends.settings["indicators"])
    height = 1.75 * len(indicators) + 0.8
    fig, axes = _new_figure(FIGURE_WIDTH, height, rows=len(indicators))
    fig.subplots_adjust(left=0.12, right=0.98, bottom=0.72 / height, top=1 - 0.25 / height,
                        hspace=0.45)
    sentences = []
    frames = []
    for ax, ind in zip(axes, indicators, strict=True):
        data = res.trends.plot_data(practice=practice, indicator=ind)
        page.figure_data[f"trends_{ind}"] = data
        frames.append(data)
        plot_practice_trend(data, ax, language=res.language)
        ax.set_title(_indicator_name(ind, res.language), fontsize=9)
        ax.set_ylabel("")
        ax.set_xlabel("")
        # one set of year labels and one axis label for the charts: fewer texts to draw
        ax.tick_params(labelsize=8, labelbottom=ax is axes[-1])
        sentences.append(trend_sentences(res, practice, ind, data))
    fig.supylabel(say("EUR per insured year", res.language), fontsize=8, x=0.01)
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False, fontsize=7)
    page.sentences["trends"] = [*sentences, t["trend_note"]]
    body.append(_figure(_png(fig), t["trends_alt"].format(p=practice)))
    body += _paragraphs(page.sentences["trends"])
    cols = ["series", "indicator", "year", "value", "centre", "lower", "upper",
            "special_cause", "variation", "n_persons"]
    table = pd.concat(frames, ignore_index=True)
    body.append(_data_table(table[[c for c in cols if c in table.columns]], res, t,
                            "value"))
    body.append(_method_details(t, res.trends.method, res.language))
    return body


def _ranking_part(res: PracticeResults, practice: str, page: PracticePage,
                  t: dict[str, str], cache: dict[str, _Layers]) -> list[str]:
    from kbz_eval.plotting.practice_page import draw_ranking_base, draw_ranking_own

    period = ""
    if res.ranking is not None:
        span = sorted(int(y) for y in res.ranking.settings.get("years", []))
        period = _years_text(span) if span else ""
    body = [f"<h2 id='ranking'>{html.escape(t['ranking_title'].format(y=period))}</h2>"]
    if res.ranking is None:
        return body + _paragraphs([_not_computed(res, practice, "ranking")])
    data = ranking_data(res, practice)
    sentences = ranking_sentences(res, practice)
    page.figure_data["ranking"] = data
    page.sentences["ranking"] = sentences

    def make() -> Any:
        het = res.ranking.tables["heterogeneity"]
        used = het[het["used"].astype(bool)]
        pooled = float(used["pooled"].iloc[0]) if len(used) else None
        height = 1.5 + 0.22 * max(len(data), 3)
        # room left of the axis for the page's practice name (drawn by each page)
        longest = max((len(str(p)) for p in res.practices["practice_id"]), default=4)
        pad = 8 + 5.6 * longest  # points: bold 8-point digits and capitals
        fig, (ax,) = _new_figure(FIGURE_WIDTH, height)
        fig.subplots_adjust(left=min(0.45, (pad + 18) / 72 / FIGURE_WIDTH), right=0.98,
                            bottom=0.95 / height, top=1 - 0.12 / height)
        draw_ranking_base(_shared(data, res), ax, pooled=pooled, language=res.language)
        ax.tick_params(labelsize=8)
        if not res.label_others:
            ax.yaxis.labelpad = pad
        _legend_below(fig, ax)
        return fig

    image = _layers(cache, "ranking", make).png(
        lambda ax: draw_ranking_own(_own_layer(data, res), ax, language=res.language))
    body.append(_figure(image, t["ranking_alt"].format(p=practice)))
    body += _paragraphs(sentences)
    body.append(_data_table(data.drop(columns=["label", "own"]), res, t, "estimate"))
    body.append(_method_details(t, res.ranking.method, res.language))
    return body


def _ivm_part(res: PracticeResults, practice: str, page: PracticePage,
              t: dict[str, str], cache: dict[str, _Layers]) -> list[str]:
    from kbz_eval.plotting.practice_page import draw_indicator_base, draw_indicator_own

    body = [f"<h2 id='ivm'>{html.escape(t['ivm_title'])}</h2>"]
    if res.ivm is None:
        return body + _paragraphs([_not_computed(res, practice, "ivm")
                                   if "ivm" in res.problems else t["no_ivm"]])
    data = indicator_data(res, practice)
    sentences = indicator_sentences(res, practice, data)
    page.figure_data["ivm"] = data
    page.sentences["ivm"] = sentences

    def make() -> Any:
        fig, (ax,) = _new_figure(FIGURE_WIDTH, 3.2)
        fig.subplots_adjust(left=0.12, right=0.98, bottom=0.27, top=0.96)
        draw_indicator_base(data[data["element"] != "own"], ax, language=res.language)
        ax.tick_params(labelsize=8)
        _legend_below(fig, ax)
        return fig

    image = _layers(cache, "ivm", make).png(
        lambda ax: draw_indicator_own(data, ax, language=res.language))
    body.append(_figure(image, t["ivm_alt"].format(p=practice)))
    body += _paragraphs(sentences)
    body.append(_data_table(data, res, t, "value"))
    body.append(_method_details(t, res.ivm.method, res.language))
    return body


def build_page(res: PracticeResults, practice: str, *, title: str, synthetic: bool,
               links: Mapping[str, str] | None = None,
               cache: dict[str, Any] | None = None) -> PracticePage:
    """One practice's page from the suppressed practice results.

    Parameters
    ----------
    res
        From :func:`compute_practice_results`.
    practice
        A practice id of ``res.practices``.
    title
        The report's title (the page's title starts with the practice).
    synthetic
        Whether the inputs are the synthetic sample (a banner says so).
    links
        Link text key (``"all_pages"``, ``"report"``) -> relative address, shown at the
        top; none for a page written on its own.
    cache
        The figure layers shared by the pages of one run (pass the same dict to every
        call): the layer that is the same on every page is then drawn once.

    Returns
    -------
    PracticePage
    """
    t = _TEXT[res.language]
    filename = page_filenames(res.practices["practice_id"])[practice]
    page = PracticePage(practice=practice, filename=filename, html="")
    group = res.group_of(practice)
    heading = t["heading"].format(p=practice)
    body = [f"<h1>{html.escape(heading)}</h1>"]
    if synthetic:
        body.append("<p class='synthetic' role='alert'>"
                    f"{html.escape(html_report._TEXT[res.language]['synthetic'])}</p>")
    if links:
        body.append("<p class='nav'>" + " · ".join(
            f"<a href='{html.escape(href)}'>{html.escape(t[key])}</a>"
            for key, href in links.items()) + "</p>")
    intro = t["intro_labelled" if res.label_others else "intro"]
    intro = intro.format(p=practice, g=t.get(group, group), n=res.n_practices)
    body.append(f"<p>{html.escape(intro)}</p>")
    import matplotlib as mpl

    from kbz_eval.report.figures import _RC

    with mpl.rc_context(_RC):  # the report's figure style, for every figure of the page
        layers = {} if cache is None else cache
        body += _funnel_part(res, practice, page, t, layers)
        body += _trends_part(res, practice, page, t, layers)
        body += _ranking_part(res, practice, page, t, layers)
        body += _ivm_part(res, practice, page, t, layers)
    body.append(f"<p><small>{html.escape(t['suppression'].format(n=res.threshold))}"
                "</small></p>")
    page.html = html_report.document(title=f"{heading} — {title}", language=res.language,
                                     body=body)
    return page


def render_index(res: PracticeResults, *, title: str, synthetic: bool,
                 report_link: str | None = None) -> str:
    """``practices/index.html``: a table of the practices with a link to each page,
    and the parts that could not be computed."""
    t = _TEXT[res.language]
    files = page_filenames(res.practices["practice_id"])
    body = [f"<h1>{html.escape(t['index_heading'])} — {html.escape(title)}</h1>"]
    if synthetic:
        body.append("<p class='synthetic' role='alert'>"
                    f"{html.escape(html_report._TEXT[res.language]['synthetic'])}</p>")
    if report_link:
        body.append(f"<p class='nav'><a href='{html.escape(report_link)}'>"
                    f"{html.escape(t['report'])}</a></p>")
    intro = t["index_intro_labelled" if res.label_others else "index_intro"]
    body.append(f"<p>{html.escape(intro)}</p>")
    rows = [f"<tr><th>{html.escape(t['practice_label'])}</th><th>"
            f"{html.escape(t['group'])}</th><th>{html.escape(t['page'])}</th></tr>"]
    for pid, group in zip(res.practices["practice_id"], res.practices["group"],
                          strict=True):
        href = html.escape(files[pid])
        rows.append(f"<tr><td>{html.escape(pid)}</td><td>{html.escape(t.get(group, group))}"
                    f"</td><td><a href='{href}'>{href}</a></td></tr>")
    body.append("<div class='scroll'><table>" + "".join(rows) + "</table></div>")
    for part in PARTS:
        if part in res.problems:
            body.append(f"<p class='warn'>{html.escape(part)}: "
                        f"{html.escape(t['not_computed'].format(why=res.problems[part]))}</p>")
    body.append(f"<p><small>{html.escape(t['suppression'].format(n=res.threshold))}"
                "</small></p>")
    return html_report.document(title=f"{t['index_heading']} — {title}",
                                language=res.language, body=body)


def _build_pages(res: PracticeResults, practices: Sequence[str], title: str,
                 synthetic: bool, links: Mapping[str, str]) -> list[PracticePage]:
    """The pages of ``practices``, sharing one layer cache (also the worker side of
    :class:`PendingPages`)."""
    cache: dict[str, Any] = {}
    return [build_page(res, pid, title=title, synthetic=synthetic, links=links,
                       cache=cache) for pid in practices]


class PendingPages:
    """The practice pages of a report, being built: started by
    :func:`start_practice_pages`, written by :meth:`finish`.

    With a worker pool the pages are built in the workers, in as many runs of
    consecutive practices as the report has workers, while the caller goes on (the
    report writes its workbook and ``report.html`` meanwhile). A run a worker could not
    finish is built here. The pages are byte-identical wherever they are built.

    Attributes
    ----------
    index
        ``practices/index.html`` relative to the report folder, or ``None`` when only
        one practice's page is written.
    """

    def __init__(self, res: PracticeResults, wanted: list[str], cfg: ReportConfig,
                 out: Path, *, whole: bool, synthetic: bool, report_link: str | None,
                 pool: ProcessPoolExecutor | None) -> None:
        self.res, self.wanted, self.cfg, self.out = res, wanted, cfg, out
        self.whole, self.synthetic, self.report_link = whole, synthetic, report_link
        self.index = f"{FOLDER}/{INDEX_FILE}" if whole else None
        self.links: dict[str, str] = {}
        if whole:
            self.links["all_pages"] = INDEX_FILE
            if report_link:
                self.links["report"] = report_link
        self._runs: list[tuple[list[str], Future[list[PracticePage]]]] = []
        parts = min(max(cfg.workers, 1), len(wanted))
        if pool is not None and parts > 1:
            for run in np.array_split(np.arange(len(wanted)), parts):
                ids = [wanted[i] for i in run]
                self._runs.append((ids, pool.submit(_build_pages, res, ids, cfg.title,
                                                    synthetic, self.links)))

    def finish(self) -> dict[str, Any]:
        """Wait for the pages, write them (and the index) and return what was written,
        for ``manifest.json``: ``folder``, ``pages`` (practice id -> file), ``index``,
        ``label_others``, ``not_computed`` (part -> reason), ``year``."""
        if self._runs:
            built: list[PracticePage] = []
            for ids, future in self._runs:
                if future.exception() is None:
                    built += future.result()
                else:  # a worker lost: the same pages, built here
                    built += _build_pages(self.res, ids, self.cfg.title, self.synthetic,
                                          self.links)
        else:
            built = _build_pages(self.res, self.wanted, self.cfg.title, self.synthetic,
                                 self.links)
        pages: dict[str, str] = {}
        for pid, page in zip(self.wanted, built, strict=True):
            (self.out / page.filename).write_text(page.html, encoding="utf-8")
            pages[pid] = f"{FOLDER}/{page.filename}"
        if self.whole:
            (self.out / INDEX_FILE).write_text(
                render_index(self.res, title=self.cfg.title, synthetic=self.synthetic,
                             report_link=self.report_link), encoding="utf-8")
        return {"folder": FOLDER, "pages": pages, "index": self.index,
                "label_others": self.res.label_others, "year": self.res.year,
                "not_computed": dict(sorted(self.res.problems.items()))}


def start_practice_pages(tables: Mapping[str, pd.DataFrame], cfg: ReportConfig,
                         folder: Path, *, practice: str | None = None,
                         synthetic: bool = False, report_link: str | None = None,
                         computed: Mapping[str, Result] | None = None,
                         pool: ProcessPoolExecutor | None = None) -> PendingPages:
    """Compute the practice results once and start building the pages (in ``pool``
    when given); :meth:`PendingPages.finish` writes them. The parameters are those of
    :func:`write_practice_pages`."""
    if practice is not None:
        check_practice(practice, tables["practices"])
    res = compute_practice_results(tables, cfg, computed=computed)
    out = folder / FOLDER
    out.mkdir(parents=True, exist_ok=True)
    wanted = [practice] if practice is not None else list(res.practices["practice_id"])
    return PendingPages(res, wanted, cfg, out, whole=practice is None, synthetic=synthetic,
                        report_link=report_link, pool=pool)


def write_practice_pages(tables: Mapping[str, pd.DataFrame], cfg: ReportConfig,
                         folder: Path, *, practice: str | None = None,
                         synthetic: bool = False, report_link: str | None = None,
                         computed: Mapping[str, Result] | None = None,
                         pool: ProcessPoolExecutor | None = None) -> dict[str, Any]:
    """Compute the practice results once and write the pages into ``folder/practices``.

    Parameters
    ----------
    tables
        The report's tables (``person_years``, ``practices``, optionally
        ``practice_indicators``). Not modified.
    cfg
        The report configuration.
    folder
        The report's (staging) folder.
    practice
        Write only this practice's page (no index); default every practice's page and
        ``index.html``.
    synthetic
        Whether the inputs are the synthetic sample (a banner on every page).
    report_link
        Relative address of ``report.html`` from the pages, when it is written.
    computed
        The report's suppressed results by analysis key, reused by the pages (see
        :func:`compute_practice_results`).
    pool
        Worker processes (:func:`kbz_eval.report.figures.worker_pool`) that build the
        pages (see :class:`PendingPages`); the pages are byte-identical to those
        written without.

    Returns
    -------
    dict
        What was written, for ``manifest.json``: ``folder``, ``pages`` (practice id ->
        file), ``index``, ``label_others``, ``not_computed`` (part -> reason), ``year``.

    Raises
    ------
    SpecificationError
        When ``practice`` is not a practice id of the practices table.
    """
    return start_practice_pages(tables, cfg, folder, practice=practice, synthetic=synthetic,
                                report_link=report_link, computed=computed,
                                pool=pool).finish()


__all__ = ["FOLDER", "INDEX_FILE", "OWN_INDICATOR_CELLS", "PAGE_INPUTS",
           "PendingPages", "PracticePage",
           "PracticeResults", "build_page", "check_practice", "compute_practice_results",
           "funnel_data", "indicator_data", "page_filenames", "pages_possible",
           "ranking_data", "render_index", "start_practice_pages", "write_practice_pages"]
