"""Planted-effect validation of the claims estimators: coverage, bias, false positives.

Synthetic panels with known true values (:mod:`tests._practice_sim`) are drawn with the
nuisance variation real claims data have — practice effects, **practice × year shocks**
(lognormal, sd 0.03–0.10), practices of different sizes, dropout, part years and many
zeros — and every claims analysis runs on each of them with its defaults (practice-level
inference). Scenarios (:data:`SCENARIOS`): 6 KBZ vs 6 control practices (shock sd 0.03)
and 8 vs 10 (sd 0.10), each with a planted effect, and 8 vs 10 (sd 0.10) at a null
effect. Bars:

* 95 % intervals of the headline estimates contain the truth in
  [:data:`COVERAGE_MIN`, :data:`COVERAGE_MAX`] of the seeds;
* p < 0.05 at a null effect in [:data:`FPR_MIN`, :data:`FPR_MAX`] of the seeds;
* |bias| ≤ :data:`BIAS_TOL_SD` empirical standard deviations.

A scenario without any practice-level variation keeps the person-level option
(``inference="person"``) honest where it is valid, and the person-level option is shown
to under-cover once practice shocks are present — the reason practice level is the
default. Seeds run in two worker processes (2 cores in CI) with single-threaded BLAS
(:func:`_pool`).
"""

from __future__ import annotations

import multiprocessing
import os
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
from _practice_sim import (  # noqa: I001  (tests/ is on sys.path)
    BASE_RATE,
    DBC_COST_MEAN,
    PSI,
    SEX_FACTOR,
    THETA,
    TREND,
    Truth,
    simulate_panel,
)

import kbz_eval as kbz
from kbz_eval import tables
from kbz_eval.errors import StatisticalWarning

#: Seeds per scenario: with 200, the standard error of a true 0.95 coverage is 0.015.
N_SEEDS = 200
N_BOOT = 99  # person bootstrap with practice-level inference (only the persons-only row)
N_BOOT_PERSON = 499  # BCa needs more replicates when it is the interval under test
BIAS_TOL_SD = 0.25
COVERAGE_MIN, COVERAGE_MAX = 0.92, 0.98
#: Named exception to the upper bar. The new-patient cost ratio rests on few new GGZ
#: patients per practice (10–40), and its wild cluster bootstrap-t interval is
#: conservative with 12–18 practices: measured 0.98–0.987 over 300 seeds (CR2: 0.963–
#: 0.973). Conservative is the safe side for a policy reader; the lower bar is unchanged.
COVERAGE_MAX_FOR = {"new_patients": 0.99}
FPR_MIN, FPR_MAX = 0.02, 0.08

#: name -> simulate_panel keywords (practice effects sd 0.15 in all).
SCENARIOS = {
    "6v6_shock0.03": {"n_kbz": 6, "n_control": 6, "sd_shock": 0.03},
    "8v10_shock0.10": {"n_kbz": 8, "n_control": 10, "sd_shock": 0.10},
    "8v10_null_shock0.10": {"n_kbz": 8, "n_control": 10, "sd_shock": 0.10, "theta": 1.0,
                            "psi": 1.0},
}

#: A reference table of rates (control 2012) for the O/E check.
REFERENCE = pd.DataFrame([
    {"age_band": a, "sex": sx,
     "rate": DBC_COST_MEAN * BASE_RATE["control"] * TREND[2012] * SEX_FACTOR[sx]}
    for a in tables.AGE_BANDS for sx in ("F", "M")])


def _row(result, term):
    return result.tidy().set_index("term").loc[term]


def _one_seed(args: tuple[str, int, str]) -> dict[str, tuple[float, float, float, float]]:
    """Every headline (estimate, lower, upper, p) of one simulated panel."""
    scenario, seed, inference = args
    panel, practices = simulate_panel(seed, **SCENARIOS_ALL[scenario])
    level = {"inference": inference}
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        n_boot = N_BOOT_PERSON if inference == "person" else N_BOOT
        s = kbz.savings(panel, practices, population="minima", n_boot=n_boot, seed=seed,
                        **level)
        d = kbz.dbc_index(panel, practices, population="all", seed=seed, **level)
        g = kbz.ggz_change(panel, practices, n_boot=n_boot, seed=seed, **level)
        r = kbz.risk_adjustment(panel, practices, outcome="poli_dbc_cost", years=[2015],
                                reference=REFERENCE, **level)
    picks = {"saving": (s, "saving_per_person"), "did": (d, "did_rate_ratio"),
             "event2015": (d, "event_study_2015"),
             "ggz_diff": (g, "difference_in_change"),
             "new_patients": (g, NEW_PATIENT_TERM),
             "oe_kbz_2015": (r, "oe_kbz_2015")}
    for key, (res, term) in picks.items():
        row = _row(res, term)
        out[key] = tuple(float(row[c]) for c in ("estimate", "ci_lower", "ci_upper",
                                                 "p_value"))
    return out


#: Person-level variation only (no practice effects, no shocks, no dropout): the
#: persons-only option is valid here and must cover.
PERSONS_ONLY_VALID = {"n_kbz": 4, "n_control": 4, "sd_practice": 0.0, "sd_shock": 0.0,
                      "n_persons": 3000, "dropout": 0.0}
SCENARIOS_ALL = {**SCENARIOS, "4v4_no_practice_variation": PERSONS_ONLY_VALID}
NEW_PATIENT_TERM = "new_patient_ratio_baseline_adjusted"
#: Headlines whose truth is "no effect" when θ = ψ = 1 (false-positive checks).
NULL_KEYS = ("saving", "did", "event2015", "new_patients")


def _truths(scenario: str) -> dict[str, float]:
    kw = SCENARIOS_ALL[scenario]
    t = Truth(theta=kw.get("theta", THETA), psi=kw.get("psi", PSI))
    return {"saving": t.saving(2015), "did": t.theta, "event2015": t.theta,
            "ggz_diff": t.difference_in_change(), "new_patients": t.psi,
            "oe_kbz_2015": t.oe_kbz(2015)}


#: Environment of the worker processes: one BLAS/OpenMP thread each. The matrices of
#: one seed are small, and two workers with a multi-threaded BLAS each (next to another
#: pytest worker) oversubscribe the 2 cores; results do not depend on the thread count.
_ONE_THREAD = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                      "MKL_NUM_THREADS")}


@contextmanager
def _pool() -> Iterator[ProcessPoolExecutor]:
    """Two freshly started (spawned) worker processes with :data:`_ONE_THREAD` set.

    BLAS reads its thread count when numpy is first imported, so the variables are set
    while the workers start (spawned workers import numpy anew; forked ones would inherit
    the parent's BLAS) and restored afterwards.
    """
    saved = {name: os.environ.get(name) for name in _ONE_THREAD}
    os.environ.update(_ONE_THREAD)
    try:
        with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1),
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            yield pool
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run(runs: list[tuple[str, str, int]]) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """Per (scenario, inference): seed × (estimate, lower, upper, p) arrays per headline.

    ``runs`` lists (scenario, inference, number of seeds); all their seeds go to one
    pool of two processes (:func:`_pool`), so neither waits at the end of a scenario.
    """
    jobs = [(scenario, seed, inference) for scenario, inference, n_seeds in runs
            for seed in range(n_seeds)]
    with _pool() as pool:
        rows = list(pool.map(_one_seed, jobs, chunksize=8))
    out, start = {}, 0
    for scenario, inference, n_seeds in runs:
        part = rows[start:start + n_seeds]
        start += n_seeds
        out[(scenario, inference)] = {key: np.array([r[key] for r in part])
                                      for key in part[0]}
    return out


@pytest.fixture(scope="module")
def draws() -> dict[tuple[str, str], dict[str, np.ndarray]]:
    return _run([*((name, "practice", N_SEEDS) for name in SCENARIOS),
                 ("4v4_no_practice_variation", "person", N_SEEDS),
                 ("8v10_shock0.10", "person", 60)])


def _coverage(a: np.ndarray, truth: float) -> float:
    return float(np.mean((a[:, 1] <= truth) & (truth <= a[:, 2])))


@pytest.mark.slow
@pytest.mark.parametrize("scenario", [*SCENARIOS, "4v4_no_practice_variation"])
def test_intervals_cover_and_estimates_are_unbiased(draws, scenario):
    inference = "person" if scenario == "4v4_no_practice_variation" else "practice"
    got = draws[(scenario, inference)]
    report = []
    for key, truth in _truths(scenario).items():
        a = got[key]
        cover = _coverage(a, truth)
        bias_sd = (np.mean(a[:, 0]) - truth) / np.std(a[:, 0], ddof=1)
        report.append((key, round(cover, 3), round(float(bias_sd), 3)))
    print(f"\n{scenario} ({inference}): (headline, coverage, bias/SD) {report}")
    bad = [r for r in report
           if not (COVERAGE_MIN <= r[1] <= COVERAGE_MAX_FOR.get(r[0], COVERAGE_MAX))
           or abs(r[2]) > BIAS_TOL_SD]
    assert not bad, f"{scenario} ({inference}): (headline, coverage, bias/SD) {report}"


@pytest.mark.slow
@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if "null" in s])
def test_false_positives_at_a_null_effect_are_nominal(draws, scenario):
    got = draws[(scenario, "practice")]
    rates = {key: float(np.mean(got[key][:, 3] < 0.05)) for key in NULL_KEYS}
    print(f"\n{scenario}: share p < 0.05 at a null effect {rates}")
    bad = {k: v for k, v in rates.items() if not (FPR_MIN <= v <= FPR_MAX)}
    assert not bad, f"{scenario}: share p < 0.05 at a null effect {rates}"


@pytest.mark.slow
def test_persons_only_intervals_under_cover_under_practice_shocks(draws):
    """Why practice level is the default: with practice × year shocks (sd 0.10) the
    persons-only intervals of the headlines miss the truth far more than 5 % (60 seeds:
    a coverage below 0.92 is more than 2 standard errors below 0.95)."""
    got = draws[("8v10_shock0.10", "person")]
    truths = _truths("8v10_shock0.10")
    cover = {key: _coverage(got[key], truths[key]) for key in ("did", "saving")}
    practice = draws[("8v10_shock0.10", "practice")]
    print(f"\npersons-only coverage under shocks (8v10, sd 0.10): {cover}")
    assert all(v < COVERAGE_MIN for v in cover.values()), cover
    assert all(_coverage(practice[k], truths[k]) >= COVERAGE_MIN for k in cover)
