"""Cost per insured year by area and year: crude, directly and indirectly standardised.

The generic :func:`standardise` works on any stratum-level table (a value, an exposure,
strata and the units to compare); :func:`cost_per_insured_year` applies it to the Vektis
files for every harmonised cost group.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
import pandas as pd

from kbz_eval.errors import SpecificationError
from kbz_eval.open_data.download import ATTRIBUTION
from kbz_eval.open_data.vektis import (
    COST_COLUMNS,
    COST_GROUPS,
    DERIVED_GROUPS,
    GGZ_BREAK_YEAR,
    INSURED_PERSONS,
    INSURED_YEARS,
    MEASURES,
    SERIES_BREAKS,
    find_municipality,
    vektis_wide,
)
from kbz_eval.results import Result, tidy_frame

Method = Literal["crude", "direct", "indirect"]
METHODS: tuple[str, ...] = ("crude", "direct", "indirect")
#: Label of the country (sum of all municipalities, rest row excluded).
COUNTRY = "NEDERLAND"
_COUNTRY_ALIASES = {"NEDERLAND", "NETHERLANDS", "THE NETHERLANDS", "NL", "NL01", "COUNTRY"}
#: Default cost groups of :func:`cost_per_insured_year`.
DEFAULT_GROUPS = ("total", "msz", "gp", "ggz", "pharmacy")
_STRATA = ("sex", "age_class")


# --------------------------------------------------------------------------- generic
def _normalise_standard(standard: pd.DataFrame | pd.Series, strata: Sequence[str],
                        match: Sequence[str], exposure: str) -> pd.DataFrame:
    """Standard population as a frame: match + strata + ``weight`` summing to 1 per match."""
    if isinstance(standard, pd.Series):
        frame = standard.rename("weight").reset_index()
    else:
        frame = standard.copy()
        if "weight" not in frame.columns:
            if exposure not in frame.columns:
                raise SpecificationError(
                    f"The standard population needs a 'weight' or '{exposure}' column; "
                    f"it has {list(frame.columns)}."
                )
            frame = frame.rename(columns={exposure: "weight"})
    need = [*match, *strata]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise SpecificationError(
            f"The standard population lacks column(s) {missing}; it needs {need} and "
            f"'weight'."
        )
    frame = frame.groupby(need, observed=True, as_index=False)["weight"].sum()
    if (frame["weight"] < 0).any():
        raise SpecificationError("Standard population weights must not be negative.")
    totals = (frame.groupby(list(match), observed=True)["weight"].transform("sum")
              if match else frame["weight"].sum())
    frame["weight"] = frame["weight"] / totals
    return frame


def standardise(data: pd.DataFrame, *, value: str, exposure: str, by: Sequence[str],
                strata: Sequence[str] = _STRATA, method: Method = "direct",
                standard: pd.DataFrame | pd.Series | None = None,
                reference: pd.DataFrame | None = None,
                match: Sequence[str] = ()) -> pd.DataFrame:
    """Crude and age/sex-standardised rates (value per unit of exposure) per unit.

    Parameters
    ----------
    data
        One row per unit (``by``) × stratum, with ``value`` and ``exposure`` columns.
    value, exposure
        Column names (e.g. cost in euro and insured years).
    by
        Columns identifying a unit (e.g. ``["municipality", "year"]``).
    strata
        Stratum columns (default sex and age class).
    method
        ``"crude"``, ``"direct"`` or ``"indirect"``.
    standard
        Direct method: the standard population, a frame with ``match`` + ``strata`` and
        ``weight`` (or ``exposure``) columns, or a Series indexed by ``strata``. Default:
        the pooled ``data`` (sum over units) per ``match`` group.
    reference
        Indirect method: the reference population, a frame with ``match`` + ``strata``,
        ``value`` and ``exposure`` columns. Default: the pooled ``data``.
    match
        Columns on which the standard / reference are matched to the units (e.g.
        ``["year"]`` for a standard per year); empty: one standard for all.

    Returns
    -------
    DataFrame
        ``by`` + ``observed``, ``exposure``, ``crude`` and ``rate`` (the estimate of
        ``method``); direct adds ``missing_weight``; indirect adds ``expected``,
        ``ratio`` (O/E) and ``reference_crude``.

    Notes
    -----
    With stratum rates :math:`r_{us} = O_{us} / N_{us}` of unit :math:`u`:

    - crude: :math:`\\sum_s O_{us} / \\sum_s N_{us}`;
    - direct: :math:`\\sum_{s \\in P_u} w_s r_{us} / \\sum_{s \\in P_u} w_s`, with
      standard weights :math:`w_s` (shares of the standard population) and
      :math:`P_u` the strata with exposure in the unit. ``missing_weight`` is
      :math:`1 - \\sum_{s \\in P_u} w_s` (0 when every stratum is present; the rate is then
      exactly the standard-weighted mean of the unit's stratum rates);
    - indirect: expected :math:`E_u = \\sum_s N_{us} R_s` with reference rates
      :math:`R_s`; ``ratio`` :math:`O_u / E_u`; ``rate`` :math:`(O_u / E_u) \\cdot R`, the
      ratio times the reference's crude rate :math:`R`.

    Identities (tested): the direct rate with the unit's own exposure as standard is the
    crude rate; the indirect ratio of the reference population itself is 1.
    """
    if method not in METHODS:
        raise SpecificationError(
            f"The value for `method` must be one of {list(METHODS)}, but {method!r} was passed."
        )
    by, strata, match = list(by), list(strata), list(match)
    missing = [c for c in [*by, *strata, value, exposure] if c not in data.columns]
    if missing:
        raise SpecificationError(f"`data` lacks column(s) {missing}.")
    bad = [c for c in match if c not in by]
    if bad:
        raise SpecificationError(f"`match` columns {bad} must also be in `by`.")
    frame = data[[*by, *strata, value, exposure]].copy()
    frame = frame[frame[value].notna() & frame[exposure].notna()]
    totals = frame.groupby(by, observed=True, sort=True).agg(
        observed=(value, "sum"), exposure=(exposure, "sum"))
    totals["crude"] = totals["observed"] / totals["exposure"]
    if method == "crude":
        totals["rate"] = totals["crude"]
        return totals.reset_index()
    present = frame[frame[exposure] > 0].copy()
    present["_r"] = present[value] / present[exposure]
    if method == "direct":
        if standard is None:
            standard = frame.groupby([*match, *strata], observed=True, as_index=False)[
                exposure].sum()
        std = _normalise_standard(standard, strata, match, exposure)
        merged = present.merge(std, on=[*match, *strata], how="left")
        merged["weight"] = merged["weight"].fillna(0.0)
        merged["_wr"] = merged["weight"] * merged["_r"]
        agg = merged.groupby(by, observed=True, sort=True).agg(
            _wr=("_wr", "sum"), _w=("weight", "sum"))
        totals["rate"] = agg["_wr"] / agg["_w"].where(agg["_w"] > 0)
        missing_w = (1.0 - agg["_w"]).clip(lower=0.0)
        totals["missing_weight"] = missing_w.where(missing_w > 1e-12, 0.0)  # rounding noise
        return totals.reset_index()
    # indirect
    if reference is None:
        reference = frame.groupby([*match, *strata], observed=True, as_index=False)[
            [value, exposure]].sum()
    ref = reference[[*match, *strata, value, exposure]].copy()
    ref = ref.groupby([*match, *strata], observed=True, as_index=False)[[value, exposure]].sum()
    ref["_R"] = ref[value] / ref[exposure].where(ref[exposure] > 0)
    ref_crude = (ref.groupby(match, observed=True)[[value, exposure]].sum() if match
                 else ref[[value, exposure]].sum().to_frame().T)
    ref_crude = (ref_crude[value] / ref_crude[exposure]).rename("reference_crude")
    merged = frame.merge(ref[[*match, *strata, "_R"]], on=[*match, *strata], how="left")
    merged["_e"] = merged[exposure] * merged["_R"]
    expected = merged.groupby(by, observed=True, sort=True)["_e"].sum(min_count=1)
    totals["expected"] = expected
    totals["ratio"] = totals["observed"] / totals["expected"]
    totals = totals.reset_index()
    if match:
        totals = totals.merge(ref_crude.reset_index(), on=match, how="left")
    else:
        totals["reference_crude"] = float(ref_crude.iloc[0])
    totals["rate"] = totals["ratio"] * totals["reference_crude"]
    return totals


# --------------------------------------------------------------------------- Vektis
def _to_wide(data: pd.DataFrame) -> pd.DataFrame:
    """Accept the long :func:`~kbz_eval.open_data.vektis` table or its wide form."""
    if "measure" not in data.columns:
        return data.copy()
    keys = ["year", "municipality", "sex", "age_class", "rest"]
    frame = data[[*keys, "measure", "value"]].copy()
    frame["municipality"] = frame["municipality"].astype("object").fillna("")
    frame["sex"] = frame["sex"].astype("object").fillna("")
    frame["age_class"] = frame["age_class"].astype("object").fillna("")
    frame["measure"] = frame["measure"].astype("object")
    wide = frame.pivot_table(index=keys, columns="measure", values="value", aggfunc="sum",
                             observed=True).reset_index()
    wide.columns.name = None
    for col in ("municipality", "sex", "age_class"):
        wide[col] = wide[col].replace("", np.nan)
    return wide


def group_columns(group: str) -> list[str]:
    """The canonical Vektis cost columns summed into ``group``."""
    if group == "total":
        return [c.name for c in COST_COLUMNS]
    if group in COST_GROUPS:
        return [c.name for c in COST_COLUMNS if c.group == group]
    if group in DERIVED_GROUPS:
        return [c.name for c in COST_COLUMNS if c.ggz_sub == group]
    raise SpecificationError(
        f"The value for `groups` must be among {['total', *COST_GROUPS, *DERIVED_GROUPS][:40]}, "
        f"but {group!r} was passed."
    )


def strata_table(data: pd.DataFrame | None = None, *, groups: Iterable[str] = DEFAULT_GROUPS,
                 years: Iterable[int] | None = None, folder: str | Path | None = None,
                 boundaries: str = "latest") -> pd.DataFrame:
    """Stratum-level table: municipality (and the country) × year × sex × age class.

    Columns ``year, municipality, sex, age_class, insured_persons, insured_years`` and
    one euro column per cost group; the country is added as :data:`COUNTRY` (the sum of
    all municipalities, rest row excluded); the rest row is dropped here.
    """
    wide = (vektis_wide(years, folder, boundaries=boundaries) if data is None
            else _to_wide(data))
    if years is not None and data is not None:
        wide = wide[wide["year"].isin([int(y) for y in years])]
    wide = wide[~wide["rest"].astype(bool)]
    out = wide[["year", "municipality", "sex", "age_class"]].copy()
    out["municipality"] = out["municipality"].astype("object")
    out["sex"] = out["sex"].astype("object")
    out["age_class"] = out["age_class"].astype("object")
    out["insured_persons"] = wide[INSURED_PERSONS].to_numpy()
    out["insured_years"] = wide[INSURED_YEARS].to_numpy()
    for g in groups:
        cols = [c for c in group_columns(g) if c in wide.columns]
        out[g] = wide[cols].sum(axis=1, min_count=1).to_numpy() if cols else np.nan
    country = out.drop(columns="municipality").groupby(
        ["year", "sex", "age_class"], as_index=False).sum(min_count=1)
    country["municipality"] = COUNTRY
    out = pd.concat([out, country[out.columns]], ignore_index=True)
    return out


def national_standard(strata: pd.DataFrame, year: int) -> pd.DataFrame:
    """The national insured-years structure (sex × age class) of ``year`` as weights."""
    nat = strata[(strata["municipality"] == COUNTRY) & (strata["year"] == int(year))]
    if nat.empty:
        raise SpecificationError(
            f"No national data for the standard year {year}; load that year too "
            f"(available: {sorted(strata['year'].unique().tolist())})."
        )
    return nat[["sex", "age_class", "insured_years"]].rename(columns={"insured_years": "weight"})


def resolve_areas(areas: Iterable[str] | str | None, names: Iterable[str]) -> list[str] | None:
    """Area names as spelled in the data (``None``: all); the country is :data:`COUNTRY`."""
    if areas is None:
        return None
    if isinstance(areas, str):
        areas = [areas]
    names = [n for n in names if n != COUNTRY]
    out = []
    for a in areas:
        if str(a).strip().upper() in _COUNTRY_ALIASES:
            out.append(COUNTRY)
        else:
            out.append(find_municipality(a, names))
    return list(dict.fromkeys(out))


@dataclass(repr=False)
class CostPerInsuredYear(Result):
    """Cost per insured year by area, year and cost group; crude and standardised.

    ``estimates`` has one row per area × year × cost group × method with the extra
    columns ``area, year, cost_group, method, insured_years, missing_weight, oe_ratio,
    ggz_break, definition_change``; ``n`` is the number of insured persons.
    """

    title: ClassVar[str] = "Cost per insured year (Vektis open data)"
    plotter: ClassVar[str | None] = "open_data:cost_series"

    def series(self, *, group: str = "total", method: str = "direct",
               areas: Sequence[str] | None = None) -> pd.DataFrame:
        """Wide frame year × area of one group and method."""
        est = self.estimates
        sel = est[(est["cost_group"] == group) & (est["method"] == method)]
        if areas is not None:
            sel = sel[sel["area"].isin(list(areas))]
        return sel.pivot(index="year", columns="area", values="estimate")

    def summary(self) -> pd.DataFrame:
        """Country and up to eight areas: estimate per method, by group and year."""
        est = self.estimates
        areas = list(dict.fromkeys([COUNTRY, *est["area"].unique().tolist()]))[:9]
        sel = est[est["area"].isin(areas)]
        table = sel.pivot_table(index=["area", "cost_group", "year"], columns="method",
                                values="estimate", observed=True)
        table.columns.name = None
        return table.reset_index().round(2)

    def plot_data(self) -> pd.DataFrame:
        """The long rows drawn by :meth:`plot` (total, direct, country + up to 7 areas)."""
        est = self.estimates
        group = "total" if "total" in set(est["cost_group"]) else est["cost_group"].iloc[0]
        method = "direct" if "direct" in set(est["method"]) else est["method"].iloc[0]
        areas = list(dict.fromkeys(
            [*self.settings.get("highlight", []), COUNTRY, *est["area"].unique().tolist()]))
        areas = [a for a in areas if a in set(est["area"])][:8]
        sel = est[(est["cost_group"] == group) & (est["method"] == method)
                  & est["area"].isin(areas)]
        return sel[["area", "year", "cost_group", "method", "estimate", "ggz_break",
                    "definition_change"]].reset_index(drop=True)

    def headline(self) -> str:
        est = self.estimates
        nat = est[(est["area"] == COUNTRY) & (est["cost_group"] == "total")]
        if nat.empty:
            return f"{self.title}: {len(est)} rows"
        last = nat[nat["year"] == nat["year"].max()]
        parts = [f"{m} EUR {v:,.0f}" for m, v in zip(last["method"], last["estimate"],
                                                       strict=True)]
        year = int(last["year"].iloc[0])
        return f"national total cost per insured year {year}: " + ", ".join(parts)


def _standard_label(standard: object) -> str:
    if isinstance(standard, (int, np.integer)):
        return f"national insured-years structure of {int(standard)}"
    if isinstance(standard, str) and standard == "same_year":
        return "national insured-years structure of each year"
    return "user-given standard population"


def cost_per_insured_year(data: pd.DataFrame | None = None, *,
                          years: Iterable[int] | None = None,
                          folder: str | Path | None = None,
                          groups: Iterable[str] = DEFAULT_GROUPS,
                          areas: Iterable[str] | str | None = None,
                          methods: Iterable[str] = METHODS,
                          standard: int | str | pd.DataFrame | pd.Series = 2018,
                          reference: int | str = "same_year",
                          boundaries: str = "latest") -> CostPerInsuredYear:
    """Cost per insured year by municipality (and the country), year and cost group.

    Parameters
    ----------
    data
        The table of :func:`kbz_eval.open_data.vektis` (long or wide); ``None`` reads
        the files (``years``, ``folder``, ``boundaries``).
    years
        Years to use (default all 2011–2023).
    folder
        Data folder when ``data`` is ``None``.
    groups
        Cost groups: ``"total"``, any of :data:`~kbz_eval.open_data.vektis.COST_GROUPS`
        (``msz``, ``gp``, ``ggz``, ``pharmacy``, ...) or the GGZ sub-groups
        ``ggz_specialist``, ``ggz_basic``, ``ggz_long_term`` (which end in 2021).
    areas
        Municipalities (any common spelling) and/or ``"NEDERLAND"``; ``None``: all.
    methods
        Any of ``"crude"``, ``"direct"``, ``"indirect"``.
    standard
        Direct standardisation's standard population: a year (the national insured-years
        distribution over sex × age class of that year; default 2018), ``"same_year"``
        (the national distribution of each year) or a frame / Series with weights per
        ``sex`` × ``age_class``.
    reference
        Indirect standardisation's reference rates: ``"same_year"`` (national stratum
        rates of the same year; default) or a year.
    boundaries
        ``"latest"`` (default: merged municipalities added into their successor in every
        year) or ``"published"``; only used when the files are read here.

    Returns
    -------
    CostPerInsuredYear
        Tidy rows (``term`` = ``"<area> <year> <group> <method>"``); tables ``breaks``
        (where a group's definition changes), ``rest`` (the rest row per year, kept
        apart) and ``standard`` (the weights used).

    Notes
    -----
    Crude: euro / insured years (``aantal_verzekerdejaren``), 38 strata pooled.
    Direct: the area's stratum rates weighted by the standard population's shares of
    insured years over sex × age class (19 classes × 2 sexes). Strata absent from an area
    (Vektis moves groups under 10 persons into the rest row) are left out and the
    remaining weights rescaled; ``missing_weight`` says how much standard weight that
    was (0 for the large cities). Indirect: observed cost over the cost expected if the
    area's insured had the national rates of their stratum (``oe_ratio``), times the
    national crude rate of the reference year. The country is the sum of all
    municipalities without the rest row, so its indirect ratio for the same year is 1.

    These are complete population totals, not samples: there is no sampling error and
    the intervals are left empty. Definitions change over time (``definition_change``
    marks the first year of a new definition of the group, see table ``breaks``; GGZ rows
    from 2022 have ``ggz_break``): compare levels across a break with care.

    Examples
    --------
    >>> import kbz_eval as kbz
    >>> res = kbz.open_data.cost_per_insured_year(areas=["Utrecht", "NL"])  # doctest: +SKIP
    >>> res.series(group="total", method="direct")  # doctest: +SKIP
    """
    groups = list(dict.fromkeys(groups))
    for g in groups:
        group_columns(g)
    methods = list(dict.fromkeys(methods))
    for m in methods:
        if m not in METHODS:
            raise SpecificationError(
                f"The value for `methods` must be among {list(METHODS)}, but {m!r} was passed."
            )
    strata = strata_table(data, groups=groups, years=years, folder=folder,
                          boundaries=boundaries)

    def national_of(year: int) -> pd.DataFrame:
        if year in set(strata["year"]) or data is not None:
            return strata
        return strata_table(None, groups=groups, years=[year], folder=folder,
                            boundaries=boundaries)

    if isinstance(standard, (int, np.integer)):
        std, match_std = national_standard(national_of(int(standard)), int(standard)), []
    elif isinstance(standard, str):
        if standard != "same_year":
            raise SpecificationError(
                f"The value for `standard` must be a year, 'same_year' or a frame, "
                f"but {standard!r} was passed."
            )
        nat = strata[strata["municipality"] == COUNTRY]
        std = nat[["year", "sex", "age_class", "insured_years"]].rename(
            columns={"insured_years": "weight"})
        match_std = ["year"]
    else:
        std, match_std = standard, []
    ref_strata = strata
    if isinstance(reference, (int, np.integer)):
        ref_year = int(reference)
        ref_strata = national_of(ref_year)
        if ref_year not in set(ref_strata["year"]):
            raise SpecificationError(f"No national data for the reference year {ref_year}.")
        match_ref: list[str] = []
    elif reference == "same_year":
        ref_year, match_ref = None, ["year"]
    else:
        raise SpecificationError(
            f"The value for `reference` must be a year or 'same_year', but {reference!r} "
            f"was passed."
        )
    selected = resolve_areas(areas, strata["municipality"].unique())
    nat_strata = ref_strata[ref_strata["municipality"] == COUNTRY]
    units = strata if selected is None else strata[strata["municipality"].isin(selected)]
    rows = []
    by = ["municipality", "year"]
    persons = units.groupby(by, observed=True)["insured_persons"].sum()
    for g in groups:
        for m in methods:
            kwargs: dict = {}
            if m == "direct":
                kwargs = {"standard": std, "match": match_std}
            elif m == "indirect":
                ref = nat_strata if ref_year is None else nat_strata[nat_strata["year"] == ref_year]
                cols = [*match_ref, "sex", "age_class", g, "insured_years"]
                kwargs = {"reference": ref[cols], "match": match_ref}
            res = standardise(units, value=g, exposure="insured_years", by=by, method=m,
                              **kwargs)
            res["cost_group"] = g
            res["method"] = m
            rows.append(res)
    table = pd.concat(rows, ignore_index=True)
    table = table[table["rate"].notna()]
    table["n"] = persons.reindex(pd.MultiIndex.from_frame(table[by])).to_numpy()
    table["ggz_break"] = (table["cost_group"].str.startswith("ggz")
                          & (table["year"] >= GGZ_BREAK_YEAR))
    first_year = table.groupby("cost_group")["year"].transform("min")
    table["definition_change"] = [
        (y in SERIES_BREAKS.get(g, {})) and y > fy
        for g, y, fy in zip(table["cost_group"], table["year"], first_year, strict=True)
    ]
    table = table.rename(columns={"municipality": "area"})
    table = table.sort_values(["cost_group", "method", "area", "year"], kind="stable")
    table["term"] = (table["area"] + " " + table["year"].astype(str) + " "
                     + table["cost_group"] + " " + table["method"])
    empty = pd.Series(np.nan, index=table.index)
    frame = pd.DataFrame({
        "term": table["term"].to_numpy(),
        "estimate": table["rate"].to_numpy(dtype=float),
        "std_error": np.nan, "ci_lower": np.nan, "ci_upper": np.nan, "p_value": np.nan,
        "n": table["n"].to_numpy(),
        "area": table["area"].to_numpy(),
        "year": table["year"].to_numpy(dtype="int64"),
        "cost_group": table["cost_group"].to_numpy(),
        "method": table["method"].to_numpy(),
        "insured_years": table["exposure"].to_numpy(dtype=float),
        "missing_weight": table.get("missing_weight", empty).to_numpy(),
        "oe_ratio": table.get("ratio", empty).to_numpy(),
        "ggz_break": table["ggz_break"].to_numpy(dtype=bool),
        "definition_change": table["definition_change"].to_numpy(dtype=bool),
    })
    est = tidy_frame(frame)
    ended = [g for g in groups if g in DERIVED_GROUPS and g != "total"]
    warnings = []
    if ended and strata["year"].max() >= GGZ_BREAK_YEAR:
        warnings.append(
            f"{ended}: not defined from {GGZ_BREAK_YEAR} (GGZ payment reform); those years "
            f"are left out."
        )
    breaks = pd.DataFrame(
        [{"cost_group": g, "year": y, "change": why}
         for g in groups for y, why in sorted(SERIES_BREAKS.get(g, {}).items())],
        columns=["cost_group", "year", "change"],
    )
    rest = _rest_table(data, years=years, folder=folder)
    std_table = (std.copy() if isinstance(std, pd.DataFrame)
                 else std.rename("weight").reset_index())
    method = (
        "Cost per insured year = euro paid under the Zvw / insured years (Vektis open "
        "data), per municipality and the country (sum of municipalities, rest row "
        f"excluded). Direct standardisation: stratum rates (sex x 19 age classes) weighted "
        f"by the {_standard_label(standard)}; strata absent in an area are left out and the "
        "weights rescaled (missing_weight). Indirect: observed / expected cost at the "
        f"national stratum rates of {'the same year' if ref_year is None else ref_year}, "
        "times the national crude rate. Population totals: no sampling error, no "
        "intervals. Group definitions change at the years in table 'breaks'; GGZ from "
        f"{GGZ_BREAK_YEAR} follows the payment reform (ggz_break). {ATTRIBUTION['vektis']}"
    )
    return CostPerInsuredYear(
        estimates=est,
        tables={"breaks": breaks, "rest": rest, "standard": std_table},
        method=method,
        settings={"groups": groups, "methods": methods,
                  "standard": standard if not isinstance(standard, (pd.DataFrame, pd.Series))
                  else "custom",
                  "reference": reference, "boundaries": boundaries,
                  "years": sorted(int(y) for y in strata["year"].unique()),
                  "highlight": [a for a in (selected or []) if a != COUNTRY]},
        warnings=warnings,
    )


def _rest_table(data: pd.DataFrame | None, *, years: Iterable[int] | None,
                folder: str | Path | None) -> pd.DataFrame:
    """The rest row per year, kept apart: insured years, cost and its share of the total."""
    wide = vektis_wide(years, folder) if data is None else _to_wide(data)
    if years is not None and data is not None:
        wide = wide[wide["year"].isin([int(y) for y in years])]
    costs = [m for m in MEASURES if m.startswith("kosten_") and m in wide.columns]
    wide = wide.assign(_cost=wide[costs].sum(axis=1, min_count=1))
    by_rest = wide.groupby(["year", "rest"])[[INSURED_YEARS, "_cost"]].sum().unstack("rest")
    out = pd.DataFrame({
        "year": by_rest.index.to_numpy(),
        "rest_insured_years": by_rest[(INSURED_YEARS, True)].to_numpy()
        if (INSURED_YEARS, True) in by_rest.columns else np.nan,
        "rest_cost": by_rest[("_cost", True)].to_numpy()
        if ("_cost", True) in by_rest.columns else np.nan,
    })
    total_years = by_rest[INSURED_YEARS].sum(axis=1).to_numpy()
    out["rest_share_insured_years"] = out["rest_insured_years"] / total_years
    out["rest_cost_per_insured_year"] = out["rest_cost"] / out["rest_insured_years"]
    return out
