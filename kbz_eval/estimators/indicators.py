"""Practice indicators and neighbourhood-specialist consultations.

- :func:`indicator_spread`: the spread of a practice-level indicator (e.g. the IVM
  prescribing-efficiency score) across practices per year: range, quartiles, each
  practice as a point (Aim 3 support);
- :func:`referrals_avoided`: the share of neighbourhood-specialist (wijkspecialist)
  consultations after which a hospital referral was avoided, overall and per
  specialism, with Wilson intervals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from kbz_eval.errors import DataValidationError, SpecificationError, Violation
from kbz_eval.estimators.proportions import check_alpha, wilson_interval
from kbz_eval.results import Result, tidy_frame
from kbz_eval.validation import validate

#: Practice groups of the ``practices`` table.
GROUPS: tuple[str, ...] = ("kbz", "control")


# =========================================================================== spread
@dataclass(repr=False)
class IndicatorSpreadResult(Result):
    """Result of :func:`indicator_spread`.

    ``tidy()`` rows per group and year: ``<group>:<year>:min``, ``:q1``, ``:median``,
    ``:q3``, ``:max``, ``:range`` and ``:iqr`` (descriptive, no intervals; ``n`` =
    practices). Extra columns ``group``, ``year``, ``statistic``.

    ``tables``: ``spread`` (one row per group × year: ``n`` practices, min, quartiles,
    max, range, IQR).
    """

    title: ClassVar[str] = "indicator spread across practices"
    plotter: ClassVar[str | None] = "surveys:plot_indicator_spread"

    scores: pd.DataFrame | None = None

    def plot_data(self) -> pd.DataFrame:
        """What is drawn, one row per element.

        Columns ``group, year, element, value``: ``element`` is ``"practice"`` (one
        point per practice), or ``"min"``, ``"q1"``, ``"median"``, ``"q3"``, ``"max"``
        (the range drawn as a thin vertical line min–max, the IQR as a thick one
        q1–q3, the median as a tick). ``x`` is the horizontal position: the year,
        shifted per group when there are two.
        """
        spread = self.tables["spread"]
        groups = list(pd.unique(spread["group"]))
        offset = {g: (i - (len(groups) - 1) / 2) * 0.2 for i, g in enumerate(groups)}
        scores = self.scores if self.scores is not None else pd.DataFrame(
            columns=["group", "year", "score_percent"])
        points = pd.DataFrame({
            "group": scores["group"].to_numpy(), "year": scores["year"].to_numpy(),
            "element": "practice", "value": scores["score_percent"].to_numpy(dtype=float),
        })
        stats_long = spread.melt(id_vars=["group", "year"],
                                 value_vars=["min", "q1", "median", "q3", "max"],
                                 var_name="element", value_name="value")
        out = pd.concat([points, stats_long], ignore_index=True)
        out["x"] = out["year"].astype(float) + out["group"].map(offset).astype(float)
        out["year"] = out["year"].astype("int64")
        out["element"] = out["element"].astype(str)
        out["group"] = out["group"].astype(str)
        return out.sort_values(["group", "year", "element"], kind="stable",
                               ignore_index=True)

    def headline(self) -> str:
        """Range in the first and the last year, per group."""
        spread = self.tables["spread"]
        parts = []
        for group, part in spread.groupby("group", sort=False):
            first, last = part.iloc[0], part.iloc[-1]
            label = "" if group == "all" else f"{group}: "
            parts.append(
                f"{label}{first['min']:.0f}–{first['max']:.0f}% in {int(first['year'])} "
                f"→ {last['min']:.0f}–{last['max']:.0f}% in {int(last['year'])} "
                f"(IQR {first['iqr']:.0f} → {last['iqr']:.0f} points, "
                f"{int(last['n'])} practices)"
            )
        return f"{self.settings['indicator']}: " + "; ".join(parts)


def indicator_spread(
    practice_indicators: pd.DataFrame,
    *,
    indicator: str = "ivm",
    practices: pd.DataFrame | None = None,
    group: str | None = None,
    years: Sequence[int] | None = None,
) -> IndicatorSpreadResult:
    """Spread of a practice-level indicator across practices, per year.

    Parameters
    ----------
    practice_indicators
        The ``practice_indicators`` table (``practice_id, year, indicator,
        score_percent``). Not changed.
    indicator
        Which indicator (default ``"ivm"``, the prescribing-efficiency score).
    practices
        The ``practices`` table; when given the spread is shown per group
        (``kbz``/``control``).
    group
        Only this group (``"kbz"`` or ``"control"``); needs ``practices``.
    years
        Only these years (e.g. ``(2013, 2016)``); default every year in the data.

    Returns
    -------
    IndicatorSpreadResult
        Range, quartiles and IQR per (group and) year; ``.plot()`` draws each practice
        as a point with the range and the IQR.

    Raises
    ------
    DataValidationError
        If a table breaks its contract (a score outside 0–100, a practice missing from
        ``practices``, ...), or no practice has a score for the indicator.
    SpecificationError
        For an unknown indicator, group or year, or ``group`` without ``practices``.

    Notes
    -----
    Descriptive: the minimum, quartiles (linear interpolation, numpy's default) and
    maximum of the practices' scores each year. The practices are the whole population
    of interest, so no sampling interval is given.
    """
    if group is not None:
        if group not in GROUPS:
            raise SpecificationError(
                f"The value for `group` must be one of {list(GROUPS)} or None, but "
                f"{group!r} was passed."
            )
        if practices is None:
            raise SpecificationError("`group` needs the `practices` table (which "
                                     "practices are kbz and which control).")
    refs = {"practices": practices} if practices is not None else None
    data = validate(practice_indicators, "practice_indicators",
                    source="practice_indicators", references=refs).data
    available = sorted(pd.unique(data["indicator"]).tolist())
    if indicator not in available:
        raise SpecificationError(
            f"The value for `indicator` must be one of {available}, but {indicator!r} "
            "was passed."
        )
    data = data[data["indicator"] == indicator]
    if years is not None:
        wanted = [years] if isinstance(years, (int, np.integer)) else list(years)
        present = sorted(pd.unique(data["year"]).tolist())
        unknown = [y for y in wanted if y not in present]
        if not wanted or unknown:
            raise SpecificationError(
                f"The value for `years` must be years in the data for {indicator!r} "
                f"({present}), but {years!r} was passed."
            )
        data = data[data["year"].isin(wanted)]
    if practices is not None:
        prac = validate(practices, "practices", source="practices").data
        data = data.merge(prac[["practice_id", "group"]].astype({"group": str}),
                          on="practice_id", how="left", validate="many_to_one")
        if group is not None:
            data = data[data["group"] == group]
    else:
        data = data.assign(group="all")
    data = data.dropna(subset=["score_percent"])
    if data.empty:
        raise DataValidationError("practice_indicators", "practice_indicators", [Violation(
            "score_percent", "no rows",
            detail=f"No practice has a score for indicator {indicator!r}"
                   + (f" in group {group!r}." if group else "."),
        )])
    rows = []
    tidy_rows: list[dict[str, Any]] = []
    order = [g for g in (*GROUPS, "all") if g in set(data["group"])]
    for g in order:
        for year, part in data[data["group"] == g].groupby("year", sort=True):
            s = part["score_percent"].to_numpy(dtype=float)
            q1, med, q3 = np.quantile(s, [0.25, 0.5, 0.75])
            row = {"group": g, "year": int(year), "n": int(s.size), "min": float(s.min()),
                   "q1": float(q1), "median": float(med), "q3": float(q3),
                   "max": float(s.max()), "range": float(s.max() - s.min()),
                   "iqr": float(q3 - q1)}
            rows.append(row)
            for stat in ("min", "q1", "median", "q3", "max", "range", "iqr"):
                tidy_rows.append({"term": f"{g}:{int(year)}:{stat}", "estimate": row[stat],
                                  "n": row["n"], "group": g, "year": int(year),
                                  "statistic": stat})
    spread = pd.DataFrame(rows)
    estimates = tidy_frame(tidy_rows)
    estimates["year"] = estimates["year"].astype("int64")
    scores = data[["group", "year", "score_percent"]].sort_values(
        ["group", "year", "score_percent"], kind="stable", ignore_index=True)
    return IndicatorSpreadResult(
        estimates=estimates,
        tables={"spread": spread},
        method=(
            "Descriptive spread of the practices' scores per year: minimum, quartiles "
            "(linear interpolation), maximum, range and interquartile range; n = "
            "practices. No sampling interval: the practices are the population of "
            "interest."
        ),
        settings={"indicator": indicator, "group": group,
                  "years": sorted(int(y) for y in pd.unique(data["year"])),
                  "by_group": practices is not None},
        scores=scores,
    )


# =========================================================================== referrals
@dataclass(repr=False)
class ReferralsAvoidedResult(Result):
    """Result of :func:`referrals_avoided`.

    ``tidy()`` rows: ``share_avoided:all`` and ``share_avoided:<specialism>`` (Wilson
    intervals); extra column ``specialism``. ``tables``: ``shares`` (the same with the
    counts: ``avoided``, ``n``).
    """

    title: ClassVar[str] = "referrals avoided by neighbourhood specialists"
    plotter: ClassVar[str | None] = "surveys:plot_referrals_avoided"

    def plot_data(self) -> pd.DataFrame:
        """Points with interval bars, one row per specialism and one for all:
        ``specialism, share, ci_lower, ci_upper, n, position`` (shares in percent;
        ``position`` is the y position, the overall row at the top, 0)."""
        shares = self.tables["shares"]
        out = pd.DataFrame({
            "specialism": shares["specialism"].astype(str).to_numpy(),
            "share": 100 * shares["share"].to_numpy(),
            "ci_lower": 100 * shares["ci_lower"].to_numpy(),
            "ci_upper": 100 * shares["ci_upper"].to_numpy(),
            "n": shares["n"].to_numpy(),
            "position": np.arange(len(shares)),
        })
        return out

    def headline(self) -> str:
        """Overall share with its interval."""
        r = self.tables["shares"].iloc[0]
        level = f"{100 * (1 - self.settings.get('alpha', 0.05)):g}%"
        return (
            f"{int(r['avoided'])} of {int(r['n'])} consultations avoided a referral: "
            f"{100 * r['share']:.0f}% ({level} CI {100 * r['ci_lower']:.0f}–"
            f"{100 * r['ci_upper']:.0f}%)"
        )


def referrals_avoided(consults: pd.DataFrame, *, alpha: float = 0.05) -> ReferralsAvoidedResult:
    """Share of neighbourhood-specialist consultations that avoided a referral.

    Parameters
    ----------
    consults
        The ``consults`` table (``consult_id, specialism, referral_avoided``). Not
        changed.
    alpha
        ``1 - alpha`` is the coverage of every interval.

    Returns
    -------
    ReferralsAvoidedResult
        Overall and per-specialism shares with Wilson intervals; ``.plot()`` draws them.

    Raises
    ------
    DataValidationError
        If the table breaks its contract (a non-boolean ``referral_avoided``, a duplicate
        ``consult_id``, ...) or has no rows.
    SpecificationError
        For an invalid ``alpha``.

    Notes
    -----
    Each consultation is one binomial trial; the share is avoided / consultations with a
    Wilson score interval. Consultations of one patient or one GP may be correlated;
    the data do not say, so the intervals assume independence.
    """
    alpha = check_alpha(alpha)
    data = validate(consults, "consults", source="consults").data
    if data.empty:
        raise DataValidationError("consults", "consults", [Violation(
            "referral_avoided", "no rows", detail="The consults table has no rows.")])
    avoided = data["referral_avoided"].to_numpy(dtype=bool)
    cells = [("all", avoided)]
    counts = data.groupby("specialism", sort=True)["referral_avoided"]
    order = sorted(counts.groups, key=lambda s: (-len(counts.groups[s]), str(s)))
    cells += [(str(s), data.loc[data["specialism"] == s, "referral_avoided"]
               .to_numpy(dtype=bool)) for s in order]
    rows = []
    tidy_rows: list[dict[str, Any]] = []
    for name, values in cells:
        n, x = int(values.size), int(values.sum())
        lo, hi = wilson_interval(x, n, alpha=alpha)
        rows.append({"specialism": name, "avoided": x, "n": n, "share": x / n,
                     "ci_lower": float(lo), "ci_upper": float(hi)})
        tidy_rows.append({"term": f"share_avoided:{name}", "estimate": x / n,
                          "ci_lower": float(lo), "ci_upper": float(hi), "n": n,
                          "specialism": name})
    return ReferralsAvoidedResult(
        estimates=tidy_frame(tidy_rows),
        tables={"shares": pd.DataFrame(rows)},
        method=(
            "Share of consultations after which a hospital referral was avoided, overall "
            "and per specialism: a binomial proportion with a Wilson score interval; "
            "consultations are assumed independent."
        ),
        settings={"alpha": alpha},
    )
