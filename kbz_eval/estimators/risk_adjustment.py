"""Risk adjustment by indirect standardisation on age band × sex: ``kbz.risk_adjustment``.

Costs depend strongly on age and sex, and the KBZ and control practices differ in both.
Indirect standardisation asks: what would this group have cost if each of its persons
had cost what a person of the same age band and sex costs in a *reference* population?
That is the *expected* cost ``E``; the ratio ``O/E`` of observed to expected cost says
how much more (> 1) or less (< 1) a group costs than its age/sex mix predicts.

The numerics are :mod:`kbz_eval.stats.standardise` (written once); this module adds the
claims-specific reference choices (:func:`expected_values`, used by the
``adjust="age_sex"`` variants of :func:`kbz_eval.savings` and :func:`kbz_eval.ggz_change`)
and the inference: KBZ against control practices at the practice level (the unit KBZ is
assigned to), each practice's own O/E with its own interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import special

from kbz_eval import tables
from kbz_eval.errors import SpecificationError
from kbz_eval.estimators import claims_common as cc
from kbz_eval.results import Result, tidy_frame
from kbz_eval.stats import standardise
from kbz_eval.stats.multiplicity import mark_family
from kbz_eval.stats.options import Inference, PracticeMethod, allowed, check_option
from kbz_eval.stats.practice import (
    PERSONS_ONLY,
    PracticeInference,
    PracticeSums,
    impossible_message,
)
from kbz_eval.stats.pvalues import format_p

#: Allowed string values of ``reference``.
REFERENCE_OPTIONS: tuple[str, ...] = allowed("reference")
#: Allowed values of ``by``.
BY_OPTIONS: tuple[str, ...] = ("group", "practice")
#: The strata of the standardisation.
STRATA = ("age_band", "sex")
KBZ, CONTROL = 0, 1  # group axis of the cell sums (cc.GROUPS order)
#: The values summed per cell (column blocks of the practice sums).
VALUES = ("observed", "expected")

Reference = Literal["pooled", "control"] | pd.DataFrame

#: What a per-practice interval is about.
OWN_PRACTICE = ("descriptive: this practice's own O/E, interval from its persons "
                "(about this practice only)")


class RiskAdjustmentResult(Result):
    """Result of :func:`risk_adjustment`: observed/expected ratios per unit and year.

    ``tidy()`` rows ``oe_<unit>_<year>``: the O/E ratio with its interval and the p-value
    of O/E = 1 (extra columns ``unit``, ``year``); with ``by="group"`` also
    ``oe_kbz_vs_control_<year>`` (KBZ O/E / control O/E, p-value of 1, randomisation
    p over practice relabellings) and, with ``inference="practice"``, one
    ``oe_kbz_vs_control_<last year>_persons_only`` row. Columns ``inference``
    (``"practice"``/``"person"``), ``df``, ``p_randomisation``, ``note``; with
    ``by="group"`` also ``role`` and Holm ``p_adjusted`` (primary: the last year's
    comparison).

    ``tables``: ``observed_expected`` (unit, group, year, ``n_persons``, insured years,
    observed, expected, O/E with interval, crude and standardised rate per insured year),
    ``reference_rates`` (age band × sex rates of the reference population, with
    ``n_persons``; empty strata omitted) and, with ``by="group"``, ``kbz_vs_control``
    (the ratio of the O/E ratios per year).
    """

    title = "observed/expected ratio (indirect standardisation on age band × sex)"
    plotter = "claims:plot_risk_adjustment"

    def plot_data(self) -> pd.DataFrame:
        """O/E per unit and year: ``unit, group, year, oe_ratio, ci_lower, ci_upper,
        n_persons``."""
        t = self.tables["observed_expected"]
        return t[["unit", "group", "year", "oe_ratio", "ci_lower", "ci_upper",
                  "n_persons"]].reset_index(drop=True)

    def headline(self) -> str:
        """By group: the last year's O/E of both groups and their ratio with its
        (practice-level) interval and p; by practice: each practice's O/E."""
        t = self.tables["observed_expected"]
        s = self.settings
        year = int(t["year"].max())
        last = t[t["year"] == year]
        head = (f"O/E of {s['outcome']} in {year} (reference: {s['reference']}): ")
        if s["by"] == "practice":
            return head + ", ".join(
                f"{r.unit} {r.oe_ratio:.3f} ({r.ci_lower:.3f}–{r.ci_upper:.3f})"
                for r in last.itertuples()) + f" ({OWN_PRACTICE})"
        oe = last.set_index("unit")["oe_ratio"]
        row = self.estimates.set_index("term").loc[f"oe_kbz_vs_control_{year}"]
        level = f"{100 * (1 - s['alpha']):g}%"
        if np.isfinite(row["ci_lower"]):
            how = ("practice-level" if row["inference"] == "practice" else PERSONS_ONLY)
            ci = (f"{level} CI {row['ci_lower']:.3f}–{row['ci_upper']:.3f}, {how}, "
                  f"{format_p(row['p_value'])}")
        else:
            ci = (f"no practice-level interval: {s['n_practices_kbz']} KBZ and "
                  f"{s['n_practices_control']} control practice(s)")
        return (head + f"KBZ practices {oe['kbz']:.3f}, control practices "
                f"{oe['control']:.3f}; KBZ / control {row['estimate']:.3f} ({ci})")


# --------------------------------------------------------------------------- reference
def reference_rates(frame: pd.DataFrame, outcome: str, mask: np.ndarray | None = None
                    ) -> pd.DataFrame:
    """Rate per insured year of ``outcome`` per age band × sex over the rows in ``mask``.

    Columns ``age_band, sex, n_persons, insured_years, total, rate``; strata without
    exposure are left out. ``n_persons`` counts distinct persons (``person`` codes).
    """
    f = frame if mask is None else frame[mask]
    rates = standardise.stratum_rates(f, value=outcome, exposure="iy", strata=STRATA)
    persons = f.groupby(list(STRATA), observed=True, sort=True)["person"].nunique()
    out = pd.DataFrame({
        "age_band": rates["age_band"], "sex": rates["sex"],
        "n_persons": persons.to_numpy(), "insured_years": rates["iy"],
        "total": rates[outcome], "rate": rates["rate"]})
    return out[out["insured_years"] > 0].reset_index(drop=True)


def _external_rates(reference: pd.DataFrame) -> pd.DataFrame:
    needed = ["age_band", "sex", "rate"]
    missing = [c for c in needed if c not in reference.columns]
    if missing:
        raise SpecificationError(
            f"A `reference` table must have the columns {needed}, but {missing} are "
            "missing. Give the reference rate per insured year per age band and sex."
        )
    bands = cc.plain_ascii_texts(reference["age_band"])
    sexes = cc.plain_ascii_texts(reference["sex"])
    if bands is not None and sexes is not None:
        # plain ASCII text without surrounding whitespace: stripping is the identity and
        # str.upper pandas' upper case, so pandas' string methods are not needed
        band_text = np.array(bands, dtype=object).astype(str)
        sex_text = np.array([s.upper() for s in sexes], dtype=object).astype(str)
    else:
        band_text = reference["age_band"].astype("string").str.strip().to_numpy(
            dtype=object).astype(str)
        sex_text = reference["sex"].astype("string").str.strip().str.upper().to_numpy(
            dtype=object).astype(str)
    out = pd.DataFrame({
        "age_band": band_text,
        "sex": sex_text,
        "rate": pd.to_numeric(reference["rate"], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan),
    })
    if not np.isfinite(out["rate"]).all() or (out["rate"] < 0).any():
        raise SpecificationError("`reference` rates must be finite numbers ≥ 0.")
    if out.duplicated(["age_band", "sex"]).any():
        raise SpecificationError("`reference` has more than one rate for an age band × sex.")
    bad = ~out["age_band"].isin(tables.AGE_BANDS) | ~out["sex"].isin(("M", "F"))
    if bad.any():
        raise SpecificationError(
            f"`reference` holds unknown strata (age bands must be {tables.AGE_BANDS[0]} "
            f"... {tables.AGE_BANDS[-1]}, sex M or F): "
            f"{out.loc[bad, ['age_band', 'sex']].head(3).to_dict('records')}."
        )
    return out


def expected_values(cp: cc.ClaimsPanel, outcome: str, reference: Any
                    ) -> tuple[np.ndarray, pd.DataFrame, float, str, list[str]]:
    """Expected ``outcome`` of every row of ``cp.frame`` under the reference rates.

    Parameters
    ----------
    cp
        Prepared panel with ``sex`` and ``age_band``.
    outcome
        Value column (cost or count).
    reference
        ``"pooled"`` (every row of ``cp``: both groups, all analysed years),
        ``"control"`` (the control rows) or a DataFrame ``age_band, sex, rate``.

    Returns
    -------
    expected, rates, crude_reference_rate, description, notes
        ``expected = insured years × rate of the row's stratum``
        (:func:`kbz_eval.stats.standardise.expected`); the rate table; the crude rate of
        the reference population (for standardised rates; for an external table the mean
        of the internal expected per insured year); a description of the reference;
        notes (strata without reference exposure, whose rows get the crude rate).
    """
    f = cp.frame
    notes: list[str] = []
    if isinstance(reference, pd.DataFrame):
        rates = _external_rates(reference)
        desc = "a user-supplied table of age band × sex rates"
        ref_mask = None
    else:
        cc.check_choice("reference", reference, REFERENCE_OPTIONS)
        ref_mask = None if reference == "pooled" else (f["group"].to_numpy() == "control")
        rates = reference_rates(f, outcome, ref_mask)
        desc = ("all person-years analysed (both groups, all analysed years)"
                if reference == "pooled" else "the control person-years analysed")
    exp = _expected_by_codes(f, rates)
    unmatched = np.isnan(exp)
    iy = f["iy"].to_numpy()
    if isinstance(reference, pd.DataFrame):
        if unmatched.any():
            missing = sorted(set(zip(f["age_band"].to_numpy()[unmatched],
                                     f["sex"].to_numpy()[unmatched], strict=True)))
            raise SpecificationError(
                f"`reference` has no rate for {len(missing)} age band × sex strata of the "
                f"panel, e.g. {missing[:4]}. Give a rate for every stratum."
            )
        crude = float(exp.sum() / iy.sum())
    else:
        ref = f if ref_mask is None else f[ref_mask]
        crude = float(ref[outcome].sum() / ref["iy"].sum())
        if unmatched.any():
            notes.append(
                f"{int(unmatched.sum())} person-year(s) are in age band × sex strata "
                "without reference exposure; their expected value uses the crude reference "
                "rate.")
    return np.where(unmatched, iy * crude, exp), rates, crude, desc, notes


# --------------------------------------------------------------------------- inference
def _expected_by_codes(f: pd.DataFrame, rates: pd.DataFrame) -> np.ndarray:
    """:func:`kbz_eval.stats.standardise.expected` over :data:`STRATA`, looked up by
    the categorical codes of the rows (a table of rates per age band × sex) instead of
    a join of every row: the same products of insured years and rates, without the
    join's copies of the rows. Other column types go through the join."""
    if not all(isinstance(f[c].dtype, pd.CategoricalDtype) for c in STRATA):
        return standardise.expected(f, rates, exposure="iy", strata=list(STRATA))
    rate_of: dict[tuple[Any, Any], float] = {}
    for band, sex, rate in zip(rates["age_band"], rates["sex"], rates["rate"], strict=True):
        rate_of.setdefault((band, sex), float(rate))
    bands, sexes = f["age_band"].cat.categories, f["sex"].cat.categories
    # one extra row and column of NaN: a missing value (code -1) has no rate
    table = np.full((len(bands) + 1, len(sexes) + 1), np.nan)
    for i, band in enumerate(bands):
        for j, sex in enumerate(sexes):
            table[i, j] = rate_of.get((band, sex), np.nan)
    rate = table[f["age_band"].cat.codes.to_numpy(), f["sex"].cat.codes.to_numpy()]
    return f["iy"].to_numpy(dtype=float) * rate


def oe_inference(observed: np.ndarray, expected: np.ndarray, *, alpha: float
                 ) -> dict[str, float]:
    """O/E with a log-scale interval from the person-level ratio-estimator variance.

    ``observed`` and ``expected`` are per-person sums within one cell. The variance of
    ``R = ΣO/ΣE`` treats the reference rates as fixed:
    ``Var(R) = n/(n − 1) · Σ (o_i − R e_i)² / (Σ e_i)²``; the interval is
    ``R · exp(± z · se/R)`` and the p-value tests ``R = 1`` on the log scale.
    """
    o, e = np.asarray(observed, float), np.asarray(expected, float)
    n = o.size
    big_o, big_e = o.sum(), e.sum()
    if big_e <= 0 or n < 2:
        return {"oe_ratio": np.nan, "std_error": np.nan, "ci_lower": np.nan,
                "ci_upper": np.nan, "p_value": np.nan}
    r = big_o / big_e
    se = float(np.sqrt(n / (n - 1) * np.sum((o - r * e) ** 2)) / big_e)
    return {"oe_ratio": float(r), "std_error": se,
            **_log_scale(float(r), se / r if r > 0 else np.nan, alpha)}


def _log_scale(ratio: float, se_log: float, alpha: float) -> dict[str, float]:
    """Normal interval of a ratio on the log scale and the p-value of ratio = 1."""
    if not (ratio > 0 and np.isfinite(se_log) and se_log > 0):
        return {"ci_lower": np.nan, "ci_upper": np.nan, "p_value": np.nan}
    # special.ndtri / ndtr(−x): what stats.norm.ppf / sf compute, without their checks
    z = special.ndtri(1 - alpha / 2)
    return {"ci_lower": float(ratio * np.exp(-z * se_log)),
            "ci_upper": float(ratio * np.exp(z * se_log)),
            "p_value": float(2 * special.ndtr(-(abs(np.log(ratio)) / se_log)))}


def _oe_statistic(sums: np.ndarray, *, n_years: int) -> dict[str, np.ndarray]:
    """O/E per group and year and the KBZ / control ratio per year, from column sums
    laid out ``value × group × year`` (values :data:`VALUES`)."""
    cells = sums.reshape(sums.shape[0], len(VALUES), 2, n_years)
    oe = cc.safe_ratio(cells[:, 0], cells[:, 1])  # rows × group × year
    return {"oe": oe, "oe_kbz_vs_control": cc.safe_ratio(oe[:, KBZ], oe[:, CONTROL])}


@dataclass
class _GroupCells:
    """Per-person rows and per-practice sums of observed and expected, by group × year."""

    frame: pd.DataFrame
    years: tuple[int, ...]
    practice_sums: PracticeSums
    person: dict[tuple[int, int], dict[str, float]]  # (group, year) → oe_inference

    def rows(self, g: int, j: int) -> np.ndarray:
        """Whether each row of ``frame`` is in group ``g`` and year ``j``."""
        f = self.frame
        return (f["g"].to_numpy() == g) & (f["j"].to_numpy() == j)

    def n_persons(self, g: int, j: int) -> int:
        return int(np.unique(self.frame["person"].to_numpy()[self.rows(g, j)]).size)


def _group_cells(f: pd.DataFrame, cp: cc.ClaimsPanel, outcome: str, alpha: float
                 ) -> _GroupCells:
    """The per-practice sums for practice-level inference and the person-level O/E
    inference per group × year."""
    years = tuple(int(y) for y in cp.years)
    f = f.assign(g=(f["group"].to_numpy() == "control").astype(np.int64),
                 j=cc.row_codes(f["year"], {y: i for i, y in enumerate(years)}))
    ids = cp.practices["practice_id"].tolist()
    psums = PracticeSums.from_rows(
        cc.row_codes(f["practice_id"], {p: i for i, p in enumerate(ids)}),
        f["j"].to_numpy(dtype=np.int64), [f[outcome].to_numpy(), f["expected"].to_numpy()],
        is_kbz=cp.practices["group"].to_numpy() == "kbz", n_cells=len(years),
        practice_ids=ids)
    person = {}
    for (g, j), sub in f.groupby(["g", "j"], sort=True):
        person[(int(g), int(j))] = oe_inference(sub[outcome].to_numpy(),
                                                sub["expected"].to_numpy(), alpha=alpha)
    return _GroupCells(f, years, psums, person)


def _person_comparison(k: dict[str, float], c: dict[str, float], alpha: float
                       ) -> dict[str, float]:
    """KBZ O/E / control O/E at the person level: the groups' persons are distinct
    within a year, so the log-scale variances add."""
    ratio = k["oe_ratio"] / c["oe_ratio"] if c["oe_ratio"] > 0 else np.nan
    se_log = float(np.hypot(k["std_error"] / k["oe_ratio"], c["std_error"] / c["oe_ratio"])
                   ) if k["oe_ratio"] > 0 and c["oe_ratio"] > 0 else np.nan
    return {"estimate": float(ratio), "std_error": float(ratio * se_log),
            **_log_scale(float(ratio), se_log, alpha)}


def _person_row(d: dict[str, float]) -> dict[str, Any]:
    return {"std_error": d["std_error"], "ci_lower": d["ci_lower"],
            "ci_upper": d["ci_upper"], "p_value": d["p_value"], "df": np.nan,
            "p_randomisation": np.nan, "inference": "person", "note": PERSONS_ONLY}


def _practice_row(pi: PracticeInference, term: str, index: tuple[int, ...], *,
                  randomisation: bool) -> dict[str, Any]:
    r = pi.infer(term, index, null=1.0)
    return {"std_error": r["std_error"], "ci_lower": r["ci_lower"],
            "ci_upper": r["ci_upper"], "p_value": r["p_value"], "df": r["df"],
            "p_randomisation": r["p_randomisation"] if randomisation else np.nan,
            "inference": "practice", "note": None}


def _cell_row(f: pd.DataFrame, outcome: str, crude: float, oe: float,
              rows: np.ndarray | None = None) -> dict[str, Any]:
    """Sums of one unit × year for the ``observed_expected`` table: the rows of ``f``
    selected by the mask ``rows`` (every row when ``None``), summed on the arrays
    without a frame of the selection (missing values skipped, as pandas sums)."""
    def picked(column: str) -> np.ndarray:
        values = f[column].to_numpy()
        return values if rows is None else values[rows]

    iy, obs = float(np.nansum(picked("iy"))), float(np.nansum(picked(outcome)))
    return {"n_persons": int(np.unique(picked("person")).size), "insured_years": iy,
            "observed": obs, "expected": float(np.nansum(picked("expected"))),
            "oe_ratio": oe, "crude_rate": obs / iy, "standardised_rate": oe * crude}


def _by_group(f: pd.DataFrame, cp: cc.ClaimsPanel, outcome: str, crude: float, *,
              inference: str, practice_method: str, seed: int | None, alpha: float
              ) -> tuple[list[dict[str, Any]], dict[str, pd.DataFrame], PracticeInference]:
    """KBZ against control practices: O/E per group and year and their ratio, with
    intervals at the practice level (or the person level)."""
    cells = _group_cells(f, cp, outcome, alpha)
    n_years = len(cells.years)
    pi = PracticeInference(lambda s: _oe_statistic(s, n_years=n_years), cells.practice_sums,
                           method=practice_method, seed=seed, alpha=alpha)
    at_practice = inference == "practice"
    rows, table, compare = [], [], []
    for (g, j), person in cells.person.items():
        group, year = cc.GROUPS[g], cells.years[j]
        level = (_practice_row(pi, "oe", (g, j), randomisation=False) if at_practice
                 else _person_row(person))
        cell = _cell_row(cells.frame, outcome, crude, person["oe_ratio"], cells.rows(g, j))
        rows.append({"term": f"oe_{group}_{year}", "estimate": person["oe_ratio"], **level,
                     "n": cell["n_persons"], "unit": group, "year": year})
        table.append({"unit": group, "group": group, "year": year, **cell,
                      **{k: level[k] for k in ("ci_lower", "ci_upper", "p_value")},
                      "inference": level["inference"]})
    last = None
    for j, year in enumerate(cells.years):
        if (KBZ, j) not in cells.person or (CONTROL, j) not in cells.person:
            continue
        person = _person_comparison(cells.person[(KBZ, j)], cells.person[(CONTROL, j)],
                                    alpha)
        level = (_practice_row(pi, "oe_kbz_vs_control", (j,), randomisation=True)
                 if at_practice else _person_row(person))
        n = min(cells.n_persons(KBZ, j), cells.n_persons(CONTROL, j))
        last = {"term": f"oe_kbz_vs_control_{year}", "estimate": person["estimate"],
                **level, "n": n, "unit": "kbz_vs_control", "year": year}
        rows.append(last)
        compare.append({"year": year, "n_persons": n, "ratio": person["estimate"],
                        **{k: level[k] for k in ("ci_lower", "ci_upper", "p_value", "df",
                                                 "p_randomisation", "inference")}})
    if at_practice and last is not None:
        j = cells.years.index(last["year"])
        rows.append({**last, "term": f"{last['term']}_persons_only", **_person_row(
            _person_comparison(cells.person[(KBZ, j)], cells.person[(CONTROL, j)], alpha))})
    return rows, {"observed_expected": pd.DataFrame(table),
                  "kbz_vs_control": pd.DataFrame(compare)}, pi


def _by_practice(f: pd.DataFrame, cp: cc.ClaimsPanel, outcome: str, crude: float,
                 alpha: float) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Each practice's own O/E per year, with its own person-level interval."""
    group_of = dict(zip(cp.practices["practice_id"], cp.practices["group"], strict=True))
    rows, table = [], []
    for (unit, year), sub in f.groupby(["practice_id", "year"], sort=True):
        inf = oe_inference(sub[outcome].to_numpy(), sub["expected"].to_numpy(),
                           alpha=alpha)
        cell = _cell_row(sub, outcome, crude, inf["oe_ratio"])
        table.append({"unit": unit, "group": group_of[unit], "year": int(year), **cell,
                      **{k: inf[k] for k in ("ci_lower", "ci_upper", "p_value")},
                      "inference": "person"})
        rows.append({"term": f"oe_{unit}_{int(year)}", "estimate": inf["oe_ratio"],
                     **_person_row(inf), "note": OWN_PRACTICE, "n": cell["n_persons"],
                     "unit": unit, "year": int(year)})
    return rows, pd.DataFrame(table)


def _messages(by: str, inference: str, pi: PracticeInference | None,
              n_kbz: int, n_control: int) -> list[str | None]:
    """What the number of practices means for the intervals that were given."""
    if by == "practice":
        return []
    if inference == "person":
        return [f"inference='person': the intervals are {PERSONS_ONLY}; "
                "inference='practice' gives intervals at the unit KBZ is assigned to."]
    impossible = impossible_message(n_kbz, n_control)
    if impossible:
        return [impossible]
    if min(n_kbz, n_control) < cc.FEW_PRACTICES:
        how = ("wild cluster bootstrap-t, Webb weights" if pi.method == "wild"
               else "delete-one-practice (CR2) variance, Satterthwaite t")
        return [f"{n_kbz} KBZ and {n_control} control practices: the intervals and "
                f"p-values are practice-level ({how}; valid with few practices) and "
                "therefore wide; the `_persons_only` row shows the person-level interval "
                f"({PERSONS_ONLY})."]
    return []


def _method(outcome: str, by: str, desc: str, population: str, inference: str,
            pi: PracticeInference | None, alpha: float) -> str:
    level = f"{100 * (1 - alpha):g}%"
    text = (
        f"Indirect standardisation of {outcome} on five-year age band × sex. Expected = "
        f"insured years × the reference rate per insured year of the person's stratum; "
        f"reference: {desc}. O/E per {by} and year, {cc.describe_population(population)}; "
        "reference rates are held fixed in all inference. ")
    person = (f"{level} intervals (log scale) from the person-level variance of a ratio "
              f"estimator")
    if by == "practice":
        return text + (f"{person}, per practice: {OWN_PRACTICE}; no practice is tested "
                       "against the others.")
    text += ("The comparison of KBZ with the control practices is the ratio of their O/E "
             "ratios (KBZ / control) per year. ")
    if inference == "practice":
        return text + (f"{pi.describe()[:-1]}; the null of every O/E and ratio is 1. "
                       f"The `_persons_only` row gives the {person} ({PERSONS_ONLY}; "
                       "log-scale variances of the two groups added).")
    return text + f"{person} ({PERSONS_ONLY})."


# --------------------------------------------------------------------------- front door
def risk_adjustment(
    panel: pd.DataFrame,
    practices: pd.DataFrame,
    *,
    outcome: str = "poli_dbc_cost",
    population: cc.Population = "all",
    years: Sequence[int] | None = None,
    by: Literal["group", "practice"] = "group",
    reference: Reference = "pooled",
    inference: Inference = "practice",
    practice_method: PracticeMethod = "wild",
    seed: int | None = 0,
    alpha: float = 0.05,
) -> RiskAdjustmentResult:
    """Observed/expected ratios by indirect standardisation on age band × sex.

    Parameters
    ----------
    panel
        Person-year panel (``person_years`` contract): ``person_id, year, practice_id,
        insured_days, sex``, ``age_band`` or ``birth_year``, ``minima`` (for
        ``population="minima"``) and the ``outcome``. Not modified.
    practices
        Practices table (``practice_id``, ``group`` = ``kbz``/``control``). Not modified.
    outcome
        Value column to standardise: a cost (EUR) or a count, e.g. ``"poli_dbc_cost"``,
        ``"poli_dbc_count"``, ``"ggz_cost"``.
    population
        ``"all"`` person-years (default) or ``"minima"`` person-years only.
    years
        Years to analyse; default every year of the panel.
    by
        Units to compare: ``"group"`` (KBZ vs control practices) or ``"practice"``
        (each practice's own O/E, descriptive).
    reference
        Reference population for the stratum rates: ``"pooled"`` (every analysed
        person-year, both groups and all analysed years — the default), ``"control"``
        (the control person-years), or a DataFrame with columns ``age_band, sex, rate``
        (rate per insured year, e.g. national figures).
    inference
        With ``by="group"``: ``"practice"`` (default; the practices are the independent
        units, as KBZ is assigned to practices) or ``"person"`` (persons only — ignores
        variation between practices). Not used with ``by="practice"``.
    practice_method
        ``"wild"`` (default): wild cluster bootstrap-t with Webb weights; ``"cr2"``:
        delete-one-practice (CR2) variance with a Satterthwaite t reference.
    seed
        Seed of the wild bootstrap weights and of a random subset of practice
        relabellings (when there are too many to enumerate).
    alpha
        1 − confidence level (0.05: 95 % intervals).

    Returns
    -------
    RiskAdjustmentResult

    Raises
    ------
    SpecificationError
        Unknown option values, years not in the panel, or a reference table that misses
        strata of the panel.
    DataValidationError
        Missing columns or values that break the contract.

    Notes
    -----
    For unit ``u`` and year ``t``: ``O = Σ outcome``, ``E = Σ insured years × r_s`` over
    its person-years, with ``r_s`` the reference rate per insured year of the row's age
    band × sex stratum ``s`` (five-year bands from ``age_band``, else from ``year −
    birth_year``). ``O/E = 1`` means the unit costs what its age/sex mix predicts. The
    *standardised rate* is ``O/E × crude reference rate``. The numerics are
    :mod:`kbz_eval.stats.standardise`.

    **The effect** (``by="group"``) is the ratio of the O/E ratios, KBZ / control
    practices, per year (1: no difference beyond age and sex). With
    ``inference="practice"`` its interval and p-value, and those of each group's O/E,
    are practice-level (:class:`kbz_eval.stats.practice.PracticeInference`: the
    delete-one-practice jackknife stratified by group, then the wild cluster
    bootstrap-t or a Satterthwaite t), and ``p_randomisation`` permutes the group labels
    over the practices. With one practice in a group there is no practice-level number
    (NaN and a warning). The person-level interval — the ratio-estimator variance over
    persons on the log scale — is shown in the ``_persons_only`` row (and in every row
    with ``inference="person"``); it ignores variation between practices.

    With ``by="practice"`` each practice's O/E has the person-level interval of that
    practice: a description of the practice, not a test of KBZ.

    All intervals treat the reference rates as known (usual for indirect
    standardisation; with an internal reference the stated precision is slightly too
    high).

    Examples
    --------
    >>> import kbz_eval as kbz
    >>> s = kbz.load_sample()                                  # doctest: +SKIP
    >>> kbz.risk_adjustment(s["person_years"], s["practices"],
    ...                     outcome="poli_dbc_cost").tidy()     # doctest: +SKIP
    """
    cc.check_choice("by", by, BY_OPTIONS)
    if not isinstance(outcome, str):
        raise SpecificationError(
            f"The value for `outcome` must be a column name, but {outcome!r} was passed.")
    check_option("inference", inference)
    check_option("practice_method", practice_method)
    seed, alpha = cc.check_seed(seed), cc.check_alpha(alpha)
    if not isinstance(reference, pd.DataFrame):
        cc.check_choice("reference", reference, REFERENCE_OPTIONS)
    cp = cc.prepare_claims(panel, practices, population=population, values=[outcome],
                           years=years, need_age_sex=True)
    expected, rates, crude, desc, notes = expected_values(cp, outcome, reference)
    f = cp.frame.assign(expected=expected)
    n_kbz = int((cp.practices["group"] == "kbz").sum())
    n_control = len(cp.practices) - n_kbz
    pi = None
    if by == "group":
        rows, out_tables, pi = _by_group(f, cp, outcome, crude, inference=inference,
                                         practice_method=practice_method, seed=seed,
                                         alpha=alpha)
    else:
        rows, table = _by_practice(f, cp, outcome, crude, alpha)
        out_tables = {"observed_expected": table}
    messages = [*notes, cc.sparse_cells_message(out_tables["observed_expected"],
                                                ["unit", "year"]),
                *_messages(by, inference, pi, n_kbz, n_control)]
    emitted = cc.emit(messages)
    estimates = tidy_frame(rows)
    comparisons = [r["term"] for r in rows if r["unit"] == "kbz_vs_control"
                   and not r["term"].endswith("_persons_only")]
    if comparisons:  # primary: the last year's KBZ / control comparison
        estimates = mark_family(estimates, (comparisons[-1],))
    ref_table = rates.rename(columns={"total": outcome})
    if "n_persons" not in ref_table:
        ref_table.insert(2, "n_persons", pd.array([pd.NA] * len(ref_table), dtype="Int64"))
    return RiskAdjustmentResult(
        estimates=estimates,
        tables={**out_tables, "reference_rates": ref_table},
        method=_method(outcome, by, desc, population, inference, pi, alpha),
        settings={"outcome": outcome, "population": population, "years": list(cp.years),
                  "by": by, "reference": reference if isinstance(reference, str)
                  else "table", "inference": inference, "practice_method": practice_method,
                  "seed": seed, "alpha": alpha, "crude_reference_rate": crude,
                  "n_practices_kbz": n_kbz, "n_practices_control": n_control},
        warnings=emitted,
    )


__all__ = ["BY_OPTIONS", "REFERENCE_OPTIONS", "Reference", "RiskAdjustmentResult",
           "expected_values", "oe_inference", "reference_rates", "risk_adjustment"]
