"""Data contracts: the one source of truth for every input table.

Each table kbz_eval reads is described here once: its columns (name, type, unit,
allowed range or categories, nullability, whether the column is required), its key and
its foreign keys. Readers (:mod:`kbz_eval.io`), validation (:mod:`kbz_eval.validation`),
the synthetic generator, the claims engine and ``docs/data-contracts.md`` all use these
definitions; a test keeps the rendered document in sync with this module.

Dutch terms kept as terms of art: *DBC* (diagnose-behandelcombinatie, the Dutch hospital
care product; an outpatient or "poli" DBC has no admission), *GGZ* (mental health care;
specialist GGZ is secondary mental health care), *minima* (insured persons on a
municipal low-income policy, the "gemeentepolis"), *CVG* (cijfer voor gezondheid, a 1–10
self-rated health mark).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

DType = Literal["str", "int", "float", "bool", "date", "category"]

#: Calendar years a claims or survey extract may plausibly hold.
YEAR_MIN, YEAR_MAX = 2000, 2035

CARE_TYPES = (
    "poli_dbc",
    "clinical_dbc",
    "ggz_specialist",
    "ggz_basic",
    "gp",
    "pharmacy",
    "other",
)

#: Column prefix of each care type in ``person_years``: ``{prefix}_count`` and
#: ``{prefix}_cost``. Specialist GGZ is ``ggz_`` so that ``ggz_cost`` is the contract's
#: specialist mental-health cost.
CARE_TYPE_PREFIX = {
    "poli_dbc": "poli_dbc",
    "clinical_dbc": "clinical_dbc",
    "ggz_specialist": "ggz",
    "ggz_basic": "ggz_basic",
    "gp": "gp",
    "pharmacy": "pharmacy",
    "other": "other",
}

#: Last year GGZ was paid per DBC; from the next year it is paid per consult (the
#: payment reform closed every open GGZ DBC on 31-12-2021).
GGZ_LAST_DBC_YEAR = 2021


@dataclass(frozen=True)
class Column:
    """One column of a data contract.

    Attributes
    ----------
    name
        Canonical column name.
    dtype
        Logical type: ``str``, ``int``, ``float``, ``bool``, ``date`` or ``category``.
    description
        What the column holds, in one sentence.
    unit
        Unit of measurement (``EUR``, ``days``, ``percent``...), empty if none.
    required
        Whether the column must be present.
    nullable
        Whether missing values are allowed where the column is present.
    min, max
        Inclusive range for numbers (``None`` = unbounded).
    categories
        Allowed values for ``category`` columns.
    """

    name: str
    dtype: DType
    description: str
    unit: str = ""
    required: bool = True
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    categories: tuple[str, ...] = ()

    def rule_text(self) -> str:
        """Human-readable summary of the value rule (range or categories)."""
        if self.categories:
            return "one of " + ", ".join(f"`{c}`" for c in self.categories)
        if self.min is not None and self.max is not None:
            return f"{_fmt(self.min)} – {_fmt(self.max)}"
        if self.min is not None:
            return f"≥ {_fmt(self.min)}"
        if self.max is not None:
            return f"≤ {_fmt(self.max)}"
        return ""


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


@dataclass(frozen=True)
class ForeignKey:
    """Values of ``column`` must appear in ``table.ref_column`` (checked when given)."""

    column: str
    table: str
    ref_column: str


@dataclass(frozen=True)
class Netting:
    """Signed amounts that net per group: negative values are credit notes.

    A row whose ``amount`` is negative is a credit note (creditering): it reverses or
    corrects rows of the same ``group`` value. Rows are compared as distinct rows (an
    exact copy in every contract column is a re-send and counts once). The distinct
    credits of a group may not exceed its distinct debits (non-negative amounts) by half a
    cent or more when the group has any debit (rule ``credit exceeds claim``; every row
    of such a group is reported). A group with credits only is allowed: its debit lies
    outside the extract, and the claims engine counts it.
    """

    amount: str
    group: str

    def rule_text(self) -> str:
        """The rule as one Markdown sentence, for ``docs/data-contracts.md``."""
        return (
            f"Credit notes: a negative `{self.amount}` is a credit note that nets against "
            f"the lines of the same `{self.group}`; exact copies of a line count once. "
            f"The credits of a `{self.group}` may not exceed its debits (non-negative "
            f"`{self.amount}`) by half a cent or more when it has any debit (rule `credit "
            f"exceeds claim`, every line of that `{self.group}` reported); credits "
            f"without a debit in the extract are allowed and counted by the claims engine."
        )


#: Credits may exceed debits by less than this (EUR) before a claim is over-credited:
#: sums of costs in cents are exact to far below it, whatever the order of summation.
NETTING_TOLERANCE = 0.005


@dataclass(frozen=True)
class Table:
    """A data contract for one input table.

    Attributes
    ----------
    name
        Canonical table name, as passed to ``kbz.read(..., table=name)``.
    row
        What one row is ("insured person × calendar year").
    columns
        The columns, in canonical order.
    key
        Columns that together identify a row (must be unique).
    one_of
        Groups of columns of which at least one must be present (e.g. ``birth_year`` or
        ``age_band``).
    foreign_keys
        References to other tables, checked when the other table is supplied.
    description
        What the table holds, in a sentence or two.
    netting
        For tables with credit notes: the signed amount column and the column whose
        rows net together (:class:`Netting`), ``None`` otherwise.
    """

    name: str
    row: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    one_of: tuple[tuple[str, ...], ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    description: str = ""
    netting: Netting | None = None

    @property
    def names(self) -> list[str]:
        """Column names in canonical order."""
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        """Names of the columns that must be present."""
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        """The column called ``name``; raises ``KeyError`` naming the table."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table '{self.name}' has no column '{name}'")


# ---------------------------------------------------------------------------
# Reusable columns
_PERSON_ID = Column("person_id", "str", "Pseudonymised person id (never a BSN or name).")
_YEAR = Column("year", "int", "Calendar year.", min=YEAR_MIN, max=YEAR_MAX)
_PRACTICE_ID = Column("practice_id", "str", "GP practice the person was registered with.")
_INSURED_DAYS = Column(
    "insured_days", "int", "Days insured in the year.", unit="days", min=1, max=366
)
_SEX = Column("sex", "category", "Sex.", categories=("M", "F"))
_BIRTH_YEAR = Column(
    "birth_year", "int", "Year of birth (never a full birth date).",
    required=False, min=1900, max=YEAR_MAX,
)
AGE_BANDS = (
    "0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44",
    "45-49", "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85-89", "90+",
)
_AGE_BAND = Column(
    "age_band", "category", "Five-year age band in that year.", required=False,
    categories=AGE_BANDS,
)
_MINIMA = Column("minima", "bool", "Insured on the municipal low-income policy (minima).")


def _eur(name: str, description: str, *, required: bool = True) -> Column:
    return Column(name, "float", description, unit="EUR", min=0, required=required)


PERSON_YEARS = Table(
    name="person_years",
    row="insured person × calendar year",
    description="The analysis panel: exposure and claims per person and year.",
    columns=(
        _PERSON_ID, _YEAR, _PRACTICE_ID, _INSURED_DAYS, _SEX, _BIRTH_YEAR, _AGE_BAND, _MINIMA,
        Column("poli_dbc_count", "int", "Outpatient (poli) DBCs started in the year.", min=0),
        _eur("poli_dbc_cost", "Cost of outpatient DBCs."),
        _eur("ggz_cost", "Cost of specialist mental health care (GGZ)."),
        _eur("total_cost", "Total basic-package cost.", required=False),
        Column("ggz_count", "int", "Specialist GGZ claims (DBCs until 2021, products from "
               "2022).", required=False, min=0),
        *(
            col
            for prefix in ("clinical_dbc", "ggz_basic", "gp", "pharmacy", "other")
            for col in (
                Column(f"{prefix}_count", "int", f"Claims of care type `{prefix}`.",
                       required=False, min=0),
                _eur(f"{prefix}_cost", f"Cost of care type `{prefix}`.", required=False),
            )
        ),
        Column("ggz_regime", "category", "How specialist GGZ was paid that year: per DBC "
               "(until 2021) or per consult (from 2022).", required=False,
               categories=("dbc", "consult")),
    ),
    key=("person_id", "year"),
    one_of=(("birth_year", "age_band"),),
    foreign_keys=(ForeignKey("practice_id", "practices", "practice_id"),),
)

INSURED_PERIODS = Table(
    name="insured_periods",
    row="insured person × calendar year",
    description="Who was insured when: the person-level columns of `person_years`.",
    columns=(_PERSON_ID, _YEAR, _PRACTICE_ID, _INSURED_DAYS, _SEX, _BIRTH_YEAR, _AGE_BAND,
             _MINIMA),
    key=("person_id", "year"),
    one_of=(("birth_year", "age_band"),),
    foreign_keys=(ForeignKey("practice_id", "practices", "practice_id"),),
)

CLAIM_LINES = Table(
    name="claim_lines",
    row="declared claim line (DBC subtraject or GGZ product)",
    description=(
        "Claims as declared to the insurer. A re-sent claim repeats its `claim_id`; "
        "declaration codes starting with 16 or 17 are outside the basic package. A line "
        "with a negative `cost` is a credit note (creditering) reversing or correcting "
        "the claim with the same `claim_id`. The claims engine nets a claim with credit "
        "notes: its distinct lines are summed (an exact copy counts once) and its other "
        "fields come from its debit lines; a claim netting to less than half a cent "
        "(fully reversed, over-credited, or a credit without its debit in the extract) "
        "is withdrawn, counted in the engine's report and not in the panel, so "
        "person-year costs stay ≥ 0."
    ),
    columns=(
        _PERSON_ID,
        Column("claim_id", "str", "Claim (subtraject) id; re-sent duplicates share it."),
        Column("start_date", "date", "Start date of the subtraject or product."),
        Column("end_date", "date", "End date (optional; used by the end-date year rule).",
               required=False, nullable=True),
        Column("care_type", "category", "Kind of care.", categories=CARE_TYPES),
        Column("declaration_code", "str", "Declaration code (16…/17… = outside the basic "
               "package).", required=False, nullable=True),
        Column("cost", "float", "Declared cost; negative for a credit note.", unit="EUR"),
    ),
    key=(),
    netting=Netting(amount="cost", group="claim_id"),
)

PRACTICES = Table(
    name="practices",
    row="GP practice",
    columns=(
        _PRACTICE_ID,
        Column("city", "str", "Municipality."),
        Column("neighbourhood", "str", "Neighbourhood (wijk)."),
        Column("group", "category", "KBZ practice or control.", categories=("kbz", "control")),
        Column("kbz_start_year", "int", "Year KBZ started (empty for controls).",
               nullable=True, min=YEAR_MIN, max=YEAR_MAX),
    ),
    key=("practice_id",),
)

CVG = Table(
    name="cvg",
    row="patient × measurement",
    description="CVG: the patient's 1–10 mark for their own health, and the GP's estimate.",
    columns=(
        _PERSON_ID,
        _PRACTICE_ID,
        Column("measurement", "int", "Measurement number (1 = first).", min=1, max=50),
        Column("date", "date", "Date of the measurement.", required=False, nullable=True),
        Column("cvg_patient", "int", "Patient's mark for own health.", min=1, max=10),
        Column("cvg_gp", "int", "GP's mark for the patient's health.", required=False,
               nullable=True, min=1, max=10),
    ),
    key=("person_id", "measurement"),
    foreign_keys=(ForeignKey("practice_id", "practices", "practice_id"),),
)

WORKFORCE = Table(
    name="workforce",
    row="respondent × wave",
    columns=(
        Column("respondent_id", "str", "Pseudonymised respondent id."),
        _PRACTICE_ID,
        Column("wave", "int", "Survey wave (1 = first).", min=1, max=50),
        Column("role", "str", "Professional role (GP, POH-GGZ, assistant, ...)."),
        Column("workload", "float", "Experienced workload (1 = low, 10 = high).", min=1,
               max=10, nullable=True),
        Column("job_satisfaction", "float", "Job satisfaction (1–10).", min=1, max=10,
               nullable=True),
    ),
    key=("respondent_id", "wave"),
    foreign_keys=(ForeignKey("practice_id", "practices", "practice_id"),),
)

MONITOR = Table(
    name="monitor",
    row="area × year × indicator",
    description="Health-monitor percentages; `n` may be an assumption, which must be said.",
    columns=(
        Column("area", "str", "Area name or code."),
        Column("area_type", "category", "Kind of area.",
               categories=("neighbourhood", "city", "country")),
        _YEAR,
        Column("indicator", "str", "Indicator name, e.g. `good_self_rated_health`."),
        Column("percent", "float", "Percentage of respondents.", unit="percent", min=0,
               max=100),
        Column("n", "int", "Respondents behind the percentage.", min=1, nullable=True),
        Column("n_is_assumed", "bool", "True when `n` is an assumption, not a published "
               "count.", required=False),
    ),
    key=("area", "year", "indicator"),
)

PRACTICE_INDICATORS = Table(
    name="practice_indicators",
    row="practice × year × indicator",
    columns=(
        _PRACTICE_ID,
        _YEAR,
        Column("indicator", "str", "Indicator, e.g. `ivm` (prescribing-efficiency score)."),
        Column("score_percent", "float", "Score as % of the maximum.", unit="percent", min=0,
               max=100),
    ),
    key=("practice_id", "year", "indicator"),
    foreign_keys=(ForeignKey("practice_id", "practices", "practice_id"),),
)

CONVERSATIONS = Table(
    name="conversations",
    row="rating of one 4D conversation item by one respondent",
    columns=(
        Column("respondent_type", "category", "Who rated.",
               categories=("patient", "professional")),
        Column("item", "str", "Questionnaire item."),
        Column("rating", "int", "Likert rating (1 = fully disagree, 5 = fully agree).", min=1,
               max=5),
    ),
)

CONSULTS = Table(
    name="consults",
    row="neighbourhood-specialist (wijkspecialist) consultation",
    columns=(
        Column("consult_id", "str", "Consultation id."),
        Column("specialism", "str", "Medical specialism consulted."),
        Column("referral_avoided", "bool", "Whether a hospital referral was avoided."),
    ),
    key=("consult_id",),
)

#: Every contract by table name.
TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        PERSON_YEARS, CLAIM_LINES, INSURED_PERIODS, PRACTICES, CVG, WORKFORCE, MONITOR,
        PRACTICE_INDICATORS, CONVERSATIONS, CONSULTS,
    )
}


def get_table(name: str) -> Table:
    """The contract called ``name``.

    Raises
    ------
    SpecificationError
        If there is no such table; the message lists the known tables.
    """
    from kbz_eval.errors import SpecificationError

    try:
        return TABLES[name]
    except KeyError:
        raise SpecificationError(
            f"The value for `table` must be one of {sorted(TABLES)}, but {name!r} was passed."
        ) from None


def age_band(age: np.ndarray) -> np.ndarray:
    """Five-year age band labels (``AGE_BANDS``) for ages in whole years."""
    idx = np.clip(np.asarray(age, dtype=int) // 5, 0, len(AGE_BANDS) - 1)
    return np.asarray(AGE_BANDS, dtype=object)[idx]


def days_in_year(year: np.ndarray | int) -> np.ndarray:
    """365 or 366 for each calendar year."""
    y = np.asarray(year, dtype=int)
    if y.size > 1_000:
        first, last = int(y.min()), int(y.max())
        if last - first < 64:  # a column of rows spanning a few years: one test per year
            span = np.arange(first, last + 1)
            leap = np.zeros(y.shape, dtype=bool)
            for year_366 in span[_days(span) == 366]:
                leap |= y == year_366
            return np.where(leap, 366, 365)
    return _days(y)


def _days(y: np.ndarray) -> np.ndarray:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    return np.where(leap, 366, 365)


def insured_years(insured_days: np.ndarray, year: np.ndarray) -> np.ndarray:
    """Exposure in insured years: ``insured_days`` divided by the days in that year."""
    return np.asarray(insured_days, dtype=float) / days_in_year(year)


def render_markdown() -> str:
    """Render every contract as the Markdown of ``docs/data-contracts.md``."""
    out = [
        "# Data contracts",
        "",
        "Generated from `kbz_eval/tables.py` by `python -m kbz_eval.tables`; "
        "a test keeps this file in sync. Do not edit by hand.",
        "",
        "A mapping (`kbz.read(..., mapping=...)`) adapts an export's own column names and "
        "codes to these canonical names.",
        "",
    ]
    for t in TABLES.values():
        out += [f"## `{t.name}`", "", f"One row per {t.row}."]
        if t.description:
            out += ["", t.description]
        out += [
            "",
            "| column | type | unit | required | nullable | rule | description |",
            "|---|---|---|---|---|---|---|",
        ]
        for c in t.columns:
            out.append(
                f"| `{c.name}` | {c.dtype} | {c.unit} | {'yes' if c.required else 'no'} | "
                f"{'yes' if c.nullable else 'no'} | {c.rule_text()} | {c.description} |"
            )
        out.append("")
        if t.key:
            out.append("Key: " + " + ".join(f"`{k}`" for k in t.key) + " (unique).")
        for group in t.one_of:
            out.append("At least one of " + ", ".join(f"`{g}`" for g in group) + ".")
        for fk in t.foreign_keys:
            out.append(f"`{fk.column}` must appear in `{fk.table}.{fk.ref_column}`.")
        if t.netting is not None:
            out.append(t.netting.rule_text())
        out.append("")
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":  # pragma: no cover - exercised through the docs test
    import sys
    from pathlib import Path

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/data-contracts.md")
    target.write_text(render_markdown(), encoding="utf-8")
