"""The unit bootstrap of a statistic of sums: stratified resampling, BCa intervals.

An analysis whose estimates are smooth functions of column sums (costs, insured years,
counts per cell) hands :class:`SumsBootstrap` a function of those sums and one row of
sums per resampled unit. The unit is resampled with replacement within its stratum,
``n_boot`` times, as one matrix product of resampling counts; the BCa acceleration comes
from the leave-one-unit-out jackknife computed as total − one unit's sums, so nothing is
refitted.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import numpy as np
from scipy import special

from kbz_eval.stats.codes import unique_codes
from kbz_eval.stats.parallel import ARRAY_THREADS, ordered_map

#: Largest number of matrix elements a bootstrap block may hold (memory bound).
_BLOCK_ELEMENTS = 4_000_000
#: Above this many resampled units, :class:`SumsBootstrap` uses the stratified
#: jackknife variance instead of bootstrap replicates (see its Notes).
JACKKNIFE_ABOVE = 200_000
#: Rows of leave-one-out sums evaluated at a time (memory bound of the jackknife).
_JACKKNIFE_BLOCK = 100_000
#: Largest number of leave-one-out sums (rows × columns) evaluated at a time: a block
#: of a wide layout (hundreds of columns) holds fewer rows.
_JACKKNIFE_ELEMENTS = 2_000_000


def _jackknife_rows(n_columns: int) -> int:
    """Rows of a leave-one-out block for sums of ``n_columns`` columns."""
    return max(1, min(_JACKKNIFE_BLOCK, _JACKKNIFE_ELEMENTS // max(int(n_columns), 1)))


def stratified_bootstrap_sums(matrix: np.ndarray, strata: np.ndarray, *, n_boot: int,
                              seed: int | None) -> np.ndarray:
    """Column sums of ``matrix`` over persons resampled with replacement within strata.

    Parameters
    ----------
    matrix
        ``(n_persons, k)`` per-person sums (see :func:`person_cell_matrix`), dense or
        SciPy sparse (same replicates either way).
    strata
        Stratum code per person; each stratum keeps its size in every replicate.
    n_boot
        Number of replicates.
    seed
        Seed of ``numpy.random.default_rng``; strata are drawn in sorted order and
        replicates in blocks, so the same seed gives the same replicates.

    Returns
    -------
    numpy.ndarray
        ``(n_boot, k)``: the column sums of every replicate.

    Notes
    -----
    Each replicate draws ``n_s`` persons with replacement from every stratum of size
    ``n_s``; the number of times each person is drawn (a multinomial count) multiplies
    their row. Counts are built from uniform index draws with one ``bincount`` per
    block, and summed with one matrix product, so no Python loop runs over replicates.
    """
    rng = np.random.default_rng(seed)
    sparse = _is_sparse(matrix)
    matrix = matrix.tocsr().astype(float) if sparse else np.asarray(matrix, dtype=float)
    out = np.zeros((n_boot, matrix.shape[1]))
    for s in unique_codes(strata):
        members = np.flatnonzero(strata == s)
        n_s = members.size
        sub = matrix[members]
        block = max(1, min(n_boot, _BLOCK_ELEMENTS // max(n_s, 1)))
        for start in range(0, n_boot, block):
            b = min(block, n_boot - start)
            draws = rng.integers(0, n_s, size=(b, n_s))
            draws += (np.arange(b) * n_s)[:, None]
            counts = np.bincount(draws.ravel(), minlength=b * n_s).reshape(b, n_s)
            if sparse:
                # the sparse product wants the dense factor as C-ordered floats; made in
                # one pass here (SciPy's own conversion of the transposed integer
                # counts takes two), the same numbers and the same product
                out[start:start + b] += (sub.T @ np.ascontiguousarray(counts.T,
                                                                      dtype=float)).T
            else:
                out[start:start + b] += counts @ sub
    return out


def jackknife_acceleration(jackknife: np.ndarray, strata: np.ndarray) -> float:
    """BCa acceleration from leave-one-person-out values, stratum by stratum.

    ``U_i = (n_s − 1)(mean_s θ₍ⱼ₎ − θ₍ᵢ₎)`` within each stratum ``s``;
    ``a = Σ U³ / (6 (Σ U²)^{3/2})``. Non-finite values are left out.
    """
    jack = np.asarray(jackknife, dtype=float)
    ok = np.isfinite(jack)
    if ok.all():  # the usual case: every unit, no copies of the selection
        codes, values = np.asarray(strata), jack
    else:
        codes, values = np.asarray(strata)[ok], jack[ok]
    n_s = np.bincount(codes)
    mean_s = np.bincount(codes, weights=values) / np.maximum(n_s, 1)
    u = (n_s[codes] - 1) * (mean_s[codes] - values)
    den = np.sum(u**2)
    return float(np.sum(u**3) / (6 * den**1.5)) if den > 0 else 0.0


def bootstrap_inference(estimate: float, replicates: np.ndarray, *, alpha: float,
                        null: float = 0.0, acceleration: float | None = None
                        ) -> dict[str, float]:
    """Bootstrap standard error, interval and two-sided p-value.

    With ``acceleration=None`` the interval is the percentile interval and the p-value
    the percentile-bootstrap test of ``estimate == null``:
    ``2 * min(1 + #{θ* ≤ null}, 1 + #{θ* ≥ null}) / (B + 1)``, capped at 1.

    With an ``acceleration`` (see :func:`jackknife_acceleration`) the interval is the
    bias-corrected and accelerated (BCa) interval, ``z0 = Φ⁻¹(#{θ* < θ̂}/B)`` (ties
    count half), and the p-value is the BCa test that inverts it: ``null`` sits at the
    BCa quantile of level ``p/2`` or ``1 − p/2``. Both p-values agree with their
    interval: ``p < alpha`` exactly when ``null`` is outside it (up to replicate
    granularity). Replicates that are not finite (e.g. an empty cell in a replicate)
    are left out.
    """
    reps = np.asarray(replicates, dtype=float)
    reps = reps[np.isfinite(reps)]
    nan = {"std_error": np.nan, "ci_lower": np.nan, "ci_upper": np.nan, "p_value": np.nan}
    if reps.size < 2 or not np.isfinite(estimate):
        return nan
    b = reps.size
    se = float(np.std(reps, ddof=1))
    if acceleration is None or not np.isfinite(acceleration) or se == 0:
        lo, hi = np.quantile(reps, [alpha / 2, 1 - alpha / 2])
        below = 1 + np.count_nonzero(reps <= null)
        above = 1 + np.count_nonzero(reps >= null)
        p = min(1.0, 2 * min(below, above) / (b + 1))
        return {"std_error": se, "ci_lower": float(lo), "ci_upper": float(hi),
                "p_value": float(p)}
    a = float(acceleration)
    share = (np.count_nonzero(reps < estimate) + 0.5 * np.count_nonzero(reps == estimate)) / b
    share = min(max(share, 0.5 / b), 1 - 0.5 / b)
    z0 = special.ndtri(share)
    z = special.ndtri(np.array([alpha / 2, 1 - alpha / 2]))
    levels = special.ndtr(z0 + (z0 + z) / (1 - a * (z0 + z)))
    lo, hi = np.quantile(reps, levels)
    # p-value: the level at which the null is a BCa bound
    q = (np.count_nonzero(reps < null) + 0.5 * np.count_nonzero(reps == null) + 0.5) / (b + 1)
    w = special.ndtri(q) - z0
    denom = 1 + a * w
    if denom <= 0:
        p = 1.0 / (b + 1)
    else:
        z_null = w / denom - z0
        p = float(min(1.0, 2 * special.ndtr(-abs(z_null))))
    return {"std_error": se, "ci_lower": float(lo), "ci_upper": float(hi),
            "p_value": float(p)}


class SumsBootstrap:
    """Estimates, bootstrap replicates and jackknife values of a statistic of sums.

    The resampled unit is whatever the rows of ``matrix`` are: persons for the
    person-level option of the claims analyses (``inference="person"``).

    Parameters
    ----------
    statistic
        Function of a ``(rows, k)`` array of column sums returning a dict of arrays whose
        first axis is the row (the estimate for one row of sums, replicates for many).
        In jackknife mode it is called from two threads at once (blocks of rows side by
        side), so it must not change state it shares between calls.
    matrix
        ``(n_persons, k)`` per-person sums.
    strata
        Bootstrap stratum per person.
    n_boot, seed
        Replicates and seed (see :func:`stratified_bootstrap_sums`).
    interval
        ``"bca"``: bias-corrected and accelerated intervals, acceleration from the
        leave-one-person-out jackknife (computed as total − one person's sums, so no
        refitting); ``"percentile"``: percentile intervals.
    jackknife_above
        Number of units above which the jackknife variance replaces the bootstrap (see
        Notes); default :data:`JACKKNIFE_ABOVE`.

    Notes
    -----
    Resampling costs ``n_boot × units × columns``: minutes for the millions of persons of
    an insurer's extract. Above ``jackknife_above`` units, intervals are therefore
    normal-approximation intervals ``θ̂ ± z·SE`` with the stratified delete-one
    jackknife variance ``Σ_s (n_s − 1)/n_s Σ_{i∈s} (θ₍ᵢ₎ − θ̄₍s₎)²`` (computed as
    total − one unit's sums, so nothing is refitted), and p-values the matching Wald
    test. For smooth functions of sums the jackknife and bootstrap variances estimate
    the same delta-method variance; with hundreds of thousands of units the sampling
    distribution is normal to the precision that matters and skewness corrections (BCa)
    vanish. :attr:`method` says which was used.
    """

    def __init__(self, statistic: Any, matrix: Any, strata: np.ndarray, *,
                 n_boot: int, seed: int | None, interval: str,
                 jackknife_above: int = JACKKNIFE_ABOVE) -> None:
        total = np.asarray(matrix.sum(axis=0), dtype=float).reshape(1, -1)
        self.n_units = int(matrix.shape[0])
        self.method = "jackknife" if self.n_units > jackknife_above else "bootstrap"
        self.replicates: dict[str, np.ndarray] | None = None
        self.jackknife: dict[str, np.ndarray] | None = None
        self._moments: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
        with np.errstate(divide="ignore", invalid="ignore"):
            self.estimate = statistic(total)
            if self.method == "bootstrap":
                self.replicates = statistic(stratified_bootstrap_sums(
                    matrix, strata, n_boot=n_boot, seed=seed))
                if interval == "bca":
                    self.jackknife = _leave_one_out(statistic, total, matrix)
            else:  # only the per-stratum moments are kept, not a value per unit
                self._moments = _leave_one_out_moments(statistic, total, matrix, strata,
                                                       self.estimate)
        self.strata = strata
        self.interval = interval
        self.n_boot = n_boot
        self.seed = seed
        # infer's answers by (term, index, alpha, null): a term asked for again (a total
        # carries its saving's randomisation p, say) is not evaluated again
        self._inferred: dict[tuple, dict[str, float]] = {}

    def describe(self, interval_words: str, unit: str = "person") -> str:
        """The person-level interval method in words (bootstrap or jackknife)."""
        if self.method == "jackknife":
            return (f"normal-approximation intervals from the {unit}-level stratified "
                    f"jackknife variance ({self.n_units:,} {unit}s, all years of a {unit} "
                    f"left out together; used instead of the bootstrap above "
                    f"{JACKKNIFE_ABOVE:,} {unit}s, where both estimate the same variance)")
        return (f"{interval_words} intervals from a {unit}-level bootstrap stratified by "
                f"group ({self.n_boot} replicates, seed {self.seed}, all years of a {unit} "
                "kept together)")

    def infer(self, term: str, index: tuple[int, ...] = (), *, alpha: float,
              null: float = 0.0) -> dict[str, float]:
        """``estimate`` and its inference for ``term`` (at ``index``)."""
        key = (term, tuple(index), alpha, null)
        if key not in self._inferred:
            self._inferred[key] = self._infer(term, tuple(index), alpha=alpha, null=null)
        return dict(self._inferred[key])

    def _infer(self, term: str, index: tuple[int, ...], *, alpha: float, null: float
               ) -> dict[str, float]:
        """:meth:`infer`, computed."""
        sel = (slice(None), *index)
        value = float(self.estimate[term][sel][0])
        if self._moments is not None:
            n, s1, s2 = (m[(slice(None), *index)] for m in self._moments[term])
            return {"estimate": value,
                    **_jackknife_from_moments(value, n, s1, s2, alpha=alpha, null=null)}
        acc = None
        if self.jackknife is not None:
            acc = jackknife_acceleration(self.jackknife[term][sel], self.strata)
        return {"estimate": value,
                **bootstrap_inference(value, self.replicates[term][sel], alpha=alpha,
                                      null=null, acceleration=acc)}


def _leave_one_out(statistic: Any, total: np.ndarray, matrix: np.ndarray
                   ) -> dict[str, np.ndarray]:
    """The statistic with each unit's sums left out, in blocks of rows (memory bound)."""
    sparse = _is_sparse(matrix)
    parts = []
    step = _jackknife_rows(matrix.shape[1])
    for start in range(0, matrix.shape[0], step):
        block = matrix[start:start + step]
        parts.append(statistic(total - (block.toarray() if sparse else block)))
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def _leave_one_out_moments(statistic: Any, total: np.ndarray, matrix: Any,
                           strata: np.ndarray, estimate: dict[str, np.ndarray]
                           ) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per stratum and term element: the number of finite leave-one-out values and the
    sums of their deviations from the estimate and of the squared deviations.

    Accumulated block by block, so memory does not grow with the number of units (5 M
    persons × dozens of terms would otherwise be gigabytes); the deviations are taken
    from the full-sample estimate, which keeps the sums of squares accurate.

    With many blocks, :data:`JACKKNIFE_THREADS` threads evaluate them side by side
    (NumPy lets go of the interpreter in its array work), each block that many times
    narrower so that the blocks in flight hold what one block did. The blocks' moments
    are added in block order, so the result never depends on which thread finished
    first; it differs from one thread's only by the rounding of other block sums.
    """
    codes, inverse = unique_codes(np.asarray(strata), return_inverse=True)
    n_blocks = -(-matrix.shape[0] // _jackknife_rows(matrix.shape[1]))
    threads = JACKKNIFE_THREADS if n_blocks >= 4 * JACKKNIFE_THREADS else 1
    blocks = _LeaveOneOut(total, matrix, narrower=threads)
    local = threading.local()

    def moments(start: int) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        if not hasattr(local, "buffer"):  # one block buffer per thread
            local.buffer = blocks.buffer()
        with np.errstate(divide="ignore", invalid="ignore"):  # per thread
            return _block_moments(statistic, blocks.sums(start, local.buffer),
                                  inverse[start:start + blocks.step], len(codes), estimate)

    return _added(ordered_map(moments, blocks.starts, threads=threads, name="kbz-jackknife"))


#: Threads evaluating the person jackknife's blocks (:func:`_leave_one_out_moments`).
JACKKNIFE_THREADS = ARRAY_THREADS


def _added(parts: Iterable[dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]]
           ) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The blocks' moments added term by term, in the order given."""
    out: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for part in parts:
        for key, (n, s1, s2) in part.items():
            if key in out:
                n0, a0, b0 = out[key]
                out[key] = (n0 + n, a0 + s1, b0 + s2)
            else:
                out[key] = (n, s1, s2)
    return out


def _block_moments(statistic: Any, sums: np.ndarray, rows: np.ndarray, n_codes: int,
                   estimate: dict[str, np.ndarray]
                   ) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """One block's per-stratum moments (see :func:`_leave_one_out_moments`); ``rows``:
    the stratum code of each of its units."""
    rows = rows[:sums.shape[0]]
    values = statistic(sums)
    onehot = np.zeros((n_codes, len(rows)))
    onehot[rows, np.arange(len(rows))] = 1.0
    per_stratum = onehot.sum(axis=1)  # units of each stratum in the block
    out = {}
    for key, v in values.items():
        d = np.asarray(v, dtype=float).reshape(len(rows), -1)
        d = d - np.asarray(estimate[key], dtype=float).reshape(1, -1)[:1]
        ok = np.isfinite(d)
        if ok.all():  # as usual: every unit counts in every element
            n = np.repeat(per_stratum[:, None], d.shape[1], axis=1)
        else:
            np.copyto(d, 0.0, where=~ok)
            n = onehot @ ok.astype(float)
        del ok
        s1 = onehot @ d
        d *= d
        s2 = onehot @ d
        del d
        shape = (n_codes, *np.shape(v)[1:])
        out[key] = (n.reshape(shape), s1.reshape(shape), s2.reshape(shape))
    return out


class _LeaveOneOut:
    """Blocks of rows of ``matrix`` as ``total − rows' sums`` (the leave-one-out sums).

    A sparse matrix's block is written as the total with each unit's few non-zero sums
    taken off in place, without a dense copy of the block or a second pass over it.
    ``narrower``: blocks that many times narrower than :func:`_jackknife_rows` gives.
    """

    def __init__(self, total: np.ndarray, matrix: Any, narrower: int = 1) -> None:
        self.total = total
        self.n_rows, self.n_columns = matrix.shape
        self.step = max(1, _jackknife_rows(self.n_columns) // narrower)
        self.starts = list(range(0, self.n_rows, self.step))
        self.dense = None if _is_sparse(matrix) else matrix
        self.csr = None
        if self.dense is None:
            csr = matrix.tocsr()
            if not csr.has_canonical_format:  # one entry per unit and column (on a copy)
                csr = csr.copy()
                csr.sum_duplicates()
            self.csr = csr

    def buffer(self) -> np.ndarray | None:
        """A buffer for one block (sparse matrices write into it; dense ones need none)."""
        return None if self.csr is None else np.empty((min(self.step, self.n_rows),
                                                       self.n_columns))

    def sums(self, start: int, buffer: np.ndarray | None) -> np.ndarray:
        """The leave-one-out sums of the block from row ``start`` (in ``buffer``)."""
        stop = min(start + self.step, self.n_rows)
        if self.csr is None:
            return self.total - np.asarray(self.dense[start:stop], dtype=float)
        indptr, indices, data = self.csr.indptr, self.csr.indices, self.csr.data
        sums = buffer[:stop - start]
        sums[...] = self.total
        lo, hi = indptr[start], indptr[stop]
        row = np.repeat(np.arange(stop - start), np.diff(indptr[start:stop + 1]))
        sums[row, indices[lo:hi]] -= data[lo:hi]
        return sums


def _jackknife_from_moments(estimate: float, n: np.ndarray, s1: np.ndarray,
                            s2: np.ndarray, *, alpha: float, null: float
                            ) -> dict[str, float]:
    """:func:`jackknife_inference` from per-stratum moments (see
    :func:`_leave_one_out_moments`): ``Σ_s (n_s − 1)/n_s (Σd² − (Σd)²/n_s)``."""
    nan = {"std_error": np.nan, "ci_lower": np.nan, "ci_upper": np.nan, "p_value": np.nan}
    n, s1, s2 = (np.asarray(a, dtype=float).ravel() for a in (n, s1, s2))
    if n.sum() < 2 or not np.isfinite(estimate):
        return nan
    keep = n > 0
    ss = np.maximum(s2[keep] - s1[keep] ** 2 / n[keep], 0.0)
    se = float(np.sqrt(np.sum((n[keep] - 1) / n[keep] * ss)))
    if not se > 0:
        return {**nan, "std_error": se}
    z = special.ndtri(1 - alpha / 2)
    p = float(2 * special.ndtr(-abs(estimate - null) / se))
    return {"std_error": se, "ci_lower": estimate - z * se, "ci_upper": estimate + z * se,
            "p_value": p}


def _is_sparse(matrix: Any) -> bool:
    """Whether ``matrix`` is a SciPy sparse matrix or array (rows of person sums that
    are mostly zero, e.g. one practice's columns per person)."""
    from scipy import sparse

    return sparse.issparse(matrix)


def jackknife_inference(estimate: float, jackknife: np.ndarray, strata: np.ndarray, *,
                        alpha: float, null: float = 0.0) -> dict[str, float]:
    """Stratified delete-one jackknife standard error, normal interval and Wald p-value.

    ``SE² = Σ_s (n_s − 1)/n_s Σ_{i∈s} (θ₍ᵢ₎ − θ̄₍s₎)²``; units whose leave-one-out value
    is not finite are left out.
    """
    jack = np.asarray(jackknife, dtype=float)
    ok = np.isfinite(jack)
    nan = {"std_error": np.nan, "ci_lower": np.nan, "ci_upper": np.nan, "p_value": np.nan}
    if ok.sum() < 2 or not np.isfinite(estimate):
        return nan
    codes = np.asarray(strata)[ok]
    values = jack[ok]
    n_s = np.bincount(codes)
    mean_s = np.bincount(codes, weights=values) / np.maximum(n_s, 1)
    ss = np.bincount(codes, weights=(values - mean_s[codes]) ** 2)
    keep = n_s > 0
    se = float(np.sqrt(np.sum((n_s[keep] - 1) / n_s[keep] * ss[keep])))
    if not se > 0:
        return {**nan, "std_error": se}
    z = special.ndtri(1 - alpha / 2)
    p = float(2 * special.ndtr(-abs(estimate - null) / se))
    return {"std_error": se, "ci_lower": estimate - z * se, "ci_upper": estimate + z * se,
            "p_value": p}


__all__ = ["JACKKNIFE_ABOVE", "SumsBootstrap", "bootstrap_inference",
           "jackknife_acceleration", "jackknife_inference", "stratified_bootstrap_sums"]
