"""Credit notes (negative claim lines): the netting rule, its report and its contract.

A line with a negative ``cost`` is a credit note that nets against the lines of the same
``claim_id`` (see :mod:`kbz_eval.engine.panel`). The engine (Ibis on DuckDB) must equal
the plain pandas reference on hand-built cases and on generated extracts, keep every
person-year cost at 0 or more, and account for every credit in its report; the contract
accepts negative costs and refuses a claim whose credits exceed it, in pandas and in SQL
alike.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from kbz_eval.engine import build_panel
from kbz_eval.engine.reference import reference_panel
from kbz_eval.engine.scale import ScaleParams, write_claim_lines
from kbz_eval.engine.validate import check_source
from kbz_eval.errors import DataValidationError
from kbz_eval.io import read_table
from kbz_eval.report.quality import panel_rows, quality_frame
from kbz_eval.tables import CARE_TYPE_PREFIX, CARE_TYPES, CLAIM_LINES, render_markdown
from kbz_eval.validation import CREDIT_EXCEEDS_CLAIM, validate

#: Deprecation notices raised inside third-party libraries, not by kbz_eval.
pytestmark = [
    pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'future.infer_string' option:Warning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:Warning"),
]

COST_TOL = 1e-6
COLUMNS = ["person_id", "claim_id", "start_date", "end_date", "care_type",
           "declaration_code", "cost"]
COST_COLUMNS = [f"{CARE_TYPE_PREFIX[c]}_cost" for c in CARE_TYPES] + ["total_cost"]


@pytest.fixture(scope="module")
def con():
    backend = ibis.duckdb.connect(threads=1)
    yield backend
    backend.disconnect()


def line(person: str, claim: str | None, start: str, cost: float, *,
         care: str = "poli_dbc", code: str | None = None, end: str | None = None) -> dict:
    return {"person_id": person, "claim_id": claim, "start_date": pd.Timestamp(start),
            "end_date": pd.Timestamp(end or start), "care_type": care,
            "declaration_code": code, "cost": float(cost)}


def frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["cost"] = df["cost"].astype("float64")
    return df


def periods(keys: list[tuple[str, int]]) -> pd.DataFrame:
    return pd.DataFrame({
        "person_id": [p for p, _ in keys], "year": [y for _, y in keys],
        "practice_id": "OV01", "insured_days": [366 if y == 2016 else 365 for _, y in keys],
        "sex": "F", "birth_year": 1960, "minima": False,
    })


def run(con, claims: pd.DataFrame, insured: pd.DataFrame):
    """The engine's panel and report, checked against the pandas reference."""
    res = build_panel(claims, insured, con=con, return_report=True)
    ref, ref_report = reference_panel(claims, insured)
    pd.testing.assert_frame_equal(res.panel, ref, check_exact=False, atol=COST_TOL)
    for key, value in ref_report.items():
        assert getattr(res.report, key) == pytest.approx(value, abs=COST_TOL), key
    rep = res.report
    assert (rep.excluded_claims + rep.withdrawn_claims + rep.unassignable_claims
            + rep.orphan_claims + rep.unknown_care_type_claims
            + rep.panel_claims) == rep.distinct_claims
    assert (res.panel[COST_COLUMNS] >= 0).all().all()
    return res.panel, rep


def cell(panel: pd.DataFrame, person: str, year: int, column: str) -> float:
    row = panel[(panel.person_id == person) & (panel.year == year)]
    assert len(row) == 1
    return float(row[column].iloc[0])


# ---------------------------------------------------------------------------
# hand-built cases


def test_full_reversal_with_a_corrected_line_nets_to_the_corrected_cost(con):
    claims = frame([line("A", "c1", "2015-03-01", 100), line("A", "c1", "2015-03-01", -100),
                    line("A", "c1", "2015-03-01", 80)])
    panel, rep = run(con, claims, periods([("A", 2015)]))
    assert cell(panel, "A", 2015, "poli_dbc_cost") == 80
    assert cell(panel, "A", 2015, "poli_dbc_count") == 1
    assert (rep.credit_lines, rep.credited_claims, rep.credit_lines_netted) == (1, 1, 1)
    assert rep.credit_amount_netted == 100
    assert (rep.duplicate_lines_removed, rep.resent_claims, rep.disagreeing_claims) == (0, 0, 0)
    assert (rep.withdrawn_claims, rep.panel_claims, rep.panel_cost) == (0, 1, 80)


def test_full_reversal_alone_withdraws_the_claim(con):
    claims = frame([line("A", "c1", "2015-03-01", 100), line("A", "c1", "2015-03-01", -100),
                    line("A", "c2", "2015-04-01", 30)])
    panel, rep = run(con, claims, periods([("A", 2015)]))
    assert cell(panel, "A", 2015, "poli_dbc_cost") == 30
    assert cell(panel, "A", 2015, "poli_dbc_count") == 1
    assert (rep.withdrawn_claims, rep.over_credited_claims, rep.unmatched_credit_claims) == (
        1, 0, 0)
    assert rep.distinct_claims == 2 and rep.panel_claims == 1


def test_partial_correction_nets_to_the_remainder(con):
    claims = frame([line("A", "c1", "2015-03-01", 100), line("A", "c1", "2015-03-01", -20.5)])
    panel, rep = run(con, claims, periods([("A", 2015)]))
    assert cell(panel, "A", 2015, "poli_dbc_cost") == 79.5
    assert cell(panel, "A", 2015, "total_cost") == 79.5
    assert rep.credit_amount_netted == 20.5 and rep.withdrawn_claims == 0


def test_a_resent_credit_counts_once_and_a_credit_is_never_a_resend(con):
    claims = frame([line("A", "c1", "2015-03-01", 100), line("A", "c1", "2015-03-01", 100),
                    line("A", "c1", "2015-03-01", -20), line("A", "c1", "2015-03-01", -20)])
    panel, rep = run(con, claims, periods([("A", 2015)]))
    assert cell(panel, "A", 2015, "poli_dbc_cost") == 80
    assert (rep.credit_lines, rep.credit_lines_netted, rep.credit_amount_netted) == (2, 1, 20)
    assert (rep.duplicate_lines_removed, rep.resent_claims) == (2, 1)
    assert rep.disagreeing_claims == 0


def test_credit_without_a_matching_claim_is_counted_and_takes_nothing(con):
    claims = frame([line("A", "c9", "2015-02-01", -50), line("A", None, "2015-02-02", -5),
                    line("A", "c2", "2015-04-01", 30)])
    panel, rep = run(con, claims, periods([("A", 2015)]))
    assert cell(panel, "A", 2015, "poli_dbc_cost") == 30
    assert (rep.unmatched_credit_claims, rep.unmatched_credit_lines) == (2, 2)
    assert rep.unmatched_credit_cost == 55
    assert rep.withdrawn_claims == 2 and rep.credited_claims == 0
    assert rep.credit_amount_netted == 0


def test_credit_dated_in_another_year_nets_into_the_year_of_its_claim(con):
    claims = frame([line("B", "c4", "2015-12-20", 200),
                    line("B", "c4", "2016-01-10", -200),
                    line("B", "c4", "2015-12-20", 150),
                    line("B", "c5", "2016-03-01", 40)])
    panel, rep = run(con, claims, periods([("B", 2015), ("B", 2016)]))
    assert cell(panel, "B", 2015, "poli_dbc_cost") == 150
    assert cell(panel, "B", 2016, "poli_dbc_cost") == 40
    assert cell(panel, "B", 2016, "poli_dbc_count") == 1
    assert rep.credit_amount_netted == 200


def test_over_credit_is_floored_per_claim_and_reported(con):
    claims = frame([line("B", "c5", "2015-06-01", 50), line("B", "c5", "2015-06-01", -70),
                    line("B", "c6", "2015-06-02", 30)])
    panel, rep = run(con, claims, periods([("B", 2015)]))
    # the excess of c5 is never taken from c6
    assert cell(panel, "B", 2015, "poli_dbc_cost") == 30
    assert (rep.over_credited_claims, rep.over_credit_cost) == (1, 20)
    assert rep.withdrawn_claims == 1 and rep.credited_claims == 1


def test_exclusion_comes_before_withdrawal_and_zero_lines_are_debits(con):
    claims = frame([
        line("A", "c1", "2015-03-01", 100, code="160001"),
        line("A", "c1", "2015-03-01", -100, code="160001"),
        line("A", "c2", "2015-03-02", 0, care="gp"),
    ])
    panel, rep = run(con, claims, periods([("A", 2015)]))
    assert (rep.excluded_claims, rep.withdrawn_claims, rep.credit_lines) == (1, 0, 1)
    assert cell(panel, "A", 2015, "gp_count") == 1
    assert cell(panel, "A", 2015, "gp_cost") == 0


def test_credited_claims_of_orphans_and_other_care_types(con):
    claims = frame([
        line("Z", "c1", "2015-03-01", 100), line("Z", "c1", "2015-03-01", -40),
        line("A", "c2", "2015-03-01", 60, care="ggz_specialist"),
        line("A", "c2", "2015-03-01", -10, care="ggz_specialist"),
    ])
    panel, rep = run(con, claims, periods([("A", 2015)]))
    assert (rep.orphan_claims, rep.orphan_cost) == (1, 60)
    assert cell(panel, "A", 2015, "ggz_cost") == 50
    assert rep.credited_claims == 2 and rep.credit_amount_netted == 50


def test_report_repr_and_summary_carry_the_credit_figures(con):
    claims = frame([line("A", "c1", "2015-03-01", 100), line("A", "c1", "2015-03-01", -100)])
    res = build_panel(claims, periods([("A", 2015)]), con=con, return_report=True)
    assert "withdrawn=1" in repr(res.report)
    items = dict(zip(res.report.summary()["item"], res.report.summary()["value"],
                     strict=True))
    assert items["credit_lines"] == "1" and "credit note" in items["credit_rule"]
    assert res.report.as_dict()["credit_amount_netted"] == 100


# ---------------------------------------------------------------------------
# generated extracts: the engine equals the reference


def random_claims(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Claims with re-sends, full reversals, corrections, partial, re-sent, unmatched,
    over- and cross-year credits, codes outside the package and orphans."""
    rng = np.random.default_rng(seed)
    persons = [f"P{i}" for i in range(12)]
    n = 150
    start = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365, n), "D")
    base = pd.DataFrame({
        "person_id": rng.choice(persons + ["X"], n),
        "claim_id": [f"c{i}" for i in range(n)],
        "start_date": start,
        "end_date": start + pd.to_timedelta(rng.integers(0, 90, n), "D"),
        "care_type": rng.choice(list(CARE_TYPES), n),
        "declaration_code": rng.choice(["150101", "160001", None, "172899"], n,
                                       p=[0.6, 0.05, 0.3, 0.05]),
        "cost": np.round(rng.lognormal(4, 1, n), 2),
    })
    parts = [base]
    pick = lambda k: base.iloc[rng.choice(n, k, replace=False)]  # noqa: E731
    full = pick(25)
    parts += [full.assign(cost=-full.cost), full.assign(cost=np.round(full.cost * 0.7, 2))]
    partial = pick(20)
    credit = partial.assign(cost=-np.round(partial.cost * rng.uniform(0.1, 0.9, 20), 2))
    parts += [credit, credit.iloc[:6]]                             # some credits re-sent
    over = pick(6)
    parts.append(over.assign(cost=-(over.cost + 10)))
    moved = pick(8)                                                # credit in the next year
    parts.append(moved.assign(cost=-moved.cost,
                              start_date=moved.start_date + pd.Timedelta(days=365)))
    parts.append(pick(15))                                         # re-sent debits
    unmatched = pick(10).assign(claim_id=[f"u{i}" for i in range(10)])
    parts.append(unmatched.assign(cost=-unmatched.cost))
    claims = pd.concat(parts, ignore_index=True)
    claims = claims.iloc[rng.permutation(len(claims))].reset_index(drop=True)
    keys = [(p, y) for p in persons for y in (2015, 2016, 2017) if rng.random() < 0.85]
    return claims, periods(keys)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_engine_equals_reference_on_generated_credits(con, seed):
    claims, insured = random_claims(seed)
    panel, rep = run(con, claims, insured)
    assert rep.credit_lines == int((claims.cost < 0).sum())
    assert rep.credited_claims > 0 and rep.unmatched_credit_claims == 10
    assert rep.over_credited_claims >= 6
    assert rep.withdrawn_claims > 0
    assert rep.lines_in == len(claims) and rep.person_years == len(insured)


def test_the_scaled_generator_plants_credits_the_engine_finds(con, tmp_path):
    info = write_claim_lines(tmp_path, n_lines=40_000, seed=5, chunk_lines=20_000)
    res = build_panel(tmp_path / "claim_lines", tmp_path / "insured_periods", con=con,
                      return_report=True)
    rep = res.report
    assert rep.lines_in == info["n_lines"] == 40_000
    assert rep.distinct_claims == info["n_distinct_claims"]
    assert rep.duplicate_lines_removed == info["n_duplicate_lines"]
    assert rep.credited_claims == info["n_credited_claims"] > 0
    assert rep.credit_lines_netted == info["n_credit_lines"]
    assert rep.credit_amount_netted == pytest.approx(info["credit_amount"], abs=0.01)
    assert rep.unmatched_credit_claims == rep.withdrawn_claims == info["n_unmatched_credits"]
    assert rep.unmatched_credit_cost == pytest.approx(info["unmatched_credit_amount"],
                                                      abs=0.01)
    assert rep.over_credited_claims == 0 and rep.disagreeing_claims == 0
    p = ScaleParams()
    basic = rep.panel_claims + rep.orphan_claims
    assert info["n_credited_claims"] / basic == pytest.approx(p.credit_rate, abs=0.003)
    assert info["n_reversed_claims"] / info["n_credited_claims"] == pytest.approx(
        p.credit_full_share, abs=0.02)
    assert (res.panel[COST_COLUMNS] >= 0).all().all()
    lines = pd.read_parquet(tmp_path / "claim_lines")
    assert (lines.cost < 0).sum() == rep.credit_lines
    ref, ref_report = reference_panel(lines, pd.read_parquet(tmp_path / "insured_periods"))
    pd.testing.assert_frame_equal(res.panel, ref, check_exact=False, atol=COST_TOL,
                                  check_dtype=False)
    for key, value in ref_report.items():
        assert getattr(rep, key) == pytest.approx(value, abs=COST_TOL), key


# ---------------------------------------------------------------------------
# the data-quality table


def test_data_quality_rows_show_the_credit_notes(con):
    claims, insured = random_claims(7)
    res = build_panel(claims, insured, con=con, return_report=True)
    rep = res.report
    rows = quality_frame(panel_rows(res.panel.attrs["kbz_panel"]))
    by_reason = {r: n for r, n in zip(rows["reason"], rows["rows_rejected"], strict=True)}
    netted = next(r for r in by_reason if r.startswith("credit-note lines"))
    assert by_reason[netted] == rep.credit_lines_netted
    assert f"EUR {rep.credit_amount_netted:,.2f}" in netted
    unmatched = next(r for r in by_reason if r.startswith("credit notes without"))
    assert by_reason[unmatched] == rep.unmatched_credit_claims == 10
    assert f"EUR {rep.unmatched_credit_cost:,.2f}" in unmatched
    over = next(r for r in by_reason if r.startswith("claims whose credit notes exceed"))
    assert by_reason[over] == rep.over_credited_claims
    withdrawn = next(r for r in by_reason if r.startswith("claims netted to nothing"))
    assert by_reason[withdrawn] == rep.withdrawn_claims
    assert set(rows["table"]) == {"claim_lines"}
    assert (rows["rows_kept"] == rep.panel_claims).all()


# ---------------------------------------------------------------------------
# the contract: pandas and SQL agree

HEADER = ",".join(COLUMNS)
CONTRACT_ROWS = [
    "P1,C1,2015-01-01,2015-01-02,gp,,100.00",      # full reversal, credit re-sent
    "P1,C1,2015-01-01,2015-01-02,gp,,-100.00",
    "P1,C1,2015-01-01,2015-01-02,gp,,-100.00",
    "P1,C2,2015-01-01,2015-01-02,gp,,50.00",       # over-credited: rows 5 and 6
    "P1,C2,2015-01-01,2015-01-02,gp,,-70.00",
    "P1,C3,2015-01-01,2015-01-02,gp,,-70.00",      # credit without its claim: allowed
    "P1,C4,2015-01-01,2015-01-02,gp,,0",           # zero cost: allowed
    "P2,C5,2015-01-01,2015-01-02,gp,,20",          # two distinct credits exceed: 9-11
    "P2,C5,2015-01-01,2015-01-02,gp,,-15",
    "P2,C5,2015-01-01,2015-01-03,gp,,-15",
    "P2,C6,2015-01-01,2015-01-02,gp,,20",          # credits equal to the debit: allowed
    "P2,C6,2015-01-01,2015-01-02,gp,,-20.004",
]


def problems(call) -> list[tuple]:
    with pytest.raises(DataValidationError) as info:
        call()
    return [(v.column, v.rule, v.rows, v.values, v.n_rows, v.detail)
            for v in info.value.violations]


def test_contract_allows_credit_notes_and_refuses_over_credits(con, tmp_path):
    path = tmp_path / "claims.csv"
    path.write_text("\n".join([HEADER, *CONTRACT_ROWS]) + "\n", encoding="utf-8")
    want = problems(lambda: read_table(path, "claim_lines"))
    got = problems(lambda: check_source(con, path, "claim_lines", max_rows_listed=5))
    assert got == want
    assert [w[:5] for w in want] == [
        ("cost", CREDIT_EXCEEDS_CLAIM, (5, 6, 9, 10, 11),
         ("C2 / 50", "C2 / -70", "C5 / 20", "C5 / -15", "C5 / -15"), 5)]
    assert want[0][5].startswith("2 claim_id values whose credit notes")
    # dropping: the same rows go, in pandas and in SQL
    read = read_table(path, "claim_lines", on_error="drop")
    checked = check_source(con, path, "claim_lines", on_error="drop")
    assert read.report.rows_kept == checked.rows_kept == len(CONTRACT_ROWS) - 5
    assert read.report.dropped == {"cost: credit exceeds claim": 5}
    kept = con.to_pandas(checked.relation)
    assert sorted(kept.claim_id) == sorted(read.data.claim_id) == [
        "C1", "C1", "C1", "C3", "C4", "C6", "C6"]


def test_contract_checks_parquet_credit_notes_like_pandas(con, tmp_path):
    claims, _ = random_claims(11)
    claims.to_parquet(tmp_path / "claims.parquet")
    want = problems(lambda: read_table(tmp_path / "claims.parquet", "claim_lines"))
    got = problems(lambda: check_source(con, tmp_path / "claims.parquet", "claim_lines",
                                        max_rows_listed=5))
    assert got == want
    over = [w for w in want if w[1] == CREDIT_EXCEEDS_CLAIM]
    assert len(over) == 1 and over[0][4] >= 12  # the six over-credited claims, two lines each


def test_validate_accepts_negative_costs_without_an_over_credit():
    claims = frame([line("A", "c1", "2015-03-01", 100), line("A", "c1", "2015-03-01", -100),
                    line("A", "c1", "2015-03-01", 80), line("A", "c9", "2015-03-01", -12.5)])
    result = validate(claims, "claim_lines")
    assert result.violations == [] and len(result.data) == 4
    assert result.data["cost"].min() == -100


def test_contract_document_states_the_credit_rule():
    assert CLAIM_LINES.column("cost").min is None
    assert CLAIM_LINES.netting is not None
    text = render_markdown()
    assert "Credit notes: a negative `cost`" in text
    assert "credit exceeds claim" in text


@pytest.mark.parametrize("seed", [11, 12])
def test_the_check_is_the_same_when_the_checked_lines_are_read_again(con, tmp_path,
                                                                   monkeypatch, seed):
    """Large inputs are checked with the shared lines inlined (read again, not held):
    the same violations, rows and kept lines as with DuckDB's materialised plan."""
    from kbz_eval.engine import validate as engine_validate

    claims, _ = random_claims(seed)
    path = tmp_path / "claims.parquet"
    claims.to_parquet(path)
    seen = []
    for inline in (False, True):
        monkeypatch.setattr(engine_validate, "_inline_shared",
                            lambda con, n_rows, inline=inline: inline)
        found = problems(lambda: check_source(con, path, "claim_lines", max_rows_listed=5))
        checked = check_source(con, path, "claim_lines", on_error="drop")
        seen.append((found, checked.rows_kept,
                     sorted(con.to_pandas(checked.relation)["claim_id"])))
    assert seen[0] == seen[1]
    assert any(f[1] == CREDIT_EXCEEDS_CLAIM for f in seen[0][0])


def test_checked_lines_are_inlined_only_when_they_would_not_fit(con):
    from kbz_eval.engine import validate as engine_validate

    sql = 'WITH "t2" AS (SELECT 1 AS a), "t10" AS (SELECT a FROM "t2") SELECT * FROM "t10"'
    inlined = engine_validate._inlined(sql)
    assert inlined.count("AS NOT MATERIALIZED (SELECT") == 2
    assert con.raw_sql(inlined).fetchall() == con.raw_sql(sql).fetchall()
    con.raw_sql("SET memory_limit='1GB'")
    try:
        assert engine_validate._memory_limit(con) == pytest.approx(10**9, rel=0.01)
        assert not engine_validate._inline_shared(con, 1_000_000)     # 90 MB
        assert engine_validate._inline_shared(con, 20_000_000)        # 1.8 GB
    finally:
        con.raw_sql("RESET memory_limit")
