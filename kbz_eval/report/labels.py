"""Plain labels for the report's columns and tables, in Dutch and English.

Every column a published table can carry and every table the report publishes has one
entry here: a label per language and, for columns, the unit of its values, which decides
the number format in the workbook. Table keys are ``"<analysis>.<table>"`` (as in the
pipeline) or a top-level name such as ``"data_quality"``.

A name without an entry is shown as it is; :func:`missing_labels` lists such names, and
a test runs the sample report and asserts that nothing is missing.

Units
-----
``EUR``
    Money in euros.
``persons``
    A number of persons (whole numbers).
``count``
    Any other count or ordinal (whole numbers): DBCs, practices, rows, ranks, waves.
``year``
    A calendar year (whole numbers, no thousands separator).
``person_years``
    Insured years (person-time).
``percent``
    A value in percent units (``12.3`` means 12.3 %).
``share``
    A proportion between 0 and 1 (shown as a percentage).
``ratio``
    A ratio or index of a similar size to 1 (rate ratios, observed/expected, weights).
``p_value``
    A p-value.
``score``
    A mean, difference or statistic on a rating scale or a z-scale.
``scientific``
    A quantity that can be very small (a between-unit variance).
``number``
    Any other number, or a column whose rows mix units (``estimate`` of a tidy table).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

#: The report languages.
LANGUAGES = ("nl", "en")

#: The units a column can have (see the module docstring).
UNITS = ("EUR", "persons", "count", "year", "person_years", "percent", "share", "ratio",
         "p_value", "score", "scientific", "number")

#: Units whose values are whole numbers.
WHOLE_UNITS = frozenset({"persons", "count", "year"})


@dataclass(frozen=True)
class Label:
    """A column's label in each language and the unit of its values.

    Attributes
    ----------
    nl, en
        The label in Dutch and in English.
    unit
        One of :data:`UNITS`, or ``None`` for text, flags and identifiers.
    """

    nl: str
    en: str
    unit: str | None = None

    def text(self, language: str) -> str:
        """The label in ``language`` (``"nl"`` or ``"en"``)."""
        _check_language(language)
        return self.nl if language == "nl" else self.en


@dataclass(frozen=True)
class TableLabel:
    """A table's title, its short form for sheet names and an optional description.

    Attributes
    ----------
    nl, en
        The title in Dutch and in English.
    short_nl, short_en
        A short form (a few words) for building sheet names.
    description_nl, description_en
        One sentence on what the table holds, or empty.
    """

    nl: str
    en: str
    short_nl: str
    short_en: str
    description_nl: str = ""
    description_en: str = ""

    def text(self, language: str) -> str:
        """The title in ``language``."""
        _check_language(language)
        return self.nl if language == "nl" else self.en

    def short(self, language: str) -> str:
        """The short form in ``language``."""
        _check_language(language)
        return self.short_nl if language == "nl" else self.short_en

    def description(self, language: str) -> str:
        """The description in ``language`` (empty when there is none)."""
        _check_language(language)
        return self.description_nl if language == "nl" else self.description_en


def _c(nl: str, en: str, unit: str | None = None) -> Label:
    return Label(nl, en, unit)


def _ci(nl: str, en: str, unit: str | None) -> dict[str, Label]:
    """The lower and upper 95 % limits of a quantity (``<name>_ci_lower/_upper``)."""
    return {"ci_lower": _c(f"{nl}, 95%-BI ondergrens", f"{en}, 95% CI lower", unit),
            "ci_upper": _c(f"{nl}, 95%-BI bovengrens", f"{en}, 95% CI upper", unit)}


def _with_ci(name: str, nl: str, en: str, unit: str | None, *,
             prefix: str | None = None) -> dict[str, Label]:
    """A quantity and its 95 % limits ``<prefix>_ci_lower/_upper`` (prefix: the name)."""
    out = {name: _c(nl, en, unit)}
    out.update({f"{prefix or name}_{k}": v for k, v in _ci(nl, en, unit).items()})
    return out


#: Every column name of a published table or figure data file.
COLUMNS: dict[str, Label] = {
    # the columns every tidy table has
    "term": _c("Grootheid", "Quantity"),
    "estimate": _c("Schatting", "Estimate", "number"),
    "std_error": _c("Standaardfout", "Standard error", "number"),
    "ci_lower": _c("95%-BI ondergrens", "95% CI lower", "number"),
    "ci_upper": _c("95%-BI bovengrens", "95% CI upper", "number"),
    "p_value": _c("p-waarde", "p-value", "p_value"),
    "p_adjusted": _c("p-waarde (Holm-gecorrigeerd)", "p-value (Holm-adjusted)", "p_value"),
    "p_randomisation": _c("p-waarde (randomisatie)", "p-value (randomisation)", "p_value"),
    "n": _c("Aantal (n)", "Number (n)", "count"),
    "df": _c("Vrijheidsgraden", "Degrees of freedom", "number"),
    "role": _c("Rol", "Role"),
    "note": _c("Toelichting", "Note"),
    "unit": _c("Eenheid", "Unit"),
    "inference": _c("Eenheid van inferentie", "Unit of inference"),
    "estimator": _c("Schattingsmethode", "Estimator"),
    "contrast": _c("Vergelijking", "Contrast"),
    "comparison": _c("Vergelijkingssoort", "Comparison"),
    "statistic": _c("Statistiek", "Statistic"),
    "statistic_value": _c("Waarde van de statistiek", "Statistic value", "number"),
    "method": _c("Methode", "Method"),
    "kind": _c("Soort", "Kind"),
    "label": _c("Omschrijving", "Label"),
    "value": _c("Waarde", "Value", "number"),
    # who, where, when
    "group": _c("Groep", "Group"),
    "year": _c("Jaar", "Year", "year"),
    "time": _c("Tijd (jaar)", "Time (year)", "year"),
    "period": _c("Periode", "Period"),
    "post": _c("Na de start", "After the start"),
    "practice_id": _c("Praktijk", "Practice"),
    "practice": _c("Praktijk", "Practice"),
    "area": _c("Gebied", "Area"),
    "area_code": _c("Gebiedscode", "Area code"),
    "reference": _c("Referentie", "Reference"),
    "indicator": _c("Indicator", "Indicator"),
    "measure": _c("Maat", "Measure"),
    "measurement": _c("Meting", "Measurement", "count"),
    "from_measurement": _c("Van meting", "From measurement", "count"),
    "to_measurement": _c("Naar meting", "To measurement", "count"),
    "wave": _c("Meting", "Wave", "count"),
    "respondent_type": _c("Soort respondent", "Respondent type"),
    "item": _c("Vraag", "Item"),
    "specialism": _c("Specialisme", "Specialism"),
    "age_band": _c("Leeftijdsklasse", "Age band"),
    "age_class": _c("Leeftijdsklasse", "Age class"),
    "sex": _c("Geslacht", "Sex"),
    "cost_group": _c("Kostensoort", "Cost group"),
    "donor": _c("Donorgemeente", "Donor municipality"),
    "year_start": _c("Beginjaar", "Start year", "year"),
    "year_end": _c("Eindjaar", "End year", "year"),
    "year_from": _c("Van jaar", "From year", "year"),
    "year_to": _c("Tot jaar", "To year", "year"),
    "lookback_year": _c("Terugkijkjaar", "Look-back year", "year"),
    "rollout_year": _c("Startjaar KBZ", "KBZ start year", "year"),
    "rollout_years": _c("Startjaren KBZ", "KBZ start years"),
    "placebo_start": _c("Start placebo", "Placebo start", "year"),
    # counts
    "n_persons": _c("Aantal personen", "Number of persons", "persons"),
    "n_insured": _c("Aantal verzekerden", "Number of insured", "persons"),
    "n_completers": _c("Aantal volledige deelnemers", "Number of completers", "persons"),
    "n_lost_since_first": _c("Uitgevallen sinds de eerste meting",
                             "Lost since the first measurement", "persons"),
    "n_area": _c("Aantal respondenten gebied", "Respondents in the area", "persons"),
    "n_reference": _c("Aantal respondenten referentie", "Respondents in the reference",
                      "persons"),
    "n_is_assumed": _c("Aantal aangenomen", "Number assumed"),
    "n_practices": _c("Aantal praktijken", "Number of practices", "count"),
    "n_clusters": _c("Aantal clusters", "Number of clusters", "count"),
    "n_treated_units": _c("Aantal KBZ-eenheden", "Number of treated units", "count"),
    "n_control_units": _c("Aantal controle-eenheden", "Number of control units", "count"),
    "n_obs": _c("Aantal waarnemingen", "Number of observations", "count"),
    "n_units": _c("Aantal eenheden", "Number of units", "count"),
    "n_used": _c("Aantal gebruikt", "Number used", "count"),
    "n_groups": _c("Aantal groepen", "Number of groups", "count"),
    "n_years": _c("Aantal jaren", "Number of years", "count"),
    "n_exact_fits": _c("Aantal exacte aansluitingen", "Number of exact fits", "count"),
    "n_districts": _c("Aantal wijken", "Number of districts", "count"),
    "k": _c("Aantal praktijken (k)", "Number of practices (k)", "count"),
    "count": _c("Aantal", "Count", "count"),
    "positive": _c("Aantal positief", "Number positive", "count"),
    "avoided": _c("Aantal voorkomen verwijzingen", "Referrals avoided", "count"),
    "dbc_count": _c("Aantal DBC's", "Number of DBCs", "count"),
    "poli_dbc_count": _c("Aantal poliklinische DBC's", "Number of outpatient DBCs", "count"),
    "ggz_cost": _c("Kosten specialistische GGZ", "Specialist GGZ costs", "EUR"),
    "outpatient DBC cost per insured year (EUR)": _c(
        "Poliklinische kosten per verzekerdejaar (EUR)",
        "Outpatient DBC cost per insured year (EUR)", "EUR"),
    "rating": _c("Cijfer", "Rating", "count"),
    "rank": _c("Rang", "Rank", "count"),
    "rank_lower": _c("Rang, ondergrens", "Rank, lower limit", "count"),
    "rank_upper": _c("Rang, bovengrens", "Rank, upper limit", "count"),
    "rank_among_districts": _c("Rang onder de wijken", "Rank among districts", "count"),
    "rows_read": _c("Rijen gelezen", "Rows read", "count"),
    "rows_kept": _c("Rijen behouden", "Rows kept", "count"),
    "rows_rejected": _c("Rijen afgewezen", "Rows rejected", "count"),
    "insured_years": _c("Verzekerdejaren", "Insured years", "person_years"),
    # money
    "cost": _c("Kosten", "Cost", "EUR"),
    "poli_dbc_cost": _c("Kosten poliklinische DBC's", "Outpatient DBC costs", "EUR"),
    "cost_per_insured_year": _c("Kosten per verzekerdejaar", "Cost per insured year", "EUR"),
    "cost_per_insured_year_2013": _c("Kosten per verzekerdejaar 2013",
                                     "Cost per insured year 2013", "EUR"),
    "cost_per_insured_year_2016": _c("Kosten per verzekerdejaar 2016",
                                     "Cost per insured year 2016", "EUR"),
    **_with_ci("cost_per_patient", "Kosten per patiënt", "Cost per patient", "EUR"),
    "mean_cost": _c("Gemiddelde kosten", "Mean cost", "EUR"),
    "mean_outcome": _c("Gemiddelde uitkomst", "Mean outcome", "EUR"),
    **_with_ci("actual", "Werkelijke kosten per verzekerdejaar",
               "Actual cost per insured year", "EUR"),
    **_with_ci("counterfactual", "Kosten zonder KBZ (contrafeitelijk)",
               "Counterfactual cost", "EUR"),
    **_with_ci("saving", "Besparing per verzekerdejaar", "Saving per insured year", "EUR"),
    "rest_insured_years": _c("Verzekerdejaren overig", "Insured years, rest",
                             "person_years"),
    "rest_cost": _c("Kosten overig", "Cost, rest", "EUR"),
    "rest_share_insured_years": _c("Aandeel verzekerdejaren overig",
                                   "Share of insured years, rest", "share"),
    "rest_cost_per_insured_year": _c("Kosten per verzekerdejaar overig",
                                     "Cost per insured year, rest", "EUR"),
    "area_value": _c("Waarde gebied", "Area value", "EUR"),
    "reference_value": _c("Waarde referentie", "Reference value", "EUR"),
    "treated": _c("KBZ-gemeente", "Treated", "EUR"),
    "synthetic": _c("Synthetische controle", "Synthetic control", "EUR"),
    "gap": _c("Verschil met synthetische controle", "Gap to the synthetic control", "EUR"),
    "treated_value": _c("Waarde KBZ-gemeente", "Treated value", "EUR"),
    "synthetic_value": _c("Waarde synthetische controle", "Synthetic control value", "EUR"),
    "pre_rmspe": _c("RMSPE vóór de start", "Pre-period RMSPE", "EUR"),
    "post_rmspe": _c("RMSPE na de start", "Post-period RMSPE", "EUR"),
    "mean_post_gap": _c("Gemiddeld verschil na de start", "Mean post-period gap", "EUR"),
    "range_lower": _c("Bereik, ondergrens", "Range, lower", "EUR"),
    "range_upper": _c("Bereik, bovengrens", "Range, upper", "EUR"),
    # rates, ratios and indices
    "rate": _c("Cijfer", "Rate", "number"),
    "rate_per_1000": _c("DBC's per 1000 verzekerdejaren", "DBCs per 1,000 insured years",
                        "number"),
    "rate_ratio": _c("Rate ratio", "Rate ratio", "ratio"),
    "crude_rate": _c("Ruw cijfer", "Crude rate", "number"),
    "standardised_rate": _c("Gestandaardiseerd cijfer", "Standardised rate", "number"),
    "index": _c("Index (basisjaar = 100)", "Index (base year = 100)", "number"),
    "observed": _c("Werkelijk", "Observed", "number"),
    "expected": _c("Verwacht", "Expected", "number"),
    "oe_ratio": _c("Werkelijk/verwacht", "Observed/expected", "ratio"),
    "ratio": _c("Verhouding", "Ratio", "ratio"),
    "size": _c("Omvang (verwacht)", "Size (expected)", "number"),
    "target": _c("Doelwaarde", "Target", "ratio"),
    "weight": _c("Gewicht", "Weight", "ratio"),
    "shrunken": _c("Gekrompen schatting", "Shrunken estimate", "ratio"),
    "shrunken_lower": _c("Gekrompen, ondergrens", "Shrunken, lower", "ratio"),
    "shrunken_upper": _c("Gekrompen, bovengrens", "Shrunken, upper", "ratio"),
    "shrinkage": _c("Krimpfactor", "Shrinkage factor", "ratio"),
    "pooled": _c("Gepoolde schatting", "Pooled estimate", "ratio"),
    "pooled_lower": _c("Gepoold, ondergrens", "Pooled, lower", "ratio"),
    "pooled_upper": _c("Gepoold, bovengrens", "Pooled, upper", "ratio"),
    # funnel plot
    "z": _c("z-score", "z-score", "score"),
    "z_adjusted": _c("z-score (gecorrigeerd voor overspreiding)",
                     "z-score (adjusted for overdispersion)", "score"),
    "lower_95": _c("Ondergrens 95%", "Lower 95% limit", "ratio"),
    "upper_95": _c("Bovengrens 95%", "Upper 95% limit", "ratio"),
    "lower_998": _c("Ondergrens 99,8%", "Lower 99.8% limit", "ratio"),
    "upper_998": _c("Bovengrens 99,8%", "Upper 99.8% limit", "ratio"),
    "exact_lower_95": _c("Exacte ondergrens 95%", "Exact lower 95% limit", "ratio"),
    "exact_upper_95": _c("Exacte bovengrens 95%", "Exact upper 95% limit", "ratio"),
    "exact_lower_998": _c("Exacte ondergrens 99,8%", "Exact lower 99.8% limit", "ratio"),
    "exact_upper_998": _c("Exacte bovengrens 99,8%", "Exact upper 99.8% limit", "ratio"),
    "outlier": _c("Uitschieter", "Outlier"),
    "outlier_95": _c("Buiten 95%-grenzen", "Outside 95% limits"),
    "outlier_998": _c("Buiten 99,8%-grenzen", "Outside 99.8% limits"),
    "side": _c("Kant", "Side"),
    "used_in_dispersion": _c("Gebruikt voor overspreiding", "Used for overdispersion"),
    "trimmed": _c("Weggelaten bij trimmen", "Trimmed"),
    "transform": _c("Transformatie", "Transformation"),
    "robust": _c("Robuuste methode", "Robust method"),
    "trim": _c("Trimfractie", "Trim fraction", "share"),
    "overdispersion": _c("Overspreidingsmodel", "Overdispersion model"),
    "phi": _c("φ (multiplicatieve overspreiding)", "φ (multiplicative overdispersion)",
              "ratio"),
    "tau2": _c("τ² (variantie tussen eenheden)", "τ² (between-unit variance)",
               "scientific"),
    "tau": _c("τ (spreiding tussen eenheden)", "τ (between-unit SD)", "ratio"),
    "dispersion_ratio": _c("Overspreidingsratio", "Dispersion ratio", "ratio"),
    "dispersion_p": _c("p-waarde overspreiding", "Overdispersion p-value", "p_value"),
    "widened": _c("Grenzen verbreed", "Limits widened"),
    "i2": _c("I² (aandeel heterogeniteit)", "I² (share of heterogeneity)", "share"),
    "q": _c("Cochrans Q", "Cochran's Q", "score"),
    "q_p_value": _c("p-waarde van Q", "p-value of Q", "p_value"),
    "used": _c("Gebruikt", "Used"),
    "converged": _c("Geconvergeerd", "Converged"),
    # surveys
    "mean": _c("Gemiddelde", "Mean", "score"),
    "sd": _c("Standaarddeviatie", "Standard deviation", "score"),
    "retained_share": _c("Aandeel nog in de studie", "Share retained", "share"),
    **_with_ci("mixed_estimate", "Verandering (gemengd model)", "Change (mixed model)",
               "score", prefix="mixed"),
    **_with_ci("completers_estimate", "Verandering (volledige deelnemers)",
               "Change (completers)", "score", prefix="completers"),
    "mean_change": _c("Gemiddelde verandering", "Mean change", "score"),
    "sd_change": _c("Standaarddeviatie van de verandering", "SD of the change", "score"),
    "sd_start": _c("Standaarddeviatie bij de start", "SD at the start", "score"),
    **_with_ci("srm", "Gestandaardiseerde gemiddelde respons (SRM)",
               "Standardised response mean (SRM)", "ratio"),
    "srm_se": _c("SRM, standaardfout", "SRM, standard error", "ratio"),
    **_with_ci("es", "Effectgrootte (ES)", "Effect size (ES)", "ratio"),
    "es_se": _c("ES, standaardfout", "ES, standard error", "ratio"),
    "component": _c("Variantiecomponent", "Variance component"),
    "variance": _c("Variantie", "Variance", "score"),
    "share": _c("Aandeel", "Share", "share"),
    "difference": _c("Verschil", "Difference", "score"),
    "mean_rating": _c("Gemiddeld cijfer", "Mean rating", "score"),
    "percent": _c("Percentage", "Percentage", "percent"),
    "area_start": _c("Gebied bij de start (%)", "Area at the start (%)", "percent"),
    "area_end": _c("Gebied aan het eind (%)", "Area at the end (%)", "percent"),
    **_with_ci("area_change", "Verandering gebied (%-punt)", "Change in the area (% points)",
               "percent"),
    "reference_start": _c("Referentie bij de start (%)", "Reference at the start (%)",
                          "percent"),
    "reference_end": _c("Referentie aan het eind (%)", "Reference at the end (%)", "percent"),
    **_with_ci("reference_change", "Verandering referentie (%-punt)",
               "Change in the reference (% points)", "percent"),
    "difference_in_change": _c("Verschil in verandering (%-punt)",
                               "Difference in change (% points)", "percent"),
    "favourable": _c("Gunstig", "Favourable"),
    "min": _c("Minimum", "Minimum", "percent"),
    "q1": _c("Eerste kwartiel", "First quartile", "percent"),
    "median": _c("Mediaan", "Median", "percent"),
    "q3": _c("Derde kwartiel", "Third quartile", "percent"),
    "max": _c("Maximum", "Maximum", "percent"),
    "range": _c("Spreidingsbreedte", "Range", "percent"),
    "iqr": _c("Interkwartielafstand", "Interquartile range", "percent"),
    # GGZ
    "change": _c("Verandering", "Change", "share"),
    **_with_ci("prevalence", "Prevalentie", "Prevalence", "share"),
    # workforce
    "se_cr2": _c("Standaardfout (CR2)", "Standard error (CR2)", "score"),
    "se_model": _c("Standaardfout (model)", "Standard error (model)", "score"),
    "model_floor_used": _c("Modelondergrens gebruikt", "Model floor used"),
    "random_intercept": _c("Willekeurig intercept", "Random intercept"),
    "between_var": _c("Variantie tussen", "Between variance", "score"),
    "within_var": _c("Variantie binnen", "Within variance", "score"),
    "between_share": _c("Aandeel variantie tussen", "Share of variance between", "share"),
    # open data
    "missing_weight": _c("Ontbrekend gewicht", "Missing weight", "share"),
    "ggz_break": _c("GGZ-trendbreuk", "GGZ break"),
    "definition_change": _c("Definitiewijziging", "Definition change"),
    "exact_fit": _c("Exacte aansluiting", "Exact fit"),
    "exact_fit_units": _c("Eenheden met exacte aansluiting", "Units with an exact fit"),
    "p_min": _c("Kleinst haalbare p-waarde", "Smallest attainable p-value", "p_value"),
    # roll-out (staggered DiD) and the two-way fixed-effects decomposition
    "aggregation": _c("Samenvatting over", "Aggregation"),
    "event_time": _c("Jaren sinds de start", "Years since the start", "count"),
    "base_time": _c("Basisjaar", "Base year", "year"),
    "att": _c("Effect (ATT)", "Effect (ATT)", "number"),
    "se": _c("Standaardfout", "Standard error", "number"),
    "pointwise_lower": _c("Puntsgewijs 95%-BI ondergrens", "Pointwise 95% CI lower",
                          "number"),
    "pointwise_upper": _c("Puntsgewijs 95%-BI bovengrens", "Pointwise 95% CI upper",
                          "number"),
    "n_treated": _c("Aantal behandelde eenheden", "Number treated", "count"),
    "n_control": _c("Aantal vergelijkingseenheden", "Number of comparison units", "count"),
    "n_cohorts": _c("Aantal startcohorten", "Number of start cohorts", "count"),
    "n_comparisons": _c("Aantal vergelijkingen", "Number of comparisons", "count"),
    "type": _c("Soort vergelijking", "Comparison type"),
    "control": _c("Vergelijkingscohort (0 = nooit gestart)",
                  "Comparison cohort (0 = never started)", "year"),
    "first_period": _c("Eerste jaar", "First year", "year"),
    "last_period": _c("Laatste jaar", "Last year", "year"),
    "share_treated": _c("Aandeel van de tijd behandeld", "Share of time treated", "share"),
    # data quality
    "table": _c("Tabel", "Table"),
    "file": _c("Bestand", "File"),
    "reason": _c("Reden", "Reason"),
    # figure data only
    "series": _c("Reeks", "Series"),
    "trajectory": _c("Traject", "Trajectory"),
    "element": _c("Element", "Element"),
    "level": _c("Niveau", "Level"),
    "left": _c("Linkerrand balk", "Bar left edge", "share"),
    "position": _c("Positie", "Position", "number"),
    "x": _c("Positie op de x-as", "x position", "number"),
}

#: Column units that differ in one kind of table (the part of the key after the dot).
TABLE_UNITS: dict[str, dict[str, str]] = {
    "by_group_year": {"ci_lower": "EUR", "ci_upper": "EUR"},
    "new_patients": {"ci_lower": "EUR", "ci_upper": "EUR"},
    "by_practice": {"ci_lower": "share", "ci_upper": "share"},
    "share_positive": {"ci_lower": "share", "ci_upper": "share"},
    "shares": {"ci_lower": "share", "ci_upper": "share"},
    "percentages": {"ci_lower": "percent", "ci_upper": "percent"},
    "changes": {"ci_lower": "percent", "ci_upper": "percent"},
    "event_study": {"ci_lower": "ratio", "ci_upper": "ratio"},
    "kbz_vs_control": {"ci_lower": "ratio", "ci_upper": "ratio"},
    "observed_expected": {"ci_lower": "ratio", "ci_upper": "ratio", "observed": "EUR",
                          "expected": "EUR", "crude_rate": "EUR",
                          "standardised_rate": "EUR"},
    "reference_rates": {"rate": "EUR"},
    "practices": {"estimate": "ratio", "std_error": "ratio", "ci_lower": "ratio",
                  "ci_upper": "ratio", "observed": "EUR", "expected": "EUR",
                  "crude_rate": "EUR"},
    "units": {"observed": "count", "value": "ratio"},
    "standard": {"weight": "person_years"},
    "series": {"value": "EUR"},
    "levels": {"value": "percent"},
    "means": {"ci_lower": "score", "ci_upper": "score"},
    "means_by_location": {"ci_lower": "score", "ci_upper": "score"},
    "means_by_role": {"ci_lower": "score", "ci_upper": "score"},
    **{name: {c: "EUR" for c in ("att", "se", "ci_lower", "ci_upper", "pointwise_lower",
                                 "pointwise_upper")}
       for name in ("att_gt", "dynamic", "group", "calendar", "simple", "overall")},
    "comparisons": {"treated": "year", "estimate": "EUR", "weight": "share"},
    "by_type": {"estimate": "EUR", "weight": "share"},
}

#: Tables whose columns past the first are names of places (Vektis municipalities),
#: shown as they are, with the unit given here.
PLACE_COLUMN_TABLES: dict[str, str] = {"placebo_gaps": "EUR"}


def _t(nl: str, en: str, short_nl: str, short_en: str, description_nl: str = "",
       description_en: str = "") -> TableLabel:
    return TableLabel(nl, en, short_nl, short_en, description_nl, description_en)


#: Every analysis key (the part of a table key before the dot).
ANALYSES: dict[str, TableLabel] = {
    "cvg_trajectory": _t("Ervaren gezondheid (CVG) over de metingen",
                         "Self-rated health (CVG) over the measurements",
                         "CVG verloop", "CVG trajectory"),
    "cvg_agreement": _t("Overeenstemming tussen patiënt en huisarts",
                        "Patient and GP ratings of health: agreement",
                        "CVG pat.-arts", "CVG agreement"),
    "conversation_ratings": _t("Waardering van het 4D-gesprek",
                               "Ratings of the 4D conversation",
                               "4D-gesprek", "4D conversation"),
    "population_health": _t("Gezondheidsmonitor: wijk tegenover de stad",
                            "Health monitor: neighbourhood against the city",
                            "Gezondheid", "Health monitor"),
    "dbc_index": _t("Poliklinische DBC's: index, KBZ tegenover controles (minima)",
                    "Outpatient DBCs: index, KBZ against controls (minima)",
                    "DBC-index", "DBC index"),
    "savings_minima": _t("Besparing op poliklinische DBC's, minima-verzekerden",
                         "Savings on outpatient DBCs, minima insured",
                         "Besparing minima", "Savings minima"),
    "savings_all": _t("Besparing op poliklinische DBC's, alle verzekerden",
                      "Savings on outpatient DBCs, all insured",
                      "Besparing allen", "Savings all"),
    "did_practices": _t("Verschil in verschillen per praktijk (poliklinische kosten, "
                        "eerste KBZ-cohort)",
                        "Difference in differences at practice level (outpatient DBC "
                        "cost, first KBZ cohort)",
                        "DiD praktijken", "DiD practices"),
    "rollout": _t("Uitrol: effect per jaar sinds de KBZ-start, elk startcohort tegenover "
                  "praktijken zonder KBZ (poliklinische kosten per verzekerdejaar)",
                  "Roll-out: effect by year since the KBZ start, every start cohort "
                  "against never-started practices (outpatient DBC cost per insured "
                  "year)",
                  "Uitrol", "Roll-out"),
    "twfe_decomposition": _t("Ontleding van de gewone schatting met vaste effecten in "
                             "haar vergelijkingen (Goodman-Bacon)",
                             "The plain two-way fixed-effects estimate taken apart into "
                             "its comparisons (Goodman-Bacon)",
                             "Goodman-Bacon", "Goodman-Bacon"),
    "ggz_change": _t("Kosten specialistische GGZ, 2013 → 2016",
                     "Specialist mental health care (GGZ) cost, 2013 → 2016",
                     "GGZ-kosten", "GGZ cost"),
    "risk_adjustment": _t("Werkelijke tegenover verwachte kosten (leeftijd en geslacht)",
                          "Observed against expected cost (age and sex)",
                          "Case-mix", "Case mix"),
    "practice_funnel": _t("Praktijken vergeleken: trechterdiagram van werkelijke "
                          "tegenover verwachte poliklinische DBC's",
                          "Practices compared: funnel plot of observed against expected "
                          "outpatient DBCs",
                          "Trechter", "Funnel"),
    "practice_ranking": _t("Praktijken vergeleken: rangorde met intervallen en gekrompen "
                           "schattingen",
                           "Practices compared: ranking with intervals and shrunken "
                           "estimates",
                           "Rangorde", "Ranking"),
    "indicator_spread": _t("Doelmatig voorschrijven (IVM) tussen KBZ-praktijken",
                           "Prescribing efficiency (IVM) across KBZ practices",
                           "IVM-spreiding", "IVM spread"),
    "referrals_avoided": _t("Wijkspecialisten: voorkomen verwijzingen",
                            "Neighbourhood specialists: referrals avoided",
                            "Verwijzingen", "Referrals"),
    "workforce_change": _t("Professionals: werkdruk en werkplezier",
                           "Professionals: workload and job satisfaction",
                           "Professionals", "Workforce"),
    "open_data_cost_per_insured_year": _t(
        "Open data: kosten per verzekerdejaar, KBZ-steden en Nederland (Vektis)",
        "Open data: cost per insured year, KBZ cities and the Netherlands (Vektis)",
        "Vektis kosten", "Vektis cost"),
    "open_data_kbz_cities_vs_references": _t(
        "Open data: KBZ-steden tegenover Nederland en vergelijkbare gemeenten",
        "Open data: KBZ cities against the country and comparable municipalities",
        "KBZ-steden", "KBZ cities"),
    "open_data_overvecht_health": _t(
        "Open data: gezondheid Overvecht tegenover Utrecht en Nederland (RIVM)",
        "Open data: Overvecht health against Utrecht and the country (RIVM)",
        "RIVM Overvecht", "RIVM Overvecht"),
}

#: The cities of the open-data synthetic controls, by key.
SYNTHETIC_CONTROL_CITIES = {"utrecht": "Utrecht", "amsterdam": "Amsterdam",
                            "rotterdam": "Rotterdam", "den_haag": "Den Haag",
                            "haarlem": "Haarlem"}
for _key, _city in SYNTHETIC_CONTROL_CITIES.items():
    ANALYSES[f"open_data_synthetic_control_{_key}"] = _t(
        f"Open data: synthetische controle voor {_city}",
        f"Open data: synthetic control for {_city}",
        f"Synth. {_city}", f"Synth. {_city}")

#: Every table name (the part of a table key after the dot).
TABLES: dict[str, TableLabel] = {
    "tidy": _t("alle schattingen", "all estimates", "schattingen", "estimates",
               "Elke geschatte grootheid met standaardfout, 95%-interval en p-waarde.",
               "Every estimated quantity with standard error, 95% interval and p-value."),
    "means": _t("gemiddelden", "means", "gemiddelden", "means"),
    "change": _t("verandering sinds de eerste meting", "change since the first measurement",
                 "verandering", "change"),
    "responsiveness": _t("responsiviteit (SRM, effectgrootte)",
                         "responsiveness (SRM, effect size)",
                         "responsiviteit", "responsiveness"),
    "variance_components": _t("variantiecomponenten", "variance components",
                              "variantie", "variance"),
    "agreement": _t("overeenstemming (Bland–Altman, ICC, kappa)",
                    "agreement (Bland–Altman, ICC, kappa)", "overeenkomst", "agreement"),
    "differences": _t("verdeling van de verschillen", "distribution of the differences",
                      "verschillen", "differences"),
    "distribution": _t("verdeling van de antwoorden", "distribution of the answers",
                       "verdeling", "distribution"),
    "share_positive": _t("aandeel positieve antwoorden", "share of positive answers",
                         "aandeel positief", "share positive"),
    "percentages": _t("percentages per gebied en jaar", "percentages by area and year",
                      "percentages", "percentages"),
    "changes": _t("veranderingen en verschil in verandering",
                  "changes and difference in change", "veranderingen", "changes"),
    "rates": _t("DBC's per 1000 verzekerdejaren", "DBCs per 1,000 insured years",
                "per 1000", "rates"),
    "index": _t("index per groep en jaar", "index by group and year", "index", "index"),
    "event_study": _t("rate ratio per jaar (event study)", "rate ratio by year (event study)",
                      "per jaar", "event study"),
    "by_group_year": _t("kosten per groep en jaar", "cost by group and year",
                        "groep, jaar", "group, year"),
    "counterfactual": _t("werkelijke kosten en kosten zonder KBZ",
                         "actual and counterfactual cost", "zonder KBZ", "counterfactual"),
    "group_means": _t("groepsgemiddelden voor en na de start",
                      "group means before and after the start", "gemiddelden",
                      "group means"),
    "group_means_by_time": _t("groepsgemiddelden per jaar", "group means by year",
                              "gem. per jaar", "means by year"),
    "coefficients": _t("coëfficiënten", "coefficients", "coëfficiënten", "coefficients"),
    "decomposition": _t("prevalentie en kosten per patiënt",
                        "prevalence and cost per patient", "ontleding", "decomposition"),
    "by_practice": _t("verandering per praktijk", "change by practice",
                      "per praktijk", "by practice"),
    "new_patients": _t("kosten van nieuwe patiënten", "cost of new patients",
                       "nieuwe patiënten", "new patients"),
    "observed_expected": _t("werkelijk en verwacht per groep en jaar",
                            "observed and expected by group and year",
                            "werk. en verw.", "obs. and exp."),
    "kbz_vs_control": _t("KBZ tegenover controle", "KBZ against control",
                         "KBZ vs controle", "KBZ vs control"),
    "reference_rates": _t("referentiecijfers per leeftijd en geslacht",
                          "reference rates by age and sex", "referentie", "reference"),
    "units": _t("praktijken in het trechterdiagram", "practices in the funnel plot",
                "praktijken", "practices"),
    "limits": _t("grenzen van het trechterdiagram", "limits of the funnel plot",
                 "grenzen", "limits"),
    "dispersion": _t("overspreiding", "overdispersion", "overspreiding", "dispersion"),
    "practices": _t("praktijken met eigen en gekrompen schatting",
                    "practices with own and shrunken estimate", "praktijken", "practices"),
    "heterogeneity": _t("heterogeniteit tussen praktijken",
                        "heterogeneity between practices", "heterogeniteit",
                        "heterogeneity"),
    "spread": _t("spreiding tussen praktijken", "spread across practices",
                 "spreiding", "spread"),
    "shares": _t("aandeel voorkomen verwijzingen per specialisme",
                 "share of referrals avoided by specialism", "aandelen", "shares"),
    "means_by_location": _t("gemiddelden per praktijk", "means by practice",
                            "per locatie", "by location"),
    "means_by_role": _t("gemiddelden per functie", "means by role",
                        "per functie", "by role"),
    "practice_variance": _t("standaardfouten met praktijkclusters",
                            "standard errors with practice clusters",
                            "standaardfouten", "practice SEs"),
    "breaks": _t("trendbreuken", "series breaks", "trendbreuken", "breaks"),
    "rest": _t("verzekerden buiten de gemeenten", "insured outside the municipalities",
               "overig", "rest"),
    "standard": _t("standaardbevolking", "standard population", "standaard", "standard"),
    "donors": _t("vergelijkbare gemeenten (donors)", "comparable municipalities (donors)",
                 "donors", "donors"),
    "rollout": _t("startjaar KBZ per gemeente", "KBZ start year by municipality",
                  "startjaren", "rollout"),
    "series": _t("reeksen", "series", "reeks", "series"),
    "in_time_placebo": _t("placebo in de tijd", "in-time placebo", "tijdplacebo",
                          "time placebo"),
    "placebo_gaps": _t("verschillen van de placebogemeenten", "gaps of the placebo units",
                       "placeboreeksen", "placebo gaps"),
    "placebos": _t("placebogemeenten", "placebo units", "placebo's", "placebos"),
    "weights": _t("gewichten van de donorgemeenten", "weights of the donor municipalities",
                  "gewichten", "weights"),
    "levels": _t("niveaus per jaar", "levels by year", "niveaus", "levels"),
    "att_gt": _t("effect per startcohort en jaar (ATT(g, t))",
                 "effect by start cohort and year (ATT(g, t))", "ATT(g, t)", "ATT(g, t)"),
    "dynamic": _t("effect per jaar sinds de start", "effect by years since the start",
                  "sinds de start", "event time"),
    "group": _t("effect per startcohort", "effect by start cohort", "per cohort",
                "by cohort"),
    "calendar": _t("effect per kalenderjaar", "effect by calendar year", "per jaar",
                   "by year"),
    "simple": _t("gemiddeld effect na de start", "average effect after the start",
                 "gemiddeld effect", "average effect"),
    "overall": _t("samengevatte effecten", "summary effects", "samengevat", "overall"),
    "pretrend": _t("toets op gelijke trends vóór de start", "pre-trend test",
                   "pretrend-toets", "pre-trend test"),
    "comparisons": _t("2x2-vergelijkingen", "2x2 comparisons", "vergelijkingen",
                      "comparisons"),
    "by_type": _t("gewicht en schatting per soort vergelijking",
                  "weight and estimate by comparison type", "per soort", "by type"),
    "groups": _t("startcohorten", "start cohorts", "cohorten", "cohorts"),
    "labels": _t("omschrijving van de indicatoren", "indicator labels",
                 "omschrijvingen", "labels"),
}

#: Tables with a key of their own (no analysis part).
STANDALONE_TABLES: dict[str, TableLabel] = {
    "data_quality": _t("Datakwaliteit: rijen gelezen, behouden en afgewezen",
                       "Data quality: rows read, kept and rejected",
                       "Datakwaliteit", "Data quality",
                       "Per invoertabel hoeveel rijen zijn gelezen, behouden en waarom "
                       "rijen zijn afgewezen.",
                       "For every input table the rows read, kept and why rows were "
                       "rejected."),
}

#: The workbook's own sheets and the words on them.
WORKBOOK: dict[str, Label] = {
    "contents": _c("Inhoud", "Contents"),
    "about": _c("Over dit rapport", "About"),
    "about_description": _c("Bronnen, periode, onthullingsregel en versie; de technische "
                            "kolomnamen per tabel staan op het inhoudsblad.",
                            "Sources, period, suppression rule and version; the technical "
                            "column names of every table are on the contents sheet."),
    "topic": _c("Onderwerp", "Topic"),
    "details": _c("Toelichting", "Details"),
    "title": _c("Tabel", "Table"),
    "sheet": _c("Werkblad", "Sheet"),
    "description": _c("Omschrijving", "Description"),
    "rows": _c("Rijen", "Rows"),
    "key": _c("Tabelsleutel (CSV-bestand)", "Table key (CSV file)"),
    "columns": _c("Technische kolomnamen", "Technical column names"),
}

#: The keys of the about sheet.
ABOUT_KEYS: dict[str, Label] = {
    "report": _c("Rapport", "Report"),
    "sources": _c("Bronnen", "Sources"),
    "period": _c("Periode", "Period"),
    "synthetic data": _c("Synthetische gegevens", "Synthetic data"),
    "suppression rule": _c("Onthullingsregel", "Suppression rule"),
    "kbz_eval version": _c("Versie kbz_eval", "kbz_eval version"),
}

#: Whole values of the about sheet and their Dutch wording.
ABOUT_VALUES_NL: dict[str, str] = {
    "yes: made-up sample, no real persons":
        "ja: verzonnen steekproef, geen echte personen",
    "no": "nee",
    "as in the inputs": "zoals in de invoer",
}

_SUPPRESSION_EN = re.compile(
    r"cells resting on fewer than (\d+) persons read '([^']*)'; when one cell of a group, "
    r"year, role, practice or category is suppressed, the next smallest of that line is "
    r"too \(secondary suppression\), linked tables are suppressed alike, and a "
    r"distribution with a small category is withheld whole \(see kbz_eval\.disclosure\)")

_SUPPRESSION_NL = (
    "cellen die op minder dan {0} personen rusten tonen '{1}'; als één cel van een groep, "
    "jaar, rol, praktijk of categorie wordt onderdrukt, wordt de op één na kleinste van "
    "die regel dat ook (secundaire onderdrukking), gekoppelde tabellen worden gelijk "
    "onderdrukt en een verdeling met een kleine categorie wordt in zijn geheel "
    "achtergehouden (zie kbz_eval.disclosure)")

#: A municipality's display name (``Den Haag``, ``'s-Hertogenbosch``, ``Súdwest-Fryslân``)
#: or a Vektis key (``S GRAVENHAGE``): letters, spaces, hyphens, apostrophes and dots.
_PLACE = re.compile(r"['’]?[^\W\d_][^\W\d_ '’\-.()]*(?:[ '’\-.()]+[^\W\d_]*)*\.?")


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, not {language!r}")


def _table_part(table: str | None) -> str | None:
    return None if table is None else table.rpartition(".")[2]


def _is_place(name: str, table: str | None) -> bool:
    return _table_part(table) in PLACE_COLUMN_TABLES and bool(_PLACE.fullmatch(name))


def table_label(key: str) -> TableLabel | None:
    """The title of a table key (``"savings_minima.tidy"``, ``"data_quality"``), or
    ``None`` when the key or one of its parts has no entry."""
    if key in STANDALONE_TABLES:
        return STANDALONE_TABLES[key]
    analysis, dot, table = key.partition(".")
    if not dot or analysis not in ANALYSES or table not in TABLES:
        return None
    a, t = ANALYSES[analysis], TABLES[table]
    return TableLabel(f"{a.nl}: {t.nl}", f"{a.en}: {t.en}",
                      f"{a.short_nl} - {t.short_nl}", f"{a.short_en} - {t.short_en}",
                      t.description_nl, t.description_en)


def label(name: str, language: str, *, table: str | None = None) -> str:
    """The plain label of a column name or a table key in ``language``.

    Parameters
    ----------
    name
        A column name (``"n_persons"``) or a table key (``"savings_minima.tidy"``,
        ``"data_quality"``).
    language
        ``"nl"`` or ``"en"``.
    table
        The table key the column belongs to; only needed for tables whose columns are
        place names.

    Returns
    -------
    str
        The label; ``name`` itself when there is none (see :func:`missing_labels`).
    """
    _check_language(language)
    if name in COLUMNS:
        return COLUMNS[name].text(language)
    found = table_label(name)
    if found is not None:
        return found.text(language)
    return name


def unit(name: str, table: str | None = None) -> str | None:
    """The unit of a column's values (one of :data:`UNITS`), or ``None`` for text.

    Parameters
    ----------
    name
        The column name.
    table
        The table key (``"savings_minima.by_group_year"``) or table name
        (``"by_group_year"``); some generic columns have a unit that depends on it.
    """
    part = _table_part(table)
    if part is not None and name in TABLE_UNITS.get(part, {}):
        return TABLE_UNITS[part][name]
    if _is_place(name, table):
        return PLACE_COLUMN_TABLES[part]  # type: ignore[index]
    entry = COLUMNS.get(name)
    return entry.unit if entry is not None else None


def missing_labels(names: Iterable[str], *, table: str | None = None) -> list[str]:
    """The names (column names or table keys) without a label, in order, each once.

    Parameters
    ----------
    names
        Column names or table keys.
    table
        The table key the columns belong to (place-name columns of the tables in
        :data:`PLACE_COLUMN_TABLES` need no label).
    """
    out: list[str] = []
    for name in names:
        name = str(name)
        if name in COLUMNS or table_label(name) is not None or _is_place(name, table):
            continue
        if name not in out:
            out.append(name)
    return out


def about_key(key: str, language: str) -> str:
    """A key of the about sheet in ``language`` (the key itself when unknown)."""
    entry = ABOUT_KEYS.get(key)
    return entry.text(language) if entry is not None else key


def about_value(value: str, language: str) -> str:
    """A value of the about sheet in ``language``.

    The pipeline words the about sheet in English; the fixed phrases and the
    suppression rule are given in Dutch here, anything else (titles, file names,
    periods, versions) is kept as it is.
    """
    _check_language(language)
    if language == "en":
        return value
    if value in ABOUT_VALUES_NL:
        return ABOUT_VALUES_NL[value]
    match = _SUPPRESSION_EN.fullmatch(value)
    if match:
        return _SUPPRESSION_NL.format(match.group(1), match.group(2))
    return value
