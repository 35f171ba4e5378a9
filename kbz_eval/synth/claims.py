"""Synthetic claim lines and their aggregation to person-years.

Claim lines come in two layers:

1. **In-package lines of insured person-years** (:func:`simulate_claims`): one block per
   care type, drawn per person-year (two-part: a Poisson number of claims whose rate
   carries the person's frailty, then a skewed amount per claim). These lines define
   ``person_years``.
2. **Data-quality lines** (:func:`add_data_quality_lines`): codes outside the basic
   package (16…/17…), lines of persons or years without an insured period (orphans) and
   re-sent identical copies. A correct claims engine ignores all of them, so the
   aggregation of layer 1 is exactly what it must return.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kbz_eval import tables
from kbz_eval.synth import params as P
from kbz_eval.synth.population import (
    BEST_PRACTICE,
    EPOCH,
    N_YEARS,
    PRACTICE_KBZ,
    PRACTICE_START,
    YEAR_START,
    Population,
    person_ids,
)

CARE_TYPES = tables.CARE_TYPES
CARE = {c: i for i, c in enumerate(CARE_TYPES)}
#: Every declaration code; a line stores an index into it (-1 = no code).
ALL_CODES: tuple[str, ...] = tuple(
    code for c in CARE_TYPES for code in P.DECLARATION_CODES[c]
) + P.OUTSIDE_PACKAGE_CODES
_CODE_OFFSET = {}
_offset = 0
for _c in CARE_TYPES:
    _CODE_OFFSET[_c] = _offset
    _offset += len(P.DECLARATION_CODES[_c])
OUTSIDE_CODE_OFFSET = _offset

#: Care types of orphan lines and their log-normal cost (median, sigma).
_ORPHAN_COST = {
    "poli_dbc": (P.POLI_COST_MEDIAN, P.POLI_COST_SIGMA),
    "gp": (P.GP_TARIFFS[1], P.ORPHAN_GP_COST_SIGMA),
    "pharmacy": (P.PHARMACY_COST_MEDIAN, P.PHARMACY_COST_SIGMA),
    "other": (P.OTHER_COST_MEDIAN, P.OTHER_COST_SIGMA),
}


@dataclass
class Lines:
    """Claim lines as arrays. ``py`` indexes the population's person-years."""

    py: np.ndarray
    care: np.ndarray
    start: np.ndarray
    end: np.ndarray
    cost: np.ndarray
    code: np.ndarray

    @staticmethod
    def concat(parts: list[Lines]) -> Lines:
        return Lines(*(np.concatenate([getattr(p, f) for p in parts])
                       for f in ("py", "care", "start", "end", "cost", "code")))


def _age_factor(age: np.ndarray, factors: tuple[float, ...]) -> np.ndarray:
    return np.asarray(factors)[np.searchsorted(P.POLI_AGE_BREAKS, age, side="right")]


def _lognormal(rng, median: float, sigma: float, n: int) -> np.ndarray:
    return median * np.exp(sigma * rng.standard_normal(n))


def _block(rng, pop: Population, care: str, counts: np.ndarray, cost: np.ndarray,
           duration: np.ndarray) -> Lines:
    """Lines of one care type: ``counts`` per person-year, per-line cost and duration."""
    py = np.repeat(np.arange(counts.size), counts)
    start = pop.py_first_day[py] + (rng.random(py.size) * pop.py_days[py]).astype(int)
    codes = P.DECLARATION_CODES[care]
    if codes:
        code = _CODE_OFFSET[care] + rng.integers(0, len(codes), py.size)
    else:
        code = np.full(py.size, -1)
    return Lines(py=py, care=np.full(py.size, CARE[care], dtype=np.int8), start=start,
                 end=start + duration, cost=np.round(cost, 2), code=code)


def _capped_exponential(rng, mean: float, cap: int, n: int) -> np.ndarray:
    return np.minimum(rng.exponential(mean, n).astype(int), cap)


def kbz_active(pop: Population) -> np.ndarray:
    """Person-years at a KBZ practice in or after its KBZ start year."""
    practice = pop.py_practice
    return PRACTICE_KBZ[practice] & (pop.py_year >= PRACTICE_START[practice])


def simulate_claims(rng: np.random.Generator, pop: Population) -> Lines:
    """In-package claim lines of the insured person-years, every care type.

    Parameters
    ----------
    rng
        The claims' random stream.
    pop
        The insured population.

    Returns
    -------
    Lines
        One entry per distinct in-package claim line of an insured person-year.
    """
    f = pop.frailty[pop.py_person]
    e = pop.py_exposure
    age = pop.py_age
    k = pop.py_k
    parts = []

    # --- outpatient DBCs: the planted KBZ effect on minima -----------------------------
    since = pop.py_year - PRACTICE_START[pop.py_practice]
    effect = np.asarray(P.KBZ_POLI_MINIMA_EFFECT)[np.clip(since, 0, 2)]
    effect = np.where(PRACTICE_KBZ[pop.py_practice] & pop.py_minima & (since >= 0), effect, 1.0)
    trend = np.where(pop.py_minima, P.POLI_TREND_MINIMA, P.POLI_TREND_OTHER) ** k
    lam = P.POLI_RATE * _age_factor(age, P.POLI_AGE_FACTORS) * f * trend * effect * e
    counts = rng.poisson(lam)
    m = counts.sum()
    parts.append(_block(rng, pop, "poli_dbc", counts,
                        _lognormal(rng, P.POLI_COST_MEDIAN, P.POLI_COST_SIGMA, m),
                        _capped_exponential(rng, P.POLI_DURATION_MEAN, P.POLI_DURATION_MAX, m)))

    # --- clinical DBCs ---------------------------------------------------------------
    counts = rng.poisson(P.CLINICAL_RATE * _age_factor(age, P.CLINICAL_AGE_FACTORS) * f * e)
    m = counts.sum()
    parts.append(_block(
        rng, pop, "clinical_dbc", counts,
        _lognormal(rng, P.CLINICAL_COST_MEDIAN, P.CLINICAL_COST_SIGMA, m),
        _capped_exponential(rng, P.CLINICAL_DURATION_MEAN, P.CLINICAL_DURATION_MAX, m)))

    # --- specialist and basic GGZ ------------------------------------------------------
    parts.append(_ggz_specialist(rng, pop))
    parts.append(_ggz_basic(rng, pop))

    # --- GP, pharmacy, other ---------------------------------------------------------
    counts = rng.poisson(P.GP_RATE * f**P.GP_FRAILTY_POWER * e)
    m = counts.sum()
    tariff = np.asarray(P.GP_TARIFFS)[rng.choice(len(P.GP_TARIFFS), m, p=P.GP_TARIFF_WEIGHTS)]
    line_k = np.repeat(k, counts)
    parts.append(_block(rng, pop, "gp", counts, tariff * P.GP_TARIFF_GROWTH**line_k,
                        np.zeros(m, int)))

    counts = rng.poisson(P.PHARMACY_RATE * _age_factor(age, P.PHARMACY_AGE_FACTORS) * f * e)
    m = counts.sum()
    parts.append(_block(rng, pop, "pharmacy", counts,
                        _lognormal(rng, P.PHARMACY_COST_MEDIAN, P.PHARMACY_COST_SIGMA, m),
                        np.zeros(m, int)))

    counts = rng.poisson(P.OTHER_RATE * f**P.OTHER_FRAILTY_POWER * e)
    m = counts.sum()
    parts.append(_block(rng, pop, "other", counts,
                        _lognormal(rng, P.OTHER_COST_MEDIAN, P.OTHER_COST_SIGMA, m),
                        rng.integers(0, P.OTHER_DURATION_MAX + 1, m)))
    return Lines.concat(parts)


def ggz_risk(pop: Population) -> np.ndarray:
    """Person-level GGZ risk ``h``: frailty to a power, mean 1, capped."""
    h = pop.frailty**P.GGZ_FRAILTY_POWER
    return np.minimum(h / h.mean(), P.GGZ_RISK_CAP)


def _ggz_specialist(rng, pop: Population) -> Lines:
    """Specialist GGZ: chronic patients and episodes, with the planted KBZ effects."""
    n = pop.n_persons
    h = ggz_risk(pop)
    chronic = rng.random(n) < np.minimum(P.GGZ_CHRONIC_SHARE * h, P.GGZ_PROBABILITY_CAP)
    active = np.zeros(n, bool)
    episode_mult = np.ones(n)
    status = np.zeros((n, N_YEARS), np.int8)  # 0 none, 1 chronic, 2 first year, 3 later
    mult = np.ones((n, N_YEARS))
    for year in (*P.GGZ_BURN_IN_YEARS, *P.YEARS):
        k = year - P.FIRST_YEAR
        practice = pop.practice_by_year[:, max(k, 0)]
        adult = year - pop.birth_year >= P.GGZ_MIN_AGE
        under_kbz = PRACTICE_KBZ[practice] & (year >= PRACTICE_START[practice])
        best = practice == BEST_PRACTICE
        inc_effect = np.where(under_kbz, np.where(best, P.KBZ_GGZ_INCIDENCE_EFFECT_BEST,
                                                  P.KBZ_GGZ_INCIDENCE_EFFECT), 1.0)
        p_new = np.minimum(P.GGZ_INCIDENCE * h * P.GGZ_INCIDENCE_TREND[year] * inc_effect,
                           P.GGZ_PROBABILITY_CAP)
        cont = active & (rng.random(n) < P.GGZ_EPISODE_CONTINUE)
        new = ~active & (rng.random(n) < p_new) & adult & ~chronic
        active = (cont | new) & adult
        intensity = np.where(under_kbz, np.where(best, P.KBZ_GGZ_NEW_EPISODE_INTENSITY_BEST,
                                                 P.KBZ_GGZ_NEW_EPISODE_INTENSITY), 1.0)
        episode_mult = np.where(new, intensity, episode_mult)
        chronic_use = chronic & adult & (rng.random(n) < P.GGZ_CHRONIC_USE[year])
        if k >= 0:
            status[:, k] = np.where(chronic_use, 1, np.where(new, 2, np.where(active, 3, 0)))
            mult[:, k] = np.where(status[:, k] >= 2, episode_mult, 1.0)

    st = status[pop.py_person, pop.py_k]
    # part-year persons are in care with a chance proportional to their exposure
    use = (st > 0) & (rng.random(st.size) < pop.py_exposure)
    idx = np.flatnonzero(use)
    st = st[idx]
    mean = np.select([st == 1, st == 2], [P.GGZ_CHRONIC_MEAN, P.GGZ_NEW_MEAN],
                     P.GGZ_CONTINUING_MEAN)
    shape = np.select([st == 1, st == 2], [P.GGZ_CHRONIC_SHAPE, P.GGZ_NEW_SHAPE],
                      P.GGZ_CONTINUING_SHAPE)
    mean = mean * P.GGZ_PRICE_TREND ** pop.py_k[idx] * mult[pop.py_person[idx], pop.py_k[idx]]
    total = np.maximum(rng.gamma(shape, mean / shape), P.GGZ_MIN_COST)

    counts = np.zeros(pop.py_k.size, int)
    counts[idx] = 1 + rng.poisson(P.GGZ_EXTRA_LINES, idx.size)
    line_py = np.repeat(np.arange(counts.size), counts)
    weight = P.GGZ_LINE_WEIGHT_FLOOR + rng.exponential(1.0, line_py.size)
    weight_sum = np.bincount(line_py, weight, minlength=counts.size)
    total_py = np.zeros(counts.size)
    total_py[idx] = total
    cost = total_py[line_py] * weight / weight_sum[line_py]
    duration = rng.integers(P.GGZ_DURATION_MIN, P.GGZ_DURATION_MAX + 1, line_py.size)
    return _block(rng, pop, "ggz_specialist", counts, cost, duration)


def _ggz_basic(rng, pop: Population) -> Lines:
    """Basic GGZ (from 2014): one product per treated person-year."""
    h = ggz_risk(pop)[pop.py_person]
    adult = pop.py_age >= P.GGZ_MIN_AGE
    effect = np.where(kbz_active(pop), P.KBZ_GGZ_BASIC_EFFECT, 1.0)
    p = P.GGZ_BASIC_RATE * np.sqrt(h) * effect * pop.py_exposure
    counts = ((rng.random(p.size) < p) & adult
              & (pop.py_year >= P.GGZ_BASIC_FIRST_YEAR)).astype(int)
    m = counts.sum()
    tariff = np.asarray(P.GGZ_BASIC_TARIFFS)[
        rng.choice(len(P.GGZ_BASIC_TARIFFS), m, p=P.GGZ_BASIC_WEIGHTS)]
    duration = rng.integers(P.GGZ_BASIC_DURATION_MIN, P.GGZ_BASIC_DURATION_MAX + 1, m)
    return _block(rng, pop, "ggz_basic", counts, tariff, duration)


# ---------------------------------------------------------------------------------------
def aggregate(pop: Population, lines: Lines) -> tuple[np.ndarray, np.ndarray]:
    """Counts and costs per person-year × care type (in-package lines of insured years).

    Returns
    -------
    counts, costs
        Arrays of shape (person-years, care types); costs rounded to cents.
    """
    n_py, n_care = pop.py_k.size, len(CARE_TYPES)
    key = lines.py * n_care + lines.care
    counts = np.bincount(key, minlength=n_py * n_care).reshape(n_py, n_care)
    costs = np.bincount(key, lines.cost, minlength=n_py * n_care).reshape(n_py, n_care)
    return counts, np.round(costs, 2)


def person_years_frame(pop: Population, insured_periods: pd.DataFrame,
                       lines: Lines) -> pd.DataFrame:
    """The ``person_years`` table: insured periods plus counts and costs per care type."""
    counts, costs = aggregate(pop, lines)
    frame = insured_periods.copy()
    values: dict[str, object] = {}
    for i, care in enumerate(CARE_TYPES):
        prefix = tables.CARE_TYPE_PREFIX[care]
        values[f"{prefix}_count"] = counts[:, i].astype("int64")
        values[f"{prefix}_cost"] = costs[:, i]
    values["total_cost"] = np.round(costs.sum(axis=1), 2)
    values["ggz_regime"] = pd.Series(["dbc"] * len(frame), dtype="str", index=frame.index)
    frame = frame.assign(**values)
    return frame[tables.PERSON_YEARS.names]


# ---------------------------------------------------------------------------------------
@dataclass
class ClaimFile:
    """All claim lines as delivered: person number, claim number and line fields."""

    person: np.ndarray
    claim: np.ndarray
    care: np.ndarray
    start: np.ndarray
    end: np.ndarray
    cost: np.ndarray
    code: np.ndarray


def add_data_quality_lines(rng: np.random.Generator, pop: Population,
                           lines: Lines) -> ClaimFile:
    """Add outside-package lines, orphan lines and re-sent duplicates; assign claim ids.

    Parameters
    ----------
    rng
        The data-quality random stream.
    pop
        The insured population.
    lines
        The in-package lines of insured person-years.

    Returns
    -------
    ClaimFile
        Every line of the claims file, sorted by person, start date and claim id.
    """
    n_basic = lines.py.size
    person = pop.number[pop.py_person[lines.py]]
    parts = [(person, lines.care, lines.start, lines.end, lines.cost, lines.code)]

    # outside the basic package: extra lines on random insured person-years
    m = int(round(P.OUTSIDE_PACKAGE_RATE * n_basic))
    py = rng.integers(0, pop.py_k.size, m)
    care = np.array([CARE[c] for c in P.OUTSIDE_PACKAGE_CARE_TYPES], np.int8)[
        rng.choice(len(P.OUTSIDE_PACKAGE_CARE_TYPES), m, p=P.OUTSIDE_PACKAGE_CARE_WEIGHTS)]
    start = pop.py_first_day[py] + (rng.random(m) * pop.py_days[py]).astype(int)
    parts.append((
        pop.number[pop.py_person[py]], care, start,
        start + rng.integers(0, P.OUTSIDE_PACKAGE_DURATION_MAX + 1, m),
        np.round(_lognormal(rng, P.OUTSIDE_PACKAGE_COST_MEDIAN,
                            P.OUTSIDE_PACKAGE_COST_SIGMA, m), 2),
        OUTSIDE_CODE_OFFSET + rng.integers(0, len(P.OUTSIDE_PACKAGE_CODES), m),
    ))

    # orphans: persons in years they were not insured, and persons never insured
    m = int(round(P.ORPHAN_RATE * n_basic))
    m_unknown = int(round(m * P.ORPHAN_UNKNOWN_PERSON_SHARE))
    covered = np.zeros((pop.n_persons, N_YEARS), bool)
    covered[pop.py_person, pop.py_k] = True
    gap_person, gap_k = np.nonzero(~covered)
    pick = rng.integers(0, gap_person.size, m - m_unknown)
    orphan_person = np.concatenate([
        pop.number[gap_person[pick]],
        pop.n_persons + 1 + rng.integers(0, max(1, m_unknown // 2), m_unknown),
    ])
    orphan_k = np.concatenate([gap_k[pick], rng.integers(0, N_YEARS, m_unknown)])
    year_len = np.diff(YEAR_START)
    start = YEAR_START[orphan_k] + (rng.random(m) * year_len[orphan_k]).astype(int)
    orphan_types = tuple(_ORPHAN_COST)
    type_idx = rng.integers(0, len(orphan_types), m)
    care = np.array([CARE[c] for c in orphan_types], np.int8)[type_idx]
    med = np.array([_ORPHAN_COST[c][0] for c in orphan_types])[type_idx]
    sig = np.array([_ORPHAN_COST[c][1] for c in orphan_types])[type_idx]
    n_codes = np.array([len(P.DECLARATION_CODES[c]) for c in orphan_types])[type_idx]
    offset = np.array([_CODE_OFFSET[c] for c in orphan_types])[type_idx]
    code = np.where(n_codes > 0, offset + (rng.random(m) * np.maximum(n_codes, 1)).astype(int),
                    -1)
    parts.append((orphan_person, care, start,
                  start + rng.integers(0, P.ORPHAN_DURATION_MAX + 1, m),
                  np.round(med * np.exp(sig * rng.standard_normal(m)), 2), code))

    cols = [np.concatenate([p[i] for p in parts]) for i in range(6)]
    n_all = cols[0].size
    claim = rng.permutation(n_all) + 1
    # re-sent lines: identical copies sharing the claim id
    dup = np.sort(rng.choice(n_all, int(round(P.DUPLICATE_RATE * n_all)), replace=False))
    idx = np.concatenate([np.arange(n_all), dup])
    person, care, start, end, cost, code = (c[idx] for c in cols)
    claim = claim[idx]
    order = np.lexsort((claim, start, person))
    return ClaimFile(person=person[order], claim=claim[order], care=care[order],
                     start=start[order], end=end[order], cost=cost[order], code=code[order])


def claim_lines_frame(cf: ClaimFile) -> pd.DataFrame:
    """The ``claim_lines`` table."""
    code_strings = np.asarray(ALL_CODES + ("",))
    code = pd.Series(code_strings[np.where(cf.code >= 0, cf.code, len(ALL_CODES))],
                     dtype="str")
    code = code.mask(cf.code < 0)
    claim_ids = np.strings.add("C", np.strings.zfill(cf.claim.astype(np.str_), 8))
    return pd.DataFrame({
        "person_id": pd.Series(person_ids(cf.person), dtype="str"),
        "claim_id": pd.Series(claim_ids, dtype="str"),
        "start_date": (EPOCH + cf.start).astype("datetime64[us]"),
        "end_date": (EPOCH + cf.end).astype("datetime64[us]"),
        "care_type": pd.Series(np.asarray(CARE_TYPES)[cf.care], dtype="str"),
        "declaration_code": code,
        "cost": cf.cost.astype("float64"),
    })
