"""Which analyses the report runs, on which inputs, with which options.

Each :class:`Analysis` names the tables it needs and how to call its library function
from the report configuration. The pipeline runs every analysis whose inputs are
configured; a new analysis joins the report by adding one entry to :data:`ANALYSES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kbz_eval.report.config import ReportConfig
from kbz_eval.results import Result

Tables = dict[str, pd.DataFrame]


@dataclass(frozen=True)
class Analysis:
    """One section of the report.

    Attributes
    ----------
    key
        File stem of its outputs (``figures/<key>.png``, ``tables/<key>__*.csv``).
    aim
        Quadruple Aim it serves (1–4).
    title
        Section title by language.
    needs
        Input tables it reads (``person_years`` is the panel the engine builds).
    run
        ``(tables, config) -> Result``.
    primary
        The analysis's primary term(s), or a function of the result that names them;
        every other test it reports is secondary and gets a Holm-adjusted p-value in
        the report. An aim's ``[primary]`` entry in the
        configuration overrides it.
    optional
        Input tables it also reads when they are given (e.g. ``practices`` for the
        KBZ/control groups of the workforce survey); a worker process gets them too.
    selection
        The person-years of the panel it usually selects (``"minima"``, ``"all"``): the
        report runs analyses with the same selection one after another, so that
        :func:`kbz_eval.estimators.claims_common.prepare_claims` makes it once (see
        :func:`run_order`). Only the order of work depends on it, never a result.
    """

    key: str
    aim: int
    title: dict[str, str]
    needs: tuple[str, ...]
    run: Callable[[Tables, ReportConfig], Result]
    primary: tuple[str, ...] | Callable[[Result], tuple[str, ...]] = ()
    optional: tuple[str, ...] = ()
    selection: str = ""

    @property
    def reads(self) -> tuple[str, ...]:
        """Every table it may read: ``needs``, then ``optional``."""
        return (*self.needs, *self.optional)

    def primary_terms(self, result: Result) -> tuple[str, ...]:
        """The primary term(s) for ``result`` (some depend on the years analysed)."""
        return self.primary(result) if callable(self.primary) else self.primary


def _opt(cfg: ReportConfig, key: str, default: Any) -> Any:
    return cfg.analysis.get(key, default)


def _boot(cfg: ReportConfig) -> dict[str, Any]:
    return {"n_boot": int(_opt(cfg, "bootstrap_replicates", 999)),
            "seed": int(_opt(cfg, "seed", 20140101))}


def _level(cfg: ReportConfig) -> dict[str, Any]:
    """The unit of inference of the analyses whose treatment is a practice property."""
    return {"inference": _opt(cfg, "inference", "practice"),
            "practice_method": _opt(cfg, "practice_method", "wild")}


def _dbc_index(t: Tables, cfg: ReportConfig) -> Result:
    from kbz_eval.estimators.dbc_index import dbc_index

    return dbc_index(t["person_years"], t["practices"], base_year=_opt(cfg, "base_year", 2012),
                     population=_opt(cfg, "population", "minima"),
                     years=_years(cfg, t), seed=_boot(cfg)["seed"], **_level(cfg))


def _years(cfg: ReportConfig, t: Tables) -> list[int] | None:
    span = _opt(cfg, "years", None)
    if span is None:
        return None
    lo, hi = span
    return [y for y in sorted(t["person_years"]["year"].unique()) if lo <= y <= hi]


def _savings(population: str) -> Callable[[Tables, ReportConfig], Result]:
    def run(t: Tables, cfg: ReportConfig) -> Result:
        from kbz_eval.estimators.savings import savings

        return savings(t["person_years"], t["practices"], year=_opt(cfg, "savings_year", 2015),
                       base_year=_opt(cfg, "base_year", 2012), population=population,
                       extra_financing_eur=_opt(cfg, "extra_financing_eur", None),
                       years=_years(cfg, t), **_boot(cfg), **_level(cfg))

    return run


def _ggz_change(t: Tables, cfg: ReportConfig) -> Result:
    from kbz_eval.estimators.ggz_change import ggz_change

    return ggz_change(t["person_years"], t["practices"],
                      base_year=_opt(cfg, "ggz_base_year", 2013),
                      follow_year=_opt(cfg, "ggz_follow_year", 2016), **_boot(cfg),
                      **_level(cfg))


def _risk(t: Tables, cfg: ReportConfig) -> Result:
    from kbz_eval.estimators.risk_adjustment import risk_adjustment

    return risk_adjustment(t["person_years"], t["practices"], **_level(cfg))


def _risk_primary(result: Result) -> tuple[str, ...]:
    """The KBZ-against-control O/E ratio of the last year analysed."""
    years = result.settings.get("years") or []
    return (f"oe_kbz_vs_control_{max(years)}",) if years else ()


def _did_practices(t: Tables, cfg: ReportConfig) -> Result:
    """Practice-level DiD on outpatient DBC cost per insured year of the population.

    Practices of the first KBZ cohort against the controls (later starters are left
    out: the two-way fixed-effects estimate is refused under staggered adoption).
    """
    from kbz_eval.estimators.did import did

    cells = _practice_year_cost(t, cfg)
    first = cells.loc[cells["group"] == "kbz", "kbz_start_year"].min()
    cells = cells[(cells["group"] == "control") | (cells["kbz_start_year"] == first)]
    cells["kbz"] = ((cells["group"] == "kbz") & (cells["year"] >= first)).astype(int)
    result = did(cells, outcome="cost_per_insured_year", unit="practice_id", time="year",
                 treatment="kbz", seed=_boot(cfg)["seed"])
    _count_persons(result, cells, first)
    return result


def _practice_year_cost(t: Tables, cfg: ReportConfig) -> pd.DataFrame:
    """The configured population's practice-year cells: outpatient DBC cost, insured
    years, ``cost_per_insured_year`` (EUR), persons (``n_persons``, one per person-year
    row), and the practice's ``group`` and ``kbz_start_year``. Only the four columns
    the cells need are taken from the panel."""
    from kbz_eval.tables import insured_years

    panel, practices = t["person_years"], t["practices"]
    py = panel[["practice_id", "year", "poli_dbc_cost", "insured_days"]]
    if _opt(cfg, "population", "minima") == "minima":
        py = py[panel["minima"].astype(bool).to_numpy()]
    frame = py[["practice_id", "year", "poli_dbc_cost"]].copy()
    frame["exposure"] = insured_years(py["insured_days"].to_numpy(), py["year"].to_numpy())
    frame["n_persons"] = 1
    cells = frame.groupby(["practice_id", "year"], as_index=False, observed=True).sum()
    cells = cells.merge(practices[["practice_id", "group", "kbz_start_year"]],
                        on="practice_id")
    cells["cost_per_insured_year"] = cells["poli_dbc_cost"] / cells["exposure"]
    return cells


#: The roll-out sections' outcome, named for the figures' axes.
ROLLOUT_OUTCOME = "outpatient DBC cost per insured year (EUR)"


def _rollout_cells(t: Tables, cfg: ReportConfig) -> pd.DataFrame:
    """Practice-year cells for the roll-out analyses: KBZ practices by the year they
    started (``start``), never-started practices ``0``; practices of other groups
    (e.g. applicants) are left out unless configured as controls."""
    cells = _practice_year_cost(t, cfg)
    cells = cells[cells["group"].isin(["kbz", "control"])].copy()
    start = pd.to_numeric(cells["kbz_start_year"], errors="coerce")
    cells["start"] = np.where(cells["group"] == "kbz", start.fillna(0), 0).astype(int)
    cells[ROLLOUT_OUTCOME] = cells["cost_per_insured_year"]
    return cells.sort_values(["practice_id", "year"], ignore_index=True)


def _rollout(t: Tables, cfg: ReportConfig) -> Result:
    """Staggered DiD (Callaway–Sant'Anna) of outpatient DBC cost per insured year over
    every KBZ start cohort against never-started practices, with the event study, its
    pre-trend test and the persons behind every published cell."""
    import warnings

    from kbz_eval.errors import SpecificationError, StatisticalWarning
    from kbz_eval.estimators.pretrends import pretrend_test
    from kbz_eval.estimators.staggered import staggered_did

    cells = _rollout_cells(t, cfg)
    result = staggered_did(cells, outcome=ROLLOUT_OUTCOME, unit="practice_id",
                           time="year", group="start", control="never",
                           n_boot=_boot(cfg)["n_boot"], seed=_boot(cfg)["seed"])
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", StatisticalWarning)
            test = pretrend_test(result, data=cells)
        result.tables["pretrend"] = test.tidy()
        result.warnings.extend(str(w.message) for w in caught)
        result.warnings.append(f"Pre-trend test: {test.headline()}.")
    except SpecificationError as exc:
        result.warnings.append(f"No pre-trend test: {exc}")
    _count_rollout_persons(result, cells)
    return result


def _count_rollout_persons(result: Result, cells: pd.DataFrame) -> None:
    """Add ``n_persons`` to the staggered DiD's tables: the persons of the treated
    practices behind each estimate (in the year compared, for ATT(g, t); over the years
    and cohorts averaged, counted as person-years' persons per year, the fewest, for the
    aggregations), so the report's disclosure control can judge them."""
    treated = cells[cells["start"] > 0]
    per = treated.groupby(["start", "year"])["n_persons"].sum()

    def persons(pairs: list[tuple[int, int]]) -> int:
        values = [int(per.get(p, 0)) for p in pairs]
        return min(values) if values else 0

    years = sorted(cells["year"].unique())
    cohorts = sorted(treated["start"].unique())
    t = result.tables
    if "att_gt" in t:
        g = t["att_gt"]
        g["n_persons"] = [persons([(int(a), int(b))]) for a, b in zip(g["group"], g["time"],
                                                                       strict=True)]
    if "dynamic" in t:
        d = t["dynamic"]
        d["n_persons"] = [persons([(c, c + int(e)) for c in cohorts if c + int(e) in years])
                          for e in d["event_time"]]
    if "group" in t:
        d = t["group"]
        d["n_persons"] = [persons([(int(c), y) for y in years if y >= int(c)])
                          for c in d["group"]]
    if "calendar" in t:
        d = t["calendar"]
        d["n_persons"] = [persons([(c, int(y)) for c in cohorts if c <= int(y)])
                          for y in d["time"]]
    post = [(c, y) for c in cohorts for y in years if y >= c]
    for name in ("simple", "overall"):
        if name in t:
            t[name]["n_persons"] = persons(post)


def _twfe_decomposition(t: Tables, cfg: ReportConfig) -> Result:
    """The Goodman-Bacon decomposition of the naive two-way fixed-effects estimate on the
    same practice-year cells as the roll-out analysis."""
    from kbz_eval.estimators.bacon import bacon_decomposition

    cells = _rollout_cells(t, cfg)
    result = bacon_decomposition(cells, outcome=ROLLOUT_OUTCOME,
                                 unit="practice_id", time="year", group="start")
    treated = cells[cells["start"] > 0]
    fewest = int(treated.groupby("start")["n_persons"].min().min()) if len(treated) else 0
    for frame in (result.estimates, *result.tables.values()):
        frame["n_persons"] = fewest
    return result


def _count_persons(result: Result, cells: pd.DataFrame, first: int) -> None:
    """Add ``n_persons`` (persons behind each group mean) to the DiD's group tables, so
    the report's disclosure control can judge them; the DiD itself works on practice
    means and does not count persons. ``cells``: the analysed practice-year cells with
    their persons (:func:`_practice_year_cost`)."""
    c = cells[["practice_id", "year", "group", "n_persons"]].copy()
    c["arm"] = np.where(c["group"] == "kbz", "treated", "control")
    c["period"] = np.where(c["year"] >= first, "post", "pre")
    by_time = c.groupby(["arm", "year"])["n_persons"].sum()
    by_period = c.groupby(["arm", "period"])["n_persons"].sum()
    t = result.tables
    if "group_means_by_time" in t:
        g = t["group_means_by_time"]
        g["n_persons"] = [int(by_time.get((a, y), 0)) for a, y in zip(g["group"], g["time"],
                                                                         strict=True)]
    if "group_means" in t:
        g = t["group_means"]
        g["n_persons"] = [int(by_period.get((a, p), 0))
                          for a, p in zip(g["group"], g["period"], strict=True)]


def _cvg_trajectory(t: Tables, cfg: ReportConfig) -> Result:
    from kbz_eval.estimators.cvg import cvg_trajectory

    return cvg_trajectory(t["cvg"])


def _cvg_agreement(t: Tables, cfg: ReportConfig) -> Result:
    from kbz_eval.estimators.cvg import cvg_agreement

    return cvg_agreement(t["cvg"])


def _conversations(t: Tables, cfg: ReportConfig) -> Result:
    from kbz_eval.estimators.conversations import conversation_ratings

    return conversation_ratings(t["conversations"])


def _population_health(t: Tables, cfg: ReportConfig) -> Result:
    from kbz_eval.estimators.population_health import population_health

    return population_health(t["monitor"], area=_opt(cfg, "area", "Overvecht"),
                             reference=_opt(cfg, "reference_area", "Utrecht"))


def _workforce(t: Tables, cfg: ReportConfig) -> Result:
    from kbz_eval.estimators.workforce import workforce_change

    return workforce_change(t["workforce"], practices=t.get("practices"), **_level(cfg))


def _ivm(t: Tables, cfg: ReportConfig) -> Result:
    from kbz_eval.estimators.indicators import indicator_spread

    return indicator_spread(t["practice_indicators"], indicator="ivm",
                            practices=t.get("practices"), group="kbz")


def _referrals(t: Tables, cfg: ReportConfig) -> Result:
    from kbz_eval.estimators.indicators import referrals_avoided

    return referrals_avoided(t["consults"])


def _funnel(t: Tables, cfg: ReportConfig) -> Result:
    from kbz_eval.estimators.funnel import funnel

    return funnel(t["person_years"], t["practices"], kind="ratio",
                  outcome="poli_dbc_count")


def _ranking(t: Tables, cfg: ReportConfig) -> Result:
    from kbz_eval.estimators.ranking import practice_ranking

    return practice_ranking(t["person_years"], t["practices"],
                            outcome="poli_dbc_cost",
                            seed=int(_opt(cfg, "seed", 20140101)))


def _t(en: str, nl: str) -> dict[str, str]:
    return {"en": en, "nl": nl}


#: Every analysis of the report, in report order within its aim (savings, the question
#: everyone asks, leads the efficiency aim; the report shows efficiency first).
ANALYSES: tuple[Analysis, ...] = (
    Analysis("cvg_trajectory", 1, _t("Self-rated health (CVG) over the measurements",
                                      "Ervaren gezondheid (CVG) over de metingen"),
             ("cvg",), _cvg_trajectory, ("change_3_vs_1",)),
    Analysis("cvg_agreement", 1, _t("Patient and GP ratings of health: agreement",
                                     "Overeenstemming tussen patiënt en huisarts"),
             ("cvg",), _cvg_agreement),
    Analysis("conversation_ratings", 1, _t("Ratings of the 4D conversation",
                                            "Waardering van het 4D-gesprek"),
             ("conversations",), _conversations),
    Analysis("population_health", 2, _t("Health monitor: neighbourhood against the city",
                                          "Gezondheidsmonitor: wijk tegenover de stad"),
             ("monitor",), _population_health,
             ("difference_in_change:good_self_rated_health",)),
    Analysis("savings_minima", 3, _t("Savings on outpatient DBCs, minima insured",
                                      "Besparing op poliklinische DBC's, minima-verzekerden"),
             ("person_years", "practices"), _savings("minima"), ("saving_per_person",),
             selection="minima"),
    Analysis("savings_all", 3, _t("Savings on outpatient DBCs, all insured",
                                   "Besparing op poliklinische DBC's, alle verzekerden"),
             ("person_years", "practices"), _savings("all"), ("saving_per_person",),
             selection="all"),
    Analysis("dbc_index", 3, _t("Outpatient DBCs: index, KBZ against controls (minima)",
                                 "Poliklinische DBC's: index, KBZ tegenover controles (minima)"),
             ("person_years", "practices"), _dbc_index, ("did_rate_ratio",),
             selection="minima"),
    Analysis("did_practices", 3, _t("Difference in differences at practice level "
                                     "(outpatient DBC cost, first KBZ cohort)",
                                     "Verschil in verschillen per praktijk (poliklinische "
                                     "kosten, eerste KBZ-cohort)"),
             ("person_years", "practices"), _did_practices, ("att",)),
    Analysis("rollout", 3, _t("Roll-out: effect by year since the KBZ start, every start "
                               "cohort against never-started practices (outpatient DBC "
                               "cost per insured year)",
                               "Uitrol: effect per jaar sinds de KBZ-start, elk "
                               "startcohort tegenover praktijken zonder KBZ (poliklinische "
                               "kosten per verzekerdenjaar)"),
             ("person_years", "practices"), _rollout),
    Analysis("twfe_decomposition", 3, _t("Why a plain two-way fixed-effects estimate "
                                          "misleads under a roll-out: its comparisons "
                                          "(Goodman-Bacon)",
                                          "Waarom een gewone schatting met vaste effecten "
                                          "misleidt bij een uitrol: haar vergelijkingen "
                                          "(Goodman-Bacon)"),
             ("person_years", "practices"), _twfe_decomposition),
    Analysis("ggz_change", 3, _t("Specialist mental health care (GGZ) cost, 2013 → 2016",
                                  "Kosten specialistische GGZ, 2013 → 2016"),
             ("person_years", "practices"), _ggz_change,
             ("difference_in_change", "ratio_of_changes")),
    Analysis("risk_adjustment", 3, _t("Observed against expected cost (age and sex)",
                                       "Werkelijke tegenover verwachte kosten (leeftijd en "
                                       "geslacht)"),
             ("person_years", "practices"), _risk, _risk_primary, selection="all"),
    Analysis("practice_funnel", 3, _t("Practices compared: funnel plot of observed "
                                       "against expected outpatient DBCs (age and sex)",
                                       "Praktijken vergeleken: trechterdiagram van "
                                       "werkelijke tegenover verwachte poliklinische DBC's "
                                       "(leeftijd en geslacht)"),
             ("person_years", "practices"), _funnel),
    Analysis("practice_ranking", 3, _t("Practices compared: ranking with intervals and "
                                        "shrunken estimates (outpatient DBC cost)",
                                        "Praktijken vergeleken: rangorde met intervallen en "
                                        "gekrompen schattingen (poliklinische kosten)"),
             ("person_years", "practices"), _ranking, selection="all"),
    Analysis("indicator_spread", 3, _t("Prescribing efficiency (IVM) across KBZ practices",
                                        "Doelmatig voorschrijven (IVM) tussen KBZ-praktijken"),
             ("practice_indicators", "practices"), _ivm),
    Analysis("referrals_avoided", 3, _t("Neighbourhood specialists: referrals avoided",
                                         "Wijkspecialisten: voorkomen verwijzingen"),
             ("consults",), _referrals),
    Analysis("workforce_change", 4, _t("Professionals: workload and job satisfaction",
                                        "Professionals: werkdruk en werkplezier"),
             ("workforce",), _workforce, ("job_satisfaction:difference_wave_3:kbz-control",),
             optional=("practices",)),
)


def run_order(specs: list[Analysis], last: str = "") -> list[Analysis]:
    """``specs`` in report order, except that an analysis with a :attr:`Analysis.selection`
    runs right after the first one with the same selection, and the analyses of the
    selection ``last`` (if any) run after all others, so that what comes after them
    (the practice pages' trends, which select ``"all"``) can use that selection too."""
    first: dict[str, int] = {}
    keyed = []
    for i, spec in enumerate(specs):
        group = first.setdefault(spec.selection, i) if spec.selection else i
        keyed.append(((bool(last) and spec.selection == last, group, i), spec))
    return [spec for _, spec in sorted(keyed, key=lambda pair: pair[0])]


#: Name of each aim, by language.
AIMS = {
    1: _t("Experienced health and quality of care", "Ervaren gezondheid en kwaliteit van zorg"),
    2: _t("Population health", "Gezondheid van de bevolking"),
    3: _t("Efficiency (costs)", "Doelmatigheid (kosten)"),
    4: _t("Professionals", "Professionals"),
}
