"""A plain pandas implementation of the claims engine's rules.

This is the yardstick the Ibis engine is tested against (property tests on random small
inputs) and the "what an analyst would write" contender of the benchmark. It follows
the rules documented in :func:`kbz_eval.engine.build_panel` step by step, in memory,
without Ibis: clarity first, but vectorised throughout.

Credit notes (lines with a negative ``cost``) are netted by the rule of
:mod:`kbz_eval.engine.panel`: a ``claim_id`` with a credit line is a ledger whose
distinct lines are summed (an exact copy counts once), whose other fields come from its
smallest debit line (credit lines only: its smallest credit line), and which is
withdrawn (no count, no cost) when the net is below half a cent.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from kbz_eval.engine.panel import DEDUP_ORDER, panel_columns
from kbz_eval.errors import SpecificationError
from kbz_eval.tables import (
    CARE_TYPE_PREFIX,
    CARE_TYPES,
    GGZ_LAST_DBC_YEAR,
    NETTING_TOLERANCE,
    days_in_year,
)

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
        of the report figures (``lines_in``, ``credit_lines``, ``distinct_claims``,
        ``duplicate_lines_removed``, ``resent_claims``, ``disagreeing_claims``,
        ``credited_claims``, ``credit_lines_netted``, ``credit_amount_netted``,
        ``over_credited_claims``, ``over_credit_cost``, ``unmatched_credit_claims``,
        ``unmatched_credit_lines``, ``unmatched_credit_cost``, ``withdrawn_claims``,
        ``excluded_claims``, ``unassignable_claims``, ``orphan_claims``, ``orphan_cost``,
        ``orphan_person_years``, ``orphan_persons``, ``unknown_care_type_claims``,
        ``panel_claims``, ``panel_cost``), named as the fields of
        :class:`~kbz_eval.engine.PanelReport`.

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

    # 1. re-sends: one line per claim_id, the smallest in DEDUP_ORDER (missing last);
    #    a claim_id with a credit line is a ledger, netted instead (1b)
    has_id = lines["claim_id"].notna()
    n_lines = lines.groupby("claim_id")["claim_id"].transform("size")
    lines["n_lines"] = n_lines.where(has_id, 1).astype("int64")
    negative = (lines["cost"] < 0).to_numpy()
    credited_ids = pd.unique(lines.loc[negative & has_id.to_numpy(), "claim_id"])
    ledger = has_id & lines["claim_id"].isin(credited_ids)

    plain = lines[~ledger.to_numpy()]
    resent = plain[plain["n_lines"] > 1]
    if len(resent):
        spread = resent.groupby("claim_id")[list(_FIELDS)].nunique(dropna=False)
        disagreeing = spread.index[(spread > 1).any(axis=1)]
    else:
        disagreeing = pd.Index([])
    ordered = plain.sort_values(["claim_id", *DEDUP_ORDER], na_position="last",
                                kind="stable")
    first = ~ordered["claim_id"].duplicated() | ordered["claim_id"].isna()
    single = ordered[first.to_numpy()].copy()
    single["disagree"] = single["claim_id"].isin(disagreeing)
    # a line without a claim_id is a claim of its own, a credit without its claim if
    # its cost is negative
    neg = (single["cost"] < 0).to_numpy()
    single["n_credit"] = neg.astype("int64")
    single["credit_cost"] = np.where(neg, -single["cost"].to_numpy(), 0.0)
    single["has_debit"] = ~neg

    # 1b. ledgers: distinct lines summed, fields from the smallest debit line
    versions = lines[ledger.to_numpy()].drop_duplicates(["claim_id", *_FIELDS])
    versions = versions.assign(_credit=versions["cost"] < 0)
    by_id = versions.groupby("claim_id", sort=False)
    sums = pd.DataFrame({
        "net": by_id["cost"].sum(),
        "n_credit": by_id["_credit"].sum().astype("int64"),
        "credit_cost": (-versions["cost"].where(versions["_credit"], 0.0))
        .groupby(versions["claim_id"], sort=False).sum(),
        "has_debit": (~versions["_credit"]).groupby(versions["claim_id"], sort=False).any(),
        "n_versions": by_id.size(),
    })
    heads = versions.sort_values(["claim_id", "_credit", *DEDUP_ORDER], na_position="last",
                                 kind="stable").drop_duplicates("claim_id")
    heads = heads.drop(columns=["cost", "n_credit", "credit_cost", "has_debit"],
                       errors="ignore").merge(sums, left_on="claim_id", right_index=True)
    heads["cost"] = heads["net"].astype("float64")
    heads["disagree"] = False

    claims = pd.concat([single, heads[single.columns]], ignore_index=True)
    claims["n_credit"] = claims["n_credit"].astype("int64")
    claims["has_debit"] = claims["has_debit"].astype(bool)
    claims["credit_cost"] = claims["credit_cost"].astype("float64")
    credited = (claims["n_credit"] > 0).to_numpy()
    with_debit = credited & claims["has_debit"].to_numpy()
    over = with_debit & (claims["cost"] <= -NETTING_TOLERANCE).to_numpy()
    unmatched = ~claims["has_debit"].to_numpy()

    # 2. declaration codes outside the basic package (judged on the kept line), then
    #    claims a credit note leaves at less than half a cent
    code = claims["declaration_code"]
    if exclude_codes:
        excluded = (code.notna() & code.fillna("").str.startswith(tuple(exclude_codes))
                    ).to_numpy()
    else:
        excluded = np.zeros(len(claims), dtype=bool)
    withdrawn = credited & (claims["cost"].fillna(0.0) < NETTING_TOLERANCE).to_numpy() \
        & ~excluded
    kept = claims[~excluded & ~withdrawn].copy()

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
    n_lines_by_id = lines[has_id.to_numpy()].groupby("claim_id")["claim_id"].size()
    ledger_resent = int((sums["n_versions"] < n_lines_by_id.reindex(sums.index)).sum())
    ledger_lines = int((sums["n_versions"] - 1).sum())
    report = {
        "lines_in": int(len(lines)),
        "credit_lines": int(negative.sum()),
        "distinct_claims": int(len(claims)),
        "duplicate_lines_removed": int(len(lines) - len(claims) - ledger_lines),
        "resent_claims": int((single["n_lines"] > 1).sum()) + ledger_resent,
        "disagreeing_claims": int(single["disagree"].sum()),
        "credited_claims": int(with_debit.sum()),
        "credit_lines_netted": int(claims["n_credit"][with_debit].sum()),
        "credit_amount_netted": round(float(claims["credit_cost"][with_debit].sum()), 2),
        "over_credited_claims": int(over.sum()),
        "over_credit_cost": round(float(-claims["cost"][over].sum()), 2),
        "unmatched_credit_claims": int(unmatched.sum()),
        "unmatched_credit_lines": int(claims["n_credit"][unmatched].sum()),
        "unmatched_credit_cost": round(float(claims["credit_cost"][unmatched].sum()), 2),
        "withdrawn_claims": int(withdrawn.sum()),
        "excluded_claims": int(excluded.sum()),
        "unassignable_claims": int(unassignable.sum()),
        "orphan_claims": int(len(orphans)),
        "orphan_cost": round(float(orphans["cost"].sum()), 2),
        "orphan_person_years": int(len(orphan_py)),
        "orphan_persons": int(orphan_py["person_id"].nunique()),
        "unknown_care_type_claims": int((~known).sum()),
        "panel_claims": int(len(counted)),
        "panel_cost": round(float(counted["cost"].sum()), 2),
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
