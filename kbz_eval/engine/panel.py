"""The claims engine's transformation, written once as Ibis expressions.

Every function here takes and returns Ibis tables and runs unchanged on any Ibis
backend (DuckDB by default, PySpark on a cluster). The steps, in order:

1. :func:`resent_lines` and :func:`distinct_claims` — one row per ``claim_id``. Lines
   that share a ``claim_id`` are re-sends of one claim and count once. When the
   re-sent lines disagree in any field, the line kept is the smallest in the order
   (``start_date``, ``cost``, ``end_date``, ``care_type``, ``declaration_code``,
   ``person_id``), missing values last, and the claim counts as disagreeing in the
   report. Claim ids occurring once (the vast majority) skip the ordering: only the
   lines of re-sent ids (:func:`resent_lines`, materialised once) are numbered, which
   keeps the work close to a single hash aggregation on ``claim_id``.
2. :func:`person_year_claims` — code exclusion (after de-duplication: the kept line's
   ``declaration_code`` decides), the claims-year rule, and per person-year the count
   and cost per care type, pivoted to ``{prefix}_count`` / ``{prefix}_cost``, with the
   bookkeeping columns the report is made from (excluded claims, unknown care types).
3. :func:`panel` — every insured person-year (left join: insured persons without claims
   get zeros), contract columns in contract order, ``total_cost``, ``ggz_regime`` and
   ``insured_years``, sorted by ``person_id``, ``year``.
4. :func:`resend_summary`, :func:`report_totals` and :func:`insured_years_summary` —
   the figures of the report: what was counted, excluded, unassignable or orphaned
   (claims of person-years without an insured period).

Performance notes (DuckDB, 100 M lines): the only aggregation over all lines keyed by
``claim_id`` is the one finding re-sent ids; the pivot filters on a small integer per
claim (care-type index, unknown, excluded) rather than comparing strings once per
aggregate (18 aggregates x 7 string comparisons per claim otherwise).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from typing import Literal

import ibis
import ibis.expr.types as ir

from kbz_eval.tables import CARE_TYPE_PREFIX, CARE_TYPES, GGZ_LAST_DBC_YEAR, PERSON_YEARS

__all__ = [
    "YearRule",
    "YEAR_RULES",
    "DEDUP_ORDER",
    "claim_columns",
    "resent_lines",
    "distinct_claims",
    "resend_summary",
    "person_year_claims",
    "panel",
    "panel_columns",
    "report_totals",
    "insured_years_summary",
]

YearRule = Literal["start_date", "end_date"]
#: The claims-year rules: the year of the claim's start date (the insurer's rule, the
#: default) or of its end date.
YEAR_RULES: tuple[str, ...] = ("start_date", "end_date")

#: Order deciding which of a claim's disagreeing re-sent lines is kept (smallest first,
#: missing values last).
DEDUP_ORDER = ("start_date", "cost", "end_date", "care_type", "declaration_code", "person_id")

_FIELDS = ("person_id", "start_date", "end_date", "care_type", "declaration_code", "cost")
_KEY = ("person_id", "year")


def claim_columns() -> list[str]:
    """``{prefix}_count`` and ``{prefix}_cost`` for every care type, in ``CARE_TYPES`` order."""
    return [f"{CARE_TYPE_PREFIX[c]}_{k}" for c in CARE_TYPES for k in ("count", "cost")]


def _any(conditions: Sequence[ir.BooleanValue]) -> ir.BooleanValue:
    return functools.reduce(operator.or_, conditions)


def resent_lines(lines: ir.Table) -> ir.Table:
    """The lines of every ``claim_id`` sent more than once, with ``n_lines``.

    One hash aggregation on ``claim_id`` over all lines; the result is small (re-sends
    are a few per cent of the lines) and is materialised once by ``build_panel`` because
    :func:`distinct_claims` and :func:`resend_summary` both use it.
    """
    ids = (
        lines.filter(lines.claim_id.notnull())
        .group_by("claim_id")
        .aggregate(n_lines=ibis._.count())
        .filter(ibis._.n_lines > 1)
    )
    return lines.inner_join(ids, "claim_id")


def distinct_claims(lines: ir.Table, resent: ir.Table) -> ir.Table:
    """One row per ``claim_id``: re-sent lines collapsed by the documented rule.

    Parameters
    ----------
    lines
        Normalised claim lines (:func:`kbz_eval.engine.sources.normalise_claim_lines`).
    resent
        :func:`resent_lines` of ``lines`` (materialised).

    Returns
    -------
    ibis.Table
        The kept line's ``person_id``, ``start_date``, ``end_date``, ``care_type``,
        ``declaration_code`` and ``cost``.

    Notes
    -----
    Lines whose ``claim_id`` occurs once pass straight through (anti-join on the
    re-sent lines). The lines of each re-sent id are numbered in :data:`DEDUP_ORDER`
    (missing values last) and the first is kept. A missing ``claim_id`` is one claim
    per line.
    """
    single = lines.anti_join(resent.select("claim_id"), "claim_id").select(*_FIELDS)
    order = ibis.window(
        group_by="claim_id",
        order_by=[ibis.asc(resent[c], nulls_first=False) for c in DEDUP_ORDER],
    )
    kept = (
        resent.mutate(_rank=ibis.row_number().over(order))
        .filter(ibis._._rank == 0)
        .select(*_FIELDS)
    )
    return single.union(kept)


def resend_summary(resent: ir.Table) -> ir.Table:
    """One row: ``resent_claims``, ``resent_lines`` and ``disagreeing_claims``.

    A re-sent claim disagrees when its lines are not all identical (missing values
    compare equal to each other): it has more than one distinct version.
    """
    versions = (
        resent.select("claim_id", "n_lines", *_FIELDS)
        .distinct()
        .group_by(["claim_id", "n_lines"])
        .aggregate(versions=ibis._.count())
    )
    return versions.aggregate(
        resent_claims=versions.count(),
        resent_lines=versions.n_lines.sum(),
        disagreeing_claims=versions.count(where=versions.versions > 1),
    )


def _days_in_year(year: ir.IntegerValue) -> ir.IntegerValue:
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    return ibis.ifelse(leap, 366, 365)


def person_year_claims(
    claims: ir.Table,
    *,
    year_rule: YearRule = "start_date",
    exclude_codes: Sequence[str] = ("16", "17"),
) -> ir.Table:
    """Distinct claims aggregated per ``person_id`` × claims ``year``.

    Parameters
    ----------
    claims
        Output of :func:`distinct_claims`.
    year_rule
        ``"start_date"``: a claim belongs to the year of its start date;
        ``"end_date"``: to the year of its end date. Claims without that date get a
        missing ``year`` (unassignable).
    exclude_codes
        Declaration-code prefixes outside the basic package; claims whose code starts
        with one are excluded from the counts and costs (a missing code is basic
        package).

    Returns
    -------
    ibis.Table
        One row per (``person_id``, ``year``) with claims: ``{prefix}_count`` (int64)
        and ``{prefix}_cost`` (float64, unrounded) per care type over kept claims, and
        the bookkeeping columns ``n_excluded`` / ``cost_excluded`` (code outside the
        basic package) and ``n_unknown`` / ``cost_unknown`` (kept claims of a care type
        not in ``CARE_TYPES``, or missing). Kept claims are the care-type counts plus
        ``n_unknown``.
    """
    date = claims.start_date if year_rule == "start_date" else claims.end_date
    if exclude_codes:
        code = claims.declaration_code
        excluded = _any([code.startswith(str(p)) for p in exclude_codes]).fill_null(False)
    else:
        excluded = ibis.literal(False)
    # one small integer per claim: the care type's index, UNKNOWN or EXCLUDED; the pivot
    # then filters on integer equality instead of comparing strings per aggregate
    unknown, excluded_k = len(CARE_TYPES), len(CARE_TYPES) + 1
    kind = claims.care_type.cases(*[(c, i) for i, c in enumerate(CARE_TYPES)], else_=unknown)
    kind = ibis.ifelse(excluded, excluded_k, kind.fill_null(unknown))
    t = claims.mutate(year=date.year().cast("int64"), _k=kind.cast("int8"))
    aggs: dict[str, ir.Value] = {}
    for i, c in enumerate(CARE_TYPES):
        p = CARE_TYPE_PREFIX[c]
        aggs[f"{p}_count"] = t.count(where=t._k == i)
        aggs[f"{p}_cost"] = t.cost.sum(where=t._k == i)
    aggs.update(
        n_excluded=t.count(where=t._k == excluded_k),
        cost_excluded=t.cost.sum(where=t._k == excluded_k),
        n_unknown=t.count(where=t._k == unknown),
        cost_unknown=t.cost.sum(where=t._k == unknown),
    )
    return t.group_by(list(_KEY)).aggregate(**aggs)


def panel_columns(insured_columns: Sequence[str]) -> list[str]:
    """Output column order: the ``person_years`` contract order, then extras.

    The person columns present in ``insured_columns`` and every claim column appear
    where the contract lists them, followed by ``total_cost`` and ``ggz_regime`` as in
    the contract, then the insured-period columns the contract does not know, then
    ``insured_years``.
    """
    produced = set(insured_columns) | set(claim_columns()) | {"total_cost", "ggz_regime"}
    order = [c for c in PERSON_YEARS.names if c in produced]
    order += [c for c in insured_columns if c not in order]
    return order + ["insured_years"]


def panel(person_years: ir.Table, insured: ir.Table) -> ir.Table:
    """Every insured person-year with its claims; zeros where there are none.

    Parameters
    ----------
    person_years
        Output of :func:`person_year_claims`.
    insured
        Normalised insured periods (one row per ``person_id``, ``year``).

    Returns
    -------
    ibis.Table
        The ``person_years`` panel: contract columns in contract order (counts int64,
        costs float64 rounded to cents), ``total_cost`` (sum of the rounded care-type
        costs), ``ggz_regime`` (``"dbc"`` up to :data:`~kbz_eval.tables.GGZ_LAST_DBC_YEAR`,
        ``"consult"`` after), extra insured columns, and ``insured_years``
        (``insured_days`` / days in that year); sorted by ``person_id``, ``year``.
    """
    claims = person_years.select(*_KEY, *claim_columns())
    claims = claims.rename({f"_c_{c}": c for c in claim_columns()})
    j = insured.left_join(claims, list(_KEY))
    out: dict[str, ir.Value] = {c: j[c] for c in insured.columns}
    rounded = []
    for c in CARE_TYPES:
        p = CARE_TYPE_PREFIX[c]
        out[f"{p}_count"] = j[f"_c_{p}_count"].fill_null(0).cast("int64")
        cost = j[f"_c_{p}_cost"].fill_null(0.0).cast("float64").round(2)
        out[f"{p}_cost"] = cost
        rounded.append(cost)
    out["total_cost"] = functools.reduce(operator.add, rounded).round(2)
    out["ggz_regime"] = ibis.ifelse(j.year <= GGZ_LAST_DBC_YEAR, "dbc", "consult")
    out["insured_years"] = j.insured_days.cast("float64") / _days_in_year(j.year)
    order = panel_columns(insured.columns)
    return j.select(**{c: out[c] for c in order}).order_by(list(_KEY))


def report_totals(person_years: ir.Table, insured: ir.Table) -> ir.Table:
    """One row of totals for the report.

    Parameters
    ----------
    person_years
        Output of :func:`person_year_claims` (materialised).
    insured
        Normalised insured periods.

    Returns
    -------
    ibis.Table
        ``distinct_claims``, ``excluded_claims``/``_cost``, ``unassignable_claims``/
        ``_cost`` (kept claims without a year under the rule), ``orphan_claims``/
        ``_cost``/``_person_years``/``_persons`` (kept claims of person-years without
        an insured period), ``unknown_care_type_claims``/``_cost`` (kept claims of
        insured person-years with a care type not in ``CARE_TYPES``) and
        ``panel_claims``/``panel_cost``.

    Notes
    -----
    Sums over all person-years, and over the orphan person-years found with an
    anti-join (far cheaper than flagging every person-year with a left join); the
    insured figures are the differences.
    """
    t = person_years
    n_known = functools.reduce(operator.add, [t[f"{CARE_TYPE_PREFIX[c]}_count"]
                                              for c in CARE_TYPES])
    cost_known = functools.reduce(operator.add, [t[f"{CARE_TYPE_PREFIX[c]}_cost"].fill_null(0.0)
                                                 for c in CARE_TYPES])
    t = t.mutate(_n_known=n_known, _cost_known=cost_known,
                 _n_kept=n_known + t.n_unknown,
                 _cost_kept=cost_known + t.cost_unknown.fill_null(0.0))
    dated = t.year.notnull()
    every = t.aggregate(
        distinct_claims=(t._n_kept + t.n_excluded).sum(),
        excluded_claims=t.n_excluded.sum(),
        excluded_cost=t.cost_excluded.sum(),
        unassignable_claims=t._n_kept.sum(where=~dated),
        unassignable_cost=t._cost_kept.sum(where=~dated),
        dated_known=t._n_known.sum(where=dated),
        dated_known_cost=t._cost_known.sum(where=dated),
        dated_unknown=t.n_unknown.sum(where=dated),
        dated_unknown_cost=t.cost_unknown.sum(where=dated),
    )
    o = t.filter(dated).anti_join(insured.select(*_KEY), list(_KEY))
    orphans = o.aggregate(
        orphan_claims=o._n_kept.sum(),
        orphan_cost=o._cost_kept.sum(),
        orphan_person_years=o.count(where=o._n_kept > 0),
        orphan_persons=o.person_id.nunique(where=o._n_kept > 0),
        orphan_known=o._n_known.sum(),
        orphan_known_cost=o._cost_known.sum(),
        orphan_unknown=o.n_unknown.sum(),
        orphan_unknown_cost=o.cost_unknown.sum(),
    )
    j = every.cross_join(orphans)

    def minus(a: str, b: str, zero: float | int) -> ir.Value:
        return j[a].fill_null(zero) - j[b].fill_null(zero)

    return j.select(
        "distinct_claims", "excluded_claims", "excluded_cost", "unassignable_claims",
        "unassignable_cost", "orphan_claims", "orphan_cost", "orphan_person_years",
        "orphan_persons",
        unknown_care_type_claims=minus("dated_unknown", "orphan_unknown", 0),
        unknown_care_type_cost=minus("dated_unknown_cost", "orphan_unknown_cost", 0.0),
        panel_claims=minus("dated_known", "orphan_known", 0),
        panel_cost=minus("dated_known_cost", "orphan_known_cost", 0.0),
    )


def insured_years_summary(insured: ir.Table) -> ir.Table:
    """Per insured ``year``: rows, distinct persons and rows lacking a key value.

    ``rows != persons`` or ``missing_key > 0`` means the key (``person_id``, ``year``) is
    not unique or incomplete.
    """
    return insured.group_by("year").aggregate(
        rows=ibis._.count(),
        persons=ibis._.person_id.nunique(),
        missing_key=ibis._.count(where=ibis._.person_id.isnull()),
    )
