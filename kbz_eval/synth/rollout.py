"""A synthetic roll-out sample: KBZ practices in five cities adopting in different years.

Krachtige basiszorg (KBZ) did not start once: Utrecht-Overvecht began in 2014, health
centres and practices in Amsterdam, Den Haag, Haarlem, Rotterdam and Utrecht followed in
2019, and more were funded in 2020 and 2022 (in Amsterdam 8 of 20 applicants were funded
later). :func:`rollout_sample` draws a practice-year panel (and a small person-year
panel) of such a staggered roll-out, with never-treated control practices, applicant
practices that applied but were not funded, heterogeneous and dynamic planted effects,
and the 2022 accounting break of specialist mental health care (GGZ) in the claims.

**Everything here is SYNTHETIC**: no real practice or person. Every frame carries
``attrs["synthetic"] = True`` and ``attrs["note"]`` saying so; the planted truth is
returned beside the data (key ``"truth"``) so estimators can be checked against it.

>>> from kbz_eval.synth.rollout import rollout_sample, planted_simple_att
>>> sample = rollout_sample(seed=1)
>>> sorted(sample)
['person_years', 'practice_years', 'practices', 'truth']
>>> sample["practice_years"].attrs["synthetic"]
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kbz_eval.errors import SpecificationError
from kbz_eval.stats.options import check_int as _check_int

# ---------------------------------------------------------------------------------------
# Design
#: Calendar years of the panel.
YEARS = tuple(range(2012, 2024))
#: The five KBZ cities.
CITIES = ("Amsterdam", "Den Haag", "Haarlem", "Rotterdam", "Utrecht")
#: KBZ cohorts (first KBZ year) and their share of all practices; the cities each cohort
#: is drawn from (Overvecht, Utrecht, is the 2014 cohort).
COHORTS: dict[int, tuple[float, tuple[str, ...]]] = {
    2014: (0.075, ("Utrecht",)),
    2019: (0.15, CITIES),
    2020: (0.10, ("Amsterdam", "Den Haag", "Rotterdam")),
    2022: (0.125, ("Amsterdam", "Den Haag")),
}
#: Share of practices that applied for KBZ funding but were not funded in the window
#: (``group == "applicant"``, never treated), their cities and application years.
APPLICANT_SHARE = 0.125
APPLICANT_CITIES = ("Amsterdam", "Amsterdam", "Den Haag", "Rotterdam")
APPLICANT_YEARS = (2019, 2021)
#: Smallest number of practices per cohort and of never-treated practices.
MIN_PER_COHORT = 2
#: Smallest ``n_practices`` accepted.
MIN_PRACTICES = 20
#: Default number of practices and of persons per practice in the person-year panel.
DEFAULT_N_PRACTICES = 80
DEFAULT_PERSONS_PER_PRACTICE = 25
DEFAULT_SEED = 2019

#: Insured persons per practice (list size at one insurer): uniform integer range.
LIST_SIZE_RANGE = (1200, 4500)

# ---------------------------------------------------------------------------------------
# Expected cost per insured year (EUR) of a practice, by component. Every term that is
# not a treatment effect is *additive in euros* and its distribution does not depend on
# the year, so parallel trends hold exactly in euros per insured year (not in logs).
#: Components: outpatient hospital DBCs, specialist GGZ, everything else.
BASE_COST = {"poli_dbc": 650.0, "ggz": 220.0, "other": 1100.0}
#: Common yearly growth (EUR per year, every practice).
TREND_PER_YEAR = {"poli_dbc": 18.0, "ggz": 4.0, "other": 30.0}
#: Level of KBZ and applicant practices above controls (deprived neighbourhoods):
#: selection on levels, which difference-in-differences removes.
DEPRIVED_LEVEL = {"poli_dbc": 90.0, "ggz": 45.0, "other": 60.0}
#: City levels (EUR, every component scaled by its share of the total).
CITY_LEVEL = {"Amsterdam": 60.0, "Den Haag": 20.0, "Haarlem": -40.0, "Rotterdam": 40.0,
              "Utrecht": 0.0}
#: Persistent practice level: SD of a normal (EUR, total; split over components).
PRACTICE_SD = 180.0
#: Practice × year shock: SD (EUR, total; split over components).
PRACTICE_YEAR_SD = 60.0
#: City × year shock: SD (EUR, total; split over components).
CITY_YEAR_SD = 10.0
#: Person-level SD of the cost per insured year (EUR), by component: the sampling noise
#: of a practice-year mean over ``n`` insured years is ``sd / sqrt(n)``.
PERSON_SD = {"poli_dbc": 2200.0, "ggz": 2600.0, "other": 3000.0}

#: The 2022 GGZ break: from 2022 specialist GGZ is declared per consult (the
#: *zorgprestatiemodel*) instead of per DBC trajectory, booked by date of care rather than
#: the DBC's opening date. In the claims this shows as a level shift of GGZ cost per
#: insured year at every practice (EUR, the same everywhere, so it is not an effect of
#: KBZ); ``ggz_regime`` is ``"dbc"`` up to 2021 and ``"consult"`` from 2022.
GGZ_BREAK_YEAR = 2022
GGZ_BREAK_EUR = 45.0

# ---------------------------------------------------------------------------------------
# Planted effects of KBZ on the total cost per insured year (EUR; negative = saving).
#: Effect once fully in place, by cohort: early, intensive pilots save more.
COHORT_EFFECT = {2014: -140.0, 2019: -100.0, 2020: -70.0, 2022: -50.0}
#: Share of the full effect by years since the start (0 = start year; the last value
#: holds afterwards): the effect builds up.
RAMP = (0.5, 0.8, 1.0)
#: Practice heterogeneity: a practice's full effect is the cohort effect times
#: ``1 + N(0, EFFECT_HETEROGENEITY)``.
EFFECT_HETEROGENEITY = 0.3
#: Share of the effect on outpatient DBCs and on GGZ (the rest: none on other care).
EFFECT_SPLIT = {"poli_dbc": 0.75, "ggz": 0.25, "other": 0.0}

# ---------------------------------------------------------------------------------------
# Person-year panel (a small sample of each practice's list)
#: Yearly probability that a person leaves the insurer (dropout). The leaver's last year
#: is partial; the slot is taken by a new person from 1 January of the next year.
DROPOUT_RATE = 0.08
#: Persistent person frailty: log-normal with mean 1 and this SD of the log.
FRAILTY_SIGMA = 0.8
#: Probability of any cost in a year per component (before frailty) and the SD of the
#: log of the positive costs: many zeros and a long right tail.
ANY_COST = {"poli_dbc": 0.35, "ggz": 0.06, "other": 0.85}
POSITIVE_COST_SIGMA = {"poli_dbc": 1.0, "ggz": 0.9, "other": 1.2}

#: Label every frame carries (``attrs["note"]``).
NOTE = ("SYNTHETIC DATA — generated by kbz_eval.synth.rollout.rollout_sample(seed={seed}); "
        "not real practices or persons. Planted effects: see the 'truth' frame.")

_COMPONENTS = ("poli_dbc", "ggz", "other")


def _label(frame: pd.DataFrame, seed: int, what: str) -> pd.DataFrame:
    frame.attrs["synthetic"] = True
    frame.attrs["note"] = NOTE.format(seed=seed)
    frame.attrs["table"] = what
    frame.attrs["seed"] = seed
    return frame


def _ramp(event_time: np.ndarray) -> np.ndarray:
    """Share of the full effect at each event time (0 before the start)."""
    e = np.asarray(event_time)
    idx = np.clip(e, 0, len(RAMP) - 1).astype(int)
    return np.where(e >= 0, np.asarray(RAMP)[idx], 0.0)


def _allocate(n: int) -> dict[str, int]:
    """Practices per cohort, applicants and controls (largest remainder)."""
    counts = {str(g): max(MIN_PER_COHORT, int(round(share * n)))
              for g, (share, _) in COHORTS.items()}
    counts["applicant"] = max(MIN_PER_COHORT, int(round(APPLICANT_SHARE * n)))
    counts["control"] = n - sum(counts.values())
    if counts["control"] < MIN_PER_COHORT:  # pragma: no cover - guarded by MIN_PRACTICES
        raise SpecificationError(f"`n_practices` = {n} leaves no control practices.")
    return counts


def _practices(rng: np.random.Generator, n: int) -> pd.DataFrame:
    counts = _allocate(n)
    rows: list[dict[str, Any]] = []
    for g, (_, cities) in COHORTS.items():
        for city in rng.choice(cities, size=counts[str(g)]):
            applied = np.nan if g == 2014 else float(g - 1)
            rows.append({"city": str(city), "group": "kbz", "kbz_start_year": float(g),
                         "applied_year": applied})
    for _ in range(counts["applicant"]):
        rows.append({"city": str(rng.choice(APPLICANT_CITIES)), "group": "applicant",
                     "kbz_start_year": np.nan,
                     "applied_year": float(rng.choice(APPLICANT_YEARS))})
    for city in rng.choice(CITIES, size=counts["control"]):
        rows.append({"city": str(city), "group": "control", "kbz_start_year": np.nan,
                     "applied_year": np.nan})
    frame = pd.DataFrame(rows)
    # ids do not reveal the group: shuffle before numbering
    frame = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    frame.insert(0, "practice_id", [f"RP{i + 1:03d}" for i in range(len(frame))])
    frame["list_size"] = rng.integers(LIST_SIZE_RANGE[0], LIST_SIZE_RANGE[1] + 1,
                                      size=len(frame))
    frame["effect_multiplier"] = np.where(
        frame["group"] == "kbz", 1 + EFFECT_HETEROGENEITY * rng.standard_normal(len(frame)),
        np.nan)
    frame["group"] = frame["group"].astype("string")
    frame["city"] = frame["city"].astype("string")
    frame["practice_id"] = frame["practice_id"].astype("string")
    return frame


def _expected(rng: np.random.Generator, practices: pd.DataFrame
              ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
    """Expected cost per insured year by component (practice × year, with shocks and
    effects, without sampling noise), the effects alone, and the total effect."""
    n, years = len(practices), np.asarray(YEARS)
    total_base = sum(BASE_COST.values())
    share = {c: BASE_COST[c] / total_base for c in _COMPONENTS}
    deprived = practices["group"].isin(["kbz", "applicant"]).to_numpy()
    city_codes = practices["city"].map({c: i for i, c in enumerate(CITIES)}).to_numpy(int)
    city_level = np.array([CITY_LEVEL[c] for c in CITIES])[city_codes]
    start = practices["kbz_start_year"].to_numpy(float)
    event = years[None, :] - start[:, None]  # NaN for never treated
    full = np.array([COHORT_EFFECT.get(int(s), 0.0) if np.isfinite(s) else 0.0
                     for s in start]) * np.nan_to_num(
        practices["effect_multiplier"].to_numpy(float))
    total_effect = full[:, None] * _ramp(np.nan_to_num(event, nan=-1.0))
    practice_level = PRACTICE_SD * rng.standard_normal(n)
    practice_year = PRACTICE_YEAR_SD * rng.standard_normal((n, len(years)))
    city_year = CITY_YEAR_SD * rng.standard_normal((len(CITIES), len(years)))[city_codes]
    mean: dict[str, np.ndarray] = {}
    effect: dict[str, np.ndarray] = {}
    for c in _COMPONENTS:
        level = (BASE_COST[c] + TREND_PER_YEAR[c] * (years - YEARS[0])[None, :]
                 + (DEPRIVED_LEVEL[c] * deprived + share[c] * (city_level + practice_level)
                    )[:, None]
                 + share[c] * (practice_year + city_year))
        if c == "ggz":
            level = level + GGZ_BREAK_EUR * (years >= GGZ_BREAK_YEAR)[None, :]
        effect[c] = EFFECT_SPLIT[c] * total_effect
        mean[c] = level + effect[c]
    return mean, effect, total_effect


def _practice_years(rng: np.random.Generator, practices: pd.DataFrame,
                    mean: dict[str, np.ndarray]) -> pd.DataFrame:
    n, t = len(practices), len(YEARS)
    # list sizes drift a little; insured years = persons x mean share of the year insured
    persons = np.maximum(200, np.round(practices["list_size"].to_numpy(float)[:, None]
                                       * np.exp(0.03 * rng.standard_normal((n, t))))
                         ).astype("int64")
    insured_years = np.round(persons * (1 - DROPOUT_RATE / 2), 1)
    out = pd.DataFrame({
        "practice_id": np.repeat(practices["practice_id"].to_numpy(), t),
        "year": np.tile(np.asarray(YEARS, dtype="int64"), n),
    })
    for col in ("city", "group", "kbz_start_year", "applied_year"):
        out[col] = np.repeat(practices[col].to_numpy(), t)
    out["insured_persons"] = persons.ravel()
    out["insured_years"] = insured_years.ravel()
    total = np.zeros((n, t))
    for c in _COMPONENTS:
        noise = PERSON_SD[c] / np.sqrt(insured_years) * rng.standard_normal((n, t))
        value = np.maximum(mean[c] + noise, 0.0)
        out[f"{c}_cost_per_insured_year"] = np.round(value, 2).ravel()
        total += np.round(value, 2)
    out["total_cost_per_insured_year"] = np.round(total, 2).ravel()
    out["ggz_regime"] = np.where(out["year"] >= GGZ_BREAK_YEAR, "consult", "dbc")
    start = out["kbz_start_year"].to_numpy(float)
    out["kbz_active"] = np.isfinite(start) & (out["year"].to_numpy() >= start)
    for col in ("practice_id", "city", "group", "ggz_regime"):
        out[col] = out[col].astype("string")
    return out


def _person_years(rng: np.random.Generator, practices: pd.DataFrame,
                  mean: dict[str, np.ndarray], persons_per_practice: int) -> pd.DataFrame:
    """A small person-year sample per practice (slots refilled after dropout)."""
    n, t = len(practices), len(YEARS)
    slots = n * persons_per_practice
    slot_practice = np.repeat(np.arange(n), persons_per_practice)
    leaves = rng.random((slots, t)) < DROPOUT_RATE
    # a leaver's slot holds the next person from the next year on
    seq = np.cumsum(leaves, axis=1) - leaves
    days = np.where(leaves, rng.integers(1, 365, size=(slots, t)), 365)
    years = np.asarray(YEARS)
    leap = (years % 4 == 0) & ((years % 100 != 0) | (years % 400 == 0))
    days = np.where(leaves, days, 365 + leap[None, :]).astype("int64")
    exposure = days / (365 + leap[None, :])
    # one frailty per person: persons of a slot are numbered by seq
    n_persons_slot = seq[:, -1] + 1
    offsets = np.concatenate([[0], np.cumsum(n_persons_slot)[:-1]])
    pid = offsets[:, None] + seq
    frailty_all = np.exp(FRAILTY_SIGMA * rng.standard_normal(int(n_persons_slot.sum()))
                         - FRAILTY_SIGMA**2 / 2)
    frailty = frailty_all[pid]
    out = pd.DataFrame({
        "person_id": pd.array([f"S{v:07d}" for v in pid.ravel()], dtype="string"),
        "practice_id": np.repeat(practices["practice_id"].to_numpy(), persons_per_practice
                                 * t),
        "year": np.tile(years.astype("int64"), slots),
        "insured_days": days.ravel(),
    })
    total = np.zeros((slots, t))
    for c in _COMPONENTS:
        p_any = np.minimum(ANY_COST[c] * np.sqrt(frailty), 0.98)
        any_cost = rng.random((slots, t)) < p_any
        s = POSITIVE_COST_SIGMA[c]
        positive = np.exp(s * rng.standard_normal((slots, t)) - s**2 / 2)
        # expected cost per insured year = practice-year mean x frailty (in expectation)
        scale = mean[c][slot_practice] * frailty / p_any
        cost = np.where(any_cost, np.maximum(scale, 0.0) * positive, 0.0) * exposure
        out[f"{c}_cost"] = np.round(cost, 2).ravel()
        total += np.round(cost, 2)
    out["total_cost"] = np.round(total, 2).ravel()
    out["ggz_regime"] = pd.array(np.where(out["year"] >= GGZ_BREAK_YEAR, "consult", "dbc"),
                                 dtype="string")
    out["practice_id"] = out["practice_id"].astype("string")
    return out.sort_values(["person_id", "year"], kind="stable").reset_index(drop=True)


def _truth(practices: pd.DataFrame, total_effect: np.ndarray) -> pd.DataFrame:
    years = np.asarray(YEARS)
    start = practices["kbz_start_year"].to_numpy(float)
    rows = []
    for g in sorted(COHORTS):
        members = start == g
        for j, t in enumerate(years):
            e = int(t - g)
            rows.append({
                "group": g, "time": int(t), "event_time": e, "post": bool(e >= 0),
                "n_practices": int(members.sum()),
                "att": float(COHORT_EFFECT[g] * _ramp(np.array([e]))[0]) if e >= 0 else 0.0,
                "att_sample": float(total_effect[members, j].mean()),
            })
    return pd.DataFrame(rows)


def planted_simple_att(truth: pd.DataFrame, *, column: str = "att_sample") -> float:
    """The planted counterpart of ``staggered_did``'s ``att_simple``.

    Parameters
    ----------
    truth
        The ``"truth"`` frame of :func:`rollout_sample`.
    column
        ``"att_sample"`` (default: the mean effect of the practices actually drawn in each
        cohort, what an estimator on this sample targets) or ``"att"`` (the expected,
        population effect of the cohort).

    Returns
    -------
    float
        Sum over post-treatment cells (``time >= group``) of ATT(g, t) × ``n_practices``
        of cohort g, divided by the sum of those ``n_practices``: the cohort-size weighted
        average of all post-treatment cells, as in the simple aggregation of Callaway &
        Sant'Anna (2021).
    """
    if column not in ("att_sample", "att"):
        raise SpecificationError(
            f"The value for `column` must be one of ['att_sample', 'att'], but {column!r} "
            "was passed."
        )
    post = truth[truth["post"]]
    w = post["n_practices"].to_numpy(float)
    return float(np.sum(post[column].to_numpy(float) * w) / w.sum())


def rollout_sample(*, seed: int = DEFAULT_SEED, n_practices: int = DEFAULT_N_PRACTICES,
                   persons_per_practice: int = DEFAULT_PERSONS_PER_PRACTICE
                   ) -> dict[str, pd.DataFrame]:
    """Generate the SYNTHETIC staggered roll-out sample of KBZ in five cities.

    Parameters
    ----------
    seed
        Non-negative integer; the same seed gives equal frames. Practices, practice-year
        costs and person-years use independent streams ``default_rng([seed, k])``, so
        changing ``persons_per_practice`` leaves the practices and their panel unchanged.
    n_practices
        Number of GP practices (at least :data:`MIN_PRACTICES`; default 80).
    persons_per_practice
        Persons followed per practice in the person-year panel (slots refilled after
        dropout; at least 1; default 25). ``0`` skips the person-year panel (an empty
        frame is returned).

    Returns
    -------
    dict of str to pandas.DataFrame
        Every frame has ``attrs["synthetic"] = True`` and ``attrs["note"]`` (SYNTHETIC).

        - ``practices``: ``practice_id``, ``city``, ``group`` (``kbz`` / ``control`` /
          ``applicant``), ``kbz_start_year`` (2014, 2019, 2020, 2022; NaN if never
          treated), ``applied_year`` (year of the funding application: applicants and
          the KBZ practices of 2019–2022; NaN otherwise), ``list_size``,
          ``effect_multiplier`` (the practice's planted heterogeneity; NaN if not KBZ).
        - ``practice_years``: practice × year 2012–2023 with the practice columns,
          ``insured_persons``, ``insured_years``, ``poli_dbc_cost_per_insured_year``,
          ``ggz_cost_per_insured_year``, ``other_cost_per_insured_year``,
          ``total_cost_per_insured_year`` (EUR), ``ggz_regime`` (``dbc`` / ``consult``),
          ``kbz_active``.
        - ``person_years``: a small sample of persons per practice: ``person_id``,
          ``practice_id``, ``year``, ``insured_days``, ``poli_dbc_cost``, ``ggz_cost``,
          ``other_cost``, ``total_cost`` (EUR for the insured days), ``ggz_regime``.
          Not the full ``person_years`` data contract of :mod:`kbz_eval.tables` (no
          sex, age, minima or counts): a light panel for ICC estimates and
          person-level examples.
        - ``truth``: the planted ATT(g, t) on the total cost per insured year: ``group``,
          ``time``, ``event_time``, ``post``, ``n_practices``, ``att`` (the cohort's
          expected effect), ``att_sample`` (the mean effect of the cohort's practices
          drawn here). See :func:`planted_simple_att`.

    Raises
    ------
    SpecificationError
        If ``seed``, ``n_practices`` or ``persons_per_practice`` is not an integer in its
        range (the message names the parameter, the allowed range and the value).

    Notes
    -----
    **Practices.** About 7.5 % of practices start KBZ in 2014 (Utrecht), 15 % in 2019
    (all five cities), 10 % in 2020 and 12.5 % in 2022 (Amsterdam and Den Haag), at least
    two per cohort; 12.5 % applied (2019 or 2021) but were not funded (never treated, a
    comparison group of similar practices); the rest are never-treated controls.

    **Costs per insured year** (practice-year panel). For component c, practice p, year
    t: ``base_c + trend_c (t - 2012) + deprived_c [p is KBZ or applicant] + share_c
    (city_p + a_p + u_pt + v_city,t) + GGZ break + effect_c,pt + sampling noise`` with
    a persistent practice level ``a_p`` (SD :data:`PRACTICE_SD`), practice × year shocks
    ``u_pt`` (SD :data:`PRACTICE_YEAR_SD`), small city × year shocks, and the noise of a
    mean over the practice's insured years (person SD :data:`PERSON_SD` /
    sqrt(insured years)). Every non-treatment term is additive and its distribution does
    not change with the year in a way that differs between groups, so parallel trends
    hold in euros per insured year (not in logs or ratios).

    **GGZ break.** From 2022 GGZ is declared per consult (zorgprestatiemodel): GGZ cost
    per insured year jumps by :data:`GGZ_BREAK_EUR` at every practice; ``ggz_regime``
    marks it. It is common to all practices, so it is no effect of KBZ, but it lands in
    the start year of the 2022 cohort and in every before/after comparison across 2022.

    **Planted effects** (on total cost; 75 % on outpatient DBCs, 25 % on GGZ): cohort g's
    full effect :data:`COHORT_EFFECT` (2014: -140, 2019: -100, 2020: -70, 2022: -50 EUR)
    times the practice's ``effect_multiplier`` (1 + N(0, 0.3)), reached gradually
    (:data:`RAMP`: 50 %, 80 %, 100 % in years 0, 1, 2+ since the start). The truth table
    gives the expected and the sample ATT(g, t).

    **Person-years.** A small sample of each practice's list (not the insured persons
    behind the practice means): slots of ``persons_per_practice`` persons; each year a
    person leaves with probability :data:`DROPOUT_RATE` (partial last year) and is
    replaced by a new person from the next year. Costs are two-part: zero with high
    probability (GGZ: about 94 %), otherwise log-normal, times a persistent log-normal
    frailty, so they are skewed with many zeros; their expectation per insured year is
    the practice-year expected cost (including the effect), so the planted ATT holds for
    exposure-weighted means of the person-years too.

    Examples
    --------
    >>> from kbz_eval.synth.rollout import rollout_sample
    >>> s = rollout_sample(seed=3, n_practices=40, persons_per_practice=5)
    >>> sorted(s["practices"]["kbz_start_year"].dropna().unique().astype(int).tolist())
    [2014, 2019, 2020, 2022]
    >>> s["practices"].attrs["note"][:14]
    'SYNTHETIC DATA'
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SpecificationError(
            f"The value for `seed` must be a non-negative integer, but {seed!r} was passed."
        )
    seed = int(seed)
    n = _check_int("n_practices", n_practices, MIN_PRACTICES)
    m = _check_int("persons_per_practice", persons_per_practice, 0)

    def stream(k: int) -> np.random.Generator:
        return np.random.default_rng([seed, k])

    practices = _practices(stream(1), n)
    mean, _, total_effect = _expected(stream(2), practices)
    panel = _practice_years(stream(3), practices, mean)
    if m > 0:
        persons = _person_years(stream(4), practices, mean, m)
    else:
        persons = pd.DataFrame(columns=["person_id", "practice_id", "year", "insured_days",
                                        "poli_dbc_cost", "ggz_cost", "other_cost",
                                        "total_cost", "ggz_regime"])
    truth = _truth(practices, total_effect)
    return {
        "practices": _label(practices, seed, "practices"),
        "practice_years": _label(panel, seed, "practice_years"),
        "person_years": _label(persons, seed, "person_years"),
        "truth": _label(truth, seed, "truth"),
    }


__all__ = ["COHORT_EFFECT", "GGZ_BREAK_EUR", "GGZ_BREAK_YEAR", "YEARS", "planted_simple_att",
           "rollout_sample"]
