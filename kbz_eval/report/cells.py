"""What every published table rests on: the disclosure declarations of the report.

One :class:`~kbz_eval.disclosure.Cells` per table of every result the report
publishes, keyed by the result's class and the table's name (``"tidy"``,
``"plot_data"`` or a name in ``result.tables``). The declarations name the person-count
columns, the key columns that link a table to the result's other tables, the margins
along which rows add up, and distributions of individual values; nothing is inferred
from column names. A table without a declaration is not published (the report says
so), and a test checks that every table of the sample report is declared.
"""

from __future__ import annotations

from kbz_eval.disclosure import Cells

_TIDY = Cells(counts=("n",))
_PUBLIC = Cells(public=True)

#: Result class name -> table name -> declaration.
DECLARATIONS: dict[str, dict[str, Cells]] = {
    "DbcIndexResult": {
        "tidy": Cells(counts=("n",), keys=("group", "year")),
        "rates": Cells(counts=("n_persons",), keys=("group", "year"), margins=("group",)),
        "index": Cells(counts=("n_persons",), keys=("group", "year"), margins=("group",)),
        "event_study": Cells(counts=("n_persons",), keys=("year",)),
        "plot_data": Cells(counts=("n_persons",), keys=("group", "year"),
                           margins=("group",)),
    },
    "SavingsResult": {
        "tidy": _TIDY,
        "by_group_year": Cells(counts=("n_persons",), keys=("group", "year"),
                               margins=("group",)),
        "counterfactual": Cells(counts=("n_persons",), keys=("year",)),
        "plot_data": Cells(counts=("n_persons",), keys=("series", "year")),
    },
    "GgzChangeResult": {
        "tidy": Cells(counts=("n",), keys=("practice_id",)),
        "by_group_year": Cells(counts=("n_persons", "n_insured"), keys=("group", "year"),
                               margins=("group",)),
        "by_practice": Cells(counts=("n_persons", "n_insured"),
                             keys=("group", "practice_id"), margins=("practice_id",)),
        "decomposition": Cells(counts=("n_persons", "n_insured"), keys=("group", "year"),
                               margins=("group",)),
        "new_patients": Cells(counts=("n_persons",), keys=("comparison", "group", "year"),
                              margins=("group",)),
        "plot_data": Cells(counts=("n_persons",), keys=("level", "label")),
    },
    "RiskAdjustmentResult": {
        "tidy": Cells(counts=("n",), keys=("unit", "year")),
        "observed_expected": Cells(counts=("n_persons",), keys=("group", "unit", "year"),
                                   margins=("unit",)),
        "kbz_vs_control": Cells(counts=("n_persons",), keys=("year",)),
        "reference_rates": Cells(counts=("n_persons",), keys=("age_band", "sex"),
                                 margins=("age_band", "sex")),
        "plot_data": Cells(counts=("n_persons",), keys=("group", "unit", "year"),
                           margins=("unit",)),
    },
    # means over the practice-year means of a group; the persons behind each group
    # mean are counted by the report's analysis (``n_persons``)
    "DiDResult": {
        "tidy": Cells(),
        "coefficients": Cells(),
        "group_means": Cells(counts=("n_persons",), keys=("group", "period")),
        "group_means_by_time": Cells(counts=("n_persons",), keys=("group", "time")),
        "plot_data": Cells(counts=("n_persons",), keys=("group", "time")),
    },
    # the roll-out (issue 14): effects on practice means; ``n_persons`` (added by the
    # report's analysis) counts the treated practices' persons behind each estimate
    "StaggeredDidResult": {
        "tidy": Cells(),
        "att_gt": Cells(counts=("n_persons",), keys=("group", "time")),
        "dynamic": Cells(counts=("n_persons",), keys=("event_time",)),
        "group": Cells(counts=("n_persons",), keys=("group",)),
        "calendar": Cells(counts=("n_persons",), keys=("time",)),
        "simple": Cells(counts=("n_persons",)),
        "overall": Cells(counts=("n_persons",), keys=("aggregation",)),
        "pretrend": Cells(),
        "plot_data": Cells(keys=("event_time",)),
    },
    "BaconResult": {
        "tidy": Cells(counts=("n_persons",), keys=("term",)),
        "comparisons": Cells(counts=("n_persons",), keys=("type", "treated", "control")),
        "by_type": Cells(counts=("n_persons",), keys=("type",)),
        "groups": Cells(counts=("n_persons",), keys=("group",)),
        "plot_data": Cells(keys=("type", "treated", "control")),
    },
    "CvgTrajectoryResult": {
        "tidy": Cells(counts=("n",), keys=("measurement",)),
        "means": Cells(counts=("n",), keys=("measurement",)),
        "change": Cells(counts=("n", "n_completers"), keys=("measurement",)),
        "responsiveness": Cells(counts=("n",), keys=("from_measurement", "to_measurement")),
        "variance_components": Cells(counts=("n",), keys=("component",)),
        # individual trajectories (one person each) are left out, not labelled
        "plot_data": Cells(counts=("n",), keys=("series", "measurement"),
                           drop_suppressed=True),
    },
    "CvgAgreementResult": {
        "tidy": _TIDY,
        "agreement": _TIDY,
        # counts per difference of marks: a distribution of individual values whose
        # mean, SD, share identical and share within one mark are published
        "differences": Cells(counts=("n",), keys=("difference",),
                             distribution="difference"),
        # Bland–Altman points (persons per mark and difference): with the mean and SD
        # of the differences published, a small point is withheld with all the points
        "plot_data": Cells(counts=("n",), keys=("element", "mean_rating"),
                           distribution="mean_rating", drop_suppressed=True),
    },
    "ConversationRatingsResult": {
        "tidy": Cells(counts=("n",), keys=("respondent_type", "item")),
        "distribution": Cells(counts=("count", "n"),
                              keys=("respondent_type", "item", "rating"),
                              distribution="rating"),
        "share_positive": Cells(counts=("n",), numerators=("positive",),
                                keys=("respondent_type", "item")),
        # stacked bars: the position of each bar is the cumulative share before it
        "plot_data": Cells(counts=("n",), keys=("respondent_type", "item", "rating"),
                           distribution="rating"),
    },
    "WorkforceResult": {
        "tidy": Cells(counts=("n",), keys=("measure", "wave", "group")),
        "means": Cells(counts=("n",), keys=("measure", "wave", "group"),
                       margins=("group",)),
        "means_by_location": Cells(counts=("n",), keys=("measure", "wave", "practice_id"),
                                   margins=("practice_id",)),
        "means_by_role": Cells(counts=("n",), keys=("measure", "wave", "role"),
                               margins=("role",)),
        "practice_variance": Cells(counts=("n",), keys=("measure", "wave", "group")),
        "variance_components": Cells(counts=("n",), keys=("measure",)),
        "plot_data": Cells(counts=("n",), keys=("measure", "wave", "group"),
                           margins=("group",)),
    },
    "PopulationHealthResult": {
        "tidy": Cells(counts=("n",), keys=("indicator", "area")),
        "percentages": Cells(counts=("n",), keys=("indicator", "area", "year")),
        "changes": Cells(counts=("n_area", "n_reference"), keys=("indicator",)),
        "plot_data": Cells(counts=("n",), keys=("indicator", "area", "year")),
    },
    # practice indicators: min, quartiles and max are individual practices' values, so
    # a spread over fewer practices than the threshold is not published
    "IndicatorSpreadResult": {
        "tidy": Cells(counts=("n",), keys=("group", "year")),
        "spread": Cells(counts=("n",), keys=("group", "year")),
        "plot_data": Cells(keys=("group", "year")),
    },
    "ReferralsAvoidedResult": {
        "tidy": Cells(counts=("n",), keys=("specialism",)),
        "shares": Cells(counts=("n",), numerators=("avoided",), keys=("specialism",),
                        margins=("specialism",)),
        "plot_data": Cells(counts=("n",), keys=("specialism",), margins=("specialism",)),
    },
    # practices compared (issue 13). Every per-practice table links to the others by
    # (group, practice) and adds up along practices within a group, so a suppressed
    # practice cannot be recovered from a group total minus the other practices.
    "FunnelResult": {
        "tidy": Cells(counts=("n",), keys=("group", "unit")),
        "units": Cells(counts=("n_persons",), keys=("group", "unit"), margins=("unit",)),
        "limits": Cells(),  # the funnel curves: functions of size, target and dispersion
        "dispersion": Cells(),  # one model-wide row over all units
        # points follow `units`; a suppressed unit is left out of the figure and its data
        "plot_data": Cells(keys=("group", "unit"), drop_suppressed=True),
    },
    "RankingResult": {
        "tidy": Cells(counts=("n",), keys=("group", "practice")),
        "practices": Cells(counts=("n_persons",), keys=("group", "practice"),
                           margins=("practice",)),
        "heterogeneity": Cells(),
        "plot_data": Cells(counts=("n_persons",), keys=("group", "practice"),
                           margins=("practice",)),
    },
    # limits rest on the baseline years (`limits_n_persons`, the fewest persons of those
    # years); peers' means carry the practice's group so a suppressed practice-year
    # suppresses its own peers row too (leave-one-out means would otherwise give it away)
    "PracticeTrendsResult": {
        "tidy": Cells(counts=("n",), keys=("group", "practice", "indicator")),
        "series": Cells(counts=("n_persons", "limits_n_persons"),
                        keys=("group", "practice", "indicator", "year"),
                        margins=("practice",)),
        "peers": Cells(counts=("n_persons",),
                       keys=("group", "practice", "indicator", "year")),
        "signals": Cells(counts=("n_persons",),
                         keys=("group", "practice", "indicator", "year")),
        "limits": Cells(counts=("n_persons",), keys=("group", "practice", "indicator")),
        "plot_data": Cells(counts=("n_persons", "limits_n_persons"),
                           keys=("group", "practice", "indicator", "series", "year")),
    },
    "CaseMixResult": {
        "tidy": Cells(counts=("n",), keys=("group", "practice", "year")),
        "observed_expected": Cells(counts=("n_persons",), keys=("group", "practice", "year"),
                                   margins=("practice",)),
        "model": Cells(counts=("n_persons",), keys=("term",)),
        "fit": Cells(counts=("n_persons",), keys=("model",)),
        "plot_data": Cells(counts=("n_persons",), keys=("group", "practice", "year"),
                           margins=("practice",)),
    },
    # open data: aggregates that Vektis and RIVM publish themselves (no person cells)
    "AreaComparison": {name: _PUBLIC for name in
                       ("tidy", "series", "donors", "rollout", "plot_data")},
    "AreaHealthChange": {name: _PUBLIC for name in ("tidy", "levels", "labels", "plot_data")},
    "CostPerInsuredYear": {name: _PUBLIC for name in
                           ("tidy", "breaks", "rest", "standard", "plot_data")},
    "SyntheticControl": {name: _PUBLIC for name in
                         ("tidy", "series", "weights", "placebos", "placebo_gaps",
                          "in_time_placebo", "plot_data")},
}


def declarations(result: object) -> dict[str, Cells]:
    """The declarations of ``result``'s tables (empty when its class declares none)."""
    return DECLARATIONS.get(type(result).__name__, {})
