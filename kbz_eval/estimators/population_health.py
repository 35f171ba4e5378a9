"""Population health (Aim 2): an area's health-monitor percentages against a reference.

:func:`population_health` compares, per indicator, the change of a neighbourhood's
percentage (e.g. Overvecht) with the change in a reference area (the city of Utrecht):
each percentage with a Wilson interval, the change per area with Newcombe's interval
and the difference in changes in percentage points with a MOVER-Wilson interval.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from kbz_eval.errors import (
    DataValidationError,
    SpecificationError,
    StatisticalWarning,
    Violation,
)
from kbz_eval.estimators.proportions import (
    check_alpha,
    difference_in_changes,
    newcombe_difference,
    wilson_interval,
)
from kbz_eval.results import Result, tidy_frame
from kbz_eval.validation import validate


@dataclass(repr=False)
class PopulationHealthResult(Result):
    """Result of :func:`population_health`.

    ``tidy()`` rows per indicator (estimates in percent / percentage points):
    ``percent:<indicator>:<area>:<year>`` (Wilson), ``change:<indicator>:<area>``
    (end minus start, Newcombe) for both areas, and
    ``difference_in_change:<indicator>`` (area change minus reference change,
    MOVER-Wilson interval, Wald SE and p-value). Extra columns ``indicator``, ``area``,
    ``year_start``, ``year_end`` and ``n_is_assumed``.

    ``tables``: ``percentages`` (every area × year × indicator with its interval, ``n``
    and ``n_is_assumed``) and ``changes`` (per indicator: both changes and their
    difference).
    """

    title: ClassVar[str] = "population health: area vs reference"
    plotter: ClassVar[str | None] = "surveys:plot_population_health"

    def plot_data(self) -> pd.DataFrame:
        """The lines drawn: percent per year for each area × indicator, with the
        Wilson interval as error bars. Columns ``indicator, area, role`` (``"area"`` or
        ``"reference"``), ``year, percent, ci_lower, ci_upper, n, n_is_assumed``."""
        return self.tables["percentages"].copy()

    def headline(self) -> str:
        """Per indicator: both paths and the difference in changes with its interval."""
        s = self.settings
        level = f"{100 * (1 - s.get('alpha', 0.05)):g}%"
        parts = []
        for _, r in self.tables["changes"].iterrows():
            parts.append(
                f"{r['indicator']}: {s['area']} {r['area_start']:.0f} → {r['area_end']:.0f}% "
                f"vs {s['reference']} {r['reference_start']:.0f} → "
                f"{r['reference_end']:.0f}% ({r['year_start']}–{r['year_end']}), "
                f"difference in change {r['difference_in_change']:+.1f} pp ({level} CI "
                f"{r['ci_lower']:+.1f} to {r['ci_upper']:+.1f})"
            )
        text = "; ".join(parts)
        if s.get("n_assumed"):
            text += " — intervals rest on assumed n"
        return text


def population_health(
    monitor: pd.DataFrame,
    *,
    area: str,
    reference: str,
    indicators: str | Sequence[str] | None = None,
    start: int | None = None,
    end: int | None = None,
    alpha: float = 0.05,
) -> PopulationHealthResult:
    """Compare an area's health-monitor percentages with a reference area over time.

    Parameters
    ----------
    monitor
        The ``monitor`` table (``area, area_type, year, indicator, percent, n``
        and optionally ``n_is_assumed``; see :data:`kbz_eval.tables.MONITOR`). Not
        changed.
    area, reference
        The area of interest (e.g. ``"Overvecht"``) and the reference (``"Utrecht"``),
        as in the ``area`` column.
    indicators
        Indicator name(s); default every indicator both areas have in at least two
        common years.
    start, end
        First and last year of the change; default the first and last year both areas
        have for that indicator.
    alpha
        ``1 - alpha`` is the coverage of every interval.

    Returns
    -------
    PopulationHealthResult
        Percentages with Wilson intervals, changes per area and the difference in
        changes in percentage points; ``.plot()`` draws both areas over time.

    Raises
    ------
    DataValidationError
        If the table breaks its contract (a percentage outside 0–100, ...), or a
        percentage that is used has no ``n``.
    SpecificationError
        For an unknown area, reference or indicator, ``area == reference``, years that
        the data do not hold for both areas, or an invalid ``alpha``.

    Notes
    -----
    Each percentage ``p`` is treated as a proportion from a simple random sample of
    ``n`` respondents: the interval is Wilson's with ``x = p n``. Every area × year is an
    independent sample. The change ``p_end - p_start`` of an area has Newcombe's hybrid
    score interval; the difference in changes
    ``(p_area,end - p_area,start) - (p_ref,end - p_ref,start)`` has the MOVER interval
    combining the four Wilson intervals (Zou & Donner 2008; it reduces to Newcombe's for
    two proportions), with the Wald standard error ``sqrt(sum p(1-p)/n)`` and a Wald
    p-value. Survey weights and design effects are not known and not used, so the
    intervals are those of a simple random sample of ``n``. When the area lies inside
    the reference the samples overlap; ignoring that positive covariance makes the
    interval slightly conservative. When ``n`` is an assumption (``n_is_assumed``) the
    intervals are only as good as that assumption: the result says so (``method``,
    ``warnings``, the headline and an ``n_is_assumed`` column).

    Examples
    --------
    >>> import kbz_eval as kbz
    >>> res = kbz.population_health(kbz.load_sample()["monitor"], area="Overvecht",
    ...                             reference="Utrecht")           # doctest: +SKIP
    """
    alpha = check_alpha(alpha)
    data = validate(monitor, "monitor", source="monitor").data
    if "n_is_assumed" not in data.columns:
        data["n_is_assumed"] = False
    _check_areas(data, area, reference)
    sub = data[data["area"].isin([area, reference])]
    chosen = _indicators(sub, area, reference, indicators)

    percent_rows: list[dict[str, Any]] = []
    change_rows: list[dict[str, Any]] = []
    tidy_rows: list[dict[str, Any]] = []
    missing_n: list[int] = []
    for ind in chosen:
        part = sub[sub["indicator"] == ind]
        y0, y1 = _period(part, ind, area, reference, start, end)
        for role, name in (("area", area), ("reference", reference)):
            rows = part[part["area"] == name].sort_values("year")
            missing_n += rows.index[rows["n"].isna() & rows["year"].isin([y0, y1])].tolist()
            percent_rows += _percent_rows(rows, ind, name, role, alpha)
        if missing_n:
            continue
        tidy, change = _comparison(part, ind, area, reference, y0, y1, alpha)
        tidy_rows += tidy
        change_rows.append(change)
    if missing_n:
        _refuse_missing_n(missing_n)

    percentages = pd.DataFrame(percent_rows)
    percentages["n"] = percentages["n"].astype("Int64")
    n_assumed = bool(percentages["n_is_assumed"].any())
    messages = _assumed_n_messages(percentages) if n_assumed else []
    for text in messages:
        warnings.warn(text, StatisticalWarning, stacklevel=2)
    estimates = tidy_frame(tidy_rows)
    for col in ("year_start", "year_end"):
        estimates[col] = estimates[col].astype("int64")
    return PopulationHealthResult(
        estimates=estimates,
        tables={"percentages": percentages, "changes": pd.DataFrame(change_rows)},
        method=_method_text(n_assumed),
        settings={"area": area, "reference": reference, "indicators": list(chosen),
                  "start": start, "end": end, "alpha": alpha, "n_assumed": n_assumed},
        warnings=messages,
    )


def _check_areas(data: pd.DataFrame, area: str, reference: str) -> None:
    """Both areas exist in the monitor table and differ."""
    areas = sorted(pd.unique(data["area"]).tolist())
    for name, value in (("area", area), ("reference", reference)):
        if value not in areas:
            raise SpecificationError(
                f"The value for `{name}` must be one of {areas}, but {value!r} was passed."
            )
    if area == reference:
        raise SpecificationError("`area` and `reference` must differ, but both are "
                                 f"{area!r}.")


def _period(part: pd.DataFrame, ind: str, area: str, reference: str,
            start: int | None, end: int | None) -> tuple[int, int]:
    """The start and end year of one indicator: given, or the first and last common."""
    years_a = set(part.loc[part["area"] == area, "year"].tolist())
    years_r = set(part.loc[part["area"] == reference, "year"].tolist())
    common = sorted(years_a & years_r)
    y0 = common[0] if start is None else start
    y1 = common[-1] if end is None else end
    for label, y in (("start", y0), ("end", y1)):
        if y not in common:
            raise SpecificationError(
                f"The value for `{label}` must be a year both {area!r} and "
                f"{reference!r} have for indicator {ind!r} (one of {common}), but "
                f"{y!r} was passed."
            )
    if y0 >= y1:
        raise SpecificationError(
            f"`start` ({y0}) must be before `end` ({y1}) for indicator {ind!r}."
        )
    return y0, y1


def _percent_rows(rows: pd.DataFrame, ind: str, name: str, role: str,
                  alpha: float) -> list[dict[str, Any]]:
    """One row per year of one area and indicator, with its Wilson interval."""
    out = []
    for _, r in rows.iterrows():
        n = r["n"]
        has_n = not pd.isna(n)
        lo, hi = (wilson_interval(r["percent"] / 100 * n, n, alpha=alpha) if has_n
                  else (np.nan, np.nan))
        out.append({
            "indicator": ind, "area": name, "role": role, "year": int(r["year"]),
            "percent": float(r["percent"]), "ci_lower": 100 * float(lo),
            "ci_upper": 100 * float(hi), "n": int(n) if has_n else pd.NA,
            "n_is_assumed": bool(r["n_is_assumed"]),
        })
    return out


def _comparison(part: pd.DataFrame, ind: str, area: str, reference: str, y0: int, y1: int,
                alpha: float) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Tidy rows (percentages, changes, difference in change) and the changes-table row
    of one indicator."""
    def pick(name: str, year: int) -> pd.Series:
        return part[(part["area"] == name) & (part["year"] == year)].iloc[0]

    cells = [pick(area, y0), pick(area, y1), pick(reference, y0), pick(reference, y1)]
    p = np.array([c["percent"] / 100 for c in cells])
    n = np.array([float(c["n"]) for c in cells])
    assumed = bool(any(bool(c["n_is_assumed"]) for c in cells))
    dic = difference_in_changes(p, n, alpha=alpha)
    tidy: list[dict[str, Any]] = []
    changes = {}
    for role, name, i in (("area", area, 0), ("reference", reference, 2)):
        d, lo, hi = newcombe_difference(p[i + 1] * n[i + 1], n[i + 1], p[i] * n[i], n[i],
                                        alpha=alpha)
        se = float(np.sqrt(p[i] * (1 - p[i]) / n[i] + p[i + 1] * (1 - p[i + 1])
                           / n[i + 1]))
        changes[role] = (float(d), float(lo), float(hi))
        for year, j in ((y0, i), (y1, i + 1)):
            lo_p, hi_p = wilson_interval(p[j] * n[j], n[j], alpha=alpha)
            tidy.append({
                "term": f"percent:{ind}:{name}:{year}", "estimate": 100 * p[j],
                "ci_lower": 100 * float(lo_p), "ci_upper": 100 * float(hi_p),
                "n": int(n[j]), "indicator": ind, "area": name, "year_start": year,
                "year_end": year, "n_is_assumed": bool(cells[j]["n_is_assumed"]),
            })
        tidy.append({
            "term": f"change:{ind}:{name}", "estimate": 100 * float(d),
            "std_error": 100 * se, "ci_lower": 100 * float(lo),
            "ci_upper": 100 * float(hi), "n": int(n[i] + n[i + 1]),
            "indicator": ind, "area": name, "year_start": y0, "year_end": y1,
            "n_is_assumed": bool(cells[i]["n_is_assumed"] or cells[i + 1]["n_is_assumed"]),
        })
    tidy.append({
        "term": f"difference_in_change:{ind}", "estimate": 100 * float(dic.estimate),
        "std_error": 100 * float(dic.std_error), "ci_lower": 100 * float(dic.lower),
        "ci_upper": 100 * float(dic.upper), "p_value": float(dic.p_value),
        "n": int(n.sum()), "indicator": ind, "area": f"{area} − {reference}",
        "year_start": y0, "year_end": y1, "n_is_assumed": assumed,
    })
    change = {
        "indicator": ind, "year_start": y0, "year_end": y1,
        "area_start": 100 * p[0], "area_end": 100 * p[1],
        "area_change": 100 * changes["area"][0],
        "area_change_ci_lower": 100 * changes["area"][1],
        "area_change_ci_upper": 100 * changes["area"][2],
        "reference_start": 100 * p[2], "reference_end": 100 * p[3],
        "reference_change": 100 * changes["reference"][0],
        "reference_change_ci_lower": 100 * changes["reference"][1],
        "reference_change_ci_upper": 100 * changes["reference"][2],
        "difference_in_change": 100 * float(dic.estimate),
        "ci_lower": 100 * float(dic.lower), "ci_upper": 100 * float(dic.upper),
        "p_value": float(dic.p_value), "n_area": int(n[0] + n[1]),
        "n_reference": int(n[2] + n[3]), "n": int(n.sum()), "n_is_assumed": assumed,
    }
    return tidy, change


def _refuse_missing_n(missing_n: list[int]) -> None:
    rows = [int(i) for i in missing_n]
    raise DataValidationError("monitor", "monitor", [Violation(
        "n", "missing value", n_rows=len(rows), rows=tuple(rows[:5]),
        detail="The interval of a percentage needs the number of respondents `n`. "
               "If it is not published, give an assumed n and set `n_is_assumed` "
               "to true: the result then says the intervals rest on it.",
    )])


def _assumed_n_messages(percentages: pd.DataFrame) -> list[str]:
    which = percentages.loc[percentages["n_is_assumed"], ["area", "n"]].drop_duplicates()
    listed = ", ".join(f"{a} n={int(k)}" for a, k in zip(which["area"], which["n"],
                                                          strict=True))
    return [f"The intervals rest on an assumed number of respondents ({listed}), not a "
            "published count; they are only as good as that assumption."]


def _method_text(n_assumed: bool) -> str:
    method = (
        "Each percentage as a proportion of a simple random sample of n respondents, "
        "Wilson interval; every area × year an independent sample. Change per area: end "
        "minus start, Newcombe hybrid score interval. Difference in changes (area change "
        "minus reference change, percentage points): MOVER interval combining the four "
        "Wilson intervals (Zou & Donner 2008), Wald SE sqrt(sum p(1-p)/n) and Wald "
        "p-value. No survey weights or design effect."
    )
    if n_assumed:
        method += (" The n behind the percentages is an assumption (n_is_assumed), not a "
                   "published count: the intervals rest on it.")
    return method


def _indicators(
    sub: pd.DataFrame, area: str, reference: str, indicators: str | Sequence[str] | None
) -> list[str]:
    """The indicators to compare, checked against what both areas have."""
    def years(name: str, ind: str) -> set[int]:
        rows = sub[(sub["area"] == name) & (sub["indicator"] == ind)]
        return set(rows["year"].tolist())

    available = sorted(
        ind for ind in pd.unique(sub["indicator"]).tolist()
        if len(years(area, ind) & years(reference, ind)) >= 2
    )
    if indicators is None:
        if not available:
            raise SpecificationError(
                f"No indicator has at least two years for both {area!r} and {reference!r}."
            )
        return available
    wanted = [indicators] if isinstance(indicators, str) else list(indicators)
    for ind in wanted:
        if ind not in available:
            raise SpecificationError(
                f"The value for `indicators` must be among {available} (indicators both "
                f"areas have in at least two years), but {ind!r} was passed."
            )
    return wanted
