"""Synthetic insured population: persons, practices, insured person-years, minima.

Time is counted in days from 1 January 2012 (day 0) to 31 December 2016 (day 1826).
Everything is vectorised over persons; the only loops run over the five years.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from kbz_eval import tables
from kbz_eval.synth import params as P

#: First day of each year 2012–2016 and the day after the last (days since 2012-01-01).
YEAR_START = np.concatenate([[0], np.cumsum(tables.days_in_year(np.array(P.YEARS)))])
N_YEARS = len(P.YEARS)
EPOCH = np.datetime64("2012-01-01", "D")

PRACTICE_IDS = np.array([p[0] for p in P.PRACTICES])
PRACTICE_KBZ = np.array([p[1] == "kbz" for p in P.PRACTICES])
#: KBZ start year per practice; a year after the window for controls (never active).
PRACTICE_START = np.array([p[2] if p[2] is not None else 9999 for p in P.PRACTICES])
PRACTICE_STOCK = np.array([p[3] for p in P.PRACTICES])
BEST_PRACTICE = int(np.flatnonzero(PRACTICE_IDS == P.BEST_GGZ_PRACTICE)[0])


@dataclass
class Population:
    """Persons and their insured person-years (arrays; index = person or person-year).

    Person arrays have one entry per person, person-year arrays (prefix ``py_``) one per
    insured person × year, sorted by person then year.
    """

    number: np.ndarray          # person number behind the pseudonym P0000123
    sex_female: np.ndarray
    birth_year: np.ndarray
    entry_day: np.ndarray       # first insured day (0 = insured before 2012)
    exit_day: np.ndarray        # first day no longer insured (after 2016: still insured)
    deprivation: np.ndarray
    frailty: np.ndarray
    practice_by_year: np.ndarray  # (persons, years) practice index
    minima_by_year: np.ndarray    # (persons, years) bool
    py_person: np.ndarray
    py_k: np.ndarray            # year index 0..4
    py_days: np.ndarray

    @property
    def n_persons(self) -> int:
        return int(self.number.size)

    @property
    def py_year(self) -> np.ndarray:
        return np.asarray(P.YEARS)[self.py_k]

    @property
    def py_practice(self) -> np.ndarray:
        return self.practice_by_year[self.py_person, self.py_k]

    @property
    def py_minima(self) -> np.ndarray:
        return self.minima_by_year[self.py_person, self.py_k]

    @property
    def py_age(self) -> np.ndarray:
        return self.py_year - self.birth_year[self.py_person]

    @property
    def py_exposure(self) -> np.ndarray:
        """Insured years of each person-year (insured days / days in the year)."""
        return tables.insured_years(self.py_days, self.py_year)

    @property
    def py_first_day(self) -> np.ndarray:
        """First insured day of each person-year (days since 2012-01-01)."""
        return np.maximum(self.entry_day[self.py_person], YEAR_START[self.py_k])


def person_ids(numbers: np.ndarray) -> np.ndarray:
    """Pseudonyms ``P`` + 7 digits (never a 9-digit number that could pass the BSN test)."""
    return np.strings.add("P", np.strings.zfill(np.asarray(numbers).astype(np.str_), 7))


def _draw_ages(rng: np.random.Generator, weights: tuple[float, ...], n: int) -> np.ndarray:
    w = np.asarray(weights, float)
    band = rng.choice(w.size, size=n, p=w / w.sum())
    width = np.where(band == w.size - 1, P.TOP_BAND_WIDTH, 5)
    return band * 5 + (rng.random(n) * width).astype(int)


def simulate_population(rng: np.random.Generator, *, exact_minima: bool = True) -> Population:
    """Draw the insured population of the twelve practices, 2012–2016.

    Parameters
    ----------
    rng
        The population's random stream.
    exact_minima
        When true (the design of every sample), the minima threshold at KBZ practices is
        set so that exactly ``TARGETS.minima_kbz_2015`` KBZ persons are minima in 2015:
        a fixed sample composition, like a fixed sample size.

    Returns
    -------
    Population
    """
    n_practices = PRACTICE_IDS.size
    # --- who: stock on 1-1-2012, births and movers per practice and year ---------------
    stock_practice = np.repeat(np.arange(n_practices), PRACTICE_STOCK)
    n_stock = stock_practice.size
    stock_age = _draw_ages(rng, P.STOCK_AGE_WEIGHTS, n_stock)

    lam = np.outer(PRACTICE_STOCK, np.ones(N_YEARS))
    n_births = rng.poisson(lam * P.BIRTH_RATE)
    n_movers = rng.poisson(lam * P.MOVE_IN_RATE)
    pr_idx, yr_idx = np.meshgrid(np.arange(n_practices), np.arange(N_YEARS), indexing="ij")
    birth_practice = np.repeat(pr_idx.ravel(), n_births.ravel())
    birth_k = np.repeat(yr_idx.ravel(), n_births.ravel())
    mover_practice = np.repeat(pr_idx.ravel(), n_movers.ravel())
    mover_k = np.repeat(yr_idx.ravel(), n_movers.ravel())
    mover_age = _draw_ages(rng, P.MOVER_AGE_WEIGHTS, mover_k.size)

    year_len = np.diff(YEAR_START)
    birth_day = YEAR_START[birth_k] + (rng.random(birth_k.size) * year_len[birth_k]).astype(int)
    mover_day = YEAR_START[mover_k] + (rng.random(mover_k.size) * year_len[mover_k]).astype(int)

    practice0 = np.concatenate([stock_practice, birth_practice, mover_practice])
    entry = np.concatenate([np.zeros(n_stock, int), birth_day, mover_day])
    years = np.asarray(P.YEARS)
    birth_year = np.concatenate([
        P.FIRST_YEAR - 1 - stock_age,
        years[birth_k],
        years[mover_k] - mover_age,
    ])
    age_at_entry = np.concatenate([stock_age, np.zeros(birth_k.size, int), mover_age])
    # persons in random order: the pseudonym number is the position, so ids say nothing
    # about practice or entry, and person order is id order
    order = rng.permutation(practice0.size)
    practice0, entry = practice0[order], entry[order]
    birth_year, age_at_entry = birth_year[order], age_at_entry[order]
    n = practice0.size

    # --- latent traits -----------------------------------------------------------------
    d = rng.standard_normal(n)
    s, lo = P.FRAILTY_SIGMA, P.FRAILTY_DEPRIVATION_LOADING
    frailty = np.exp(s * (lo * d + np.sqrt(1 - lo**2) * rng.standard_normal(n)) - s**2 / 2)
    p_female = np.where(age_at_entry >= 75, P.FEMALE_SHARE_75PLUS, P.FEMALE_SHARE)
    female = rng.random(n) < p_female

    # --- exit: moving out / switching insurer, or death ------------------------------
    death = np.exp(P.DEATH_A + P.DEATH_B * age_at_entry) * frailty**P.DEATH_FRAILTY_POWER
    hazard = P.MOVE_OUT_RATE + death
    exit_day = entry + np.ceil(rng.exponential(1.0 / hazard) * 365.25).astype(int)
    exit_day = np.maximum(exit_day, entry + 1)

    # --- practice per year (a few persons switch within their group) -------------------
    practice_by_year = np.repeat(practice0[:, None], N_YEARS, axis=1)
    switch = rng.random(n) < P.PRACTICE_SWITCH_SHARE
    switch_k = rng.integers(1, N_YEARS, n)
    new_practice = _other_practice_same_group(rng, practice0)
    after = switch[:, None] & (np.arange(N_YEARS)[None, :] >= switch_k[:, None])
    practice_by_year = np.where(after, new_practice[:, None], practice_by_year)

    # --- insured days per year ---------------------------------------------------------
    starts, ends = YEAR_START[:-1][None, :], YEAR_START[1:][None, :]
    days = np.minimum(exit_day[:, None], ends) - np.maximum(entry[:, None], starts)
    days = np.clip(days, 0, None)
    py_person, py_k = np.nonzero(days > 0)

    # --- minima: stationary latent = deprivation + AR(1) over the years ---------------
    rho, w = P.MINIMA_AR, P.MINIMA_DEPRIVATION_WEIGHT
    v = np.empty((n, N_YEARS))
    v[:, 0] = rng.standard_normal(n)
    for k in range(1, N_YEARS):
        v[:, k] = rho * v[:, k - 1] + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    u = np.sqrt(w) * d[:, None] + np.sqrt(1 - w) * v
    kbz_person = PRACTICE_KBZ[practice0]
    threshold = np.where(kbz_person, NormalDist().inv_cdf(1 - P.MINIMA_SHARE_KBZ),
                         NormalDist().inv_cdf(1 - P.MINIMA_SHARE_CONTROL))
    if exact_minima:
        k15 = P.YEARS.index(2015)
        present = days[:, k15] > 0
        u15 = np.sort(u[kbz_person & present, k15])[::-1]
        m = P.TARGETS.minima_kbz_2015
        threshold[kbz_person] = (u15[m - 1] + u15[m]) / 2
    minima_by_year = u > threshold[:, None]

    number = np.arange(1, n + 1)
    return Population(
        number=number, sex_female=female, birth_year=birth_year, entry_day=entry,
        exit_day=exit_day, deprivation=d, frailty=frailty,
        practice_by_year=practice_by_year, minima_by_year=minima_by_year,
        py_person=py_person, py_k=py_k, py_days=days[py_person, py_k],
    )


def _other_practice_same_group(rng: np.random.Generator, practice: np.ndarray) -> np.ndarray:
    """A random other practice of the same group for each person (weighted by size)."""
    out = practice.copy()
    for is_kbz in (True, False):
        members = np.flatnonzero(PRACTICE_KBZ == is_kbz)
        w = PRACTICE_STOCK[members].astype(float)
        mask = np.isin(practice, members)
        draw = members[rng.choice(members.size, size=mask.sum(), p=w / w.sum())]
        # a draw equal to the current practice moves one further within the group
        pos = np.searchsorted(members, draw)
        same = draw == practice[mask]
        draw[same] = members[(pos[same] + 1) % members.size]
        out[mask] = draw
    return out


def practices_frame() -> pd.DataFrame:
    """The ``practices`` table."""
    return pd.DataFrame({
        "practice_id": pd.Series(PRACTICE_IDS, dtype="str"),
        "city": pd.Series([P.CITY] * PRACTICE_IDS.size, dtype="str"),
        "neighbourhood": pd.Series([P.NEIGHBOURHOOD] * PRACTICE_IDS.size, dtype="str"),
        "group": pd.Series(np.where(PRACTICE_KBZ, "kbz", "control"), dtype="str"),
        "kbz_start_year": pd.array([p[2] for p in P.PRACTICES], dtype="Int64"),
    })


def insured_periods_frame(pop: Population) -> pd.DataFrame:
    """The ``insured_periods`` table (sorted by person id and year)."""
    ids = person_ids(pop.number)
    year = pop.py_year
    age = pop.py_age
    frame = pd.DataFrame({
        "person_id": pd.Series(ids[pop.py_person], dtype="str"),
        "year": year.astype("int64"),
        "practice_id": pd.Series(PRACTICE_IDS[pop.py_practice], dtype="str"),
        "insured_days": pop.py_days.astype("int64"),
        "sex": pd.Series(np.where(pop.sex_female[pop.py_person], "F", "M"), dtype="str"),
        "birth_year": pop.birth_year[pop.py_person].astype("int64"),
        "age_band": pd.Series(tables.age_band(np.clip(age, 0, None)), dtype="str"),
        "minima": pop.py_minima.astype(bool),
    })
    return frame
