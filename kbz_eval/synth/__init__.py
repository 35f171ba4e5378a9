"""Calibrated synthetic extracts of the Overvecht evaluation, with planted effects.

The synthetic sample imitates what the evaluation of Krachtige basiszorg (KBZ) in
Utrecht-Overvecht worked with: one insurer's claims of about 31,000 insured persons a
year at 6 KBZ and 6 control practices, 2012–2016, plus the survey and indicator tables.
Nothing in it is about a real person.

Modules: ``params`` (every distribution parameter, planted effect and published target),
``population`` (persons, insured periods, minima), ``claims`` (claim lines and their
aggregation to person-years), ``calibrate`` (fine-tuning to the published figures and
their definitions), ``surveys`` (CVG, staff survey, 4D conversations, consults, IVM,
health monitor), ``export`` (files).

>>> import kbz_eval as kbz
>>> sample = kbz.load_sample()                       # doctest: +SKIP
>>> sorted(sample)                                    # doctest: +SKIP
['claim_lines', 'consults', 'conversations', 'cvg', 'insured_periods', ...]

Public names: :func:`generate`, :func:`load_sample`, :func:`write_sample`,
:data:`PLANTED` (the true effects), :data:`TARGETS` (the published figures),
:data:`DEFAULT_SEED`, :func:`published_figures`, :data:`SAMPLE_NAMES`
(``load_sample("rollout")`` gives the staggered roll-out of :mod:`kbz_eval.synth.rollout`).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kbz_eval.errors import KbzEvalError, SpecificationError
from kbz_eval.synth import params
from kbz_eval.synth.calibrate import calibrate_ggz, calibrate_poli, published_figures
from kbz_eval.synth.claims import (
    add_data_quality_lines,
    claim_lines_frame,
    person_years_frame,
    simulate_claims,
)
from kbz_eval.synth.params import DEFAULT_SEED, PLANTED, TARGETS
from kbz_eval.synth.population import (
    insured_periods_frame,
    practices_frame,
    simulate_population,
)
from kbz_eval.synth.surveys import (
    consults_frame,
    conversations_frame,
    cvg_frame,
    monitor_frame,
    practice_indicators_frame,
    workforce_frame,
)

__all__ = [
    "DEFAULT_SEED",
    "PLANTED",
    "SAMPLE_NAMES",
    "TARGETS",
    "generate",
    "load_sample",
    "published_figures",
    "write_sample",
]

#: Table names in the order :func:`generate` returns them.
TABLE_NAMES = (
    "practices", "insured_periods", "claim_lines", "person_years", "cvg", "workforce",
    "monitor", "practice_indicators", "conversations", "consults",
)


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SpecificationError(
            f"`seed` must be a non-negative integer, but {seed!r} was passed."
        )
    return int(seed)


def _build(seed: int, *, calibrate: bool) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """The tables and a small report (calibration factors, line counts)."""
    seed = _check_seed(seed)

    def stream(k: int) -> np.random.Generator:
        return np.random.default_rng([seed, k])

    pop = simulate_population(stream(params.STREAM_POPULATION))
    lines = simulate_claims(stream(params.STREAM_CLAIMS), pop)
    factors: dict[str, float] = {}
    if calibrate:
        factors.update(calibrate_poli(pop, lines))
        factors.update(calibrate_ggz(pop, lines))
        bad = {k: v for k, v in factors.items() if not (np.isfinite(v) and v > 0)}
        if bad:
            raise KbzEvalError(
                f"Calibration of seed {seed} failed (factors {bad}); generate this seed "
                "with calibrate=False or choose another seed."
            )
    periods = insured_periods_frame(pop)
    person_years = person_years_frame(pop, periods, lines)
    claim_file = add_data_quality_lines(stream(params.STREAM_DATA_QUALITY), pop, lines)
    out = {
        "practices": practices_frame(),
        "insured_periods": periods,
        "claim_lines": claim_lines_frame(claim_file),
        "person_years": person_years,
        "cvg": cvg_frame(stream(params.STREAM_CVG), calibrate=calibrate),
        "workforce": workforce_frame(stream(params.STREAM_WORKFORCE)),
        "monitor": monitor_frame(),
        "practice_indicators": practice_indicators_frame(stream(params.STREAM_INDICATORS),
                                                         calibrate=calibrate),
        "conversations": conversations_frame(stream(params.STREAM_CONVERSATIONS)),
        "consults": consults_frame(stream(params.STREAM_CONSULTS), calibrate=calibrate),
    }
    report = {
        "seed": seed,
        "calibrated": calibrate,
        "calibration_factors": factors,
        "persons": pop.n_persons,
        "in_package_lines": int(lines.py.size),
        "claim_lines": int(claim_file.person.size),
    }
    return out, report


def generate(seed: int = DEFAULT_SEED, *, calibrate: bool = True) -> dict[str, pd.DataFrame]:
    """Generate the synthetic Overvecht sample.

    Parameters
    ----------
    seed
        Non-negative integer. The same seed gives equal tables, bit for bit; each
        component (population, claims, data-quality lines, each survey) has its own stream
        ``numpy.random.default_rng([seed, k])``.
    calibrate
        Fine-tune the sample so the published figures are hit exactly (the default, as in
        :func:`load_sample`). Use ``calibrate=False`` for simulation studies of
        estimators: the tables are then plain draws from the data-generating process,
        whose true effects are :data:`PLANTED`, and the published figures are only hit
        approximately. Both give the same draws (the same persons, claims and
        respondents); calibration only rescales and shifts afterwards.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``practices``, ``insured_periods``, ``claim_lines``, ``person_years``, ``cvg``,
        ``workforce``, ``monitor``, ``practice_indicators``, ``conversations``,
        ``consults``; columns, order and types follow :mod:`kbz_eval.tables` (``str`` and
        ``category`` columns as pandas strings, ``int`` as ``int64`` or ``Int64`` when
        nullable, ``date`` as ``datetime64[us]``).

    Raises
    ------
    SpecificationError
        If ``seed`` is not a non-negative integer.
    KbzEvalError
        If calibration of an unusual seed would need a non-positive factor (not seen in
        practice); ``calibrate=False`` still works for such a seed.

    Notes
    -----
    **Population.** 12 practices in Utrecht-Overvecht (6 KBZ — five from 2014, ``OV09``
    from 2015 — and 6 controls); about 23,000 persons a year at KBZ practices (about
    21,900 insured years in 2015: EUR 26 over all of them ≈ EUR 356 over the 1,641
    minima) and 7,900 at controls, about 40,000 different persons over the five years,
    with entries, births, exits and deaths (partial years: ``insured_days`` 1–366). A
    latent deprivation drives a persistent ``minima`` flag (about 7 % at KBZ practices,
    15 % at the poorer control practices) and a frailty that multiplies every claim
    rate, so costs and GGZ use are skewed, often zero, and correlated within persons and
    over years. ``claim_lines`` has about 800,000 lines.

    **claim_lines → person_years.** ``person_years`` is the aggregation of
    ``claim_lines`` + ``insured_periods`` under the default engine rules: one row per
    insured person × year (zeros without claims); lines with the same ``claim_id`` count
    once (about 1.5 % of lines are re-sent identical copies); lines whose
    ``declaration_code`` starts with ``16`` or ``17`` (about 1 %) are left out; a line
    belongs to the year of its ``start_date``; lines of persons or years without an
    insured period (about 0.2 %) are left out; pharmacy lines have no declaration code,
    which counts as inside the basic package. Per care type ``c`` the columns
    ``{p}_count`` and ``{p}_cost`` with ``p = tables.CARE_TYPE_PREFIX[c]``; ``total_cost``
    is their sum; costs are rounded to cents; ``ggz_regime`` is ``"dbc"``.

    **Published figures** (hit exactly by the calibrated default sample; definitions
    every analysis must share). The group of a person-year is that of its practice that
    year; *per insured year* means a sum over person-years divided by the sum of
    ``tables.insured_years(insured_days, year)``.

    * KBZ minima 2015: persons with a 2015 person-year at a KBZ practice with ``minima``
      true = 1,641.
    * Outpatient-DBC saving 2015: ``poli_dbc_cost`` per insured year; counterfactual KBZ
      2015 = KBZ 2012 × control 2015 / control 2012; saving = counterfactual − actual KBZ
      2015. Minima person-years: EUR 356; all person-years: EUR 26 (non-minima about 0).
    * Specialist GGZ: ``ggz_cost`` per insured year 2016 / 2013 − 1 = −7.3 % (KBZ),
      −1.8 % (control), −23 % (KBZ practice with the largest fall, ``OV04``); GGZ patients
      (``ggz_cost > 0``) fall in number and share, cost per patient rises, in both
      groups; the KBZ − control difference in change is not significant.
    * New GGZ patients 2016: persons with a 2016 person-year with ``ggz_cost > 0`` and a
      2013 person-year with ``ggz_cost == 0``; mean 2016 ``ggz_cost`` (per person, not
      per insured year) is EUR 700 lower at KBZ practices (group of the 2016 practice),
      a significant difference.
    * CVG: 50 / 44 / 20 patients at measurements 1 / 2 / 3, means 4.7 / 5.7 / 6.1.
    * IVM score of KBZ practices: 30–74 % in 2013, 74–90 % in 2016.
    * Consults: 2 of 3 avoided a referral. Monitor: the published percentages.

    **Calibration** (``calibrate=True``): whole cells of claim lines are multiplied by
    one factor each (see :mod:`kbz_eval.synth.calibrate`; on the default seed every
    factor is within 3 % of 1); single CVG marks move by one point; the KBZ IVM scores of
    2013 and 2016 are rescaled linearly to the published ranges; consult outcomes are
    flipped to exactly 2/3. The number of KBZ minima in 2015 is part of the design of
    every sample: the minima threshold at KBZ practices is set so exactly 1,641 are
    minima in 2015, calibrated or not.

    Examples
    --------
    >>> from kbz_eval import synth
    >>> sample = synth.generate()                       # doctest: +SKIP
    >>> sample["person_years"].groupby("year")["poli_dbc_cost"].sum()  # doctest: +SKIP
    >>> draws = [synth.generate(s, calibrate=False) for s in range(100)]  # doctest: +SKIP
    """
    return _build(seed, calibrate=calibrate)[0]


@functools.lru_cache(maxsize=1)
def _cached_build() -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    return _build(DEFAULT_SEED, calibrate=True)


#: Names of the samples :func:`load_sample` gives, the default first.
SAMPLE_NAMES = ("overvecht", "rollout")


def load_sample(name: str = "overvecht", *, seed: int | None = None
                ) -> dict[str, pd.DataFrame]:
    """A synthetic sample: the Overvecht evaluation (default) or the KBZ roll-out.

    Parameters
    ----------
    name
        ``"overvecht"`` (default): the embedded, calibrated Overvecht sample,
        :func:`generate`. ``"rollout"``: the staggered roll-out of KBZ in five cities,
        :func:`kbz_eval.synth.rollout.rollout_sample` with its default size.
    seed
        ``None`` (default): the sample's default seed (:data:`DEFAULT_SEED` for
        Overvecht, :data:`kbz_eval.synth.rollout.DEFAULT_SEED` for the roll-out).
        Otherwise a non-negative integer: another draw of the same design (Overvecht:
        calibrated, as :func:`generate` with that seed).

    Returns
    -------
    dict of str to pandas.DataFrame
        ``"overvecht"``: the tables of :func:`generate` (fresh copies of the cached
        tables for the default seed, so changing them does not change later calls).
        ``"rollout"``: ``practices``, ``practice_years``, ``person_years`` and ``truth``
        (the planted ATT(g, t)), each with ``attrs["synthetic"] = True`` and
        ``attrs["note"]`` saying so.

    Raises
    ------
    SpecificationError
        If ``name`` is not one of :data:`SAMPLE_NAMES` or ``seed`` is not a
        non-negative integer (the message names the parameter, the allowed values and
        the value passed).

    Notes
    -----
    Everything in them is synthetic; see :func:`generate` for what the Overvecht sample
    holds, the planted effects (:data:`PLANTED`) and the published figures it
    reproduces (:data:`TARGETS`), and :func:`kbz_eval.synth.rollout.rollout_sample` for
    the roll-out.

    Examples
    --------
    >>> import kbz_eval as kbz
    >>> rollout = kbz.load_sample("rollout")             # doctest: +SKIP
    >>> sorted(rollout)                                   # doctest: +SKIP
    ['person_years', 'practice_years', 'practices', 'truth']
    """
    if not isinstance(name, str) or name not in SAMPLE_NAMES:
        raise SpecificationError(
            f"The value for `name` must be one of {list(SAMPLE_NAMES)}, but {name!r} was "
            "passed."
        )
    if seed is not None:
        seed = _check_seed(seed)
    if name == "rollout":
        from kbz_eval.synth import rollout

        return rollout.rollout_sample(seed=rollout.DEFAULT_SEED if seed is None else seed)
    if seed is not None and seed != DEFAULT_SEED:
        return _build(seed, calibrate=True)[0]
    return {table: frame.copy() for table, frame in _cached_build()[0].items()}


def write_sample(out_dir: str | Path, *, seed: int = DEFAULT_SEED) -> list[Path]:
    """Write the synthetic sample as CSV files (+ Parquet claim lines) and a README.

    Parameters
    ----------
    out_dir
        Folder to write into (created if needed). Files of the same names are replaced.
    seed
        Seed of :func:`generate` (calibrated).

    Returns
    -------
    list of pathlib.Path
        The written files, sorted by name.

    Raises
    ------
    SpecificationError
        If ``seed`` is not a non-negative integer.

    Notes
    -----
    Each table becomes ``<table>.csv``: UTF-8, ``,`` delimiter, ``.`` decimal mark, ISO
    dates, empty fields for missing values, money with two decimals, rows sorted; its
    first line is the comment ``# SYNTHETIC DATA — generated by kbz_eval.synth (seed N);
    not real persons. See README.md.``. ``claim_lines`` is also written as Parquet with
    key-value metadata ``kbz_eval.synthetic = true``. ``README.md`` describes every file
    and the planted effects. Files are first written to a temporary folder beside
    ``out_dir`` and then moved in, so a failed run leaves ``out_dir`` as it was. The same
    seed gives byte-identical files.
    """
    from kbz_eval.synth.export import write_tables

    seed = _check_seed(seed)
    sample, report = _cached_build() if seed == DEFAULT_SEED else _build(seed, calibrate=True)
    return write_tables(sample, Path(out_dir), report=report)
