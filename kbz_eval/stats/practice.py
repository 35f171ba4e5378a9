"""Inference at the unit of treatment: practices.

KBZ is given to practices, so the practices — not the persons in them — are the
independent units of a KBZ evaluation. Every claims estimate in this package is a smooth
function of sums (costs, insured years, counts) over the cells of the two groups, so one
machinery serves them all:

* :class:`PracticeSums` holds each practice's sums per value and cell, and lays them out
  as group × cell column sums for any assignment of practices to the KBZ group (the
  observed one, every relabelling, or the total less one practice);
* :class:`PracticeInference` evaluates a statistic of those sums and gives, per term:

  - a **delete-one-practice jackknife** standard error, stratified by group
    (``v = Σ_h (n_h − 1)/n_h Σ_{p∈h} (θ₍ₚ₎ − θ̄₍h₎)²``). For a difference of group means
    this is exactly the CR2 (Bell–McCaffrey) variance, ``s²_kbz/n_kbz + s²_ctl/n_ctl``;
    for smooth statistics it is its linearised equivalent;
  - ``practice_method="cr2"``: a t interval and test with Welch–Satterthwaite degrees of
    freedom from the two groups' variance components (the Bell–McCaffrey approximation
    with a separate variance per group);
  - ``practice_method="wild"`` (default): a **wild cluster bootstrap-t** of the practice
    scores (Kline & Santos 2012 score bootstrap; the jackknife deviations are the scores),
    one Webb six-point weight per practice (Webb 2023), studentised in every replicate;
    two-sided p = (1 + #{|t*| ≥ |t|}) / (1 + B) and the symmetric interval that inverts
    it;
  - a **randomisation p-value** over practice assignments: the group labels permuted over
    the practices, every relabelling when there are at most 5,000 (exact), a seeded
    random subset otherwise, with its smallest attainable value ``1/#assignments``.

With one practice in a group no variation between practices can be estimated; every
practice-level number is then NaN and :func:`impossible_message` says why.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from kbz_eval.stats.options import check_option
from kbz_eval.stats.wild import WEBB_POINTS

#: Most practice relabellings enumerated exactly; above this a seeded random subset.
MAX_ASSIGNMENTS = 5000

#: Default number of wild bootstrap replicates at the practice level (cheap: one weight
#: per practice).
DEFAULT_N_WILD = 9999

#: Fewest practices per group for the wild bootstrap-t: with two, the two deviations of a
#: group cancel and a replicate's studentising variance can be exactly zero (a degenerate
#: bootstrap distribution), so the analytic CR2-type t interval is used instead.
WILD_MIN_PER_GROUP = 3

#: Words used wherever a person-level interval is shown.
PERSONS_ONLY = "persons only — ignores variation between practices"

Statistic = Callable[[np.ndarray], dict[str, np.ndarray]]


def practice_assignments(is_kbz: np.ndarray, *, seed: int | None,
                         max_assignments: int = MAX_ASSIGNMENTS) -> tuple[np.ndarray, bool]:
    """Relabellings of the practices with the same number of KBZ practices.

    Returns a boolean matrix (assignments × practices), the observed assignment first,
    and whether every relabelling was enumerated (exact) or a seeded random subset.
    """
    rows, exact = _assignments(np.asarray(is_kbz, dtype=bool).tobytes(), max_assignments,
                               seed=seed)
    return rows.copy(), exact


def _seeded_cache(func: Callable) -> Callable:
    """``func`` (called with a keyword ``seed``) with its answers kept for the last few
    arguments when ``seed`` is an integer; without one (``None``: fresh random draws; a
    generator: draws that move it on) every call draws anew."""
    cached = functools.lru_cache(maxsize=4)(func)

    @functools.wraps(func)
    def call(*args: object, seed: int | None) -> object:
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            return cached(*args, seed=int(seed))
        return func(*args, seed=seed)

    return call


@_seeded_cache
def _assignments(is_kbz_bytes: bytes, max_assignments: int, *, seed: int | None
                 ) -> tuple[np.ndarray, bool]:
    """:func:`practice_assignments` of the assignment ``is_kbz_bytes`` (a bool array's
    bytes), read-only and kept for the next analysis of the same practices and seed.

    The claims analyses of one panel share the practices and the seed, so the
    relabellings are drawn (or enumerated) once for all of them.
    """
    is_kbz = np.frombuffer(is_kbz_bytes, dtype=bool)
    n, n_k = is_kbz.size, int(is_kbz.sum())
    total = math.comb(n, n_k)
    if total <= max_assignments:
        combos = np.array(list(itertools.combinations(range(n), n_k)), dtype=np.int64)
        rows = np.zeros((total, n), dtype=bool)
        rows[np.arange(total)[:, None], combos.reshape(total, n_k)] = True
        observed = np.all(rows == is_kbz, axis=1)
        rows = np.vstack([is_kbz[None, :], rows[~observed]])
        rows.flags.writeable = False
        return rows, True
    rng = np.random.default_rng(seed)
    keys = rng.random((max_assignments - 1, n))
    # the n_k smallest keys of each row: those up to the row's n_k-th smallest, the
    # same set as the first n_k of an argsort; a row with a tie at that key (which
    # would select more) takes the argsort
    rows = keys <= np.partition(keys, n_k - 1, axis=1)[:, n_k - 1:n_k]  # 0 < n_k < n
    tied = np.flatnonzero(rows.sum(axis=1) != n_k)
    if tied.size:
        redo = np.zeros((tied.size, n), dtype=bool)
        np.put_along_axis(redo, np.argsort(keys[tied], axis=1)[:, :n_k], True, axis=1)
        rows[tied] = redo
    rows = np.vstack([is_kbz[None, :], rows])
    rows.flags.writeable = False
    return rows, False


def randomisation_p_value(statistics: np.ndarray, *, null: float = 0.0) -> float:
    """Two-sided randomisation p-value; ``statistics[0]`` is the observed one.

    The share of relabellings (the observed one included) whose statistic is at least as
    far from ``null`` as the observed statistic.
    """
    s = np.asarray(statistics, dtype=float)
    if s.size < 2 or not np.isfinite(s[0]):
        return np.nan
    s = s[np.isfinite(s)]
    if s.size < 2:
        return np.nan
    dist = np.abs(s - null)
    # the share as a count over the size: what np.mean of the booleans gives (an exact
    # sum, one division), without its float conversion
    return np.count_nonzero(dist >= dist[0] - 1e-12 * max(1.0, abs(dist[0]))) / dist.size


@dataclass(frozen=True)
class PracticeSums:
    """Sums of values per practice and cell, and their layout as group × cell sums.

    Attributes
    ----------
    sums
        ``(n_practices, n_values, n_cells)``: per practice, the sum of each value over
        its rows in each cell (cells are within a group: years, or year × stratum).
    is_kbz
        ``(n_practices,)`` bool: the observed assignment.
    practice_ids
        The practices, in the order of the rows of ``sums``.

    Notes
    -----
    :meth:`layout` returns, for each assignment, the column sums in the order
    ``value × group × cell`` (column ``v * 2C + g * C + c``, KBZ = group 0), the layout of
    :func:`kbz_eval.estimators.claims_common.person_cell_matrix` with cell codes
    ``g * C + c``, so one statistic serves person- and practice-level inference.
    """

    sums: np.ndarray
    is_kbz: np.ndarray
    practice_ids: tuple[str, ...]

    @classmethod
    def from_rows(cls, practice: np.ndarray, cell: np.ndarray, values: Sequence[np.ndarray],
                  *, is_kbz: np.ndarray, n_cells: int,
                  practice_ids: Sequence[str]) -> PracticeSums:
        """Sum row values per practice (codes ``0..P-1``) and cell (``0..C-1``).

        Rows with ``cell < 0`` are ignored.
        """
        n_p = len(practice_ids)
        keep = np.asarray(cell) >= 0
        flat = np.asarray(practice)[keep] * n_cells + np.asarray(cell)[keep]
        sums = np.stack([
            np.bincount(flat, weights=np.asarray(v, dtype=float)[keep],
                        minlength=n_p * n_cells).reshape(n_p, n_cells)
            for v in values
        ], axis=1)
        return cls(sums=sums, is_kbz=np.asarray(is_kbz, dtype=bool),
                   practice_ids=tuple(str(p) for p in practice_ids))

    @property
    def n_practices(self) -> int:
        return int(self.sums.shape[0])

    def layout(self, assign: np.ndarray) -> np.ndarray:
        """Column sums for each row of ``assign`` (``(rows, n_practices)`` bool)."""
        a = np.atleast_2d(np.asarray(assign, dtype=float))
        kbz = np.einsum("ap,pvc->avc", a, self.sums)
        ctl = np.einsum("ap,pvc->avc", 1.0 - a, self.sums)
        return np.concatenate([kbz, ctl], axis=2).reshape(a.shape[0], -1)

    def observed(self) -> np.ndarray:
        """``(1, k)`` column sums of the observed assignment."""
        return self.layout(self.is_kbz[None, :])

    def own_sums(self) -> np.ndarray:
        """``(n_practices, k)``: each practice's sums in its own group's cells."""
        n_p, n_v, n_c = self.sums.shape
        out = np.zeros((n_p, n_v, 2, n_c))
        out[self.is_kbz, :, 0, :] = self.sums[self.is_kbz]
        out[~self.is_kbz, :, 1, :] = self.sums[~self.is_kbz]
        return out.reshape(n_p, -1)

    def leave_one_out(self) -> np.ndarray:
        """``(n_practices, k)`` column sums without each practice in turn."""
        return self.observed() - self.own_sums()


def impossible_message(n_kbz: int, n_control: int) -> str | None:
    """Why practice-level inference cannot be done, or ``None`` when it can."""
    if min(n_kbz, n_control) >= 2:
        return None
    return (
        f"Practice-level inference is impossible with {n_kbz} KBZ and {n_control} control "
        "practice(s): with one practice in a group, variation between practices cannot be "
        "estimated, so no practice-level interval or p-value is given (NaN)."
    )


def webb_weights(n_boot: int, n_units: int, seed: int | None) -> np.ndarray:
    """``(n_boot, n_units)`` Webb six-point weights (mean 0, variance 1)."""
    rng = np.random.default_rng(seed)
    return WEBB_POINTS[rng.integers(0, WEBB_POINTS.size, size=(n_boot, n_units))]


@_seeded_cache
def _wild_weights(n_boot: int, is_kbz_bytes: bytes, *, seed: int | None
                  ) -> tuple[np.ndarray, tuple[tuple[np.ndarray, np.ndarray], ...]]:
    """:func:`webb_weights` for the practices of the assignment ``is_kbz_bytes`` (a bool
    array's bytes), and per group (KBZ, control) its practices' weights and their
    squares, ``(n_h, n_boot)`` contiguous, so that every :meth:`PracticeInference.infer`
    is two vector-matrix products per group (no fancy indexing of the (n_boot ×
    practices) matrix per term).

    Read-only and kept for the next analysis of the same practices and seed: the claims
    analyses of one panel draw the same weights.
    """
    is_kbz = np.frombuffer(is_kbz_bytes, dtype=bool)
    weights = webb_weights(n_boot, is_kbz.size, seed)
    blocks = tuple((np.ascontiguousarray(weights[:, g].T),
                    np.ascontiguousarray((weights[:, g] ** 2).T))
                   for g in (is_kbz, ~is_kbz))
    for a in (weights, *(b for pair in blocks for b in pair)):
        a.flags.writeable = False
    return weights, blocks


def satterthwaite_df(components: np.ndarray, n_units: np.ndarray) -> float:
    """Welch–Satterthwaite degrees of freedom of a sum of independent variance
    components, component ``h`` estimated from ``n_units[h]`` units."""
    comp = np.asarray(components, dtype=float)
    n = np.asarray(n_units, dtype=float)
    use = (comp > 0) & (n > 1)
    if not use.any():
        return np.nan
    return float(comp[use].sum() ** 2 / np.sum(comp[use] ** 2 / (n[use] - 1)))


class PracticeInference:
    """Practice-level inference for every term of a statistic of group × cell sums.

    Parameters
    ----------
    statistic
        Function of a ``(rows, k)`` array of column sums (layout of
        :meth:`PracticeSums.layout`) returning a dict of arrays whose first axis is the
        row. Must be vectorised over rows.
    practice_sums
        The practices' sums.
    method
        ``"wild"`` (default) or ``"cr2"`` (see the module docstring).
    n_boot
        Wild bootstrap replicates (default 9,999).
    seed
        Seed of the wild weights and of a random subset of relabellings.
    alpha
        1 − confidence level.
    randomisation
        Also evaluate the statistic under every practice relabelling (for
        :meth:`infer`'s ``p_randomisation``).
    """

    def __init__(self, statistic: Statistic, practice_sums: PracticeSums, *,
                 method: str = "wild", n_boot: int = DEFAULT_N_WILD,
                 seed: int | None = 0, alpha: float = 0.05,
                 randomisation: bool = True) -> None:
        self.requested = check_option("practice_method", method)
        self.sums = practice_sums
        self.alpha = float(alpha)
        self.n_boot = int(n_boot)
        is_kbz = practice_sums.is_kbz
        key = np.asarray(is_kbz, dtype=bool).tobytes()
        self.n_kbz, self.n_control = int(is_kbz.sum()), int((~is_kbz).sum())
        self.method = ("cr2" if method == "wild"
                       and min(self.n_kbz, self.n_control) < WILD_MIN_PER_GROUP else method)
        self.possible = impossible_message(self.n_kbz, self.n_control) is None
        with np.errstate(divide="ignore", invalid="ignore"):
            self.estimate = statistic(practice_sums.observed())
            self.jackknife = statistic(practice_sums.leave_one_out())
            if randomisation and self.possible:
                # read-only, shared with the other analyses of the same practices and seed
                self.assignments, self.exact = _assignments(key, MAX_ASSIGNMENTS, seed=seed)
                self.permuted = statistic(practice_sums.layout(self.assignments))
            else:
                self.assignments, self.exact, self.permuted = None, False, None
        self.weights, self._weight_blocks = (
            _wild_weights(self.n_boot, key, seed=seed)
            if self.method == "wild" and self.possible else (None, None))
        # infer's answers by (term, index, null): a term asked for again (a total
        # carries its saving's randomisation p, say) is not bootstrapped again
        self._inferred: dict[tuple, dict[str, float]] = {}

    @property
    def n_assignments(self) -> int:
        """Number of relabellings the randomisation p-value rests on (0 without)."""
        return 0 if self.assignments is None else int(len(self.assignments))

    def describe(self) -> str:
        """Plain words for the method, for a result's ``method`` text."""
        level = f"{100 * (1 - self.alpha):g}%"
        base = (f"{level} intervals and p-values at the practice level (the unit KBZ is "
                f"assigned to; {self.n_kbz} KBZ and {self.n_control} control practices): ")
        if self.method == "wild":
            base += (f"wild cluster bootstrap-t ({self.n_boot} replicates, one Webb "
                     "six-point weight per practice, scores from the delete-one-practice "
                     "jackknife, studentised in every replicate; symmetric interval)")
        else:
            base += ("delete-one-practice jackknife variance stratified by group (CR2 for "
                     "a difference of means) with a t reference on Welch–Satterthwaite "
                     "degrees of freedom")
            if self.requested != self.method:
                base += (f" (the wild bootstrap needs at least {WILD_MIN_PER_GROUP} "
                         "practices per group)")
        if self.assignments is not None:
            base += (f"; randomisation p-value over {self.n_assignments} "
                     f"{'(all)' if self.exact else 'random'} relabellings of the practices "
                     f"(smallest attainable p = {1 / self.n_assignments:.2g})")
        return base + "."

    def _values(self, store: dict[str, np.ndarray] | None, term: str,
                index: tuple[int, ...]) -> np.ndarray:
        return np.asarray(store[term][(slice(None), *index)], dtype=float)

    def infer(self, term: str, index: tuple[int, ...] = (), *,
              null: float = 0.0) -> dict[str, float]:
        """Estimate and practice-level inference of ``term`` (at ``index``).

        Returns ``estimate, std_error, ci_lower, ci_upper, p_value, df,
        p_randomisation``; NaN where the practice level gives no answer.
        """
        key = (term, tuple(index), null)
        if key not in self._inferred:
            self._inferred[key] = self._infer(term, tuple(index), null=null)
        return dict(self._inferred[key])

    def _infer(self, term: str, index: tuple[int, ...], *, null: float
               ) -> dict[str, float]:
        """:meth:`infer`, computed."""
        value = float(self._values(self.estimate, term, index)[0])
        out = {"estimate": value, "std_error": np.nan, "ci_lower": np.nan,
               "ci_upper": np.nan, "p_value": np.nan, "df": np.nan,
               "p_randomisation": np.nan}
        if not self.possible or not np.isfinite(value):
            return out
        jack = self._values(self.jackknife, term, index)
        if not np.isfinite(jack).all():
            return out
        groups = (self.sums.is_kbz, ~self.sums.is_kbz)
        dev = np.zeros_like(jack)
        comps, sizes = [], []
        for g in groups:
            n_h = int(g.sum())
            dev[g] = jack[g] - jack[g].mean()
            comps.append((n_h - 1) / n_h * np.sum(dev[g] ** 2))
            sizes.append(n_h)
        var = float(sum(comps))
        se = math.sqrt(var)
        df = satterthwaite_df(np.array(comps), np.array(sizes))
        out.update(std_error=se, df=df)
        if self.permuted is not None:
            out["p_randomisation"] = randomisation_p_value(
                self._values(self.permuted, term, index), null=null)
        if se == 0:
            # every practice gives the same value: no variation between practices
            out.update(ci_lower=value, ci_upper=value)
            return out
        if not np.isfinite(df):
            return out
        t_obs = (value - null) / se
        if self.method == "cr2":
            q = float(stats.t.ppf(1 - self.alpha / 2, df))
            p = float(2 * stats.t.sf(abs(t_obs), df))
        else:
            q, p = self._wild(dev, groups, t_obs)
        out.update(ci_lower=value - q * se, ci_upper=value + q * se, p_value=p)
        return out

    def _wild(self, dev: np.ndarray, groups: tuple[np.ndarray, np.ndarray],
              t_obs: float) -> tuple[float, float]:
        """Quantile of |t*| at 1 − alpha and the bootstrap p-value of ``t_obs``.

        Replicate ``b`` has scores ``w_bp · dev_p``; per group ``h`` its numerator adds
        ``√((n_h − 1)/n_h) Σ_p w_bp dev_p`` and its variance ``(n_h − 1)/n_h`` times the
        centred sum of squares of the scores, computed as
        ``Σ_p w_bp² dev_p² − (Σ_p w_bp dev_p)² / n_h`` — two vector-matrix products with
        the group's weights (``_weight_blocks``, made once per practices and seed by
        :func:`_wild_weights`) instead of forming the ``(n_boot × n_h)`` score matrix
        for every term.
        """
        num = var = None
        for g, (w_g, w2_g) in zip(groups, self._weight_blocks, strict=True):
            d = dev[g]
            n_h = d.size
            scale = (n_h - 1) / n_h
            s = d @ w_g
            # a rounding-negative sum of squares of a degenerate replicate is 0 (as the
            # centred sum is); such replicates have no finite t* and are left out below
            ss = (d * d) @ w2_g
            s2 = s * s
            s2 /= n_h
            ss -= s2
            np.maximum(ss, 0.0, out=ss)
            ss *= scale
            s *= math.sqrt(scale)
            # in place, operation by operation as ``num += √scale·s`` and
            # ``var += scale·max(…, 0)`` from zeros (0 + x is x): the same numbers
            # without the temporaries of the 10,000 replicates
            num, var = (s, ss) if num is None else (np.add(num, s, out=num),
                                                     np.add(var, ss, out=var))
        with np.errstate(divide="ignore", invalid="ignore"):
            t_star = np.abs(np.divide(num, np.sqrt(var, out=var), out=num), out=num)
        finite = np.isfinite(t_star)
        if not finite.all():
            t_star = t_star[finite]
        if t_star.size == 0:
            return np.nan, np.nan
        q = _quantile_higher(t_star, 1 - self.alpha)
        p = float((1 + np.count_nonzero(t_star >= abs(t_obs) - 1e-12)) / (1 + t_star.size))
        return q, min(p, 1.0)


def _quantile_higher(x: np.ndarray, q: float) -> float:
    """``np.quantile(x, q, method="higher")`` of a finite 1-d ``x`` by one partition.

    The same order statistic (index ``ceil((n − 1) q)`` of the sorted ``x``), without
    ``np.quantile``'s per-call overhead.
    """
    n = x.size
    k = min(max(math.ceil((n - 1) * q), 0), n - 1)
    return float(np.partition(x, k)[k])


__all__ = [
    "DEFAULT_N_WILD", "MAX_ASSIGNMENTS", "WILD_MIN_PER_GROUP", "PERSONS_ONLY", "PracticeInference",
    "PracticeSums", "impossible_message", "practice_assignments", "randomisation_p_value",
    "satterthwaite_df", "webb_weights",
]
