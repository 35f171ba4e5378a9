"""Every parameter of the synthetic Overvecht sample, as named constants.

The generator in :mod:`kbz_eval.synth` draws from the distributions set here; nothing
numeric of substance is hidden in the other modules. Four kinds of constants:

* **Design** — years, practices, list sizes, the age structure, turnover.
* **Distributions** — claim rates and cost distributions per care type, the persistent
  person-level frailty, GGZ (mental health) careers.
* **Planted effects** — what Krachtige basiszorg (KBZ) does in the data-generating
  process; collected in :data:`PLANTED` so estimators can be checked against the truth.
* **Published targets** — the figures of the Overvecht results (``shared/seeds/004``) the
  calibrated default sample reproduces; collected in :data:`TARGETS`.

Money is in euros; rates are per insured year unless said otherwise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from types import MappingProxyType
from typing import Any

#: Seed of the embedded sample (``kbz.load_sample()``, ``data/sample/``). Chosen among
#: the seeds 20140101–20140200 as the one whose *uncalibrated* draw lies closest to the
#: published figures (every calibration factor within 3 % of 1), so calibration changes
#: little; any seed gives a valid sample.
DEFAULT_SEED = 20140151

# ---------------------------------------------------------------------------------------
# Design
YEARS = (2012, 2013, 2014, 2015, 2016)
FIRST_YEAR, LAST_YEAR = YEARS[0], YEARS[-1]
CITY = "Utrecht"
NEIGHBOURHOOD = "Overvecht"

#: GP practices: id, group, KBZ start year (None for controls), insured persons on
#: 1 January 2012 (the initial stock; the yearly head count is about 10 % higher because
#: of entries during the year). Ids do not reveal the group: use ``practices.group``.
#: OV09 starts KBZ a year later (2015): the seeds say KBZ was "not yet introduced at every
#: practice" in 2015.
PRACTICES: tuple[tuple[str, str, int | None, int], ...] = (
    ("OV01", "kbz", 2014, 4600),
    ("OV02", "control", None, 1700),
    ("OV03", "kbz", 2014, 4100),
    ("OV04", "kbz", 2014, 3900),
    ("OV05", "control", None, 1400),
    ("OV06", "control", None, 1250),
    ("OV07", "kbz", 2014, 3300),
    ("OV08", "control", None, 1050),
    ("OV09", "kbz", 2015, 2900),
    ("OV10", "kbz", 2014, 2500),
    ("OV11", "control", None, 950),
    ("OV12", "control", None, 850),
)

#: The KBZ practice that implemented KBZ for GGZ most fully (the seeds' "-23 %" practice).
BEST_GGZ_PRACTICE = "OV04"

#: Share of persons in each five-year age band (``tables.AGE_BANDS``) on 1 January 2012:
#: a young, deprived-neighbourhood age structure (many children and young adults, few
#: over-75s). Normalised by the generator.
STOCK_AGE_WEIGHTS = (
    7.5, 7.0, 6.5, 6.5, 7.5, 8.0, 7.5, 7.0, 7.0, 6.5,
    6.0, 5.5, 5.0, 4.0, 3.0, 2.5, 1.8, 1.0, 0.4,
)
#: Age bands of persons moving in (mostly young adults, some young families).
MOVER_AGE_WEIGHTS = (
    6.0, 4.0, 3.0, 6.0, 18.0, 18.0, 13.0, 9.0, 6.0, 5.0,
    4.0, 3.0, 2.0, 1.5, 1.0, 0.5, 0.3, 0.15, 0.05,
)
#: Width of the open top band (90+) when drawing an age within it.
TOP_BAND_WIDTH = 8
#: Share female; over-75s are more often female.
FEMALE_SHARE, FEMALE_SHARE_75PLUS = 0.50, 0.62

#: Yearly rate of leaving the insurer's Overvecht population other than by death
#: (moving away, switching insurer), and of persons moving in, per person in the stock.
MOVE_OUT_RATE = 0.065
MOVE_IN_RATE = 0.065
#: Births per person in the stock per year.
BIRTH_RATE = 0.014
#: Yearly death hazard: ``exp(DEATH_A + DEATH_B * age) * frailty ** DEATH_FRAILTY_POWER``.
DEATH_A, DEATH_B, DEATH_FRAILTY_POWER = -9.8, 0.085, 0.5
#: Share of persons who change practice once (on 1 January of 2013–2016), always to
#: another practice of the same group.
PRACTICE_SWITCH_SHARE = 0.015

# ---------------------------------------------------------------------------------------
# Person-level latent traits
#: Deprivation ``d ~ N(0, 1)`` drives both the minima status and the frailty.
#: Frailty: ``log f = FRAILTY_SIGMA * (FRAILTY_DEPRIVATION_LOADING * d + sqrt(1 - l**2) * e)
#: - FRAILTY_SIGMA**2 / 2`` (mean 1). It multiplies every claim rate, so costs and GGZ use
#: are correlated within a person and persist over the years.
FRAILTY_SIGMA = 0.75
FRAILTY_DEPRIVATION_LOADING = 0.65

#: Minima (municipal low-income policy): a latent ``u_t = sqrt(w) * d + sqrt(1 - w) * v_t``
#: with ``w = MINIMA_DEPRIVATION_WEIGHT`` and ``v_t`` a stationary AR(1) (coefficient
#: MINIMA_AR); minima when ``u_t`` exceeds the threshold giving MINIMA_SHARE. The latent
#: is stationary, so minima are equally deprived (and frail) in every year; the
#: year-to-year correlation of ``u`` is ``w + (1 - w) * MINIMA_AR``.
#: Share of minima at KBZ and at control practices. The control practices serve a poorer
#: list (design choice: it also gives the control minima trend, the counterfactual, a
#: usable precision with ~7,500 control insured).
MINIMA_SHARE_KBZ = 0.070
MINIMA_SHARE_CONTROL = 0.15
MINIMA_DEPRIVATION_WEIGHT = 0.85
MINIMA_AR = 0.8

# ---------------------------------------------------------------------------------------
# Claims: rates (per insured year, before frailty and age) and costs.
#: Multiplier of the outpatient-DBC rate by age (upper bounds of age groups, exclusive).
POLI_AGE_BREAKS = (5, 18, 30, 45, 60, 75)
POLI_AGE_FACTORS = (0.6, 0.45, 0.6, 0.8, 1.15, 1.7, 2.0)
#: Outpatient (poli) DBC subtrajects per insured year at age factor 1 and frailty 1.
POLI_RATE = 1.10
#: Cost per outpatient DBC: log-normal with this median (EUR) and sigma of the log.
POLI_COST_MEDIAN, POLI_COST_SIGMA = 420.0, 0.6
#: Yearly growth of the outpatient-DBC rate without KBZ, minima and non-minima.
POLI_TREND_MINIMA, POLI_TREND_OTHER = 1.06, 1.03
#: Days from start to end of an outpatient DBC: exponential, capped (DBCs close <= 120 d).
POLI_DURATION_MEAN, POLI_DURATION_MAX = 45.0, 120

CLINICAL_RATE = 0.075
CLINICAL_AGE_FACTORS = (0.5, 0.3, 0.5, 0.7, 1.2, 2.2, 3.2)  # same breaks as poli
CLINICAL_COST_MEDIAN, CLINICAL_COST_SIGMA = 3900.0, 0.8
CLINICAL_DURATION_MEAN, CLINICAL_DURATION_MAX = 60.0, 365

GP_RATE = 2.4
GP_FRAILTY_POWER = 0.5
GP_TARIFFS = (9.70, 19.40, 29.10, 38.80)  # short consult, consult, long consult, visit
GP_TARIFF_WEIGHTS = (0.25, 0.50, 0.15, 0.10)
GP_TARIFF_GROWTH = 1.02

PHARMACY_RATE = 1.5
PHARMACY_AGE_FACTORS = (0.4, 0.4, 0.6, 0.8, 1.2, 2.0, 2.6)
PHARMACY_COST_MEDIAN, PHARMACY_COST_SIGMA = 60.0, 1.1

OTHER_RATE = 0.45
OTHER_FRAILTY_POWER = 0.7
OTHER_COST_MEDIAN, OTHER_COST_SIGMA = 110.0, 1.0
OTHER_DURATION_MAX = 60

# ---------------------------------------------------------------------------------------
# Specialist GGZ careers (adults only: from 2015 youth mental health left the basic
# package, so to avoid a structural break the sample gives under-18s no GGZ claims).
GGZ_MIN_AGE = 18
#: GGZ risk ``h = f ** GGZ_FRAILTY_POWER`` normalised to mean 1, capped at GGZ_RISK_CAP.
GGZ_FRAILTY_POWER, GGZ_RISK_CAP = 0.9, 8.0
#: Chronic patients: share of adults (times h) and yearly probability of being in care.
GGZ_CHRONIC_SHARE = 0.045
GGZ_CHRONIC_USE = {2009: 0.97, 2010: 0.97, 2011: 0.97, 2012: 0.97, 2013: 0.97,
                   2014: 0.95, 2015: 0.94, 2016: 0.94}
#: Episodic patients: yearly incidence (times h) among adults not in an episode, and the
#: probability an episode continues into the next year.
GGZ_INCIDENCE = 0.03
GGZ_EPISODE_CONTINUE = 0.35
#: Incidence multiplier by year: the 2014 reform introduced basic GGZ (GB-GGZ), which
#: took over lighter cases; specialist GGZ patient numbers fall in every group.
GGZ_INCIDENCE_TREND = {2009: 1.0, 2010: 1.0, 2011: 1.0, 2012: 1.0, 2013: 1.0,
                       2014: 0.80, 2015: 0.74, 2016: 0.72}
#: Years simulated before 2012 so the GGZ careers start in a steady state.
GGZ_BURN_IN_YEARS = (2009, 2010, 2011)
#: Mean yearly cost (EUR, in 2012 prices) and gamma shape: chronic patients, the first
#: year of an episode, later years of an episode.
GGZ_CHRONIC_MEAN, GGZ_CHRONIC_SHAPE = 5200.0, 1.6
GGZ_NEW_MEAN, GGZ_NEW_SHAPE = 3000.0, 4.0
GGZ_CONTINUING_MEAN, GGZ_CONTINUING_SHAPE = 3400.0, 3.0
#: Yearly growth of GGZ cost per patient-year (prices and intensity).
GGZ_PRICE_TREND = 1.028
GGZ_MIN_COST = 40.0
#: Extra GGZ claim lines per patient-year beyond the first (Poisson mean).
GGZ_EXTRA_LINES = 0.5
#: A patient-year's cost is split over its lines with weights ``floor + Exp(1)``.
GGZ_LINE_WEIGHT_FLOOR = 0.2
#: Probability caps of the GGZ careers (keep probabilities below 1 for the frailest).
GGZ_PROBABILITY_CAP = 0.9
GGZ_DURATION_MIN, GGZ_DURATION_MAX = 30, 365

#: Basic GGZ (GB-GGZ, from 2014): yearly probability for adults (times ``sqrt(h)``) and
#: the four product tariffs (short, medium, intensive, chronic) with their weights.
GGZ_BASIC_FIRST_YEAR = 2014
GGZ_BASIC_RATE = 0.035
GGZ_BASIC_TARIFFS = (480.0, 820.0, 1350.0, 1600.0)
GGZ_BASIC_WEIGHTS = (0.35, 0.35, 0.2, 0.1)
GGZ_BASIC_DURATION_MIN, GGZ_BASIC_DURATION_MAX = 60, 300

# ---------------------------------------------------------------------------------------
# Declaration codes (6 digits, never 9: a 9-digit number could pass the BSN eleven-test).
#: In-package codes per care type; pharmacy lines carry no code (null), which counts as
#: inside the basic package.
DECLARATION_CODES: dict[str, tuple[str, ...]] = {
    "poli_dbc": ("140301", "140302", "141201", "150102", "150103", "159901"),
    "clinical_dbc": ("131999", "132000", "139001"),
    "ggz_specialist": ("190017", "190020", "190055"),
    "ggz_basic": ("194101", "194102", "194103", "194104"),
    "gp": ("120001", "120002", "120003", "120004"),
    "pharmacy": (),
    "other": ("190950", "191100", "192000", "199299"),
}
#: Codes outside the basic package (start with 16 or 17).
OUTSIDE_PACKAGE_CODES = ("160001", "161100", "169999", "170001", "172899", "179010")

#: Data-quality features every claims engine must handle.
#: Extra claim lines outside the basic package, per in-package line.
OUTSIDE_PACKAGE_RATE = 0.010
OUTSIDE_PACKAGE_CARE_TYPES = ("other", "poli_dbc", "pharmacy")
OUTSIDE_PACKAGE_CARE_WEIGHTS = (0.6, 0.3, 0.1)
OUTSIDE_PACKAGE_COST_MEDIAN, OUTSIDE_PACKAGE_COST_SIGMA = 150.0, 1.0
OUTSIDE_PACKAGE_DURATION_MAX = 30
#: Re-sent lines (identical copies, same ``claim_id``) per distinct line.
DUPLICATE_RATE = 0.015
#: Lines of persons or years without an insured period, per in-package line; a share of
#: them belongs to person ids never insured at all.
ORPHAN_RATE = 0.002
ORPHAN_UNKNOWN_PERSON_SHARE = 0.4
ORPHAN_DURATION_MAX = 60
#: Sigma of the log-normal cost of orphan GP lines (median: the consult tariff).
ORPHAN_GP_COST_SIGMA = 0.5

# ---------------------------------------------------------------------------------------
# Planted effects of KBZ on claims
#: Outpatient-DBC rate multiplier for *minima* person-years at a KBZ practice, by years
#: since the practice's KBZ start (0 = start year; the last value holds afterwards).
#: Non-minima person-years: no effect (multiplier 1).
KBZ_POLI_MINIMA_EFFECT = (0.85, 0.70, 0.66)
#: Specialist-GGZ incidence multiplier at KBZ practices from their start year.
KBZ_GGZ_INCIDENCE_EFFECT = 1.0
KBZ_GGZ_INCIDENCE_EFFECT_BEST = 0.40
#: Cost multiplier of GGZ episodes that *start* at a KBZ practice from its start year
#: (new patients are treated more lightly: the seeds' "new patients EUR 700 cheaper").
KBZ_GGZ_NEW_EPISODE_INTENSITY = 0.78
KBZ_GGZ_NEW_EPISODE_INTENSITY_BEST = 0.55
#: Basic-GGZ probability multiplier at KBZ practices from their start year.
KBZ_GGZ_BASIC_EFFECT = 1.2

# ---------------------------------------------------------------------------------------
# Surveys and other tables
#: CVG (self-rated health 1–10) of patients followed at KBZ practices.
CVG_N_PATIENTS = 50
CVG_N_SECOND = 44
CVG_N_THIRD = 20
#: Latent health mark at the first measurement: normal(mean, sd).
CVG_BASELINE_MEAN, CVG_BASELINE_SD = 4.55, 1.3
#: True mean improvement at measurement 2 and 3 relative to measurement 1.
CVG_TRUE_IMPROVEMENT = (0.0, 0.9, 1.0)
#: Measurement noise of the patient mark (sd, before rounding).
CVG_NOISE_SD = 0.7
#: GP mark = patient mark + normal(mean, sd), rounded and clipped to 1–10.
CVG_GP_SHIFT, CVG_GP_NOISE_SD = 0.1, 0.8
#: Number of measurements without a GP mark.
CVG_GP_MISSING = 3
#: Who stays in follow-up: chance of being among the measured grows with the baseline
#: mark: weight ``exp(slope * z)`` with ``z`` the standardised first mark (patients with a
#: low first mark drop out more often, so complete-case means overstate improvement).
CVG_DROPOUT_SLOPE_SECOND, CVG_DROPOUT_SLOPE_THIRD = 0.3, 0.6
#: First measurement between these dates; later ones 90–150 days apart.
CVG_FIRST_DATE_RANGE = ("2015-01-05", "2015-06-30")
CVG_GAP_DAYS = (90, 150)

#: Staff survey (workload and job satisfaction, 1–10) at every practice, 3 yearly waves.
WORKFORCE_WAVES = 3
WORKFORCE_STAFF_BASE, WORKFORCE_STAFF_PER_PERSONS = 3, 500
WORKFORCE_ROLES = ("huisarts", "doktersassistent", "POH-somatiek", "POH-GGZ",
                   "praktijkmanager", "POH-jeugd")
WORKFORCE_ROLE_WEIGHTS = (0.30, 0.35, 0.15, 0.10, 0.05, 0.05)
WORKFORCE_RESPONSE = 0.85
WORKFORCE_TURNOVER = 0.10
WORKFORCE_WORKLOAD_MEAN, WORKFORCE_SATISFACTION_MEAN = 7.0, 6.8
WORKFORCE_PERSON_SD, WORKFORCE_NOISE_SD = 0.9, 0.8
#: Change per wave (wave 1 = baseline) at control and at KBZ practices.
WORKFORCE_WORKLOAD_SLOPE_CONTROL, WORKFORCE_WORKLOAD_SLOPE_KBZ = 0.10, -0.25
WORKFORCE_SATISFACTION_SLOPE_CONTROL, WORKFORCE_SATISFACTION_SLOPE_KBZ = 0.0, 0.25
WORKFORCE_MISSING_SHARE = 0.02

#: 4D-conversation ratings (Likert 1–5).
CONVERSATION_ITEMS = ("taken_seriously", "all_domains_discussed", "own_goals_discussed",
                      "clear_agreements", "useful_overall")
CONVERSATION_RESPONDENTS = {"patient": 80, "professional": 40}
CONVERSATION_RATING_PROBS = {
    "patient": (0.03, 0.05, 0.12, 0.40, 0.40),
    "professional": (0.02, 0.06, 0.17, 0.45, 0.30),
}

#: Neighbourhood-specialist consultations (October 2013 – April 2014 pilot).
CONSULT_N = 150
CONSULT_SPECIALISMS = ("neurologie", "kindergeneeskunde", "interne geneeskunde",
                       "orthopedie", "longziekten")
CONSULT_SPECIALISM_WEIGHTS = (0.25, 0.20, 0.25, 0.15, 0.15)
CONSULT_REFERRAL_AVOIDED = 2 / 3

#: IVM prescribing-efficiency score (percent of maximum) per practice and year.
IVM_INDICATOR = "ivm"
IVM_KBZ_2013_MEAN, IVM_KBZ_2013_SD = 52.0, 14.0
IVM_KBZ_2016_MEAN, IVM_KBZ_2016_SD = 82.0, 5.0
IVM_CONTROL_2012_MEAN, IVM_CONTROL_2012_SD, IVM_CONTROL_GROWTH = 58.0, 9.0, 2.5
IVM_NOISE_SD = 2.0
#: Correlation of a KBZ practice's 2016 score with its 2013 score; 2012 lies up to
#: IVM_2012_DROP_MAX points below 2013; 2014 and 2015 lie this share of the way from
#: the 2013 to the 2016 score.
IVM_KBZ_2013_2016_CORRELATION = 0.5
IVM_2012_DROP_MAX = 5.0
IVM_PATH_SHARE = (0.4, 0.75)

#: Health monitor (VMU): the published percentages only. ``n`` is an assumption.
MONITOR_ROWS = (
    # area, area_type, year, indicator, percent
    ("Overvecht", "neighbourhood", 2014, "good_self_rated_health", 77.0),
    ("Overvecht", "neighbourhood", 2016, "good_self_rated_health", 62.0),
    ("Utrecht", "city", 2014, "good_self_rated_health", 90.0),
    ("Utrecht", "city", 2016, "good_self_rated_health", 81.0),
    ("Overvecht", "neighbourhood", 2014, "exercise_norm", 53.0),
    ("Overvecht", "neighbourhood", 2016, "exercise_norm", 59.0),
    ("Utrecht", "city", 2014, "exercise_norm", 61.0),
    ("Utrecht", "city", 2016, "exercise_norm", 64.0),
)
#: Assumed respondents per area (not published).
MONITOR_ASSUMED_N = {"Overvecht": 700, "Utrecht": 4000}

#: Independent random streams per component: ``default_rng([seed, STREAM])``.
STREAM_POPULATION, STREAM_CLAIMS, STREAM_DATA_QUALITY = 1, 2, 3
STREAM_CVG, STREAM_WORKFORCE, STREAM_CONVERSATIONS = 4, 5, 6
STREAM_CONSULTS, STREAM_INDICATORS = 7, 8


# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PublishedTargets:
    """The published Overvecht figures the calibrated sample reproduces.

    Definitions (computed from the tables with the per-insured-year rules of
    :func:`kbz_eval.synth.generate`, Notes):

    Attributes
    ----------
    minima_kbz_2015
        Persons with a 2015 person-year at a KBZ practice with ``minima`` true.
    saving_minima_eur, saving_all_eur
        Outpatient-DBC saving per insured year in 2015, minima and all insured.
    saving_minima_rel_tol, saving_all_abs_tol_eur
        Tolerances the calibrated sample is held to (3 %, EUR 5).
    ggz_change_kbz, ggz_change_control
        Relative change of specialist-GGZ cost per insured year, 2013 → 2016.
    ggz_change_best_practice
        The same for the KBZ practice with the largest fall.
    ggz_new_patient_difference_eur
        Mean 2016 GGZ cost of new GGZ patients, KBZ minus control.
    cvg_means
        Mean CVG mark at measurements 1, 2, 3 (of the patients measured then).
    cvg_n_first
        Patients at the first CVG measurement.
    ivm_range_2013, ivm_range_2016
        Lowest and highest IVM score of the KBZ practices.
    referral_avoided_share
        Share of neighbourhood-specialist consultations that avoided a referral.
    """

    minima_kbz_2015: int = 1641
    saving_minima_eur: float = 356.0
    saving_minima_rel_tol: float = 0.03
    saving_all_eur: float = 26.0
    saving_all_abs_tol_eur: float = 5.0
    ggz_change_kbz: float = -0.073
    ggz_change_control: float = -0.018
    ggz_change_best_practice: float = -0.23
    ggz_new_patient_difference_eur: float = -700.0
    cvg_means: tuple[float, float, float] = (4.7, 5.7, 6.1)
    cvg_n_first: int = 50
    ivm_range_2013: tuple[float, float] = (30.0, 74.0)
    ivm_range_2016: tuple[float, float] = (74.0, 90.0)
    referral_avoided_share: float = 2 / 3
    monitor: tuple[tuple[str, str, int, str, float], ...] = MONITOR_ROWS

    def as_dict(self) -> dict[str, Any]:
        """The targets as a plain dict."""
        return asdict(self)


TARGETS = PublishedTargets()


@dataclass(frozen=True)
class PlantedEffects:
    """The true effects built into the data-generating process.

    Estimators run on samples from :func:`kbz_eval.synth.generate` (``calibrate=False``
    for simulation studies) should recover these. All multipliers act on expected values.

    Attributes
    ----------
    kbz_practices, control_practices
        Practice ids per group.
    kbz_start_year
        KBZ start year per KBZ practice.
    best_ggz_practice
        The KBZ practice with the strongest GGZ effect.
    poli_minima_rate_multiplier
        Outpatient-DBC rate multiplier for minima person-years at KBZ practices by years
        since KBZ start (0, 1, 2+); non-minima person-years: 1.
    poli_nonminima_rate_multiplier
        1.0: KBZ does not change outpatient-DBC use of non-minima.
    poli_trend_minima, poli_trend_other
        Yearly growth of the outpatient-DBC rate without KBZ.
    expected_minima_saving_share_2015
        ``1 - multiplier`` for practices that started in 2014: in expectation, the share
        of the counterfactual 2015 minima outpatient-DBC cost that KBZ saves there.
    ggz_incidence_multiplier, ggz_incidence_multiplier_best
        Specialist-GGZ incidence multiplier at KBZ practices from their start.
    ggz_new_episode_cost_multiplier, ggz_new_episode_cost_multiplier_best
        Cost multiplier of GGZ episodes starting at a KBZ practice from its start.
    ggz_incidence_trend
        Incidence multiplier by year in every group (the 2014 basic-GGZ reform).
    ggz_price_trend
        Yearly growth of GGZ cost per patient-year in every group.
    cvg_true_improvement
        True mean change of the CVG mark at measurements 1, 2, 3 (vs. measurement 1).
    cvg_dropout_slopes
        Log-odds-like weight per SD of the first mark of being measured at 2 and 3.
    workforce_workload_slope, workforce_satisfaction_slope
        Change per wave, ``{"control": ..., "kbz": ...}``; the KBZ-minus-control
        difference per wave is the planted effect.
    conversation_positive_share
        Expected share of ratings 4 or 5 per respondent type.
    consult_referral_avoided
        Probability a neighbourhood-specialist consultation avoids a referral.
    """

    kbz_practices: tuple[str, ...] = tuple(p for p, g, _, _ in PRACTICES if g == "kbz")
    control_practices: tuple[str, ...] = tuple(p for p, g, _, _ in PRACTICES if g != "kbz")
    kbz_start_year: MappingProxyType = field(default_factory=lambda: MappingProxyType(
        {p: s for p, g, s, _ in PRACTICES if g == "kbz"}))
    best_ggz_practice: str = BEST_GGZ_PRACTICE
    poli_minima_rate_multiplier: tuple[float, ...] = KBZ_POLI_MINIMA_EFFECT
    poli_nonminima_rate_multiplier: float = 1.0
    poli_trend_minima: float = POLI_TREND_MINIMA
    poli_trend_other: float = POLI_TREND_OTHER
    expected_minima_saving_share_2015: float = 1.0 - KBZ_POLI_MINIMA_EFFECT[1]
    ggz_incidence_multiplier: float = KBZ_GGZ_INCIDENCE_EFFECT
    ggz_incidence_multiplier_best: float = KBZ_GGZ_INCIDENCE_EFFECT_BEST
    ggz_new_episode_cost_multiplier: float = KBZ_GGZ_NEW_EPISODE_INTENSITY
    ggz_new_episode_cost_multiplier_best: float = KBZ_GGZ_NEW_EPISODE_INTENSITY_BEST
    ggz_incidence_trend: MappingProxyType = field(default_factory=lambda: MappingProxyType(
        {y: GGZ_INCIDENCE_TREND[y] for y in YEARS}))
    ggz_price_trend: float = GGZ_PRICE_TREND
    cvg_true_improvement: tuple[float, ...] = CVG_TRUE_IMPROVEMENT
    cvg_dropout_slopes: tuple[float, float] = (CVG_DROPOUT_SLOPE_SECOND,
                                               CVG_DROPOUT_SLOPE_THIRD)
    workforce_workload_slope: MappingProxyType = field(default_factory=lambda: MappingProxyType(
        {"control": WORKFORCE_WORKLOAD_SLOPE_CONTROL, "kbz": WORKFORCE_WORKLOAD_SLOPE_KBZ}))
    workforce_satisfaction_slope: MappingProxyType = field(
        default_factory=lambda: MappingProxyType({
            "control": WORKFORCE_SATISFACTION_SLOPE_CONTROL,
            "kbz": WORKFORCE_SATISFACTION_SLOPE_KBZ,
        }))
    conversation_positive_share: MappingProxyType = field(
        default_factory=lambda: MappingProxyType(
            {k: round(sum(v[3:]), 10) for k, v in CONVERSATION_RATING_PROBS.items()}))
    consult_referral_avoided: float = CONSULT_REFERRAL_AVOIDED

    def as_dict(self) -> dict[str, Any]:
        """The planted effects as a plain dict (mappings turned into dicts)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = dict(value) if isinstance(value, MappingProxyType) else value
        return out


PLANTED = PlantedEffects()
