"""Rules left to the panel build (``check_source(defer_to_build=True)``).

The report checks the claim lines in the engine without the credit-note rule (credits
exceeding their claim) and lets the build, which nets every claim anyway, count the
over-credited claims; it checks the insured periods without their unique person-year,
which the build refuses itself before it starts. Only when the build finds its rule
broken is the table checked again with every rule. That is sound only if the build
finds the rule broken exactly when the rule does, and if the report then behaves as it
would have with the rule checked first: the same error, the same dropped rows, the same
panel and data-quality rows, and every problem of every input still listed at once.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_credit_notes import CONTRACT_ROWS, HEADER, random_claims  # tests/ is on sys.path
from test_report_engine import _config, sample  # noqa: F401  (the module's sample fixture)

from kbz_eval.engine import build_panel
from kbz_eval.engine.validate import check_source
from kbz_eval.errors import DataValidationError
from kbz_eval.report.config import load_config
from kbz_eval.report.engine_inputs import EngineInputs
from kbz_eval.report.pipeline import _read_inputs, run_report
from kbz_eval.report.progress import Progress
from kbz_eval.validation import CREDIT_EXCEEDS_CLAIM, DUPLICATE_KEY

pytestmark = [
    pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'future.infer_string' option:Warning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:Warning"),
]


@pytest.fixture(scope="module")
def con():
    backend = ibis.duckdb.connect(threads=1)
    yield backend
    backend.disconnect()


def _flagged_claims(con, path) -> int:
    """Claims the credit-note rule refuses (0 when the lines pass)."""
    try:
        check_source(con, path, "claim_lines")
    except DataValidationError as exc:
        over = [v for v in exc.violations if v.rule == CREDIT_EXCEEDS_CLAIM]
        assert len(over) == 1, exc.violations
        return int(re.match(r"(\d+) claim_id value", over[0].detail).group(1))
    return 0


def _insured(claims: pd.DataFrame) -> pd.DataFrame:
    keys = claims[["person_id"]].drop_duplicates().assign(year=2015)
    return keys.assign(practice_id="OV01", insured_days=365, sex="F", birth_year=1960,
                       minima=False)


#: Debit and credit of two-line claims whose excess of credits lies at the half cent.
_BOUNDARY = [(0.0, -0.005), (20.0, -20.005), (20.0, -20.004), (0.1, -0.105), (0.2, -0.205),
             (1e6, -1e6 - 0.005), (0.3, -0.3049999)]


def _boundary_rows() -> list[str]:
    """The :data:`_BOUNDARY` claims as CSV lines."""
    rows = []
    for i, (debit, credit) in enumerate(_BOUNDARY):
        rows += [f"B{i},D{i},2015-02-01,2015-02-01,gp,,{debit!r}",
                 f"B{i},D{i},2015-02-01,2015-02-01,gp,,{credit!r}"]
    return rows


@pytest.mark.parametrize("case", ["contract", "boundary", 1, 2, 3, 4, 5, 11])
def test_the_build_counts_exactly_the_claims_the_rule_refuses(con, tmp_path, case):
    if case in ("contract", "boundary"):
        rows = CONTRACT_ROWS if case == "contract" else _boundary_rows()
        path = tmp_path / "claims.csv"
        path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
        claims = con.to_pandas(check_source(con, path, "claim_lines",
                                            defer_to_build=True).relation)
    else:
        claims, _ = random_claims(case)
        path = tmp_path / "claims.parquet"
        claims.to_parquet(path)
    deferred = check_source(con, path, "claim_lines", defer_to_build=True)
    assert deferred.deferred_rule == CREDIT_EXCEEDS_CLAIM and deferred.violations == []
    flagged = _flagged_claims(con, path)
    report = build_panel(claims, _insured(claims), con=con, return_report=True).report
    assert report.over_credited_claims == flagged
    if case != "boundary":
        assert flagged > 0  # every case but the boundary one plants over-credits
    else:  # excesses of a half cent give way to binary rounding either side
        assert flagged == sum(1 for d, c in _BOUNDARY if -c - d >= 0.005)
        assert 0 < flagged < len(_BOUNDARY)


def test_deferring_keeps_the_other_rules_and_lists_the_credit_rule_with_them(con, tmp_path):
    path = tmp_path / "claims.csv"
    bad = CONTRACT_ROWS[:3] + ["P1,C9,2015-01-01,2015-01-02,dentist,,5"] + CONTRACT_ROWS[3:]
    path.write_text("\n".join([HEADER, *bad]) + "\n", encoding="utf-8")
    errors = []
    for defer in (False, True):
        with pytest.raises(DataValidationError) as info:
            check_source(con, path, "claim_lines", defer_to_build=defer)
        errors.append(str(info.value))
    assert errors[0] == errors[1]
    assert "care_type" in errors[0] and CREDIT_EXCEEDS_CLAIM in errors[0]
    dropped = [check_source(con, path, "claim_lines", on_error="drop", defer_to_build=d)
               for d in (False, True)]
    assert not dropped[1].deferred_rule
    assert dropped[0].rows_kept == dropped[1].rows_kept == len(bad) - 6
    # clean lines: the rule is deferred, and the relation is the same
    clean = tmp_path / "clean.csv"
    clean.write_text("\n".join([HEADER, *CONTRACT_ROWS[:3], *CONTRACT_ROWS[5:7]]) + "\n",
                     encoding="utf-8")
    both = [check_source(con, clean, "claim_lines", defer_to_build=d) for d in (False, True)]
    assert [c.deferred_rule for c in both] == [None, CREDIT_EXCEEDS_CLAIM]
    frames = [con.to_pandas(c.relation).sort_values(["claim_id", "cost"], ignore_index=True)
              for c in both]
    pd.testing.assert_frame_equal(frames[0], frames[1])


# ---------------------------------------------------------------------------
# in the report


def _over_credited(source: Path, folder: Path, claims: int = 3) -> Path:
    """A copy of the engine sample whose claim lines over-credit ``claims`` claims."""
    shutil.copytree(source, folder)
    table = pq.read_table(folder / "claim_lines.parquet")
    lines = table.to_pandas()
    debits = lines[lines.cost > 0].drop_duplicates("claim_id").iloc[:claims]
    credits = debits.assign(cost=-(debits.cost + 10.0))
    lines = pd.concat([lines, credits], ignore_index=True)
    out = pa.Table.from_pandas(lines, schema=table.schema, preserve_index=False)
    pq.write_table(out, folder / "claim_lines.parquet")
    return folder


def _engine_run(config: Path, defer: bool):
    """The panel and the data-quality rows as the report makes them, and the tables
    whose rule is still deferred after the build."""
    cfg = load_config(config)
    progress = Progress(len(cfg.inputs) + 1, enabled=False)
    with EngineInputs(cfg, defer_to_build=defer) as engine:
        _, rows = _read_inputs(cfg, progress, engine)
        panel = engine.panel(progress)
        rows = engine.updated(rows)
        deferred = engine.deferred()
    return panel, rows, deferred


def test_clean_claim_lines_give_the_same_panel_with_the_rule_deferred(sample, tmp_path):  # noqa: F811
    config = _config(tmp_path, sample)
    runs = {defer: _engine_run(config, defer) for defer in (False, True)}
    assert runs[True][2] == ["claim_lines", "insured_periods"]
    pd.testing.assert_frame_equal(runs[False][0], runs[True][0], check_exact=True)
    assert runs[False][1] == runs[True][1]
    assert runs[False][0].attrs == runs[True][0].attrs


def test_every_problem_is_listed_when_another_input_fails(sample, tmp_path):  # noqa: F811
    folder = _over_credited(sample, tmp_path / "data")
    text = (folder / "practices.csv").read_text(encoding="utf-8").replace(",kbz,", ",kbzz,", 1)
    (folder / "practices.csv").write_text(text, encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        run_report(_config(tmp_path, folder), tmp_path / "out", progress=False)
    message = str(info.value)
    assert "[claim_lines]" in message and CREDIT_EXCEEDS_CLAIM in message
    assert "[practices]" in message and "group" in message
    assert message.index("[practices]") < message.index("[claim_lines]")  # reading order
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------
# the insured periods' unique person-year


def _repeated_period(source: Path, folder: Path, repeats: int = 2) -> Path:
    """A copy of the engine sample whose insured periods repeat ``repeats`` person-years
    (with another practice, so that the rows are not exact copies)."""
    shutil.copytree(source, folder)
    path = folder / "insured_periods.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[1].split(",")
    at = header.index("practice_id")
    practices = sorted({line.split(",")[at] for line in lines[2:]})
    extra = []
    for line in lines[2:2 + repeats]:
        cells = line.split(",")
        cells[at] = next(p for p in practices if p != cells[at])
        extra.append(",".join(cells))
    path.write_text("\n".join(lines + extra) + "\n", encoding="utf-8")
    return folder


def test_the_build_refuses_the_repeats_the_key_rule_finds(con, sample, tmp_path):  # noqa: F811
    folder = _repeated_period(sample, tmp_path / "data")
    path = folder / "insured_periods.csv"
    deferred = check_source(con, path, "insured_periods", defer_to_build=True)
    assert deferred.deferred_rule == DUPLICATE_KEY and deferred.violations == []
    with pytest.raises(DataValidationError) as rule:
        check_source(con, path, "insured_periods")
    assert [v.rule for v in rule.value.violations] == [DUPLICATE_KEY]
    assert rule.value.violations[0].n_rows == 4  # both rows of each repeated person-year
    lines = check_source(con, sample / "claim_lines.parquet", "claim_lines")
    with pytest.raises(DataValidationError) as build:
        build_panel(lines.relation, deferred.relation, con=con)
    assert [v.rule for v in build.value.violations] == ["unique key"]
    # clean periods: nothing for the build to refuse, the same relation either way
    clean = [check_source(con, sample / "insured_periods.csv", "insured_periods",
                          defer_to_build=d) for d in (False, True)]
    assert [c.deferred_rule for c in clean] == [None, DUPLICATE_KEY]
    frames = [con.to_pandas(c.relation).sort_values(["person_id", "year"], ignore_index=True)
              for c in clean]
    pd.testing.assert_frame_equal(frames[0], frames[1])


def test_checking_the_inputs_alone_defers_nothing(sample, tmp_path):  # noqa: F811
    """``kbz-eval check`` builds no panel, so it must check every rule itself."""
    from kbz_eval.report.pipeline import check_inputs

    lines = _over_credited(sample, tmp_path / "lines") / "claim_lines.parquet"
    folder = _repeated_period(sample, tmp_path / "both")
    shutil.copy(lines, folder / "claim_lines.parquet")  # both tables broken
    with pytest.raises(DataValidationError) as info:
        check_inputs(_config(tmp_path, folder))
    message = str(info.value)
    assert CREDIT_EXCEEDS_CLAIM in message and DUPLICATE_KEY in message


# ---------------------------------------------------------------------------
# either rule broken: the report as if the rule had been checked first

#: How each deferred rule is broken in a copy of the sample: the table, the rule, and
#: the other table, whose rule stays deferred when this one is checked again.
BROKEN = {
    "over-credit": (_over_credited, "claim_lines", CREDIT_EXCEEDS_CLAIM, "insured_periods"),
    "repeat": (_repeated_period, "insured_periods", DUPLICATE_KEY, "claim_lines"),
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_the_report_refuses_what_the_build_finds_as_before(sample, tmp_path, kind):  # noqa: F811
    breaks, table, rule, _ = BROKEN[kind]
    config = _config(tmp_path, breaks(sample, tmp_path / "data"))
    with pytest.raises(DataValidationError) as info:
        run_report(config, tmp_path / "out", progress=False)
    with EngineInputs(load_config(config)) as engine:  # every rule checked first
        with pytest.raises(DataValidationError) as first:
            _read_inputs(load_config(config), Progress(3, enabled=False), engine)
    assert str(info.value) == str(first.value)
    assert rule in str(info.value) and table in str(info.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_dropped_rows_give_the_same_panel_and_quality_rows(sample, tmp_path, kind):  # noqa: F811
    breaks, table, rule, other = BROKEN[kind]
    config = _config(tmp_path, breaks(sample, tmp_path / "data"))
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[report]\n", '[report]\non_error = "drop"\n', 1), encoding="utf-8")
    assert load_config(config).on_error == "drop"
    runs = {defer: _engine_run(config, defer) for defer in (False, True)}
    assert runs[True][2] == [other] and runs[False][2] == []  # ``table`` checked again
    pd.testing.assert_frame_equal(runs[False][0], runs[True][0], check_exact=True)
    assert runs[False][1] == runs[True][1]
    reasons = [r["reason"] for r in runs[True][1] if r["table"] == table]
    assert any(rule in r for r in reasons)
    if table == "claim_lines":
        assert runs[True][0].attrs["kbz_panel"]["over_credited_claims"] == 0


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_the_reports_quality_table_lists_the_rows_the_build_dropped(sample, tmp_path,  # noqa: F811
                                                                    kind):
    """Through the whole report (not only its engine steps): the data-quality table of a
    run that drops what the build's rule finds names that rule for its table."""
    breaks, table, rule, _ = BROKEN[kind]
    config = _config(tmp_path, breaks(sample, tmp_path / "data"))
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[report]\n", '[report]\non_error = "drop"\n', 1), encoding="utf-8")
    out = run_report(config, tmp_path / "out", progress=False)
    quality = pd.read_csv(Path(out) / "data_quality.csv", dtype=str)
    reasons = quality.loc[quality["table"] == table, "reason"].dropna().tolist()
    assert any(rule in r for r in reasons), reasons
