"""Synthetic claims panels with the nuisance variation real claims data have.

Used by the planted-effect validation (``tests/test_claims_validation.py``). Everything
here is synthetic, with known true values:

* practices of different sizes (``persons_per_practice`` drawn per practice);
* a persistent practice effect on the outpatient rate and the GGZ risk (lognormal, mean
  1, sd ``sd_practice``) and a **practice × year shock** (lognormal, mean 1, sd
  ``sd_shock``) on both — the variation person-level intervals cannot see;
* persons with a gamma frailty and a two-point persistent GGZ risk, a sex effect, part
  years (15 % of person-years) and **dropout** (persons leave the insurer, so the panel
  is unbalanced);
* many zeros (most person-years have no DBC and no GGZ cost) and log-normal claim costs;
* GGZ drawn every year, independently given the person's risk;
* planted effects: KBZ outpatient rate × ``theta`` from ``START``; new GGZ patients at
  KBZ practices (GGZ in 2016, none in 2013) cost × ``psi`` in 2016.

Means of the practice effects and shocks are 1, so the true values of the estimands are
those of the process without them (:class:`Truth`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kbz_eval import tables

YEARS = (2012, 2013, 2014, 2015, 2016)
START = 2014
TREND = {2012: 1.00, 2013: 1.03, 2014: 1.06, 2015: 1.10, 2016: 1.13}
BASE_RATE = {"kbz": 0.9, "control": 1.0}  # outpatient DBCs per insured year (frailty 1)
SEX_FACTOR = {"F": 1.25, "M": 0.75}  # outpatient rate multiplier; mean 1 (50/50 sex)
DBC_COST_MU, DBC_COST_SIGMA = np.log(400.0), 0.6
DBC_COST_MEAN = float(np.exp(DBC_COST_MU + DBC_COST_SIGMA**2 / 2))
THETA = 0.8  # planted: KBZ outpatient rate multiplier from START
GGZ_P = {("kbz", 2013): 0.120, ("kbz", 2016): 0.100,
         ("control", 2013): 0.120, ("control", 2016): 0.110}
GGZ_H = (0.5, 1.5)  # two-point persistent GGZ risk, equally likely: E[h] = 1
GGZ_H2 = float(np.mean(np.square(GGZ_H)))
GGZ_MEAN = {2012: 4000.0, 2013: 4000.0, 2014: 4150.0, 2015: 4300.0, 2016: 4400.0}
#: Years before the KBZ start draw GGZ with the 2013 probabilities, later ones with 2016's.
GGZ_P_YEAR = {2012: 2013, 2013: 2013, 2014: 2016, 2015: 2016, 2016: 2016}
GGZ_SHAPE = 2.0
PSI = 0.8  # planted: cost multiplier of new GGZ patients at KBZ practices (follow year)
#: Yearly probability that a person leaves the insurer after a year (dropout).
DROPOUT = 0.05


def _lognormal_mean_one(rng: np.random.Generator, sd: float, size) -> np.ndarray:
    return np.exp(rng.normal(-sd**2 / 2, sd, size)) if sd > 0 else np.ones(size)


def simulate_panel(seed: int, *, n_kbz: int = 6, n_control: int = 6,
                   persons_per_practice: tuple[int, int] = (150, 350),
                   sd_practice: float = 0.15, sd_shock: float = 0.05,
                   theta: float = THETA, psi: float = PSI, dropout: float = DROPOUT,
                   n_persons: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A synthetic person-year panel and practices table with planted effects.

    ``n_persons`` (optional) assigns that many persons to practices uniformly instead of
    drawing practice sizes (the no-practice-variation scenario uses it with
    ``sd_practice = sd_shock = 0``).
    """
    rng = np.random.default_rng([seed, 11])
    ids = [f"K{i}" for i in range(n_kbz)] + [f"C{i}" for i in range(n_control)]
    n_prac = len(ids)
    practices = pd.DataFrame({
        "practice_id": ids, "city": "X", "neighbourhood": "Y",
        "group": ["kbz"] * n_kbz + ["control"] * n_control,
        "kbz_start_year": pd.array([START] * n_kbz + [None] * n_control, dtype="Int64"),
    })
    if n_persons is None:
        sizes = rng.integers(persons_per_practice[0], persons_per_practice[1] + 1, n_prac)
        p_of = np.repeat(np.arange(n_prac), sizes)
    else:
        p_of = rng.integers(0, n_prac, n_persons)
    n_pers = p_of.size
    is_kbz_p = np.arange(n_prac) < n_kbz
    effect_p = _lognormal_mean_one(rng, sd_practice, n_prac)
    shock_py = _lognormal_mean_one(rng, sd_shock, (n_prac, len(YEARS)))
    ggz_effect_p = _lognormal_mean_one(rng, sd_practice, n_prac)
    ggz_shock_py = _lognormal_mean_one(rng, sd_shock, (n_prac, len(YEARS)))

    sex = np.where(rng.random(n_pers) < 0.5, "F", "M")
    birth = rng.integers(1940, 2000, n_pers)
    minima = rng.random(n_pers) < 0.6
    frailty = rng.gamma(1.0, 1.0, n_pers)
    h = np.asarray(GGZ_H)[rng.integers(0, 2, n_pers)]
    # dropout: the last year a person is insured (geometric after the first year)
    stays = rng.geometric(dropout, n_pers) if dropout > 0 else np.full(n_pers, 99)
    last_year_index = np.minimum(stays - 1, len(YEARS) - 1)

    n_y = len(YEARS)
    person = np.repeat(np.arange(n_pers), n_y)
    y_idx = np.tile(np.arange(n_y), n_pers)
    present = y_idx <= last_year_index[person]
    person, y_idx = person[present], y_idx[present]
    year = np.asarray(YEARS)[y_idx]
    prac = p_of[person]
    kbz_row = is_kbz_p[prac]
    full = tables.days_in_year(year)
    partial = rng.random(person.size) < 0.15
    days = np.where(partial, rng.integers(30, full + 1), full)
    iy = days / full
    trend = np.asarray([TREND[y] for y in YEARS])[y_idx]
    rate = (np.where(kbz_row, BASE_RATE["kbz"], BASE_RATE["control"]) * trend
            * np.where(kbz_row & (year >= START), theta, 1.0)
            * np.where(sex[person] == "F", SEX_FACTOR["F"], SEX_FACTOR["M"])
            * frailty[person] * effect_p[prac] * shock_py[prac, y_idx])
    count = rng.poisson(rate * iy)
    line_cost = rng.lognormal(DBC_COST_MU, DBC_COST_SIGMA, int(count.sum()))
    cost = np.bincount(np.repeat(np.arange(person.size), count), weights=line_cost,
                       minlength=person.size)

    ggz = np.zeros(person.size)
    status: dict[int, np.ndarray] = {}
    group_row = np.where(kbz_row, "kbz", "control")
    for y in YEARS:
        rows = np.flatnonzero(year == y)
        py = GGZ_P_YEAR[y]
        base_p = np.where(kbz_row[rows], GGZ_P[("kbz", py)], GGZ_P[("control", py)])
        p = (base_p * h[person[rows]] * ggz_effect_p[prac[rows]]
             * ggz_shock_py[prac[rows], y_idx[rows]])
        status[y] = np.zeros(n_pers, dtype=bool)
        got = rng.random(rows.size) < np.clip(p, 0, 1)
        status[y][person[rows]] = got
        ggz[rows] = got * rng.gamma(GGZ_SHAPE, GGZ_MEAN[y] / GGZ_SHAPE, rows.size)
    rows16 = np.flatnonzero(year == 2016)
    new = status[2016][person[rows16]] & ~status[2013][person[rows16]]
    kbz_new = new & (group_row[rows16] == "kbz")
    ggz[rows16[kbz_new]] *= psi

    age = year - birth[person]
    panel = pd.DataFrame({
        "person_id": [f"P{i:05d}" for i in person],
        "year": year,
        "practice_id": np.asarray(ids)[prac],
        "insured_days": days.astype(np.int64),
        "sex": sex[person],
        "birth_year": birth[person],
        "age_band": tables.age_band(age),
        "minima": minima[person],
        "poli_dbc_count": count.astype(np.int64),
        "poli_dbc_cost": np.round(cost, 2),
        "ggz_cost": np.round(ggz, 2),
    })
    return panel, practices


@dataclass(frozen=True)
class Truth:
    """True values of the estimands under :func:`simulate_panel`."""

    theta: float = THETA
    psi: float = PSI

    def saving(self, year: int = 2015) -> float:
        """KBZ base × control trend − actual = mean cost × base rate × trend × (1 − θ)."""
        return DBC_COST_MEAN * BASE_RATE["kbz"] * TREND[year] * (1 - self.theta)

    def ggz_cost(self, group: str, year: int) -> float:
        """Expected GGZ cost per person-year in 2013 or 2016."""
        p13, p16 = GGZ_P[(group, 2013)], GGZ_P[(group, 2016)]
        if year == 2013:
            return p13 * GGZ_MEAN[2013]
        both = p16 * p13 * GGZ_H2
        psi = self.psi if group == "kbz" else 1.0
        return GGZ_MEAN[2016] * (both + psi * (p16 - both))

    def change(self, group: str) -> float:
        return self.ggz_cost(group, 2016) / self.ggz_cost(group, 2013) - 1

    def difference_in_change(self) -> float:
        return self.change("kbz") - self.change("control")

    def new_patient_difference(self) -> float:
        return (self.psi - 1) * GGZ_MEAN[2016]

    def oe_kbz(self, year: int) -> float:
        """O/E of KBZ in ``year`` against control-2012 rates."""
        return (BASE_RATE["kbz"] / BASE_RATE["control"] * TREND[year] / TREND[2012]
                * (self.theta if year >= START else 1.0))
