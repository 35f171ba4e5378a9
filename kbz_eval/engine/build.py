"""``build_panel``: claim lines + insured periods -> the ``person_years`` panel.

The front door of the claims engine. It connects the backend, turns the inputs into
Ibis tables (:mod:`~kbz_eval.engine.sources`), builds the expressions of
:mod:`~kbz_eval.engine.panel` once, runs them, and returns the panel with a
:class:`PanelReport` of every rule applied and every claim not counted.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

from kbz_eval.engine.panel import (
    DEDUP_ORDER,
    YEAR_RULES,
    YearRule,
    distinct_claims,
    insured_years_summary,
    panel,
    person_year_claims,
    report_totals,
    resend_summary,
    resent_lines,
)
from kbz_eval.engine.sources import (
    Source,
    as_table,
    normalise_claim_lines,
    normalise_insured_periods,
)
from kbz_eval.errors import DataValidationError, SpecificationError, StatisticalWarning, Violation
from kbz_eval.tables import GGZ_LAST_DBC_YEAR

__all__ = [
    "Backend",
    "BACKENDS",
    "PanelReport",
    "PanelResult",
    "build_panel",
    "check_ggz_window",
    "ATTRS_KEY",
]

Backend = Literal["duckdb", "pyspark"]
BACKENDS: tuple[str, ...] = ("duckdb", "pyspark")
#: Key under which the report dict is attached to a pandas panel's ``attrs``.
ATTRS_KEY = "kbz_panel"

DEDUP_RULE = (
    "lines sharing a claim_id are re-sends and count once; when they disagree, the line "
    "kept is the smallest in (" + ", ".join(DEDUP_ORDER) + ") order, missing values last"
)
CREDIT_RULE = (
    "a line with a negative cost is a credit note netting against the lines of the same "
    "claim_id: the claim's distinct lines are summed (an exact copy counts once), its "
    "other fields come from its debit lines, and a claim netting to less than half a "
    "cent (fully reversed, over-credited, or a credit without its claim) is withdrawn"
)
YEAR_RULE_TEXT = {
    "start_date": "a claim belongs to the calendar year of its start_date (insurer's rule)",
    "end_date": "a claim belongs to the calendar year of its end_date",
}


@dataclass(frozen=True)
class PanelReport:
    """What :func:`build_panel` did: the rules used and where every claim went.

    Every distinct claim ends in exactly one of: ``excluded_claims`` (declaration code
    outside the basic package), ``withdrawn_claims`` (netted to nothing by credit
    notes), ``unassignable_claims`` (no date for the year rule), ``orphan_claims`` (no
    insured period for that person and year), ``unknown_care_type_claims`` (care type
    not in ``tables.CARE_TYPES``) or ``panel_claims``; their sum is
    ``distinct_claims``. Costs in EUR; credit amounts as positive amounts.

    Attributes
    ----------
    backend
        Ibis backend that ran the query (``duckdb``, ``pyspark``).
    year_rule, year_rule_text
        The claims-year rule used and its meaning.
    exclude_codes
        Declaration-code prefixes excluded (outside the basic package).
    dedup_rule
        How re-sent lines were collapsed.
    credit_rule
        How credit notes (negative costs) were netted.
    lines_in
        Claim lines read, re-sends included.
    credit_lines
        Of those, lines with a negative cost (credit notes), re-sends included.
    distinct_claims
        Distinct ``claim_id`` values (lines without a ``claim_id`` count one each).
    duplicate_lines_removed
        Lines removed as re-sends: ``lines_in - distinct_claims`` less the distinct
        lines netted within claims with a credit note (bookings, not re-sends).
    resent_claims, disagreeing_claims
        Claims sent more than once; of which the re-sent lines differ in some field
        (claims with a credit note never disagree: their distinct lines are netted).
    credited_claims
        Claims with a debit line (cost >= 0) and at least one credit note.
    credit_lines_netted, credit_amount_netted
        The distinct credit lines of those claims, and their total amount.
    over_credited_claims, over_credit_cost
        Credited claims whose credits exceed their debits by half a cent or more, and
        the excess, floored at 0 per claim (never taken from other claims).
    unmatched_credit_claims, unmatched_credit_lines, unmatched_credit_cost
        Credit notes without a matching claim: claim ids with credit lines only (the
        claim lies outside the extract or period), their distinct lines and amount.
    withdrawn_claims
        Claims (not excluded) that a credit note leaves at less than half a cent: fully
        reversed, over-credited, or without a matching claim; in no count or cost.
    excluded_claims, excluded_cost
        Claims (after de-duplication) whose code starts with an excluded prefix.
    unassignable_claims, unassignable_cost
        Kept claims without the date the year rule needs.
    orphan_claims, orphan_cost, orphan_person_years, orphan_persons
        Kept claims of person-years without an insured period; left out of the panel.
    unknown_care_type_claims, unknown_care_type_cost
        Kept claims of insured person-years whose care type is unknown; left out.
    panel_claims, panel_cost
        Claims counted in the panel, and their cost before rounding.
    person_years
        Rows of the panel (insured person-years).
    years
        Calendar years of the panel.
    ggz_regimes
        GGZ payment regimes among those years (``dbc`` up to 2021, ``consult`` after).
    ggz_break
        Whether the years span the 2021/2022 GGZ payment reform.
    """

    backend: str
    year_rule: str
    year_rule_text: str
    exclude_codes: tuple[str, ...]
    dedup_rule: str
    credit_rule: str
    lines_in: int
    credit_lines: int
    distinct_claims: int
    duplicate_lines_removed: int
    resent_claims: int
    disagreeing_claims: int
    credited_claims: int
    credit_lines_netted: int
    credit_amount_netted: float
    over_credited_claims: int
    over_credit_cost: float
    unmatched_credit_claims: int
    unmatched_credit_lines: int
    unmatched_credit_cost: float
    withdrawn_claims: int
    excluded_claims: int
    excluded_cost: float
    unassignable_claims: int
    unassignable_cost: float
    orphan_claims: int
    orphan_cost: float
    orphan_person_years: int
    orphan_persons: int
    unknown_care_type_claims: int
    unknown_care_type_cost: float
    panel_claims: int
    panel_cost: float
    person_years: int
    years: tuple[int, ...]
    ggz_regimes: tuple[str, ...]
    ggz_break: bool

    def as_dict(self) -> dict[str, Any]:
        """The report as a plain dict (lists for tuples), e.g. for JSON."""
        out = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}

    def summary(self) -> pd.DataFrame:
        """The report as a two-column table (``item``, ``value``)."""
        return pd.DataFrame(
            {"item": [f.name for f in fields(self)],
             "value": [str(getattr(self, f.name)) for f in fields(self)]}
        )

    def __repr__(self) -> str:
        return (
            f"PanelReport(backend={self.backend!r}, year_rule={self.year_rule!r}, "
            f"lines_in={self.lines_in}, distinct_claims={self.distinct_claims}, "
            f"panel_claims={self.panel_claims}, excluded={self.excluded_claims}, "
            f"withdrawn={self.withdrawn_claims}, "
            f"orphans={self.orphan_claims}, unassignable={self.unassignable_claims}, "
            f"person_years={self.person_years})"
        )


@dataclass(frozen=True)
class PanelResult:
    """A panel and its report (``build_panel(..., return_report=True)``).

    Attributes
    ----------
    panel
        pandas DataFrame, Ibis table or the Parquet path written, as requested.
    report
        :class:`PanelReport`.
    """

    panel: pd.DataFrame | ir.Table | Path
    report: PanelReport


def check_ggz_window(years: Iterable[int], *, stacklevel: int = 2) -> bool:
    """Warn when an analysis window spans the 2021/2022 GGZ payment reform.

    Parameters
    ----------
    years
        Calendar years the analysis uses.
    stacklevel
        Passed to :func:`warnings.warn`.

    Returns
    -------
    bool
        True when the years include one up to ``GGZ_LAST_DBC_YEAR`` (2021) and one
        after it, in which case a :class:`~kbz_eval.errors.StatisticalWarning` is
        emitted.

    Notes
    -----
    Specialist GGZ was paid per DBC (a treatment trajectory, up to a year long) until
    2021 and per consult (care product) from 2022; the reform closed every open GGZ DBC
    on 31-12-2021. Counts and costs per year are therefore not comparable across the
    break: a 2022 count is of consults, not DBCs, and 2021 holds trajectories cut short.
    """
    ys = sorted({int(y) for y in years})
    spans = bool(ys) and ys[0] <= GGZ_LAST_DBC_YEAR < ys[-1]
    if spans:
        warnings.warn(
            f"The analysis window {ys[0]}–{ys[-1]} spans the GGZ payment reform: specialist "
            f"GGZ was paid per DBC until {GGZ_LAST_DBC_YEAR} and per consult from "
            f"{GGZ_LAST_DBC_YEAR + 1} (all open GGZ DBCs were closed on "
            f"31-12-{GGZ_LAST_DBC_YEAR}). GGZ counts and costs are not comparable across "
            "the break; compare within one regime (column `ggz_regime`) or model the break.",
            StatisticalWarning,
            stacklevel=stacklevel,
        )
    return spans


def build_panel(
    claim_lines: Source,
    insured_periods: Source,
    *,
    backend: Backend = "duckdb",
    con: Any = None,
    year_rule: YearRule = "start_date",
    exclude_codes: Sequence[str] = ("16", "17"),
    output: Literal["pandas", "ibis"] | str | Path = "pandas",
    return_report: bool = False,
    threads: int | None = None,
    memory_limit: str | None = None,
    temp_directory: str | Path | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame | ir.Table | Path | PanelResult:
    """Build the ``person_years`` panel from claim lines and insured periods.

    Parameters
    ----------
    claim_lines
        The ``claim_lines`` table: a pandas DataFrame, pyarrow Table, Ibis table, or a
        Parquet/CSV file, glob, folder, or list of them (read by the backend, never
        through pandas). Required columns ``person_id``, ``claim_id``, ``start_date``,
        ``care_type``, ``cost``; optional ``end_date``, ``declaration_code``.
        ``claim_id`` may be text or integer.
    insured_periods
        The ``insured_periods`` table, in any of the same forms; one row per
        ``person_id`` × ``year``.
    backend
        ``"duckdb"`` (default: in-process, out-of-core, no server) or ``"pyspark"``.
    con
        An existing connection to use: an Ibis backend of the right kind, or for
        ``pyspark`` a ``SparkSession``. Default: a new in-memory DuckDB connection, or a
        local SparkSession (``getOrCreate``).
    year_rule
        ``"start_date"`` (default): a claim belongs to the year of its start date, the
        insurer's claims-year rule. ``"end_date"``: the year of its end date; claims
        without an end date are then counted as unassignable. Recorded in the report.
    exclude_codes
        Declaration-code prefixes outside the basic package, excluded from counts and
        costs; default ``("16", "17")``, ``()`` keeps every claim. A missing code counts
        as basic package.
    output
        ``"pandas"`` (default) a DataFrame, with the report dict in
        ``df.attrs["kbz_panel"]``; ``"ibis"`` the lazy Ibis table (on the same
        connection, which must stay open); or a path ending in ``.parquet`` (str or
        ``Path``) to which the backend writes the panel directly, without pandas
        (Spark writes a folder of that name); the path is returned.
    return_report
        Return a :class:`PanelResult` (``panel``, ``report``) instead of the panel alone.
    threads, memory_limit, temp_directory
        DuckDB settings for a connection made here (ignored when ``con`` is given):
        worker threads (default: all cores), memory limit such as ``"3GB"`` (default:
        DuckDB's 80 % of RAM; beyond it work spills to disk), and the spill folder
        (default: a temporary folder).
    columns
        The panel columns to return or write, in this order (default: every column).
        A consumer that reads a few of them (the report reads 13 of 24) spares the
        backend sorting and writing the others. Checked before the claim lines are
        read: a name that is not a panel column raises, listing the panel's columns.

    Returns
    -------
    pandas.DataFrame, ibis.Table, pathlib.Path or PanelResult
        The panel: one row per insured person-year, sorted by ``person_id``, ``year``.
        Columns in the ``person_years`` contract order: the insured-period columns
        present, ``{prefix}_count`` (int64) and ``{prefix}_cost`` (float64, EUR rounded
        to cents) for every care type in ``tables.CARE_TYPES`` (prefix from
        ``tables.CARE_TYPE_PREFIX``: ``poli_dbc``, ``ggz``, ...), ``total_cost`` (sum of
        the care-type costs), ``ggz_regime``; then insured-period columns the contract
        does not know, then ``insured_years`` (``insured_days`` / days in that year).

    Raises
    ------
    SpecificationError
        For a bad option value, or an input that is not a table or readable file.
    DataValidationError
        When a required column is missing, or (``person_id``, ``year``) is missing or not
        unique in ``insured_periods``.

    Warns
    -----
    StatisticalWarning
        When the panel's years span the 2021/2022 GGZ payment reform
        (:func:`check_ggz_window`).

    Notes
    -----
    The rules, in the order applied (each recorded in the report):

    1. Re-sent duplicates: lines sharing a ``claim_id`` count once. If they disagree,
       the kept line is the smallest in (start_date, cost, end_date, care_type,
       declaration_code, person_id) order, missing values last; the number of such
       claims is reported (``disagreeing_claims``).
    2. Credit notes: a line with a negative cost nets against the lines of the same
       ``claim_id``. Such a claim's distinct lines are summed (an exact copy, of a debit
       or a credit, counts once); its other fields come from its debit lines (the
       smallest in the order above), so a credit nets into the year of the claim it
       credits. A claim whose net is below half a cent is withdrawn (no count, no
       cost): a full reversal, an over-credited claim (the excess is floored per claim
       and reported) or a credit without its claim in the extract (reported). Every
       counted claim, and so every person-year cost, is at least 0. See
       :mod:`kbz_eval.engine.panel`.
    3. Declaration codes starting with an ``exclude_codes`` prefix are outside the basic
       package and excluded, judged on the kept line (de-duplication first); exclusion
       comes before withdrawal.
    4. The claim's year follows ``year_rule``; claims without that date are
       unassignable (counted, not in the panel).
    5. Claims of a (person, year) without an insured period are orphans: counted in the
       report (claims, cost, person-years, persons), not in the panel.
    6. Claims of a care type outside ``tables.CARE_TYPES`` are counted in the report and
       left out (``total_cost`` covers the basic-package care types).
    7. Every insured person-year is a row; without claims its counts and costs are 0.
    8. ``ggz_regime`` is ``"dbc"`` for years up to 2021 and ``"consult"`` from 2022.

    The transformation is one set of Ibis expressions (:mod:`kbz_eval.engine.panel`)
    and runs unchanged on DuckDB and PySpark. Two intermediate results are
    materialised on the backend (and dropped afterwards, except with
    ``output="ibis"``): the lines of re-sent claim ids (small) and the per-person-year
    claim aggregate; the panel and the report are both computed from them, so the claim
    lines are read three times (twice to find re-sends, once to aggregate) and never
    held in memory.

    Claim ids may be text or integers. Costs are summed per care type and rounded to
    cents; a cost exactly half-way between cents may round either way depending on the
    backend's floating-point rounding (claim costs in whole cents never are).

    Examples
    --------
    >>> import kbz_eval as kbz
    >>> s = kbz.load_sample()                                    # doctest: +SKIP
    >>> panel = kbz.build_panel(s["claim_lines"], s["insured_periods"])  # doctest: +SKIP
    >>> panel.attrs["kbz_panel"]["orphan_claims"]                # doctest: +SKIP
    """
    _check_options(backend=backend, year_rule=year_rule, exclude_codes=exclude_codes,
                   output=output, return_report=return_report, threads=threads)
    wanted = _check_columns_option(columns)
    exclude = tuple(str(c) for c in exclude_codes)
    con = _connect(backend, con, claim_lines, insured_periods, threads=threads,
                   memory_limit=memory_limit, temp_directory=temp_directory)

    registered: list[str] = []
    cached: list[ir.Table] = []
    try:
        raw_lines, view = as_table(con, claim_lines, name="claim_lines")
        registered.append(view)
        raw_insured, view = as_table(con, insured_periods, name="insured_periods")
        registered.append(view)
        lines = normalise_claim_lines(raw_lines, need_end_date=year_rule == "end_date")
        insured, _ = normalise_insured_periods(raw_insured)
        years, n_person_years = _check_insured(con, insured)
        if wanted is not None:  # names checked on the expressions, before any work
            _check_panel_columns(wanted, panel(person_year_claims(
                distinct_claims(lines, resent_lines(lines)), year_rule=year_rule,
                exclude_codes=exclude), insured).columns)

        resent = resent_lines(lines).cache()
        cached.append(resent)
        claims = person_year_claims(distinct_claims(lines, resent), year_rule=year_rule,
                                    exclude_codes=exclude).cache()
        cached.append(claims)
        read = con.to_pyarrow(lines.aggregate(
            lines_in=lines.count(), credit_lines=lines.count(where=lines.cost < 0),
        )).to_pylist()[0]
        totals = {
            **read,
            **con.to_pyarrow(resend_summary(resent)).to_pylist()[0],
            **con.to_pyarrow(report_totals(claims, insured)).to_pylist()[0],
        }
        report = _make_report(con.name, year_rule, exclude, totals, years, n_person_years)
        check_ggz_window(years, stacklevel=3)
        expr = panel(claims, insured)
        if wanted is not None:
            expr = expr.select(*wanted)
        if output == "ibis":
            result: Any = expr
        elif output == "pandas":
            result = _to_pandas(con, expr)
            result.attrs[ATTRS_KEY] = report.as_dict()
        else:
            path = Path(output)
            path.parent.mkdir(parents=True, exist_ok=True)
            con.to_parquet(expr, str(path))
            result = path
    finally:
        if output != "ibis":
            for table in cached:
                table.release()
            for view in registered:
                if view is not None:
                    with contextlib.suppress(Exception):
                        con.drop_view(view, force=True)
    return PanelResult(result, report) if return_report else result


def _check_columns_option(columns: Any) -> list[str] | None:
    """``columns`` as a list of distinct names (``None`` stays ``None``)."""
    if columns is None:
        return None
    if (isinstance(columns, (str, bytes)) or not isinstance(columns, Iterable)
            or not (names := list(columns))
            or not all(isinstance(c, str) and c for c in names)
            or len(set(names)) < len(names)):
        raise SpecificationError(
            "`columns` must be None or a list of distinct panel column names such as "
            f"['person_id', 'year', 'poli_dbc_cost'], but {columns!r} was passed.")
    return names


def _check_panel_columns(wanted: list[str], available: Sequence[str]) -> None:
    unknown = [c for c in wanted if c not in available]
    if unknown:
        raise SpecificationError(
            f"`columns` names {unknown}, which {'is' if len(unknown) == 1 else 'are'} not "
            f"a panel column; the panel's columns are {list(available)}.")


def _check_options(*, backend: Any, year_rule: Any, exclude_codes: Any, output: Any,
                   return_report: Any, threads: Any) -> None:
    if backend not in BACKENDS:
        raise SpecificationError(
            f"The value for `backend` must be one of {list(BACKENDS)}, but {backend!r} was "
            "passed."
        )
    if year_rule not in YEAR_RULES:
        raise SpecificationError(
            f"The value for `year_rule` must be one of {list(YEAR_RULES)}, but {year_rule!r} "
            "was passed."
        )
    if (
        isinstance(exclude_codes, (str, bytes))
        or not isinstance(exclude_codes, Iterable)
        or not all(isinstance(c, str) and c for c in exclude_codes)
    ):
        raise SpecificationError(
            "`exclude_codes` must be a tuple of non-empty code prefixes such as "
            f"('16', '17'), or () to keep every claim, but {exclude_codes!r} was passed."
        )
    if not (
        output in ("pandas", "ibis")
        or isinstance(output, Path)
        or (isinstance(output, str) and output.lower().endswith(".parquet"))
    ):
        raise SpecificationError(
            "The value for `output` must be 'pandas', 'ibis', or a path ending in "
            f"'.parquet', but {output!r} was passed."
        )
    if not isinstance(return_report, bool):
        raise SpecificationError(
            f"`return_report` must be True or False, but {return_report!r} was passed."
        )
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
    ):
        raise SpecificationError(
            f"`threads` must be a positive integer or None, but {threads!r} was passed."
        )


def connect_backend(backend: Backend = "duckdb", *, threads: int | None = None,
                    memory_limit: str | None = None,
                    temp_directory: str | Path | None = None,
                    spark_master: str = "local[*]") -> Any:
    """A new engine connection with the settings :func:`build_panel` would use.

    Parameters
    ----------
    backend
        ``"duckdb"`` or ``"pyspark"``.
    threads, memory_limit, temp_directory
        DuckDB settings (see :func:`build_panel`).
    spark_master
        Spark master URL of a new session (``local[*]``, ``local[2]``,
        ``spark://host:7077``); an active session with another master is reused.

    Returns
    -------
    An Ibis backend, to pass as ``con=`` to :func:`build_panel` and to the engine's
    input checks, so that every step of a run works on one connection.
    """
    _check_options(backend=backend, year_rule="start_date", exclude_codes=(),
                   output="ibis", return_report=False, threads=threads)
    return _connect(backend, None, threads=threads, memory_limit=memory_limit,
                    temp_directory=temp_directory, spark_master=spark_master)


def _connect(backend: str, con: Any, *sources: Any, threads: int | None,
             memory_limit: str | None, temp_directory: str | Path | None,
             spark_master: str = "local[*]") -> Any:
    if con is None:
        found = [s._find_backend() for s in sources if isinstance(s, ir.Table)]
        con = found[0] if found else None
    if con is not None:
        if backend == "pyspark" and type(con).__name__ == "SparkSession":
            return ibis.pyspark.connect(con)
        name = getattr(con, "name", None)
        if name != backend:
            raise SpecificationError(
                f"`con` is a {name or type(con).__name__!r} connection but backend="
                f"{backend!r}; pass a connection of that backend or leave `con` out."
            )
        return con
    if backend == "duckdb":
        config: dict[str, Any] = {
            "preserve_insertion_order": False,
            "temp_directory": str(temp_directory or Path(tempfile.gettempdir())
                                  / f"kbz_eval_duckdb_{os.getpid()}"),
        }
        if threads is not None:
            config["threads"] = int(threads)
        if memory_limit is not None:
            config["memory_limit"] = str(memory_limit)
        return ibis.duckdb.connect(**config)
    from pyspark.sql import SparkSession

    # a local session sized for one machine: few shuffle partitions (Spark's default of
    # 200 is meant for clusters), Arrow for pandas input, no UI or progress bars
    session = (
        SparkSession.builder.master(spark_master)
        .appName("kbz_eval")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(max(4, 2 * (os.cpu_count() or 1))))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    return ibis.pyspark.connect(session)


def _check_insured(con: Any, insured: ir.Table) -> tuple[list[int], int]:
    summary = con.to_pyarrow(insured_years_summary(insured)).to_pylist()
    violations = []
    null_year = sum(r["rows"] for r in summary if r["year"] is None)
    if null_year:
        violations.append(Violation(column="year", rule="not missing", n_rows=null_year))
    missing = sum(r["missing_key"] for r in summary)
    if missing:
        violations.append(Violation(column="person_id", rule="not missing", n_rows=missing))
    repeated = [r for r in summary if r["year"] is not None
                and r["rows"] - r["missing_key"] != r["persons"]]
    if repeated:
        violations.append(Violation(
            column="person_id, year", rule="unique key",
            n_rows=sum(r["rows"] - r["missing_key"] - r["persons"] for r in repeated),
            detail="repeated in year(s) " + ", ".join(str(r["year"]) for r in repeated)
            + "; the panel has one row per insured person-year, so merge or drop the "
            "repeated periods first",
        ))
    if violations:
        raise DataValidationError(source="insured_periods", table="insured_periods",
                                  violations=violations)
    return sorted(int(r["year"]) for r in summary), sum(int(r["rows"]) for r in summary)


def _make_report(backend: str, year_rule: str, exclude: tuple[str, ...],
                 totals: dict[str, Any], years: list[int], n_person_years: int) -> PanelReport:
    def n(key: str) -> int:
        return int(totals.get(key) or 0)

    def eur(key: str) -> float:
        return round(float(totals.get(key) or 0.0), 2)

    regimes = sorted({"dbc" if y <= GGZ_LAST_DBC_YEAR else "consult" for y in years},
                     key=["dbc", "consult"].index)
    return PanelReport(
        backend=backend,
        year_rule=year_rule,
        year_rule_text=YEAR_RULE_TEXT[year_rule],
        exclude_codes=exclude,
        dedup_rule=DEDUP_RULE,
        credit_rule=CREDIT_RULE,
        lines_in=n("lines_in"),
        credit_lines=n("credit_lines"),
        distinct_claims=n("distinct_claims"),
        duplicate_lines_removed=n("lines_in") - n("distinct_claims") - n("ledger_lines"),
        resent_claims=n("resent_claims"),
        disagreeing_claims=n("disagreeing_claims"),
        credited_claims=n("credited_claims"),
        credit_lines_netted=n("credit_lines_netted"),
        credit_amount_netted=eur("credit_amount_netted"),
        over_credited_claims=n("over_credited_claims"),
        over_credit_cost=eur("over_credit_cost"),
        unmatched_credit_claims=n("unmatched_credit_claims"),
        unmatched_credit_lines=n("unmatched_credit_lines"),
        unmatched_credit_cost=eur("unmatched_credit_cost"),
        withdrawn_claims=n("withdrawn_claims"),
        excluded_claims=n("excluded_claims"),
        excluded_cost=eur("excluded_cost"),
        unassignable_claims=n("unassignable_claims"),
        unassignable_cost=eur("unassignable_cost"),
        orphan_claims=n("orphan_claims"),
        orphan_cost=eur("orphan_cost"),
        orphan_person_years=n("orphan_person_years"),
        orphan_persons=n("orphan_persons"),
        unknown_care_type_claims=n("unknown_care_type_claims"),
        unknown_care_type_cost=eur("unknown_care_type_cost"),
        panel_claims=n("panel_claims"),
        panel_cost=eur("panel_cost"),
        person_years=n_person_years,
        years=tuple(years),
        ggz_regimes=tuple(regimes),
        ggz_break=bool(years) and years[0] <= GGZ_LAST_DBC_YEAR < years[-1],
    )


def _to_pandas(con: Any, expr: ir.Table) -> pd.DataFrame:
    return con.to_pyarrow(expr).to_pandas()
