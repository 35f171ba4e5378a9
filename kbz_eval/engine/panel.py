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
   Claims with a credit note are netted instead (see *Credit notes* below).
2. :func:`person_year_claims` — code exclusion (after de-duplication: the kept line's
   ``declaration_code`` decides), withdrawn claims (netted to nothing), the claims-year
   rule, and per person-year the count and cost per care type, pivoted to
   ``{prefix}_count`` / ``{prefix}_cost``, with the bookkeeping columns the report is
   made from (excluded and withdrawn claims, unknown care types, credit notes).
3. :func:`panel` — every insured person-year (left join: insured persons without claims
   get zeros), contract columns in contract order, ``total_cost``, ``ggz_regime`` and
   ``insured_years``, sorted by ``person_id``, ``year``.
4. :func:`resend_summary`, :func:`report_totals` and :func:`insured_years_summary` —
   the figures of the report: what was counted, excluded, unassignable or orphaned
   (claims of person-years without an insured period).

Credit notes
------------
A claim line with a negative ``cost`` is a credit note (creditering): it reverses or
corrects (part of) an earlier line. Dutch extracts repeat the claim's (subtraject's)
``claim_id`` on its credit notes, and ``claim_lines`` holds no other link to the line
credited (no line number, provider or reference), so a credit nets against the lines
of the same ``claim_id``:

* A claim without a credit line is de-duplicated as in step 1 (one line kept).
* A claim with at least one credit line is a ledger. Its *distinct* lines (equal in
  ``person_id``, ``start_date``, ``end_date``, ``care_type``, ``declaration_code`` and
  ``cost``) count once each: an exact copy is a re-send, of a debit or of a credit, so
  a re-sent credit is not counted twice and a credit is never taken for a re-send of
  its debit (their costs differ in sign). The claim's cost is the sum of its distinct
  lines (the net): a full reversal plus a corrected line nets to the corrected cost, a
  partial credit to the remainder. Its other fields (person, dates, care type, code,
  hence its year and package) come from its debit lines (cost >= 0), the smallest in
  :data:`DEDUP_ORDER`; a credit dated in another year therefore nets into the year of
  the claim it credits. A claim with credit lines only (its debit lies outside the
  extract or period) takes its fields from its smallest credit line.
* A claim with a credit whose net is below half a cent
  (:data:`~kbz_eval.tables.NETTING_TOLERANCE`) is *withdrawn*: it adds no count and
  no cost. That is a full reversal (net 0), an over-credited claim (credits exceed the
  debits: the excess is floored at 0 per claim, never taken from the person's other
  claims) or a credit without a matching claim. The report counts each: credit lines
  netted and their amount, over-credited claims and the amount floored, and credits
  without a matching claim and their amount.

Every counted claim therefore costs at least 0, and so does every person-year and care
type. Withdrawal comes after exclusion (a 16/17 claim is excluded whether or not it was
credited) and before the year rule, orphans and unknown care types. The pandas
reference (:mod:`kbz_eval.engine.reference`) implements the same rule, and
``tables.CLAIM_LINES`` refuses a claim whose credits exceed its debits (rule ``credit
exceeds claim``) when the lines are checked against the contract first.

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

from kbz_eval.tables import (
    CARE_TYPE_PREFIX,
    CARE_TYPES,
    GGZ_LAST_DBC_YEAR,
    NETTING_TOLERANCE,
    PERSON_YEARS,
)

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
#: Credit bookkeeping of each distinct claim (:func:`distinct_claims`).
_CREDIT = ("n_credit", "credit_cost", "has_debit")


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
    """One row per ``claim_id``: re-sent lines collapsed, credit notes netted.

    Parameters
    ----------
    lines
        Normalised claim lines (:func:`kbz_eval.engine.sources.normalise_claim_lines`).
    resent
        :func:`resent_lines` of ``lines`` (materialised).

    Returns
    -------
    ibis.Table
        The kept line's ``person_id``, ``start_date``, ``end_date``, ``care_type`` and
        ``declaration_code``; ``cost`` (the kept line's cost, or for a claim with a
        credit note the net of its distinct lines, which may be negative); and the
        credit bookkeeping ``n_credit`` (distinct credit lines), ``credit_cost`` (their
        total as a positive amount) and ``has_debit`` (the claim has a line with cost
        >= 0, or no credit line at all).

    Notes
    -----
    Lines whose ``claim_id`` occurs once pass straight through (anti-join on the
    re-sent lines). The lines of each re-sent id without a credit are numbered in
    :data:`DEDUP_ORDER` (missing values last) and the first is kept. The lines of an id
    with a credit are netted as the module docstring describes. A missing ``claim_id``
    is one claim per line.
    """
    single = lines.anti_join(resent.select("claim_id"), "claim_id")
    negative = (single.cost < 0).fill_null(False)
    single = single.select(
        *_FIELDS,
        n_credit=ibis.ifelse(negative, 1, 0).cast("int64"),
        credit_cost=ibis.ifelse(negative, -single.cost, 0.0).cast("float64"),
        has_debit=~negative,
    )
    credited = resent.filter(resent.cost < 0).select("claim_id").distinct()

    plain = resent.anti_join(credited, "claim_id")
    order = ibis.window(
        group_by="claim_id",
        order_by=[ibis.asc(plain[c], nulls_first=False) for c in DEDUP_ORDER],
    )
    kept = (
        plain.mutate(_rank=ibis.row_number().over(order))
        .filter(ibis._._rank == 0)
        .select(*_FIELDS, n_credit=ibis.literal(0, "int64"),
                credit_cost=ibis.literal(0.0, "float64"), has_debit=ibis.literal(True))
    )

    versions = resent.semi_join(credited, "claim_id").select("claim_id", *_FIELDS).distinct()
    is_credit = (versions.cost < 0).fill_null(False)
    sums = versions.group_by("claim_id").aggregate(
        _net=versions.cost.sum(),
        _n_credit=versions.count(where=is_credit),
        _credit_cost=(-versions.cost).sum(where=is_credit),
        _n_debit=versions.count(where=~is_credit),
    )
    ledger_order = ibis.window(
        group_by="claim_id",
        order_by=[ibis.asc(is_credit)]
        + [ibis.asc(versions[c], nulls_first=False) for c in DEDUP_ORDER],
    )
    first = (
        versions.mutate(_rank=ibis.row_number().over(ledger_order))
        .filter(ibis._._rank == 0)
        .drop("_rank", "cost")
    )
    ledger = first.inner_join(sums, "claim_id")
    ledger = ledger.select(
        *[c for c in _FIELDS if c != "cost"],
        cost=ledger._net.cast("float64"),
        n_credit=ledger._n_credit.cast("int64"),
        credit_cost=ledger._credit_cost.cast("float64"),
        has_debit=ledger._n_debit > 0,
    ).select(*_FIELDS, *_CREDIT)
    return single.union(kept).union(ledger)


def resend_summary(resent: ir.Table) -> ir.Table:
    """One row: ``resent_claims``, ``resent_lines``, ``disagreeing_claims``, ``ledger_lines``.

    Over the claim ids with more than one line. An id without a credit line is a
    re-sent claim; it disagrees when its lines are not all identical (missing values
    compare equal to each other): it has more than one distinct version. An id with a
    credit line is a re-sent claim only when some of its lines are exact copies;
    its distinct lines are bookings netted together, not re-sends: ``ledger_lines``
    counts those beyond the first of each such claim (so that the lines removed as
    re-sends are ``lines_in - distinct_claims - ledger_lines``).
    """
    distinct = resent.select("claim_id", "n_lines", *_FIELDS).distinct()
    versions = distinct.group_by(["claim_id", "n_lines"]).aggregate(
        versions=distinct.count(),
        n_negative=distinct.count(where=distinct.cost < 0),
    )
    credited = versions.n_negative > 0
    return versions.aggregate(
        resent_claims=versions.count(
            where=~credited | (versions.versions < versions.n_lines)),
        resent_lines=versions.n_lines.sum(),
        disagreeing_claims=versions.count(where=~credited & (versions.versions > 1)),
        ledger_lines=(versions.versions - 1).sum(where=credited),
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
        basic package), ``n_withdrawn`` (claims not excluded whose credit notes leave
        less than half a cent), ``n_unknown`` / ``cost_unknown`` (kept claims of a care
        type not in ``CARE_TYPES``, or missing), and over all claims of the person-year
        ``n_credited`` / ``n_credit_netted`` / ``credit_netted`` (claims with a debit
        and a credit, their distinct credit lines and amount), ``n_over_credited`` /
        ``over_credit_cost`` (of those, the claims whose credits exceed the debits, and
        the excess floored), ``n_unmatched_credit`` / ``n_unmatched_credit_lines`` /
        ``unmatched_credit_cost`` (claims with credit lines only). Kept claims are the
        care-type counts plus ``n_unknown``.
    """
    date = claims.start_date if year_rule == "start_date" else claims.end_date
    if exclude_codes:
        code = claims.declaration_code
        excluded = _any([code.startswith(str(p)) for p in exclude_codes]).fill_null(False)
    else:
        excluded = ibis.literal(False)
    # one small integer per claim: the care type's index, UNKNOWN or EXCLUDED; the pivot
    # then filters on integer equality instead of comparing strings per aggregate
    unknown, excluded_k, withdrawn_k = len(CARE_TYPES), len(CARE_TYPES) + 1, len(CARE_TYPES) + 2
    credited = claims.n_credit > 0
    withdrawn = credited & (claims.cost.fill_null(0.0) < NETTING_TOLERANCE)
    kind = claims.care_type.cases(*[(c, i) for i, c in enumerate(CARE_TYPES)], else_=unknown)
    kind = ibis.ifelse(withdrawn, withdrawn_k, kind.fill_null(unknown))
    kind = ibis.ifelse(excluded, excluded_k, kind)
    t = claims.mutate(year=date.year().cast("int64"), _k=kind.cast("int8"))
    matched = (t.n_credit > 0) & t.has_debit
    over = matched & (t.cost <= -NETTING_TOLERANCE)
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
        n_withdrawn=t.count(where=t._k == withdrawn_k),
        n_credited=t.count(where=matched),
        n_credit_netted=t.n_credit.sum(where=matched),
        credit_netted=t.credit_cost.sum(where=matched),
        n_over_credited=t.count(where=over),
        over_credit_cost=(-t.cost).sum(where=over),
        n_unmatched_credit=t.count(where=~t.has_debit),
        n_unmatched_credit_lines=t.n_credit.sum(where=~t.has_debit),
        unmatched_credit_cost=t.credit_cost.sum(where=~t.has_debit),
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
        ``panel_claims``/``panel_cost``; and the credit-note figures
        ``withdrawn_claims``, ``credited_claims``, ``credit_lines_netted``,
        ``credit_amount_netted``, ``over_credited_claims``, ``over_credit_cost``,
        ``unmatched_credit_claims``, ``unmatched_credit_lines`` and
        ``unmatched_credit_cost`` (amounts as positive EUR).

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
        distinct_claims=(t._n_kept + t.n_excluded + t.n_withdrawn).sum(),
        withdrawn_claims=t.n_withdrawn.sum(),
        credited_claims=t.n_credited.sum(),
        credit_lines_netted=t.n_credit_netted.sum(),
        credit_amount_netted=t.credit_netted.sum(),
        over_credited_claims=t.n_over_credited.sum(),
        over_credit_cost=t.over_credit_cost.sum(),
        unmatched_credit_claims=t.n_unmatched_credit.sum(),
        unmatched_credit_lines=t.n_unmatched_credit_lines.sum(),
        unmatched_credit_cost=t.unmatched_credit_cost.sum(),
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
        withdrawn_claims=j.withdrawn_claims, credited_claims=j.credited_claims,
        credit_lines_netted=j.credit_lines_netted,
        credit_amount_netted=j.credit_amount_netted,
        over_credited_claims=j.over_credited_claims, over_credit_cost=j.over_credit_cost,
        unmatched_credit_claims=j.unmatched_credit_claims,
        unmatched_credit_lines=j.unmatched_credit_lines,
        unmatched_credit_cost=j.unmatched_credit_cost,
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
