"""KBZ areas against references: cities against the country (Aim 3, costs) and
Overvecht against Utrecht, the other Utrecht districts and the country (Aim 2, health).

Areas are selected by their key (the Vektis spelling such as ``"S GRAVENHAGE"``, or a
StatLine code such as ``"WK034403"``); every label, headline, method text and table shows
the display name (:func:`display_name`: "Den Haag", "Overvecht", "Netherlands"), with
the area's key in an ``area_code`` column for traceability (the references' keys are in
``settings``).
"""

from __future__ import annotations

import functools
import itertools
import warnings as _warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from kbz_eval.errors import SpecificationError, StatisticalWarning
from kbz_eval.open_data.download import ATTRIBUTION, RIVM_YEARS
from kbz_eval.open_data.rivm import HEALTH_INDICATORS, INDICATOR_LABELS, rivm_health
from kbz_eval.open_data.standardise import (
    COUNTRY,
    CostPerInsuredYear,
    cost_per_insured_year,
    resolve_areas,
)
from kbz_eval.open_data.synthetic_control import (
    KBZ_ROLLOUT,
    KBZ_WAVES,
    SyntheticControl,
    donor_pool,
    synthetic_control,
)
from kbz_eval.open_data.vektis import SERIES_BREAKS, display_name
from kbz_eval.results import Result, tidy_frame

#: The KBZ cities as spelled in the Vektis files.
KBZ_CITIES = tuple(KBZ_ROLLOUT)
#: Label of the donor-pool reference series.
DONOR_MEAN = "donor pool mean"
#: The Overvecht district (wijk) of Utrecht in StatLine codes.
OVERVECHT = "WK034403"
#: Whether a higher percentage is the better outcome, per Aim 2 indicator.
HIGHER_IS_BETTER = {"good_health": True, "exercise_guideline": True,
                    "financial_strain": False, "loneliness": False}
_NO_INTERVAL = "none: point estimates only (no n or margins published)"


# --------------------------------------------------------------------------- Aim 3
@dataclass(repr=False)
class AreaComparison(Result):
    """Areas against the country and against the donor-pool mean, year by year.

    ``estimates``: per area × reference × year the difference (area minus reference,
    euro per insured year; ``term`` ``"<area> <year> minus <reference>"``) and per area ×
    reference the difference in change between the pre- and post-rollout means
    (``"<area> change minus <reference> change"``). Extra columns: ``area, reference``
    (display names), ``area_code`` (the area's Vektis spelling), ``year, area_value,
    reference_value, ratio, rollout_year, post``.
    """

    title: ClassVar[str] = "KBZ cities against references (cost per insured year)"
    plotter: ClassVar[str | None] = "open_data:area_comparison"

    def plot_data(self) -> pd.DataFrame:
        """Series drawn: area, year, value (areas, the country and the donor mean)."""
        return self.tables["series"].copy()

    def summary(self) -> pd.DataFrame:
        """Difference in change per area and reference."""
        est = self.tidy()
        return est[est["term"].str.contains("change minus")][
            ["term", "estimate", "area", "reference", "rollout_year"]].round(2)

    def headline(self) -> str:
        s = self.summary()
        s = s[s["reference"] == display_name(COUNTRY)]
        if s.empty:
            return self.title
        parts = [f"{a} {v:+.0f}" for a, v in zip(s["area"], s["estimate"], strict=True)]
        return ("change after rollout minus change in the country (EUR/insured year): "
                + ", ".join(parts))


def compare_areas(costs: CostPerInsuredYear | None = None, *,
                  areas: Iterable[str] = KBZ_CITIES, group: str = "total",
                  method: str = "direct", n_donors: int = 30,
                  rollout: dict[str, int] | None = None,
                  folder: str | Path | None = None) -> AreaComparison:
    """Standardised cost per insured year of areas against the country and comparable
    municipalities, with the KBZ rollout years marked.

    Parameters
    ----------
    costs
        A :func:`~kbz_eval.open_data.cost_per_insured_year` result holding every
        municipality (needed for the donor pool); default computed from ``folder``.
    areas
        Municipalities to compare (default the KBZ cities).
    group, method
        Cost group and method (``"crude"``, ``"direct"``, ``"indirect"``).
    n_donors
        Size of the comparison pool (largest non-KBZ municipalities, see
        :func:`~kbz_eval.open_data.synthetic_control.donor_pool`).
    rollout
        Area -> first KBZ year; default :data:`KBZ_ROLLOUT` (areas without one get no
        pre/post split).

    Returns
    -------
    AreaComparison

    Notes
    -----
    The difference in change is
    :math:`(\\bar y^{post}_a - \\bar y^{pre}_a) - (\\bar y^{post}_r - \\bar y^{pre}_r)`
    with means over the years before and from the rollout year. The donor-pool mean is
    the unweighted mean of the pool's standardised rates. These are population totals,
    so there is no sampling interval; for inference against comparable municipalities
    use :func:`~kbz_eval.open_data.synthetic_control` (placebo-in-space).
    """
    if costs is None:
        costs = cost_per_insured_year(folder=folder, groups=[group], methods=[method])
    est = costs.estimates
    sel = est[(est["cost_group"] == group) & (est["method"] == method)]
    if sel.empty:
        raise SpecificationError(
            f"The cost result has no rows for group {group!r} and method {method!r}."
        )
    panel = sel.pivot(index="year", columns="area", values="estimate").sort_index()
    if COUNTRY not in panel.columns:
        raise SpecificationError("The cost result lacks the country (NEDERLAND).")
    names = resolve_areas(list(areas), panel.columns)
    pool = donor_pool(costs, n_donors=n_donors, exclude=names)
    if len(pool) < 2:
        raise SpecificationError("The cost result holds too few municipalities for a donor "
                                 "pool; compute it without `areas=`.")
    default_rollout = rollout is None
    rollout = dict(KBZ_ROLLOUT if default_rollout else rollout)
    waves = {a: (list(KBZ_WAVES.get(a, ())) if default_rollout
                 else ([rollout[a]] if a in rollout else [])) for a in names}
    refs = {COUNTRY: panel[COUNTRY], DONOR_MEAN: panel[pool].mean(axis=1)}
    breaks = SERIES_BREAKS.get(group, {})
    rows = []
    for a in names:
        start = rollout.get(a)
        shown = display_name(a)
        for ref_name, ref in refs.items():
            ref_shown = display_name(ref_name)
            for year, value in panel[a].items():
                rows.append({
                    "term": f"{shown} {year} minus {ref_shown}", "estimate": value - ref[year],
                    "area": shown, "area_code": a, "reference": ref_shown, "year": int(year),
                    "area_value": value,
                    "reference_value": ref[year], "ratio": value / ref[year],
                    "rollout_year": start, "post": None if start is None else year >= start,
                    "definition_change": int(year) in breaks,
                })
            if start is not None:
                pre = panel.index < start
                if pre.any() and (~pre).any():
                    d_area = panel[a][~pre].mean() - panel[a][pre].mean()
                    d_ref = ref[~pre].mean() - ref[pre].mean()
                    rows.append({
                        "term": f"{shown} change minus {ref_shown} change",
                        "estimate": d_area - d_ref, "area": shown, "reference": ref_shown,
                        "area_code": a, "area_value": d_area,
                        "reference_value": d_ref, "rollout_year": start,
                    })
    series = pd.concat(
        [panel[[*names, COUNTRY]].rename_axis(columns="area").stack().rename("value").reset_index(),
         refs[DONOR_MEAN].rename("value").reset_index().assign(area=DONOR_MEAN)],
        ignore_index=True)[["area", "year", "value"]]
    series["rollout_years"] = series["area"].map(
        lambda x: ",".join(str(y) for y in waves.get(x, [])))
    series.insert(1, "area_code", series["area"])
    series["area"] = series["area"].map(display_name)
    method_text = (
        f"Difference between each area's {method} {group} cost per insured year and (a) the "
        f"country, (b) the unweighted mean of the {len(pool)} largest non-KBZ "
        f"municipalities; per year and as difference in change between the pre- and "
        f"post-rollout means. Rollout years: "
        f"{', '.join(f'{display_name(a)} {rollout[a]}' for a in names if a in rollout)}. "
        f"Population totals: no sampling interval. {ATTRIBUTION['vektis']}"
    )
    return AreaComparison(
        estimates=tidy_frame(rows),
        tables={"series": series,
                "donors": pd.DataFrame({"donor": [display_name(d) for d in pool],
                                        "area_code": pool}),
                "rollout": pd.DataFrame({"area": [display_name(a) for a in rollout],
                                         "area_code": list(rollout),
                                         "rollout_year": list(rollout.values())})},
        method=method_text,
        settings={"areas": names, "group": group, "method": method, "n_donors": len(pool),
                  "rollout": rollout, "waves": waves},
    )


# --------------------------------------------------------------------------- Aim 2
@dataclass(repr=False)
class AreaHealthChange(Result):
    """Change in health-monitor percentages of an area against references.

    ``estimates``: per indicator × reference × pair of years, the area's change minus
    the reference's change (percentage points; ``term`` ``"<indicator> <y0>-<y1>:
    <area> change minus <reference> change"``), with ``std_error``/interval empty and the
    column ``inference`` saying why; extra columns ``indicator, area, reference`` (display
    names: "Overvecht", "Utrecht", "other districts of Utrecht", "Netherlands"),
    ``area_code`` (the area's StatLine code; ``settings["references"]`` holds the codes
    each reference averages), ``year_from, year_to, area_change, reference_change,
    favourable, rank_among_districts, n_districts``. In ``levels`` ``area_code`` lists
    the codes averaged.
    """

    title: ClassVar[str] = "Population health change (RIVM small-area estimates)"
    plotter: ClassVar[str | None] = "open_data:health_change"

    def plot_data(self) -> pd.DataFrame:
        """Longest-span difference in change per indicator and reference."""
        est = self.tidy()
        est = est.assign(span=est["year_to"] - est["year_from"])
        best = est.sort_values("span", kind="stable").groupby(
            ["indicator", "reference"], sort=False).tail(1)
        return best[["indicator", "reference", "year_from", "year_to", "estimate",
                     "favourable"]].reset_index(drop=True)

    def summary(self) -> pd.DataFrame:
        return self.tidy()[["term", "estimate", "area_change", "reference_change",
                            "favourable", "rank_among_districts", "n_districts",
                            "inference"]].round(2)

    def headline(self) -> str:
        rows = self.plot_data()
        rows = rows[(rows["indicator"] == "good_health")]
        if rows.empty:
            return self.title
        r = rows.iloc[0]
        return (f"good self-rated health {int(r['year_from'])}-{int(r['year_to'])}: "
                f"{self._area_name()} change minus {r['reference']} change "
                f"{r['estimate']:+.1f} points (plain difference, no interval)")

    def _area_name(self) -> str:
        """The compared area's display name."""
        return self.settings.get("area_name") or display_name(self.settings.get("area", ""))


def _references(area: str, codes: Sequence[str],
                names: dict[str, str]) -> dict[str, list[str]]:
    """Reference display name -> region codes averaged, by the area's type."""

    def label(code: str) -> str:
        return display_name(code, names)

    if area.startswith("WK"):
        city = "GM" + area[2:6]
        others = sorted(c for c in codes if c.startswith("WK" + area[2:6]) and c != area)
        return {label(city): [city], f"other districts of {label(city)}": others,
                label("NL01"): ["NL01"]}
    if area.startswith("BU"):
        district, city = "WK" + area[2:8], "GM" + area[2:6]
        return {label(district): [district], label(city): [city], label("NL01"): ["NL01"]}
    if area.startswith("GM"):
        return {label("NL01"): ["NL01"]}
    raise SpecificationError(
        f"`area` must be a StatLine region code (GM..../WK....../BU........), got {area!r}."
    )


def area_health_change(data: pd.DataFrame | None = None, *, area: str = OVERVECHT,
                       indicators: Iterable[str] = tuple(HEALTH_INDICATORS),
                       years: Iterable[int] = RIVM_YEARS, age_group: str = "18+",
                       folder: str | Path | None = None) -> AreaHealthChange:
    """Change in health-monitor indicators of an area minus the change in references.

    Parameters
    ----------
    data
        The table of :func:`~kbz_eval.open_data.rivm_health`; default read from
        ``folder``.
    area
        StatLine region code; default Overvecht (``WK034403``). References follow from
        the code: a district is compared with its city, the mean of the city's other
        districts and the country; a neighbourhood with its district, city and country;
        a municipality with the country.
    indicators
        Aim 2 names (:data:`~kbz_eval.open_data.rivm.HEALTH_INDICATORS`) or StatLine
        columns.
    years
        Survey years (2012, 2016, 2020); every pair with both estimates is compared.
    age_group
        ``"18+"``, ``"18-64"`` or ``"65+"``.

    Returns
    -------
    AreaHealthChange

    Notes
    -----
    Difference in changes :math:`(p_{a,t_1} - p_{a,t_0}) - (p_{r,t_1} - p_{r,t_0})` in
    percentage points. The open table publishes point estimates only (no respondents, no
    margins), so these are **plain differences without intervals**; the result says so
    in ``method`` and the ``inference`` column. As a distribution-free yardstick each
    change is ranked among all districts of the city (``rank_among_districts``, 1 = the
    largest increase). "Other districts" is the unweighted mean of their estimates (the
    table has no population counts). The estimates are model-based small-area
    estimates; part of a district's change can be model smoothing.
    """
    indicators = list(indicators)
    columns = [HEALTH_INDICATORS.get(i, i) for i in indicators]
    names = {HEALTH_INDICATORS.get(i, i): i for i in indicators}
    if data is None:
        data = rivm_health(years, folder, age_groups=[age_group], measures=indicators)
    table = data[(data["age_group"] == age_group) & data["measure"].isin(columns)
                 & data["year"].isin([int(y) for y in years])].copy()
    margins = sorted(set(table["margin"]) - {"MW00000"}) if "margin" in table else []
    table = table[table["margin"] == "MW00000"] if "margin" in table else table
    codes = sorted(set(table["area_code"]))
    if area not in codes:
        raise SpecificationError(f"Region {area!r} is not in the RIVM data.")
    names_by_code = (table[table["area_type"].isin(["country", "municipality"])]
                     .drop_duplicates("area_code").set_index("area_code")["municipality"]
                     .astype(str).to_dict() if "municipality" in table else {})
    refs = _references(area, codes, names_by_code)
    area_name = display_name(area, names_by_code)
    table["indicator"] = table["measure"].map(names)
    wide = table.pivot_table(index=["indicator", "year"], columns="area_code", values="value")
    district_prefix = "WK" + area[2:6] if area.startswith("WK") else None
    rows, levels = [], []
    for ind in indicators:
        if ind not in wide.index.get_level_values(0):
            continue
        sub = wide.loc[ind]
        avail = [y for y in sorted(sub.index) if pd.notna(sub.loc[y].get(area, np.nan))]
        series = {area: sub[area]}
        for label, members in refs.items():
            present = [m for m in members if m in sub.columns]
            series[label] = sub[present].mean(axis=1) if present else pd.Series(np.nan, sub.index)
        for label, s in series.items():
            members = [area] if label == area else refs[label]
            for y, v in s.items():
                levels.append({"indicator": ind, "year": int(y),
                               "area": area_name if label == area else label,
                               "area_code": ", ".join(members), "value": v})
        districts = [c for c in sub.columns if district_prefix and c.startswith(district_prefix)]
        for y0, y1 in itertools.combinations(avail, 2):
            d_area = series[area][y1] - series[area][y0]
            rank = n_d = None
            if districts:
                changes = (sub.loc[y1, districts] - sub.loc[y0, districts]).dropna()
                n_d = len(changes)
                rank = int((changes > d_area).sum() + 1)
            for label, s in series.items():
                if label == area or pd.isna(s[y0]) or pd.isna(s[y1]):
                    continue
                d_ref = s[y1] - s[y0]
                dic = d_area - d_ref
                better = HIGHER_IS_BETTER.get(ind)
                rows.append({
                    "term": f"{ind} {y0}-{y1}: {area_name} change minus {label} change",
                    "estimate": dic, "indicator": ind, "area": area_name, "area_code": area,
                    "reference": label,
                    "year_from": int(y0), "year_to": int(y1), "area_change": d_area,
                    "reference_change": d_ref,
                    "favourable": None if better is None else bool((dic > 0) == better),
                    "rank_among_districts": rank, "n_districts": n_d,
                    "inference": _NO_INTERVAL,
                })
    if not rows:
        raise SpecificationError(f"No pair of years with estimates for {area!r}.")
    warnings = []
    missing = [i for i in indicators
               if i not in {r["indicator"] for r in rows}]
    if missing:
        warnings.append(f"{missing}: fewer than two years with estimates; not compared.")
    if margins:
        warnings.append(f"Margin rows {margins} are present but not used.")
    for msg in warnings:
        _warnings.warn(msg, StatisticalWarning, stacklevel=2)
    method_text = (
        f"Difference in changes of RIVM small-area estimates ({age_group}) between "
        f"{area_name} and {', '.join(refs)} for every pair of the years "
        f"{sorted(int(y) for y in years)}. "
        "The open files hold point estimates only (no n, no margins): plain differences, "
        "no intervals or p-values. 'Other districts' = unweighted mean of the other "
        "districts; rank_among_districts ranks the area's change among all districts of "
        f"the city (1 = largest increase). {ATTRIBUTION['rivm']}"
    )
    return AreaHealthChange(
        estimates=tidy_frame(rows),
        tables={"levels": pd.DataFrame(levels),
                "labels": pd.DataFrame({"indicator": list(INDICATOR_LABELS),
                                        "label": list(INDICATOR_LABELS.values())})},
        method=method_text,
        settings={"area": area, "area_name": area_name,
                  "references": {k: v for k, v in refs.items()},
                  "years": sorted(int(y) for y in years), "age_group": age_group,
                  "indicators": indicators},
        warnings=warnings,
    )


# --------------------------------------------------------------------------- report
def _subset(costs: CostPerInsuredYear, areas: Sequence[str]) -> CostPerInsuredYear:
    """The rows of ``areas`` shown by display name, the Vektis spelling in ``area_code``.

    The headline is written from the keyed rows (it finds the country by its key) and
    names no area, so it is kept as it was.
    """
    est = costs.estimates
    sub = est[est["area"].isin(list(areas))].reset_index(drop=True)
    keyed = replace(costs, estimates=sub,
                    settings={**costs.settings, "highlight": [a for a in areas if a != COUNTRY]})
    headline = keyed.headline()
    codes = sub["area"].astype(str).to_numpy()
    shown = [display_name(code) for code in codes]
    sub = sub.assign(term=[name + term[len(code):] for name, code, term
                           in zip(shown, codes, sub["term"], strict=True)], area=shown)
    sub.insert(sub.columns.get_loc("area") + 1, "area_code", codes)
    settings = {**costs.settings,
                "highlight": [display_name(a) for a in areas if a != COUNTRY]}
    out = replace(costs, estimates=sub, settings=settings)
    out.headline = functools.partial(_fixed_text, headline)  # type: ignore[method-assign]
    return out


def _fixed_text(text: str) -> str:
    """``text`` itself (a headline written before the rows were relabelled)."""
    return text


def open_data_section(folder: str | Path | None = None) -> dict[str, Result]:
    """Everything the report's "open data" section shows.

    Parameters
    ----------
    folder
        Data folder holding ``vektis/`` and ``rivm/`` (default: see
        :func:`~kbz_eval.open_data.download.candidate_folders`).

    Returns
    -------
    dict of str to Result
        ``"cost_per_insured_year"`` (KBZ cities and the country; total, medical-
        specialist, GP, GGZ and pharmacy; crude, direct and indirect),
        ``"kbz_cities_vs_references"`` (direct-standardised total cost against the
        country and the donor-pool mean, rollout years marked),
        ``"synthetic_control_<city>"`` for each KBZ city (``utrecht``, ``amsterdam``,
        ``rotterdam``, ``den_haag``, ``haarlem``) and ``"overvecht_health"`` (Aim 2).
        Statistical warnings are recorded in each result's ``warnings`` rather than
        emitted.

    Raises
    ------
    OpenDataNotFoundError
        When the files are not found (the message says how to download them).

    Notes
    -----
    The files are parsed once and the parsed tables kept in the open-data table cache
    (see :func:`report_tables` and :mod:`kbz_eval.open_data.cache`;
    ``KBZ_EVAL_CACHE=off`` turns it off); the results do not depend on it.
    """
    vektis_wide_latest, health = report_tables(folder)
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore", StatisticalWarning)
        costs = cost_per_insured_year(vektis_wide_latest)
        out: dict[str, Result] = {
            "cost_per_insured_year": _subset(costs, [COUNTRY, *KBZ_CITIES]),
            "kbz_cities_vs_references": compare_areas(costs),
        }
        keys = {"S GRAVENHAGE": "den_haag"}
        for city in KBZ_CITIES:
            key = keys.get(city, city.lower())
            out[f"synthetic_control_{key}"] = synthetic_control(costs, treated=city)
        out["overvecht_health"] = area_health_change(health)
    return out


def report_tables(folder: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The parsed open-data tables the report section rests on, through the table cache.

    Parameters
    ----------
    folder
        Data folder holding ``vektis/`` and ``rivm/`` (default: see
        :func:`~kbz_eval.open_data.download.candidate_folders`).

    Returns
    -------
    vektis_wide : DataFrame
        The 13 Vektis files on the latest municipal boundaries, one row per year x
        stratum (:func:`~kbz_eval.open_data.vektis.vektis_wide` with
        ``boundaries="latest"``).
    health : DataFrame
        The RIVM estimates of the Aim 2 indicators, ages 18+, 2012, 2016 and 2020
        (:func:`~kbz_eval.open_data.rivm_health`).

    Raises
    ------
    OpenDataNotFoundError
        When a file is not found.

    Notes
    -----
    Each table is read from :mod:`kbz_eval.open_data.cache` when the files it was parsed
    from have the same SHA-256 as then (and kbz_eval, its readers and pandas/pyarrow are
    unchanged); otherwise the files are parsed and the table stored. The tables are the
    same either way, so the section's results are too.
    """
    from kbz_eval.open_data.cache import cached_table
    from kbz_eval.open_data.download import VEKTIS_YEARS, rivm_path, vektis_path
    from kbz_eval.open_data.vektis import vektis_wide

    vektis_files = {f"vektis {y}": vektis_path(y, folder=folder) for y in VEKTIS_YEARS}
    rivm_files = {f"rivm {y} 18+": rivm_path(y, "18+", folder=folder) for y in RIVM_YEARS}
    wide = cached_table(
        "vektis_wide_latest", vektis_files,
        lambda: vektis_wide(VEKTIS_YEARS, folder, boundaries="latest"),
        params={"years": list(VEKTIS_YEARS), "release": "harmonised", "boundaries": "latest"},
    )
    measures = list(HEALTH_INDICATORS)
    health = cached_table(
        "rivm_health_aim2", rivm_files,
        lambda: rivm_health(RIVM_YEARS, folder, age_groups=["18+"], measures=measures),
        params={"years": list(RIVM_YEARS), "age_groups": ["18+"], "measures": measures},
    )
    return wide, health


def available(folder: str | Path | None = None) -> dict[str, bool]:
    """Whether the Vektis and RIVM files for the report are found (no reading)."""
    from kbz_eval.open_data.download import (
        VEKTIS_YEARS,
        OpenDataNotFoundError,
        rivm_path,
        vektis_path,
    )

    found = {"vektis": True, "rivm": True}
    try:
        for y in VEKTIS_YEARS:
            vektis_path(y, folder=folder)
    except OpenDataNotFoundError:
        found["vektis"] = False
    try:
        for y in RIVM_YEARS:
            rivm_path(y, "18+", folder=folder)
    except OpenDataNotFoundError:
        found["rivm"] = False
    return found


__all__ = ["AreaComparison", "AreaHealthChange", "KBZ_CITIES", "OVERVECHT", "SyntheticControl",
           "area_health_change", "available", "compare_areas", "display_name",
           "open_data_section", "report_tables"]
