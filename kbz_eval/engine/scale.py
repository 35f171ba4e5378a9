"""Synthetic claim lines at insurer scale, written as Parquet chunks with bounded memory.

:func:`write_claim_lines` writes ``claim_lines/part-*.parquet`` and
``insured_periods/part-*.parquet`` under one folder. Each chunk is generated with
vectorised numpy and written with pyarrow before the next one starts, so memory stays
bounded by the chunk size whatever the total. Each chunk has its own persons, so the
insured periods can be chunked the same way.

The data are synthetic and labelled as such (Parquet metadata ``kbz_eval.synthetic``).
Their shape follows the embedded sample's generator: the same care-type mix, cost
distribution per care type, years, practices, re-send (duplicate) rate, share of
declaration codes outside the basic package (16…/17…), and share of claims of persons
without an insured period. On top of the sample's shape they hold credit notes
(negative costs, netted by the engine's rule in :mod:`kbz_eval.engine.panel`): about
2 % of the in-package claims are credited, most fully reversed and declared again with
a corrected cost, the rest partly credited, and a few credits have no claim in the
extract. :class:`ScaleParams` holds every parameter.

Column types differ from the contract in two deliberate, documented ways, for speed:
``claim_id`` is written as ``int64`` (the engine groups by it whatever its type), and
``year``/``insured_days``/``birth_year`` are ``int16``/``int32``; the engine casts.

Speed: about 1.8 million lines a second on one core, 100 M lines in about a minute, with
a peak RSS of about 1.1 GB at the default 5 M lines per chunk (see ``bench/RESULTS.md``).
``kbz-eval synth --claim-lines N --out DIR`` calls :func:`write_claim_lines`.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kbz_eval.errors import SpecificationError
from kbz_eval.synth import params as sample_params
from kbz_eval.tables import CARE_TYPES, days_in_year

__all__ = ["ScaleParams", "write_claim_lines", "DEFAULT_SEED"]

DEFAULT_SEED = 20140101

#: Persons of chunk ``k`` get numbers ``k * _PERSON_STRIDE + i``; persons with claims but
#: no insured period get numbers from ``_ORPHAN_OFFSET`` upwards within the chunk's range.
#: Ids are ``P`` + 10 digits and claim ids start at 10**10 + 1: never a 9-digit number
#: that could pass the BSN eleven-test.
_PERSON_STRIDE = 10_000_000
_ORPHAN_OFFSET = 9_000_000
_PERSON_DIGITS = 10
_FIRST_CLAIM_ID = 10**10 + 1


def _sample_practices() -> dict[str, float]:
    return {pid: float(size) for pid, _group, _start, size in sample_params.PRACTICES}


@dataclass(frozen=True)
class ScaleParams:
    """Parameters of the scaled synthetic claim lines.

    Structural constants come from the sample generator (:mod:`kbz_eval.synth.params`):
    years, practices and their list sizes, declaration codes, and the rates of re-sends,
    codes outside the basic package and orphans. The claim mix and cost distributions
    are the sample's *outcome* (its generator works through frailty, age and careers);
    they were measured on the default sample (``kbz.load_sample()``) and a test keeps
    them within named tolerances of it.

    Attributes
    ----------
    years
        First and last calendar year (inclusive).
    lines_per_person_year
        Mean number of distinct in-package claims per insured person-year.
    frailty_shape
        Gamma shape of the per-person claim-rate multiplier (gives the sample's ~7 % of
        person-years without claims).
    care_type_share
        Share of each care type among distinct in-package claims.
    cost_median, cost_sigma
        Log-normal cost per care type: median in EUR and sigma of the log (matching the
        sample's median and mean).
    duration_days
        Range (min, max) of days from start to end date per care type (uniform).
    duplicate_rate
        Re-sent lines per distinct claim (identical copies sharing the ``claim_id``).
    non_basic_code_rate
        Claims with a declaration code starting with 16 or 17, per in-package claim.
    orphan_rate
        Claims of person-years without an insured period, per in-package claim.
    orphan_unknown_person_share
        Share of those belonging to persons never insured (the rest: insured persons in
        a year they were not insured).
    credit_rate
        In-package claims (of insured person-years, cost at least EUR 1) that receive a
        credit note, per in-package claim.
    credit_full_share
        Share of those fully reversed (a credit of the whole cost) and declared again
        with a corrected cost (50–95 % of the original), both under the claim's id; the
        rest are partly credited (5–50 % of the cost).
    unmatched_credit_rate
        Credit notes without their claim in the extract (the claim lies before it), per
        in-package claim: a claim id with one negative line on an insured person-year.
    full_period_share
        Share of persons insured over the whole window; the others enter or leave.
    minima_share
        Share of persons on the municipal low-income policy.
    practices
        GP practice ids and their weights (list sizes).
    """

    years: tuple[int, int] = (sample_params.FIRST_YEAR, sample_params.LAST_YEAR)
    lines_per_person_year: float = 5.0
    frailty_shape: float = 2.2
    care_type_share: dict[str, float] = field(default_factory=lambda: {
        "poli_dbc": 0.198, "clinical_dbc": 0.0136, "ggz_specialist": 0.0169,
        "ggz_basic": 0.0033, "gp": 0.417, "pharmacy": 0.272, "other": 0.079,
    })
    cost_median: dict[str, float] = field(default_factory=lambda: {
        "poli_dbc": 419.0, "clinical_dbc": 3890.0, "ggz_specialist": 2000.0,
        "ggz_basic": 820.0, "gp": 20.2, "pharmacy": 60.0, "other": 109.0,
    })
    cost_sigma: dict[str, float] = field(default_factory=lambda: {
        "poli_dbc": 0.60, "clinical_dbc": 0.80, "ggz_specialist": 0.88, "ggz_basic": 0.40,
        "gp": 0.32, "pharmacy": 1.10, "other": 1.00,
    })
    duration_days: dict[str, tuple[int, int]] = field(default_factory=lambda: {
        "poli_dbc": (0, 82), "clinical_dbc": (0, 116), "ggz_specialist": (30, 365),
        "ggz_basic": (60, 300), "gp": (0, 0), "pharmacy": (0, 0), "other": (0, 60),
    })
    duplicate_rate: float = sample_params.DUPLICATE_RATE
    non_basic_code_rate: float = sample_params.OUTSIDE_PACKAGE_RATE
    orphan_rate: float = sample_params.ORPHAN_RATE
    orphan_unknown_person_share: float = sample_params.ORPHAN_UNKNOWN_PERSON_SHARE
    credit_rate: float = 0.02
    credit_full_share: float = 0.6
    unmatched_credit_rate: float = 0.002
    full_period_share: float = 0.55
    minima_share: float = 0.09
    practices: dict[str, float] = field(default_factory=_sample_practices)

    def check(self) -> None:
        """Raise :class:`SpecificationError` if a parameter is out of range."""
        if set(self.care_type_share) - set(CARE_TYPES):
            raise SpecificationError(
                f"`care_type_share` has unknown care types "
                f"{sorted(set(self.care_type_share) - set(CARE_TYPES))}; allowed: {CARE_TYPES}."
            )
        for name in ("duplicate_rate", "non_basic_code_rate", "orphan_rate",
                     "orphan_unknown_person_share", "credit_rate", "credit_full_share",
                     "unmatched_credit_rate", "full_period_share", "minima_share"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise SpecificationError(f"`{name}` must be in [0, 1), but {value!r} was passed.")
        if self.years[0] > self.years[1]:
            raise SpecificationError(f"`years` must be (first, last), got {self.years!r}.")
        if self.lines_per_person_year <= 0 or self.frailty_shape <= 0:
            raise SpecificationError(
                "`lines_per_person_year` and `frailty_shape` must be positive."
            )


#: In-package declaration codes per care type (none: the line has no code) and the codes
#: outside the basic package, as in the sample.
_CODES: dict[str, tuple[str, ...]] = dict(sample_params.DECLARATION_CODES)
_NON_BASIC_CODES: tuple[str, ...] = tuple(sample_params.OUTSIDE_PACKAGE_CODES)


def write_claim_lines(
    out_dir: str | Path,
    *,
    n_lines: int,
    seed: int = DEFAULT_SEED,
    chunk_lines: int = 5_000_000,
    params: ScaleParams | None = None,
    compression: str = "snappy",
) -> dict:
    """Write ``n_lines`` synthetic claim lines and their insured periods as Parquet chunks.

    Parameters
    ----------
    out_dir
        Folder to write; ``claim_lines/`` and ``insured_periods/`` are created in it
        (existing ``part-*.parquet`` files there are replaced).
    n_lines
        Exact number of claim lines to write, re-sent duplicates included.
    seed
        Random seed; chunk ``k`` uses the stream ``(seed, k)``, so the output is
        reproducible for a given ``chunk_lines``.
    chunk_lines
        Claim lines per chunk (and per file); memory use is proportional to it.
    params
        Distribution parameters; :class:`ScaleParams` defaults when ``None``.
    compression
        Parquet compression codec.

    Returns
    -------
    dict
        ``n_lines``, ``n_distinct_claims``, ``n_duplicate_lines``,
        ``n_non_basic_claims`` (distinct claims with a 16…/17… code),
        ``n_orphan_claims`` (distinct claims without an insured period),
        ``n_credited_claims`` / ``n_reversed_claims`` (in-package claims credited; of
        which fully reversed and corrected), ``n_credit_lines`` (credit lines of those
        claims), ``credit_amount`` (their total, positive EUR), ``n_unmatched_credits``
        / ``unmatched_credit_amount`` (credit-only claims), ``n_persons``,
        ``n_person_years``, ``n_chunks``, ``seconds``, ``out_dir``. The same figures,
        the seed and every parameter are also written to ``out_dir/synth_info.json``.

    Raises
    ------
    SpecificationError
        If ``n_lines`` or ``chunk_lines`` is not a positive integer, or a parameter is
        out of range.

    Notes
    -----
    Each chunk draws its persons (insured years, practice, sex, birth year, minima), a
    gamma-distributed claim rate per person, Poisson claim counts per insured
    person-year, then per claim a care type, a log-normal cost, a start date uniform in
    the year and an end date. As in the sample, extra claims with a code outside the
    basic package fall on random insured person-years, and orphan claims belong to
    insured persons in a year they were not insured or to persons never insured.
    Credit notes repeat every field of the claim they credit except the cost: a full
    reversal adds the negated line and a corrected line, a partial credit one negative
    line; a credit without its claim is a claim id of its own with one negative line.
    Re-sends are identical copies of randomly chosen claims' first lines; lines are
    shuffled within the chunk. Person ids are ``P`` + 10 digits, unique across chunks;
    ``claim_id`` is a running ``int64`` from 10**10 + 1.
    """
    params = params or ScaleParams()
    params.check()
    for name, value in (("n_lines", n_lines), ("chunk_lines", chunk_lines)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise SpecificationError(
                f"`{name}` must be a positive integer, but {value!r} was passed."
            )
    if chunk_lines > _PERSON_STRIDE // 2:
        raise SpecificationError(
            f"`chunk_lines` must be at most {_PERSON_STRIDE // 2:,}, but {chunk_lines!r} "
            "was passed."
        )
    out = Path(out_dir)
    claims_dir, periods_dir = out / "claim_lines", out / "insured_periods"
    for d in (claims_dir, periods_dir):
        d.mkdir(parents=True, exist_ok=True)
        for old in d.glob("part-*.parquet"):
            old.unlink()

    started = time.perf_counter()
    n_chunks = -(-int(n_lines) // int(chunk_lines))
    totals = dict.fromkeys(
        ("n_distinct_claims", "n_duplicate_lines", "n_non_basic_claims", "n_orphan_claims",
         "n_credited_claims", "n_reversed_claims", "n_credit_lines", "credit_amount",
         "n_unmatched_credits", "unmatched_credit_amount", "n_persons", "n_person_years"),
        0,
    )
    next_claim_id = _FIRST_CLAIM_ID
    metadata = {b"kbz_eval.synthetic": b"true", b"kbz_eval.seed": str(seed).encode()}
    for k in range(n_chunks):
        size = min(chunk_lines, n_lines - k * chunk_lines)
        rng = np.random.default_rng([seed, k])
        claims, periods, counts = _chunk(rng, k, size, next_claim_id, params)
        next_claim_id += counts["n_distinct_claims"]
        for key in totals:
            totals[key] += counts[key]
        _write(claims, claims_dir / f"part-{k:05d}.parquet", compression, metadata)
        _write(periods, periods_dir / f"part-{k:05d}.parquet", compression, metadata)
        del claims, periods
    for key in ("credit_amount", "unmatched_credit_amount"):
        totals[key] = round(float(totals[key]), 2)
    info = {
        "n_lines": int(n_lines),
        **totals,
        "n_chunks": n_chunks,
        "seconds": round(time.perf_counter() - started, 2),
        "out_dir": str(out),
    }
    record = {**info, "seed": seed, "chunk_lines": int(chunk_lines), "synthetic": True,
              "params": asdict(params)}
    (out / "synth_info.json").write_text(json.dumps(record, indent=1, default=list),
                                         encoding="utf-8")
    return info


def _write(table: pa.Table, path: Path, compression: str, metadata: dict) -> None:
    # store_schema=False: readers see plain strings, not the dictionary types used here
    with pq.ParquetWriter(path, table.schema, compression=compression,
                          store_schema=False) as writer:
        writer.write_table(table, row_group_size=1_000_000)
        writer.add_key_value_metadata(metadata)


def _epoch_days_jan1(years: np.ndarray) -> np.ndarray:
    return (years.astype("int64") - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(
        "int64"
    )


def _person_ids(numbers: np.ndarray) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), _PERSON_DIGITS,
                          "0")
    return pc.binary_join_element_wise("P", digits, "")


def _dictionary(indices: np.ndarray, values: tuple[str, ...] | list[str],
                mask: np.ndarray | None = None) -> pa.Array:
    idx = pa.array(indices.astype("int32"), mask=mask)
    return pa.DictionaryArray.from_arrays(idx, pa.array(list(values), pa.string()))


def _chunk(rng: np.random.Generator, k: int, n_lines: int, first_claim_id: int,
           p: ScaleParams) -> tuple[pa.Table, pa.Table, dict]:
    y0, y1 = p.years
    n_years = y1 - y0 + 1
    n_dup = int(round(n_lines * p.duplicate_rate / (1 + p.duplicate_rate)))
    n_rest = n_lines - n_dup
    # the lines left after re-sends: distinct claims plus the extra lines of credited
    # claims (two per full reversal: the credit and the corrected line; one per partial)
    extra_per_basic = p.credit_rate * (1 + p.credit_full_share)
    n_basic = int(round(n_rest / (1 + p.non_basic_code_rate + p.orphan_rate
                                  + p.unmatched_credit_rate + extra_per_basic)))
    n_orphan = int(round(n_basic * p.orphan_rate))
    n_unmatched = int(round(n_basic * p.unmatched_credit_rate))
    n_credited = int(round(n_basic * p.credit_rate))
    n_full = int(round(n_credited * p.credit_full_share))
    n_extra = n_credited + n_full
    n_non_basic = n_rest - n_extra - n_basic - n_orphan - n_unmatched
    if n_non_basic < 0:  # tiny chunks: fewer credits, then fewer in-package claims
        n_credited = n_full = n_extra = 0
        n_non_basic = max(0, n_rest - n_basic - n_orphan - n_unmatched)
        n_basic = n_rest - n_orphan - n_unmatched - n_non_basic
    n_distinct = n_basic + n_non_basic + n_orphan + n_unmatched

    # --- persons and their insured person-years ------------------------------------
    mean_years = p.full_period_share * n_years + (1 - p.full_period_share) * (
        1 + (n_years**2 - 1) / (3 * n_years))
    factor = 1.25
    while True:
        n_persons = int(n_basic / (p.lines_per_person_year * mean_years) * factor) + 16
        full = rng.random(n_persons) < p.full_period_share
        a = rng.integers(y0, y1 + 1, n_persons)
        b = rng.integers(y0, y1 + 1, n_persons)
        first = np.where(full, y0, np.minimum(a, b))
        last = np.where(full, y1, np.maximum(a, b))
        n_py_person = last - first + 1
        rate = rng.gamma(p.frailty_shape, p.lines_per_person_year / p.frailty_shape, n_persons)
        py_person = np.repeat(np.arange(n_persons), n_py_person)
        starts = np.cumsum(n_py_person) - n_py_person
        py_year = first[py_person] + (np.arange(py_person.size) - starts[py_person])
        py_count = rng.poisson(rate[py_person])
        cum = np.cumsum(py_count)
        if cum.size and cum[-1] >= n_basic:
            break
        factor *= 1.5
    # cut at exactly n_basic claims: the person-year reaching the target keeps part of
    # its claims, later years of that person keep none, later persons are dropped
    if n_basic > 0:
        cut = int(np.searchsorted(cum, n_basic))
        py_count[cut] -= cum[cut] - n_basic
        py_count[cut + 1:] = 0
        last_person = int(py_person[cut])
    else:
        py_count[:] = 0
        last_person = 0
    keep_py = py_person <= last_person
    py_person, py_year, py_count = py_person[keep_py], py_year[keep_py], py_count[keep_py]
    n_persons = last_person + 1
    first, last = first[:n_persons], last[:n_persons]

    # insured days: full year except a random part of the entry and exit years
    diy = days_in_year(py_year)
    partial = ((py_year == first[py_person]) & (py_year > y0)) | (
        (py_year == last[py_person]) & (py_year < y1))
    days = diy.copy()
    days[partial] = rng.integers(1, diy[partial] + 1)

    practice_names = list(p.practices)
    w = np.asarray([p.practices[n] for n in practice_names], float)
    person_practice = rng.choice(len(practice_names), n_persons, p=w / w.sum())
    person_sex = rng.integers(0, 2, n_persons)
    person_birth = rng.integers(1925, y0 + 1, n_persons)
    person_minima = rng.random(n_persons) < p.minima_share
    person_number = k * _PERSON_STRIDE + np.arange(n_persons)

    periods = pa.table({
        "person_id": _person_ids(person_number[py_person]),
        "year": pa.array(py_year.astype("int16")),
        "practice_id": _dictionary(person_practice[py_person], practice_names),
        "insured_days": pa.array(days.astype("int32")),
        "sex": _dictionary(person_sex[py_person], ("M", "F")),
        "birth_year": pa.array(person_birth[py_person].astype("int16")),
        "minima": pa.array(person_minima[py_person]),
    })

    # --- distinct claims: in-package, outside the package, orphans -------------------
    types = list(CARE_TYPES)
    share = np.asarray([p.care_type_share.get(c, 0.0) for c in types], float)
    line_py = np.repeat(np.arange(py_person.size), py_count)
    care_basic = rng.choice(len(types), n_basic, p=share / share.sum())
    # outside the package: on random insured person-years, care types as in the sample
    nb_py = rng.integers(0, py_person.size, n_non_basic)
    nb_types = [types.index(c) for c in sample_params.OUTSIDE_PACKAGE_CARE_TYPES]
    nb_w = np.asarray(sample_params.OUTSIDE_PACKAGE_CARE_WEIGHTS, float)
    care_nb = np.asarray(nb_types)[rng.choice(len(nb_types), n_non_basic, p=nb_w / nb_w.sum())]
    # orphans: insured persons in a year outside their period, and persons never insured
    n_unknown = int(round(n_orphan * p.orphan_unknown_person_share))
    gap_persons = np.flatnonzero((first > y0) | (last < y1))
    if gap_persons.size == 0:
        n_unknown = n_orphan
    n_gap = n_orphan - n_unknown
    gp_ = gap_persons[rng.integers(0, max(gap_persons.size, 1), n_gap)] if n_gap else \
        np.zeros(0, int)
    before = first[gp_] > y0
    gap_year = np.where(
        before,
        y0 + (rng.random(n_gap) * (first[gp_] - y0)).astype(int),
        last[gp_] + 1 + (rng.random(n_gap) * (y1 - last[gp_])).astype(int),
    )
    unknown = k * _PERSON_STRIDE + _ORPHAN_OFFSET + rng.integers(
        0, max(1, n_unknown // 2), n_unknown)
    care_orphan = rng.choice(len(types), n_orphan, p=share / share.sum())

    # credits without their claim: on random insured person-years, in-package
    um_py = rng.integers(0, py_person.size, n_unmatched)
    care_um = rng.choice(len(types), n_unmatched, p=share / share.sum())

    person_num = np.concatenate([
        person_number[py_person[line_py]], person_number[py_person[nb_py]],
        person_number[gp_], unknown, person_number[py_person[um_py]],
    ])
    year = np.concatenate([
        py_year[line_py], py_year[nb_py], gap_year, rng.integers(y0, y1 + 1, n_unknown),
        py_year[um_py],
    ])
    care = np.concatenate([care_basic, care_nb, care_orphan, care_um]).astype("int8")
    non_basic = np.zeros(n_distinct, bool)
    non_basic[n_basic:n_basic + n_non_basic] = True

    mu = np.log(np.asarray([p.cost_median[c] for c in types]))
    sigma = np.asarray([p.cost_sigma[c] for c in types])
    log_cost = mu[care] + sigma[care] * rng.standard_normal(n_distinct)
    log_cost[non_basic] = np.log(sample_params.OUTSIDE_PACKAGE_COST_MEDIAN) + (
        sample_params.OUTSIDE_PACKAGE_COST_SIGMA * rng.standard_normal(n_non_basic))
    cost = np.round(np.exp(log_cost), 2)
    unmatched = np.zeros(n_distinct, bool)
    unmatched[n_distinct - n_unmatched:] = True
    cost[unmatched] = -cost[unmatched]
    start = _epoch_days_jan1(year) + (rng.random(n_distinct) * days_in_year(year)).astype("int64")
    lo = np.asarray([p.duration_days[c][0] for c in types])
    hi = np.asarray([p.duration_days[c][1] for c in types])
    end = start + lo[care] + (rng.random(n_distinct) * (hi[care] - lo[care] + 1)).astype("int64")

    # declaration codes: in-package codes by care type (none for some), or 16…/17…
    vocab = [code for c in types for code in _CODES.get(c, ())] + list(_NON_BASIC_CODES)
    n_codes = np.asarray([len(_CODES.get(c, ())) for c in types])
    offset = np.concatenate([[0], np.cumsum(n_codes)[:-1]])
    code_idx = offset[care] + (rng.random(n_distinct) * np.maximum(n_codes[care], 1)).astype(int)
    code_idx[non_basic] = len(vocab) - len(_NON_BASIC_CODES) + rng.integers(
        0, len(_NON_BASIC_CODES), n_non_basic)
    code_missing = (n_codes[care] == 0) & ~non_basic

    # --- credit notes: full reversals with a corrected line, partial credits ---------
    eligible = np.flatnonzero(cost[:n_basic] >= 1.0)
    n_credited = min(n_credited, eligible.size)
    n_full = min(n_full, n_credited)
    credited = rng.choice(eligible, n_credited, replace=False)
    full, partial = credited[:n_full], credited[n_full:]
    corrected = np.round(cost[full] * rng.uniform(0.5, 0.95, n_full), 2)
    part = np.round(cost[partial] * rng.uniform(0.05, 0.5, partial.size), 2)
    credit_idx = np.concatenate([full, full, partial])
    credit_cost = np.concatenate([-cost[full], corrected, -part])
    n_extra_made = credit_idx.size

    # --- re-sends and shuffle --------------------------------------------------------
    dup = rng.integers(0, n_distinct, n_dup + (n_extra - n_extra_made))
    order = np.concatenate([np.arange(n_distinct), dup, credit_idx])
    line_cost = np.concatenate([cost, cost[dup], credit_cost])
    shuffle = rng.permutation(order.size)
    order, line_cost = order[shuffle], line_cost[shuffle]
    claim_id = first_claim_id + order

    claims = pa.table({
        "person_id": _person_ids(person_num[order]),
        "claim_id": pa.array(claim_id.astype("int64")),
        "start_date": pa.array(start[order].astype("int32"), pa.int32()).cast(pa.date32()),
        "end_date": pa.array(end[order].astype("int32"), pa.int32()).cast(pa.date32()),
        "care_type": _dictionary(care[order], types),
        "declaration_code": _dictionary(code_idx[order], vocab, mask=code_missing[order]),
        "cost": pa.array(line_cost),
    })
    counts = {
        "n_distinct_claims": int(n_distinct),
        "n_duplicate_lines": int(dup.size),
        "n_non_basic_claims": int(n_non_basic),
        "n_orphan_claims": int(n_orphan),
        "n_credited_claims": int(n_credited),
        "n_reversed_claims": int(n_full),
        "n_credit_lines": int(n_credited),
        "credit_amount": float(cost[full].sum() + part.sum()),
        "n_unmatched_credits": int(n_unmatched),
        "unmatched_credit_amount": float(-cost[unmatched].sum()),
        "n_persons": int(n_persons),
        "n_person_years": int(py_person.size),
    }
    return claims, periods, counts
