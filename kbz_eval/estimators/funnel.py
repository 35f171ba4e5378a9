"""Funnel plots: each practice against a target, with control limits — ``funnel``.

A practice manager asks: is our practice different from what is expected, or just
small? A funnel plot draws every practice's indicator (observed / expected after
age band × sex adjustment, a proportion, or a rate) against its size, with 95 % and
99.8 % control limits around the target that narrow as the size grows. A practice
outside the 99.8 % limits is unlikely to differ by chance alone.

The numerics (exact Poisson and binomial limits, z-scores, overdispersion) are
:mod:`kbz_eval.stats.funnel`; this module reads the units — a ready table, or the
person-year panel and the practices (expected values by indirect standardisation, as in
:func:`kbz_eval.risk_adjustment`) — checks the options and builds the result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from kbz_eval.errors import DataValidationError, SpecificationError, Violation
from kbz_eval.estimators import claims_common as cc
from kbz_eval.estimators.risk_adjustment import REFERENCE_OPTIONS, expected_values
from kbz_eval.results import Result, tidy_frame
from kbz_eval.stats import funnel as fn
from kbz_eval.stats.funnel import Kind, Overdispersion, Transform
from kbz_eval.stats.options import Population, check_option
from kbz_eval.stats.pvalues import format_p

#: The column holding each kind's size (the horizontal axis) in a table of units.
SIZE_COLUMN: dict[str, str] = {"ratio": "expected", "proportion": "denominator",
                               "rate": "exposure"}
#: Canonical column names of a table of units (``columns`` maps them to yours).
UNIT_COLUMNS: tuple[str, ...] = ("unit", "observed", "expected", "denominator", "exposure",
                                 "n_persons", "group")
#: Allowed values of ``outlier_limit`` (percent).
OUTLIER_LIMITS: tuple[float, ...] = fn.LEVELS
#: With fewer units than this, φ and τ² are imprecise (a warning says so).
FEW_UNITS = 10
#: Points of the grid of sizes the funnel curves are drawn on.
GRID_POINTS = 200

_WHAT = {"ratio": "observed / expected", "proportion": "proportion", "rate": "rate"}
_ROBUST = {"sqrt": "winsorised", "log": "truncated"}


class FunnelResult(Result):
    """Result of :func:`funnel`: every unit against the target, with control limits.

    ``tidy()``: one row per unit, term ``<kind>_<unit>``: ``estimate`` the indicator
    (O/E, proportion or rate), ``std_error`` and ``ci_lower``/``ci_upper`` the unit's
    own exact 95 % interval (Garwood for counts, Clopper–Pearson for proportions; about
    that unit only), ``p_value`` of the adjusted z-score against the target, ``n``
    persons. Extra columns ``unit, group, size, z, z_adjusted, lower_95, upper_95,
    lower_998, upper_998, outlier, side``.

    ``tables``:

    * ``units`` — one row per unit: ``unit, group, n_persons, observed, size, expected,
      value, z, z_adjusted, p_value, lower_95, upper_95, lower_998, upper_998,
      outlier_95, outlier_998, outlier, side, label, used_in_dispersion, trimmed``;
    * ``limits`` — the funnel on a grid of sizes: ``size, target, lower_95, upper_95,
      lower_998, upper_998`` (in use) and ``exact_lower_95 ... exact_upper_998``;
    * ``dispersion`` — one row: ``kind, transform, robust, trim, overdispersion,
      target, n_units, n_used, phi, tau2, dispersion_ratio, dispersion_p, widened``.
    """

    title: ClassVar[str] = "funnel plot"
    plotter: ClassVar[str | None] = "funnel:plot_funnel"

    def plot_data(self) -> pd.DataFrame:
        """What :func:`kbz_eval.plotting.funnel.plot_funnel` draws, one row per point.

        Columns ``series, x, y, unit, group, outlier, side, label``. ``series`` is the
        group of a unit's point (``"kbz"``, ``"control"``, another group, or
        ``"units"`` when no group is known), ``"target"`` (the horizontal target line)
        or a limit curve ``lower_95``, ``upper_95``, ``lower_998``, ``upper_998`` (the
        limits in use). ``size`` is the unit's size (expected count, exposure or
        persons), ``value`` the indicator; units whose cells are suppressed are left
        out. ``label`` is the text written next to a point (empty when none).
        """
        units = self.tables["units"]
        limits = self.tables["limits"]
        # a unit whose cells are suppressed (text instead of numbers) is not drawn
        size = pd.to_numeric(units["size"], errors="coerce")
        value = pd.to_numeric(units["value"], errors="coerce")
        units = units[size.notna() & value.notna()]
        points = pd.DataFrame({
            "series": units["group"].where(units["group"] != "", "units").astype(str),
            "size": size[units.index].to_numpy(dtype=float),
            "value": value[units.index].to_numpy(dtype=float),
            "unit": units["unit"].astype(str), "group": units["group"].astype(str),
            "outlier": units["outlier"].to_numpy(dtype=bool),
            "side": units["side"].astype(str), "label": units["label"].astype(str)})
        order = {s: i for i, s in enumerate(_point_series(points["series"]))}
        points = points.assign(_o=points["series"].map(order)).sort_values(
            ["_o", "size", "unit"], kind="stable").drop(columns="_o")
        curves = []
        grid = limits["size"].to_numpy(dtype=float)
        for series in ("target", "lower_998", "lower_95", "upper_95", "upper_998"):
            curves.append(pd.DataFrame({
                "series": series, "size": grid,
                "value": limits[series].to_numpy(dtype=float),
                "unit": "", "group": "", "outlier": False, "side": "", "label": ""}))
        return pd.concat([points, *curves], ignore_index=True)

    def summary(self) -> pd.DataFrame:
        """Per unit: size, value, limits, flag (rounded)."""
        cols = ["unit", "group", "n_persons", "observed", "expected", "value", "lower_95",
                "upper_95", "lower_998", "upper_998", "z_adjusted", "outlier", "side"]
        return self.tables["units"][cols].round(4)

    def headline(self) -> str:
        """The comparison (what, target, peers), the outliers and the overdispersion."""
        s = self.settings
        units = self.tables["units"]
        d = self.tables["dispersion"].iloc[0]
        level = f"{s['outlier_limit']:g}%"
        noun = "practices" if s["source"] == "panel" else "units"
        above = units.loc[units["side"] == "above", "unit"].tolist()
        below = units.loc[units["side"] == "below", "unit"].tolist()
        flagged = (f"{len(above)} above ({', '.join(above) or 'none'}) and {len(below)} "
                   f"below ({', '.join(below) or 'none'}) the {level} limits")
        if d["widened"]:
            spread = ("limits widened for overdispersion "
                      + (f"(multiplicative, φ = {d['phi']:.3g})"
                         if d["overdispersion"] == "multiplicative"
                         else f"(additive, τ² = {d['tau2']:.3g} on the {s['transform']} "
                              "scale)"))
        elif d["overdispersion"] == "none":
            spread = "limits not widened (overdispersion='none')"
        else:
            spread = "no overdispersion found, exact limits"
        return (f"{s['what']} of {len(units)} {_peers(units, noun)} against {s['target_text']}: "
                f"{flagged}; {spread}; dispersion ratio {d['dispersion_ratio']:.3g} "
                f"({format_p(d['dispersion_p'])}).")


# --------------------------------------------------------------------------- helpers
def _point_series(series: pd.Series) -> list[str]:
    """Point series in drawing order: KBZ, control, other groups, ungrouped units."""
    present = list(dict.fromkeys(series))
    first = [s for s in ("kbz", "control") if s in present]
    return first + sorted(s for s in present if s not in first)


def _peers(units: pd.DataFrame, noun: str) -> str:
    """``"practices (6 KBZ, 6 control)"``-style words for the units compared."""
    counts = units["group"].value_counts()
    parts = [f"{counts[g]} {'KBZ' if g == 'kbz' else g}" for g in _point_series(
        units["group"]) if g != ""]
    if "" in counts.index:
        parts.append(f"{counts['']} without group")
    return noun + (f" ({', '.join(parts)})" if parts else "")


def _check_number(name: str, value: Any, *, low: float, high: float, low_ok: bool,
                  what: str) -> float:
    """A real number in the interval; a :class:`SpecificationError` naming it if not."""
    ok = (not isinstance(value, bool) and isinstance(value, (int, float, np.integer,
                                                              np.floating))
          and np.isfinite(float(value)) and (float(value) >= low if low_ok
                                             else float(value) > low)
          and float(value) < high)
    if not ok:
        bracket = "[" if low_ok else "("
        raise SpecificationError(
            f"The value for `{name}` must be a number in {bracket}{low:g}, {high:g}) "
            f"({what}), but {value!r} was passed.")
    return float(value)


def _check_options(kind: Any, overdispersion: Any, transform: Any, trim: Any,
                   target: Any, outlier_limit: Any, label_outliers: Any
                   ) -> tuple[float, float | None, float]:
    check_option("kind", kind, fn.KINDS)
    check_option("overdispersion", overdispersion, fn.OVERDISPERSION)
    check_option("transform", transform, fn.TRANSFORMS)
    trim = _check_number("trim", trim, low=0.0, high=0.5, low_ok=True,
                         what="the fraction winsorised or truncated at each end; 0.10 is "
                              "the default")
    if target is not None:
        high = 1.0 if kind == "proportion" else np.inf
        target = _check_number("target", target, low=0.0, high=high, low_ok=False,
                               what="the value the units are compared with; None: 1 for "
                                    "ratios, the pooled value otherwise")
    limit_ok = (not isinstance(outlier_limit, bool)
                and isinstance(outlier_limit, (int, float, np.integer, np.floating))
                and any(np.isclose(float(outlier_limit), v) for v in OUTLIER_LIMITS))
    if not limit_ok:
        raise SpecificationError(
            f"The value for `outlier_limit` must be one of {list(OUTLIER_LIMITS)}, but "
            f"{outlier_limit!r} was passed.")
    if not isinstance(label_outliers, (bool, np.bool_)):
        raise SpecificationError(
            f"The value for `label_outliers` must be one of [True, False], but "
            f"{label_outliers!r} was passed.")
    limit = min(OUTLIER_LIMITS, key=lambda v: abs(v - float(outlier_limit)))
    return trim, target, limit


# --------------------------------------------------------------------------- inputs
def _bad_rows(frame: pd.DataFrame, column: str, bad: np.ndarray, rule: str) -> Violation:
    rows = np.flatnonzero(bad)[:5]
    return Violation(column=column, rule=rule + " (rows: positions in the DataFrame, from 0)",
                     n_rows=int(bad.sum()), rows=tuple(int(r) for r in rows),
                     values=tuple(str(frame[column].iloc[r]) for r in rows))


def _units_from_table(data: pd.DataFrame, kind: str, columns: Mapping[str, str] | None
                      ) -> pd.DataFrame:
    """``unit, group, n_persons, observed, size`` from a ready table of units."""
    mapping = dict(columns or {})
    unknown = sorted(set(mapping) - set(UNIT_COLUMNS))
    if unknown:
        raise SpecificationError(
            f"The keys of `columns` must be among {list(UNIT_COLUMNS)}, but {unknown} "
            "were passed. Map each canonical name to your column, e.g. "
            "{'unit': 'praktijk', 'observed': 'aantal'}.")
    if "unit" not in mapping and "unit" not in data.columns and "practice_id" in data.columns:
        mapping["unit"] = "practice_id"
    size_name = SIZE_COLUMN[kind]
    name = {c: mapping.get(c, c) for c in UNIT_COLUMNS}
    needed = ["unit", "observed", size_name]
    missing = [name[c] for c in needed if name[c] not in data.columns]
    if missing:
        raise DataValidationError(source="units", table="funnel units", violations=[
            Violation(column=m, rule="required column is missing",
                      detail=f"kind={kind!r} needs {[name[c] for c in needed]}; columns "
                             f"present: {sorted(map(str, data.columns))}")
            for m in missing])
    problems: list[Violation] = []
    unit = data[name["unit"]].astype("string").str.strip()
    dup = (unit.duplicated(keep=False) | unit.isna() | (unit == "")).to_numpy(dtype=bool)
    if dup.any():
        problems.append(_bad_rows(data, name["unit"], dup, "unique and not empty"))
    observed = pd.to_numeric(data[name["observed"]], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan)
    size = pd.to_numeric(data[name[size_name]], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan)
    bad_obs = ~np.isfinite(observed) | (observed < 0)
    if bad_obs.any():
        problems.append(_bad_rows(data, name["observed"], bad_obs, "must be a number ≥ 0"))
    bad_size = ~np.isfinite(size) | (size <= 0)
    if bad_size.any():
        problems.append(_bad_rows(data, name[size_name], bad_size, "must be a number > 0"))
    if kind == "proportion":
        ok = ~bad_obs & ~bad_size
        whole = ok & ((observed != np.round(observed)) | (size != np.round(size)))
        if whole.any():
            problems.append(_bad_rows(data, name["observed"], whole,
                                      "events and denominator must be whole numbers"))
        over = ok & (observed > size)
        if over.any():
            problems.append(_bad_rows(data, name["observed"], over,
                                      f"must not exceed `{name['denominator']}`"))
    n_persons = pd.array([pd.NA] * len(data), dtype="Int64")
    if name["n_persons"] in data.columns:
        persons = pd.to_numeric(data[name["n_persons"]], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan)
        bad = ~np.isfinite(persons) | (persons < 0) | (persons != np.round(persons))
        if bad.any():
            problems.append(_bad_rows(data, name["n_persons"], bad,
                                      "must be a whole number ≥ 0"))
        else:
            n_persons = pd.array(persons.astype(np.int64), dtype="Int64")
    if problems:
        raise DataValidationError(source="units", table="funnel units", violations=problems)
    if name["group"] in data.columns:
        group = data[name["group"]].astype("string").str.strip().str.lower().fillna("")
    else:
        group = pd.Series([""] * len(data), dtype="string")
    return pd.DataFrame({"unit": unit.to_numpy(dtype=object).astype(str),
                         "group": group.to_numpy(dtype=object).astype(str),
                         "n_persons": n_persons, "observed": observed, "size": size})


def _units_from_panel(panel: pd.DataFrame, practices: pd.DataFrame, kind: str, *,
                      outcome: Any, population: str, years: Sequence[int] | None,
                      reference: Any) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    """Units per practice from the person-year panel (see :func:`funnel`)."""
    if not isinstance(outcome, str):
        raise SpecificationError(
            f"The value for `outcome` must be a column name, but {outcome!r} was passed.")
    if not isinstance(reference, pd.DataFrame):
        check_option("reference", reference, REFERENCE_OPTIONS)
    if (years is None and isinstance(panel, pd.DataFrame) and "year" in panel.columns):
        last = pd.to_numeric(panel["year"], errors="coerce").max()
        years = None if pd.isna(last) else [int(last)]
    cp = cc.prepare_claims(panel, practices, population=population, values=[outcome],
                           years=years, need_age_sex=kind == "ratio")
    f = cp.frame
    notes = list(cp.notes)
    info: dict[str, Any] = {"outcome": outcome, "population": population,
                            "years": list(cp.years)}
    if kind == "ratio":
        expected, _rates, _crude, desc, more = expected_values(cp, outcome, reference)
        f = f.assign(expected=expected)
        notes += more
        info["reference"] = desc
    by = f.groupby("practice_id", sort=True)
    n_persons = by["person"].nunique()
    if kind == "ratio":
        observed, size = by[outcome].sum(), by["expected"].sum()
    elif kind == "rate":
        observed, size = by[outcome].sum(), by["iy"].sum()
    else:
        with_event = f[f[outcome].to_numpy() > 0]
        observed = with_event.groupby("practice_id", sort=True)["person"].nunique()
        observed = observed.reindex(n_persons.index, fill_value=0).astype(float)
        size = n_persons.astype(float)
    group = dict(zip(cp.practices["practice_id"], cp.practices["group"], strict=True))
    units = pd.DataFrame({
        "unit": n_persons.index.to_numpy(dtype=object).astype(str),
        "group": [group[p] for p in n_persons.index],
        "n_persons": pd.array(n_persons.to_numpy(dtype=np.int64), dtype="Int64"),
        "observed": observed.to_numpy(dtype=float), "size": size.to_numpy(dtype=float)})
    bad = ~(units["size"].to_numpy() > 0)
    if bad.any():
        raise DataValidationError(source="panel", table="person_years", violations=[
            Violation(column=outcome, rule="every practice needs a size > 0 (expected "
                      "value, persons or insured years)", n_rows=int(bad.sum()),
                      values=tuple(units.loc[bad, "unit"].head(5)))])
    return units, info, notes


def _grid(size: np.ndarray, kind: str) -> np.ndarray:
    """Sizes the funnel curves are drawn at: geometric from 0.8 × the smallest to
    1.15 × the largest unit (whole numbers for proportions)."""
    lo, hi = 0.8 * float(size.min()), 1.15 * float(size.max())
    grid = np.geomspace(lo, hi, GRID_POINTS)
    if kind == "proportion":
        grid = np.unique(np.maximum(np.round(grid), 1.0))
    return grid


# --------------------------------------------------------------------------- words
def _what(kind: str, info: dict[str, Any] | None) -> str:
    if info is None:
        return {"ratio": "observed / expected", "proportion": "the proportion",
                "rate": "the rate"}[kind]
    years = "–".join(str(y) for y in sorted({info["years"][0], info["years"][-1]}))
    return {"ratio": f"observed / expected {info['outcome']} (age band × sex) in {years}",
            "proportion": f"the share of persons with any {info['outcome']} in {years}",
            "rate": f"{info['outcome']} per insured year in {years}"}[kind]


def _target_text(kind: str, target: float, source: str, info: dict[str, Any] | None
                 ) -> str:
    if source == "given":
        return f"the target {target:.4g}"
    if kind == "ratio":
        ref = (f"the age band × sex rates of {info['reference']}" if info
               else "the expected values given")
        return f"the target 1 (as expected from {ref})"
    return f"the pooled value of all units, {target:.4g}"


def _method(kind: str, overdispersion: str, transform: str, trim: float, target_text: str,
            info: dict[str, Any] | None) -> str:
    exact = ("exact Poisson limits (Gamma quantiles: lower G⁻¹(p; θ0·size)/size, upper "
             "G⁻¹(1−p; θ0·size + 1)/size)" if kind != "proportion" else
             "exact binomial limits with Spiegelhalter's interpolation between the discrete "
             "quantiles")
    scale = ("square-root scale (arcsine square root for proportions), z-scores winsorised"
             if transform == "sqrt" else "log scale (SHMI), z-scores truncated")
    od = {"none": "Limits are not widened for overdispersion.",
          "multiplicative": "When the robust dispersion factor φ (mean of the trimmed z²) "
                            "exceeds 1 the limits become target ± z·√φ·s on the "
                            "transformed scale.",
          "additive": "When the DerSimonian–Laird between-unit variance τ² (from the "
                      "trimmed z-scores) is positive the limits become target ± "
                      "z·√(s² + τ²) on the transformed scale (random effects)."}[overdispersion]
    source = ("Expected values by indirect standardisation on five-year age band × sex "
              "(reference rates held fixed). " if kind == "ratio" and info else "")
    return (f"Funnel plot of {_WHAT[kind]} against size, compared with {target_text}. "
            f"{source}Control limits at 95% and 99.8%: {exact}. z-scores on the {scale} "
            f"at {100 * trim:g}% each end for the overdispersion estimate. {od} A unit "
            "outside the limits in use is flagged; the dispersion ratio is Σz²/(n−1) over "
            "all units with its χ² p-value. Each unit's own interval (tidy) is exact "
            "(Garwood or Clopper–Pearson) and describes that unit only.")


# --------------------------------------------------------------------------- front door
def funnel(
    data: pd.DataFrame,
    practices: pd.DataFrame | None = None,
    *,
    kind: Kind = "ratio",
    outcome: str = "poli_dbc_count",
    population: Population = "all",
    years: Sequence[int] | None = None,
    reference: Any = "pooled",
    columns: Mapping[str, str] | None = None,
    overdispersion: Overdispersion = "additive",
    transform: Transform = "sqrt",
    trim: float = fn.DEFAULT_TRIM,
    target: float | None = None,
    outlier_limit: float = 99.8,
    label_outliers: bool = True,
) -> FunnelResult:
    """Funnel plot of practices against a target, with exact and overdispersed limits.

    Parameters
    ----------
    data
        Either a table of units — one row per practice with ``unit`` (or
        ``practice_id``), ``observed`` and the size column of ``kind``: ``expected``
        (ratio), ``denominator`` (proportion: persons or trials) or ``exposure`` (rate);
        optional ``n_persons`` and ``group`` (``kbz``/``control``) — or, when
        ``practices`` is given, the person-year panel (``person_years`` contract). Not
        modified.
    practices
        The practices table (``practice_id``, ``group``); given, ``data`` is the panel.
    kind
        ``"ratio"`` (observed / expected, Poisson), ``"proportion"`` (binomial) or
        ``"rate"`` (per exposure, Poisson).
    outcome
        Panel only: the column counted. Ratio: ``Σ outcome`` against its expected value
        by indirect standardisation on age band × sex; rate: ``Σ outcome`` per insured
        year; proportion: persons with ``outcome > 0`` out of the practice's persons.
    population
        Panel only: ``"all"`` person-years or ``"minima"``.
    years
        Panel only: years pooled; default the last year of the panel.
    reference
        Panel and ratio only: reference rates ``"pooled"`` (all practices), ``"control"``
        or a table ``age_band, sex, rate`` (see :func:`kbz_eval.risk_adjustment`).
    columns
        Table only: your column names for the canonical ones, e.g.
        ``{"unit": "praktijk", "observed": "aantal"}``.
    overdispersion
        ``"additive"`` (default; DerSimonian–Laird τ², random effects),
        ``"multiplicative"`` (φ) or ``"none"`` (exact limits only).
    transform
        ``"sqrt"`` (Spiegelhalter: square root, winsorised z-scores) or ``"log"`` (SHMI:
        log, truncated z-scores).
    trim
        Fraction winsorised or truncated at each end for φ and τ² (default 0.10).
    target
        The value compared with; ``None``: 1 for ratios, the pooled value
        ``Σ observed / Σ size`` otherwise.
    outlier_limit
        95 or 99.8 (default): the limit that defines ``outlier`` and ``side``.
    label_outliers
        Write the unit's name next to each outlier in the plot.

    Returns
    -------
    FunnelResult

    Raises
    ------
    SpecificationError
        Unknown option values (the message names the option, the allowed values and the
        value passed), or fewer than 3 units.
    DataValidationError
        Missing columns or values that break the rules (all problems at once).

    Notes
    -----
    **What is compared.** Each unit's indicator ``value = observed / size`` against the
    target ``θ0``; no unit is the effect of KBZ. KBZ and control practices are drawn
    apart so a practice sees itself among both kinds of peers. For ratios from the
    panel, ``expected = Σ insured years × reference rate of the person's age band ×
    sex`` (:func:`kbz_eval.estimators.risk_adjustment.expected_values`); with the
    pooled reference the expected values add up to the observed total.

    **Limits** (:mod:`kbz_eval.stats.funnel`). Exact Poisson limits for ratios and rates
    (at ``θ0 = 1`` and ``E = 15, 20, 30``: 95 % lower 0.5597, 0.6108, 0.6747, 99.8 %
    upper 2.0829, 1.9021, 1.7028) and exact binomial limits (Spiegelhalter's
    interpolation) for proportions. With overdispersion the limits are normal limits
    on the transformed scale, ``θ0 ± z √φ s`` (multiplicative, when ``φ > 1``) or
    ``θ0 ± z √(s² + τ²)`` (additive, when ``τ² > 0``), back-transformed; ``φ`` is the
    mean of the winsorised (sqrt) or truncated (log) squared z-scores and ``τ²`` its
    DerSimonian–Laird translation. With many units and much overdispersion, trimming
    makes φ and τ² too small and more units than nominal fall outside (the SHMI
    truncation more so than winsorisation).

    **Flags.** ``outlier_95``/``outlier_998``: the value lies strictly outside the
    limits in use at the unit's own size; ``outlier`` and ``side`` (``"above"``,
    ``"below"`` or empty) at ``outlier_limit``. ``z_adjusted`` and ``p_value`` use the
    same (widened) standard error. Each unit's own interval in ``tidy()`` is about that
    unit only and is not the funnel.

    Disclosure: ``n_persons`` (and ``observed`` for proportions) are person counts;
    ``unit`` and ``group`` are keys; every other column is derived from counts.

    Examples
    --------
    >>> import pandas as pd
    >>> from kbz_eval.estimators.funnel import funnel
    >>> units = pd.DataFrame({"unit": list("ABCDEF"),
    ...                       "observed": [100, 150, 180, 80, 120, 225],
    ...                       "expected": [108, 112, 165, 95, 100, 220]})
    >>> r = funnel(units, overdispersion="none")
    >>> r.tables["units"][["unit", "value", "outlier"]].shape
    (6, 3)
    """
    trim, target_given, limit = _check_options(kind, overdispersion, transform, trim,
                                               target, outlier_limit, label_outliers)
    if not isinstance(data, pd.DataFrame):
        raise SpecificationError(
            f"`data` must be a pandas DataFrame (a table of units, or the person-year "
            f"panel with `practices`), but a {type(data).__name__} was passed.")
    if practices is None:
        units = _units_from_table(data, kind, columns)
        info, notes = None, []
    else:
        check_option("population", population, cc.POPULATIONS)
        units, info, notes = _units_from_panel(data, practices, kind, outcome=outcome,
                                               population=population, years=years,
                                               reference=reference)
    if len(units) < 3:
        raise SpecificationError(
            f"A funnel plot needs at least 3 units, but {len(units)} were given.")
    units = units.sort_values("unit", kind="stable", ignore_index=True)
    observed = units["observed"].to_numpy(dtype=float)
    size = units["size"].to_numpy(dtype=float)
    if kind != "ratio" and target_given is None and observed.sum() <= 0:
        raise SpecificationError(
            "No unit has an event, so the pooled target is 0; give a `target` > 0.")
    if kind == "ratio" and target_given is None and observed.sum() <= 0:
        raise SpecificationError("No unit has an event; a ratio funnel needs events.")

    fit = fn.fit_funnel(observed, size, kind=kind, target=target_given,
                        overdispersion=overdispersion, transform=transform, trim=trim)
    theta0 = float(fit.target.ravel()[0])
    if kind == "proportion" and not 0 < theta0 < 1:
        raise SpecificationError(
            f"The pooled proportion is {theta0:g}; a proportion funnel needs a target "
            "strictly between 0 and 1 (give `target`).")
    key = fn.level_key(limit)
    out = getattr(fit, f"outlier_{key}")
    high = getattr(fit, f"high_{key}")
    side = np.where(out & high, "above", np.where(out, "below", ""))
    table = units.assign(
        expected=size if kind == "ratio" else theta0 * size, value=fit.value, z=fit.z,
        z_adjusted=fit.z_adjusted, p_value=fit.p_value,
        **{c: fit.limits[c] for c in ("lower_95", "upper_95", "lower_998", "upper_998")},
        outlier_95=fit.outlier_95, outlier_998=fit.outlier_998, outlier=out, side=side,
        label=np.where(out & bool(label_outliers), units["unit"].to_numpy(dtype=object), ""),
        used_in_dispersion=fit.used, trimmed=fit.trimmed)
    table = table[["unit", "group", "n_persons", "observed", "size", "expected", "value",
                   "z", "z_adjusted", "p_value", "lower_95", "upper_95", "lower_998",
                   "upper_998", "outlier_95", "outlier_998", "outlier", "side", "label",
                   "used_in_dispersion", "trimmed"]]

    grid = _grid(size, kind)
    curves = fn.funnel_limits(grid, kind=kind, transform=transform, target=theta0,
                              overdispersion=overdispersion, phi=float(fit.phi[0]),
                              tau2=float(fit.tau2[0]))
    limits = pd.DataFrame({"size": grid, "target": theta0, **curves})

    dispersion = pd.DataFrame([{
        "kind": kind, "transform": transform, "robust": _ROBUST[transform], "trim": trim,
        "overdispersion": overdispersion, "target": theta0, "n_units": len(units),
        "n_used": int(fit.used.sum()), "phi": float(fit.phi[0]), "tau2": float(fit.tau2[0]),
        "dispersion_ratio": float(fit.dispersion_ratio[0]),
        "dispersion_p": float(fit.dispersion_p[0]), "widened": bool(fit.widened[0])}])

    lo_own, hi_own = fn.own_interval(observed, size, kind=kind)
    se_own = fn.own_se(observed, size, kind=kind)
    rows = [{"term": f"{kind}_{r.unit}", "estimate": r.value, "std_error": se_own[i],
             "ci_lower": lo_own[i], "ci_upper": hi_own[i], "p_value": r.p_value,
             "n": r.n_persons, "unit": r.unit, "group": r.group, "size": r.size, "z": r.z,
             "z_adjusted": r.z_adjusted, "lower_95": r.lower_95, "upper_95": r.upper_95,
             "lower_998": r.lower_998, "upper_998": r.upper_998, "outlier": bool(r.outlier),
             "side": r.side}
            for i, r in enumerate(table.itertuples(index=False))]
    estimates = tidy_frame(rows)

    source = "given" if target_given is not None else "default"
    target_text = _target_text(kind, theta0, source, info)
    messages = [*notes, *_messages(table, kind, overdispersion, dispersion.iloc[0])]
    emitted = cc.emit(messages)
    settings = {"kind": kind, "overdispersion": overdispersion, "transform": transform,
                "trim": trim, "target": theta0, "target_source": source,
                "target_text": target_text, "outlier_limit": limit,
                "label_outliers": bool(label_outliers), "what": _what(kind, info),
                "source": "units table" if info is None else "panel",
                **({} if info is None else {
                    "outcome": info["outcome"], "population": info["population"],
                    "years": info["years"],
                    "reference": reference if isinstance(reference, str) else "table"})}
    return FunnelResult(
        estimates=estimates,
        tables={"units": table, "limits": limits, "dispersion": dispersion},
        method=_method(kind, overdispersion, transform, trim, target_text, info),
        settings=settings, warnings=emitted)


def _messages(table: pd.DataFrame, kind: str, overdispersion: str, d: pd.Series
              ) -> list[str | None]:
    """What the data mean for the limits: few units, non-counts, unhandled spread."""
    out: list[str | None] = []
    n = len(table)
    if overdispersion != "none" and n < FEW_UNITS:
        out.append(f"Only {n} units: the overdispersion estimates (φ = {d['phi']:.3g}, "
                   f"τ² = {d['tau2']:.3g}) are imprecise, and so are the widened limits.")
    obs = table["observed"].to_numpy(dtype=float)
    if (kind != "proportion" and overdispersion != "additive"
            and np.any(obs != np.round(obs))):
        out.append("The observed values are not whole counts (costs?): Poisson limits "
                   "assume counts of events and are too narrow for sums of amounts; use "
                   "overdispersion='additive', which estimates the spread between units.")
    if overdispersion == "none" and d["dispersion_p"] < 0.05:
        out.append(f"The units vary more than chance explains (dispersion ratio "
                   f"{d['dispersion_ratio']:.3g}, {format_p(d['dispersion_p'])}) but the "
                   "limits are not widened (overdispersion='none'): more units fall "
                   "outside than the nominal rate.")
    if table["n_persons"].notna().any():
        out.append(cc.sparse_cells_message(table.dropna(subset=["n_persons"]), ["unit"]))
    if kind == "proportion":
        # a proportion's numerator and its complement count persons too: either small
        # makes the share disclosive (and near 0 or 1, unstable)
        counts = pd.DataFrame({"unit": table["unit"], "smaller": np.minimum(
            pd.to_numeric(table["observed"], errors="coerce"),
            pd.to_numeric(table["size"], errors="coerce")
            - pd.to_numeric(table["observed"], errors="coerce"))}).dropna()
        message = cc.sparse_cells_message(counts, ["unit"], column="smaller")
        if message is not None:
            out.append(message.replace("cell(s) rest on fewer than",
                                       "unit(s) have a numerator or its complement under"))
    return out


__all__ = ["FunnelResult", "OUTLIER_LIMITS", "SIZE_COLUMN", "UNIT_COLUMNS", "funnel"]
