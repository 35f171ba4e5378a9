"""Planted-effect validation of the claims estimators: bias and 95 % interval coverage.

Small panels (a few thousand persons, five years) are drawn from a data-generating
process whose true values are known in closed form (:class:`Truth`); every estimator
runs on ``N_SEEDS`` of them and must be close to the truth on average (bias within
``BIAS_TOL_SD`` empirical standard deviations of the estimate) and its 95 % interval
must contain the truth in between ``COVERAGE_MIN`` and ``COVERAGE_MAX`` of the seeds.

The process has persons that differ (a persistent gamma frailty for outpatient care, a
persistent two-point GGZ risk), partial insured years and a sex effect, but no
practice-level variation: the setting in which person-level intervals are valid (the
estimators say that practice-level variation is not in their intervals).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

import kbz_eval as kbz
from kbz_eval import tables
from kbz_eval.errors import StatisticalWarning

YEARS = (2012, 2013, 2014, 2015, 2016)
START = 2014
TREND = {2012: 1.00, 2013: 1.03, 2014: 1.06, 2015: 1.10, 2016: 1.13}
BASE_RATE = {"kbz": 0.9, "control": 1.0}  # outpatient DBCs per insured year (frailty 1)
SEX_FACTOR = {"F": 1.25, "M": 0.75}  # outpatient rate multiplier; mean 1 (50/50 sex)
DBC_COST_MU, DBC_COST_SIGMA = np.log(400.0), 0.6
DBC_COST_MEAN = float(np.exp(DBC_COST_MU + DBC_COST_SIGMA**2 / 2))
THETA = 0.8  # planted: KBZ outpatient rate multiplier from START
#: Yearly GGZ probability (times h): higher than in Overvecht (about 6 %) so that the small
#: simulated panels have about as many GGZ patients per group and year (150-200) as the
#: control group of the real extract, not a tenth of them.
GGZ_P = {("kbz", 2013): 0.120, ("kbz", 2016): 0.100,
         ("control", 2013): 0.120, ("control", 2016): 0.110}
GGZ_H = (0.5, 1.5)  # two-point persistent GGZ risk, equally likely: E[h] = 1
GGZ_H2 = float(np.mean(np.square(GGZ_H)))
GGZ_MEAN = {2013: 4000.0, 2016: 4400.0}
GGZ_SHAPE = 2.0
PSI = 0.8  # planted: cost multiplier of new GGZ patients at KBZ practices (follow year)

N_SEEDS = 200
N_BOOT = 199
BIAS_TOL_SD = 0.2
COVERAGE_MIN, COVERAGE_MAX = 0.92, 0.98
#: The whole module must stay lean (it runs in CI).
MODULE_BUDGET_S = 180


def simulate_panel(seed: int, *, n_persons: int = 3000, n_kbz: int = 4,
                   n_control: int = 4, theta: float = THETA, psi: float = PSI
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A person-year panel and practices table with the planted effects."""
    rng = np.random.default_rng([seed, 7])
    ids = [f"K{i}" for i in range(n_kbz)] + [f"C{i}" for i in range(n_control)]
    practices = pd.DataFrame({
        "practice_id": ids, "city": "X", "neighbourhood": "Y",
        "group": ["kbz"] * n_kbz + ["control"] * n_control,
        "kbz_start_year": pd.array([START] * n_kbz + [None] * n_control, dtype="Int64"),
    })
    p_of = rng.integers(0, len(ids), n_persons)
    group = np.where(p_of < n_kbz, "kbz", "control")
    sex = np.where(rng.random(n_persons) < 0.5, "F", "M")
    birth = rng.integers(1940, 2000, n_persons)
    minima = rng.random(n_persons) < 0.6
    frailty = rng.gamma(1.0, 1.0, n_persons)
    h = np.asarray(GGZ_H)[rng.integers(0, 2, n_persons)]

    n_y = len(YEARS)
    person = np.repeat(np.arange(n_persons), n_y)
    year = np.tile(np.asarray(YEARS), n_persons)
    g = group[person]
    full = tables.days_in_year(year)
    partial = rng.random(person.size) < 0.15
    days = np.where(partial, rng.integers(30, full + 1), full)
    iy = days / full
    rate = (np.where(g == "kbz", BASE_RATE["kbz"], BASE_RATE["control"])
            * np.vectorize(TREND.get)(year)
            * np.where((g == "kbz") & (year >= START), theta, 1.0)
            * np.where(sex[person] == "F", SEX_FACTOR["F"], SEX_FACTOR["M"])
            * frailty[person])
    count = rng.poisson(rate * iy)
    line_cost = rng.lognormal(DBC_COST_MU, DBC_COST_SIGMA, int(count.sum()))
    cost = np.bincount(np.repeat(np.arange(person.size), count), weights=line_cost,
                       minlength=person.size)

    # GGZ in 2013 and 2016, independent given h; new KBZ patients cost psi times more
    ggz = np.zeros(person.size)
    status = {}
    for y in (2013, 2016):
        rows = np.flatnonzero(year == y)
        p = np.array([GGZ_P[(gg, y)] for gg in g[rows]]) * h[person[rows]]
        status[y] = rng.random(rows.size) < p
        ggz[rows] = status[y] * rng.gamma(GGZ_SHAPE, GGZ_MEAN[y] / GGZ_SHAPE, rows.size)
    rows16 = np.flatnonzero(year == 2016)
    new = status[2016] & ~status[2013]
    kbz_new = new & (g[rows16] == "kbz")
    ggz[rows16[kbz_new]] *= psi

    age = year - birth[person]
    panel = pd.DataFrame({
        "person_id": [f"P{i:05d}" for i in person],
        "year": year,
        "practice_id": np.asarray(ids)[p_of[person]],
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
        # KBZ 2012 × control trend − actual = mean cost × base × trend × (1 − θ)
        return DBC_COST_MEAN * BASE_RATE["kbz"] * TREND[year] * (1 - self.theta)

    def ggz_cost(self, group: str, year: int) -> float:
        """Expected GGZ cost per person in 2013 or 2016 (all full years alike)."""
        p13, p16 = GGZ_P[(group, 2013)], GGZ_P[(group, 2016)]
        if year == 2013:
            return p13 * GGZ_MEAN[2013]
        both = p16 * p13 * GGZ_H2
        psi = self.psi if group == "kbz" else 1.0
        return GGZ_MEAN[2016] * (both + psi * (p16 - both))

    def change(self, group: str) -> float:
        # insured years have the same distribution in every year: per-person cost ratio
        return self.ggz_cost(group, 2016) / self.ggz_cost(group, 2013) - 1

    def difference_in_change(self) -> float:
        return self.change("kbz") - self.change("control")

    def new_patient_difference(self) -> float:
        return (self.psi - 1) * GGZ_MEAN[2016]


def _row(result, term):
    return result.tidy().set_index("term").loc[term]


def _check(name, estimates, lowers, uppers, truth):
    est, lo, hi = map(np.asarray, (estimates, lowers, uppers))
    bias = float(est.mean() - truth)
    sd = float(est.std(ddof=1))
    coverage = float(np.mean((lo <= truth) & (truth <= hi)))
    report = f"{name}: truth {truth:.4g}, bias {bias:.3g} ({bias / sd:+.3f} SD), " \
             f"coverage {coverage:.3f}"
    assert abs(bias) <= BIAS_TOL_SD * sd, report
    assert COVERAGE_MIN <= coverage <= COVERAGE_MAX, report
    return report


@pytest.fixture(scope="module")
def runs():
    """Every estimator on N_SEEDS simulated panels (computed once for the module)."""
    start = time.perf_counter()
    out: dict[str, list] = {}

    def add(key, row):
        for part, value in (("est", row["estimate"]), ("lo", row["ci_lower"]),
                            ("hi", row["ci_upper"])):
            out.setdefault(f"{key}:{part}", []).append(float(value))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        for seed in range(N_SEEDS):
            panel, practices = simulate_panel(seed)
            s = kbz.savings(panel, practices, population="minima", n_boot=N_BOOT,
                            seed=seed)
            add("saving", _row(s, "saving_per_person"))
            d = kbz.dbc_index(panel, practices, population="all")
            add("did", _row(d, "did_rate_ratio"))
            add("event2015", _row(d, "event_study_2015"))
            g = kbz.ggz_change(panel, practices, n_boot=N_BOOT, seed=seed)
            add("ggz_diff", _row(g, "difference_in_change"))
            add("ggz_change_kbz", _row(g, "change_kbz"))
            add("new_diff", _row(g, "new_patient_difference"))
            add("new_ratio_adj", _row(g, "new_patient_ratio_age_sex"))
            add("new_diff_adj", _row(g, "new_patient_difference_age_sex"))
            ref = pd.DataFrame([
                {"age_band": a, "sex": sx, "rate": DBC_COST_MEAN * BASE_RATE["control"]
                 * TREND[2012] * SEX_FACTOR[sx]}
                for a in tables.AGE_BANDS for sx in ("F", "M")])
            r = kbz.risk_adjustment(panel, practices, outcome="poli_dbc_cost",
                                    years=[2015], reference=ref)
            add("oe_kbz_2015", _row(r, "oe_kbz_2015"))
    out["seconds"] = time.perf_counter() - start
    return out


TRUTH = Truth()
CASES = {
    "saving": TRUTH.saving(2015),
    "did": THETA,
    "event2015": THETA,
    "ggz_diff": TRUTH.difference_in_change(),
    "ggz_change_kbz": TRUTH.change("kbz"),
    "new_diff": TRUTH.new_patient_difference(),
    "new_ratio_adj": PSI,
    "new_diff_adj": TRUTH.new_patient_difference(),
    # O/E of KBZ 2015 against control-2012 rates: base ratio × trend × θ
    "oe_kbz_2015": BASE_RATE["kbz"] / BASE_RATE["control"] * TREND[2015] / TREND[2012]
    * THETA,
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_bias_and_coverage(runs, name):
    report = _check(name, runs[f"{name}:est"], runs[f"{name}:lo"], runs[f"{name}:hi"],
                    CASES[name])
    print(report)


@pytest.mark.slow
def test_the_study_stays_lean(runs):
    assert runs["seconds"] < MODULE_BUDGET_S


@pytest.mark.slow
def test_simulated_truth_matches_a_large_panel():
    """The closed-form truths agree with plug-in estimates on one very large panel."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        panel, practices = simulate_panel(12345, n_persons=100_000)
        s = kbz.savings(panel, practices, population="all", n_boot=99)
        g = kbz.ggz_change(panel, practices, n_boot=99)
    sv = _row(s, "saving_per_person")
    assert abs(sv["estimate"] - TRUTH.saving(2015)) < 4 * sv["std_error"]
    for term, truth in (("difference_in_change", TRUTH.difference_in_change()),
                        ("new_patient_difference", TRUTH.new_patient_difference())):
        row = _row(g, term)
        assert abs(row["estimate"] - truth) < 4 * row["std_error"], term
