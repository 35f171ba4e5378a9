"""A plain pandas implementation of the claims engine's rules.

This is the yardstick the Ibis engine is tested against (property tests on random small
inputs) and the "what an analyst would write" contender of the benchmark. It follows
the rules documented in :func:`kbz_eval.engine.build_panel` step by step, in memory,
without Ibis: clarity first, but vectorised throughout.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from kbz_eval.engine.panel import DEDUP_ORDER, panel_columns
from kbz_eval.errors import SpecificationError
from kbz_eval.tables import CARE_TYPE_PREFIX, CARE_TYPES, GGZ_LAST_DBC_YEAR, days_in_year

__all__ = ["reference_panel"]

_FIELDS = ("person_id", "start_date", "end_date", "care_type", "declaration_code", "cost")


def reference_panel(
    claim_lines: pd.DataFrame,
    insured_periods: pd.DataFrame,
    *,
    year_rule: str = "start_date",
    exclude_codes: Sequence[str] = ("16", "17"),
) -> tuple[pd.DataFrame, dict]:
    """The ``person_years`` panel and report figures, computed with pandas alone.

    Parameters
    ----------
    claim_lines, insured_periods
        DataFrames as for :func:`kbz_eval.engine.build_panel` (not changed).
    year_rule
        ``"start_date"`` or ``"end_date"``.
    exclude_codes
        Declaration-code prefixes to exclude.

    Returns
    -------
    panel, report
        The panel with the same columns, types and order as ``build_panel``'s, and a dict
        of the report figures (``lines_in``, ``distinct_claims``, ``resent_claims``,
        ``disagreeing_claims``, ``excluded_claims``, ``unassignable_claims``,
        ``orphan_claims``, ``orphan_cost``, ``orphan_person_years``, ``orphan_persons``,
        ``unknown_care_type_claims``, ``panel_claims``).

    Raises
    ------
    SpecificationError
        If ``year_rule`` is not known.
    """
    if year_rule not in ("start_date", "end_date"):
        raise SpecificationError(
            f"The value for `year_rule` must be one of ['start_date', 'end_date'], but "
            f"{year_rule!r} was passed."
        )
    lines = _normalise_lines(claim_lines)

    # 1. re-sends: one line per claim_id, the smallest in DEDUP_ORDER (missing last)
    has_id = lines["claim_id"].notna()
    n_lines = lines.groupby("claim_id")["claim_id"].transform("size")
    lines["n_lines"] = n_lines.where(has_id, 1).astype("int64")
    resent = lines[lines["n_lines"] > 1]
    if len(resent):
        spread = resent.groupby("claim_id")[list(_FIELDS)].nunique(dropna=False)
        disagreeing = spread.index[(spread > 1).any(axis=1)]
    else:
        disagreeing = pd.Index([])
    ordered = lines.sort_values(["claim_id", *DEDUP_ORDER], na_position="last", kind="stable")
    first = ~ordered["claim_id"].duplicated() | ordered["claim_id"].isna()
    claims = ordered[first].copy()
    claims["disagree"] = claims["claim_id"].isin(disagreeing)

    # 2. declaration codes outside the basic package (judged on the kept line)
    code = claims["declaration_code"]
    if exclude_codes:
        excluded = code.notna() & code.fillna("").str.startswith(tuple(exclude_codes))
    else:
        excluded = pd.Series(False, index=claims.index)
    kept = claims[~excluded.to_numpy()].copy()

    # 3. claims year
    kept["year"] = kept[year_rule].dt.year.astype("Int64")
    unassignable = kept["year"].isna()

    # 4. orphans: no insured period for (person_id, year)
    insured = _normalise_insured(insured_periods)
    keys = insured[["person_id", "year"]].assign(_insured=True)
    dated = kept[~unassignable.to_numpy()].copy()
    dated["year"] = dated["year"].astype("int64")
    dated = dated.merge(keys, on=["person_id", "year"], how="left")
    is_orphan = dated["_insured"].isna()
    orphans = dated[is_orphan.to_numpy()]
    matched = dated[~is_orphan.to_numpy()]

    # 5. unknown care types
    known = matched["care_type"].isin(CARE_TYPES)
    counted = matched[known.to_numpy()]

    # 6. counts and costs per care type per person-year, zeros for insured without claims
    prefix = counted["care_type"].map(CARE_TYPE_PREFIX)
    agg = (
        counted.assign(_p=prefix)
        .groupby(["person_id", "year", "_p"])["cost"]
        .agg(["size", "sum"])
        .unstack("_p")
    )
    out = insured.copy()
    cols = {}
    for c in CARE_TYPES:
        p = CARE_TYPE_PREFIX[c]
        cnt = agg["size"][p] if ("size", p) in agg.columns else None
        cst = agg["sum"][p] if ("sum", p) in agg.columns else None
        cols[f"{p}_count"] = cnt
        cols[f"{p}_cost"] = cst
    wide = pd.DataFrame({k: v for k, v in cols.items() if v is not None})
    if len(wide.columns):
        out = out.merge(wide, left_on=["person_id", "year"], right_index=True, how="left")
    costs = []
    for c in CARE_TYPES:
        p = CARE_TYPE_PREFIX[c]
        count = out[f"{p}_count"] if f"{p}_count" in out else 0
        cost = out[f"{p}_cost"] if f"{p}_cost" in out else 0.0
        out[f"{p}_count"] = pd.Series(count, index=out.index).fillna(0).astype("int64")
        out[f"{p}_cost"] = pd.Series(cost, index=out.index).fillna(0.0).astype(
            "float64").round(2)
        costs.append(out[f"{p}_cost"])
    out["total_cost"] = np.round(np.sum(costs, axis=0), 2) if len(out) else 0.0
    out["total_cost"] = out["total_cost"].astype("float64")
    out["ggz_regime"] = np.where(out["year"] <= GGZ_LAST_DBC_YEAR, "dbc", "consult")
    out["ggz_regime"] = out["ggz_regime"].astype("str")
    out["insured_years"] = out["insured_days"] / days_in_year(out["year"].to_numpy())
    out = out[panel_columns(list(insured.columns))]
    out = out.sort_values(["person_id", "year"], kind="stable").reset_index(drop=True)

    orphan_py = orphans[["person_id", "year"]].drop_duplicates()
    report = {
        "lines_in": int(len(lines)),
        "distinct_claims": int(len(claims)),
        "resent_claims": int((claims["n_lines"] > 1).sum()),
        "disagreeing_claims": int(claims["disagree"].sum()),
        "excluded_claims": int(excluded.sum()),
        "unassignable_claims": int(unassignable.sum()),
        "orphan_claims": int(len(orphans)),
        "orphan_cost": round(float(orphans["cost"].sum()), 2),
        "orphan_person_years": int(len(orphan_py)),
        "orphan_persons": int(orphan_py["person_id"].nunique()),
        "unknown_care_type_claims": int((~known).sum()),
        "panel_claims": int(len(counted)),
    }
    return out, report


def _normalise_lines(claim_lines: pd.DataFrame) -> pd.DataFrame:
    df = pd.DataFrame(index=claim_lines.index)
    df["claim_id"] = claim_lines["claim_id"]
    df["person_id"] = claim_lines["person_id"].astype("str").where(
        claim_lines["person_id"].notna()
    )
    for col in ("start_date", "end_date"):
        df[col] = (
            pd.to_datetime(claim_lines[col]) if col in claim_lines
            else pd.Series(pd.NaT, index=claim_lines.index, dtype="datetime64[ns]")
        )
    df["care_type"] = claim_lines["care_type"].astype("str").where(
        claim_lines["care_type"].notna()
    )
    if "declaration_code" in claim_lines:
        code = claim_lines["declaration_code"]
        df["declaration_code"] = code.astype("str").where(code.notna())
    else:
        df["declaration_code"] = pd.Series(None, index=claim_lines.index, dtype="str")
    df["cost"] = claim_lines["cost"].astype("float64")
    return df.reset_index(drop=True)


def _normalise_insured(insured_periods: pd.DataFrame) -> pd.DataFrame:
    out = insured_periods.copy()
    types = {"person_id": "str", "year": "int64", "practice_id": "str",
             "insured_days": "int64", "sex": "str", "birth_year": "int64",
             "age_band": "str", "minima": "bool"}
    for col, typ in types.items():
        if col in out:
            out[col] = out[col].astype(typ)
    known = [c for c in types if c in out]
    return out[known + [c for c in out.columns if c not in types]].reset_index(drop=True)
