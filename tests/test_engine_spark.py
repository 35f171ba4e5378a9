"""One code path from laptop to cluster: the engine on PySpark equals the engine on DuckDB.

The same Ibis expressions run on a local PySpark session (``local[1]``) and on DuckDB;
panels and reports must agree. Needs a Java runtime; without one the module is skipped
and says so.
"""

from __future__ import annotations

import importlib.util
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from kbz_eval.engine import build_panel
from kbz_eval.engine.scale import write_claim_lines
from kbz_eval.tables import CARE_TYPES

#: Deprecation notices raised inside third-party libraries (Ibis on duckdb 2 / pandas 3,
#: PySpark on pandas 3), not by kbz_eval.
THIRD_PARTY_NOTICES = [
    pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'future.infer_string' option:Warning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:Warning"),
]
pytestmark = [pytest.mark.spark, *THIRD_PARTY_NOTICES]

#: Costs are rounded to cents on both backends; sums of cents agree far below a cent.
COST_TOL = 1e-6


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and os.path.exists(os.path.join(home, "bin", "java")):
        return os.path.join(home, "bin", "java")
    return shutil.which("java")


@pytest.fixture(scope="module")
def spark():
    if _java() is None:
        pytest.skip("no Java runtime found (java not on PATH, JAVA_HOME unset): "
                    "PySpark needs Java 17 or later")
    if importlib.util.find_spec("pyspark") is None:
        pytest.skip("pyspark is not installed: install the 'spark' extra "
                    "(pip install -e '.[spark]'; `make install` does)")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("kbz_eval-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def random_claims(seed: int, n: int = 400) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random small claims with re-sends (identical and disagreeing), edge dates, 16/17
    codes, missing values, unknown care types and orphans."""
    rng = np.random.default_rng(seed)
    persons = np.array([f"P{i:03d}" for i in range(30)])
    start = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(-3, 3 * 365 + 3, n),
                                                         unit="D")
    edge = rng.random(n) < 0.2
    start = start.where(~edge, pd.to_datetime(rng.choice(
        ["2015-12-31", "2016-01-01", "2016-02-29", "2016-12-31", "2017-01-01"], n)))
    end = start + pd.to_timedelta(rng.integers(0, 200, n), unit="D")
    claims = pd.DataFrame({
        "person_id": rng.choice(persons, n),
        "claim_id": [f"c{i}" for i in rng.integers(0, int(n * 0.8), n)],
        "start_date": start,
        "end_date": end.where(rng.random(n) > 0.1),
        "care_type": rng.choice([*CARE_TYPES, "dental"], n),
        "declaration_code": pd.Series(rng.choice(
            ["150102", "160001", "172899", "016000", "990016", ""], n)).where(
                rng.random(n) > 0.2),
        "cost": rng.integers(0, 300_000, n) / 100,
    })
    years = [2015, 2016, 2017]
    keys = [(p, y) for p in persons[:25] for y in years if rng.random() < 0.85]
    periods = pd.DataFrame({
        "person_id": [k[0] for k in keys],
        "year": [k[1] for k in keys],
        "practice_id": [f"OV{int(k[0][1:]) % 12 + 1:02d}" for k in keys],
        "insured_days": [int(rng.integers(1, 366)) for _ in keys],
        "sex": rng.choice(["M", "F"], len(keys)),
        "birth_year": rng.integers(1930, 2015, len(keys)),
        "minima": rng.random(len(keys)) < 0.1,
    })
    return claims, periods


def assert_same(spark_res, duck_res) -> None:
    pd.testing.assert_frame_equal(spark_res.panel, duck_res.panel, check_exact=False,
                                  atol=COST_TOL)
    got, want = spark_res.report.as_dict(), duck_res.report.as_dict()
    assert got.pop("backend") == "pyspark"
    assert want.pop("backend") == "duckdb"
    assert got.keys() == want.keys()
    for key, value in want.items():
        if isinstance(value, float):
            assert got[key] == pytest.approx(value, abs=COST_TOL), key
        else:
            assert got[key] == value, key


@pytest.mark.parametrize("year_rule", ["start_date", "end_date"])
def test_spark_equals_duckdb_on_random_claims(spark, year_rule):
    claims, periods = random_claims(seed=2016)
    kwargs = {"year_rule": year_rule, "return_report": True}
    duck = build_panel(claims, periods, **kwargs)
    sp = build_panel(claims, periods, backend="pyspark", con=spark, **kwargs)
    assert duck.report.disagreeing_claims > 0 and duck.report.orphan_claims > 0
    assert duck.report.excluded_claims > 0 and duck.report.unknown_care_type_claims > 0
    assert_same(sp, duck)


def test_spark_reads_parquet_folders_and_writes_parquet_like_duckdb(spark, tmp_path):
    write_claim_lines(tmp_path, n_lines=20_000, seed=3, chunk_lines=10_000)
    duck = build_panel(tmp_path / "claim_lines", tmp_path / "insured_periods",
                       return_report=True)
    sp = build_panel(str(tmp_path / "claim_lines"), str(tmp_path / "insured_periods"),
                     backend="pyspark", con=spark, output=tmp_path / "panel.parquet",
                     return_report=True)
    assert duck.report.lines_in == 20_000
    assert sp.panel == tmp_path / "panel.parquet"
    written = pd.read_parquet(sp.panel).sort_values(["person_id", "year"]).reset_index(
        drop=True)
    pd.testing.assert_frame_equal(written, duck.panel, check_exact=False, atol=COST_TOL,
                                  check_dtype=False)
    assert_same(type(sp)(written, sp.report), duck)


HAVE_SYNTH = importlib.util.find_spec("kbz_eval.synth") is not None


@pytest.mark.skipif(not HAVE_SYNTH, reason="sample generator not available")
def test_spark_equals_duckdb_on_the_sample(spark, shared_sample):
    """The synthetic sample (the run's copy, written once: not generated again here)."""
    claims = pd.read_parquet(shared_sample / "claim_lines.parquet")
    periods = pd.read_csv(shared_sample / "insured_periods.csv", comment="#")
    # a tenth of the persons (by the last digit of the pseudonym) keeps the test short
    claims = claims[claims.person_id.str[-1] == "7"]
    periods = periods[periods.person_id.str[-1] == "7"]
    duck = build_panel(claims, periods, return_report=True)
    sp = build_panel(claims, periods, backend="pyspark", con=spark, return_report=True)
    assert duck.report.lines_in == len(claims) > 50_000
    assert duck.report.orphan_claims > 0 and duck.report.excluded_claims > 0
    assert duck.report.person_years == len(periods) > 10_000
    assert_same(sp, duck)
