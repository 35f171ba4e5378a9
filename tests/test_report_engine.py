"""The report on the engine: claim lines go from their files to the panel, never
through pandas; ``[engine]`` and ``--backend`` choose DuckDB or Spark."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from kbz_eval.errors import DataValidationError, SpecificationError
from kbz_eval.report import run_report
from kbz_eval.report.config import load_config

pytestmark = [
    pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'future.infer_string' option:Warning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:Warning"),
]

#: Tables computed from the panel alone (no bootstrap draws), compared across inputs.
PANEL_TABLES = ("savings_all__by_group_year.csv", "dbc_index__rates.csv",
                "ggz_change__by_group_year.csv", "risk_adjustment__reference_rates.csv")


#: The persons of the module's extract: pseudonyms ending in these digits. A fifth of the
#: synthetic sample (about 160,000 of its 800,000 claim lines, every practice, year and
#: care type, with the sample's re-sends, credit notes, excluded codes and orphans) cuts
#: the engine's share of the module's reports (most of the Spark report's time); the
#: size of the input is not what these tests are about (the engine's scale is that of
#: bench/engine.py and test_engine_validate's millions of lines).
PERSON_DIGITS = "27"


@pytest.fixture(scope="module")
def sample(shared_sample, tmp_path_factory) -> Path:
    """A fifth of the persons of the run's synthetic sample (:data:`PERSON_DIGITS`):
    practices, their insured periods and claim lines, and the claim lines again as a
    folder of three Parquet parts."""
    import pyarrow.compute as pc

    folder = tmp_path_factory.mktemp("engine_sample") / "sample"
    folder.mkdir()
    shutil.copy(shared_sample / "practices.csv", folder / "practices.csv")
    lines = (shared_sample / "insured_periods.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# SYNTHETIC DATA") and lines[1].startswith("person_id,")
    kept = [line for line in lines[2:] if line.split(",", 1)[0][-1] in PERSON_DIGITS]
    (folder / "insured_periods.csv").write_text("\n".join(lines[:2] + kept) + "\n",
                                                 encoding="utf-8")
    table = pq.read_table(shared_sample / "claim_lines.parquet")  # keeps the synthetic label
    table = table.filter(pc.match_substring_regex(table["person_id"],
                                                  f"[{PERSON_DIGITS}]$"))
    pq.write_table(table, folder / "claim_lines.parquet")
    # the claim lines as a folder of three Parquet parts, as insurers deliver them
    parts = folder / "claim_parts"
    parts.mkdir()
    step = -(-table.num_rows // 3)
    for i in range(3):
        pq.write_table(table.slice(i * step, step), parts / f"part-{i}.parquet")
    return folder


def _config(folder: Path, sample: Path, *, claims: str = "claim_lines.parquet",
            engine: str = "") -> Path:
    text = "\n".join([
        "[report]", 'title = "Engine report"', 'language = "en"',
        "[inputs]",
        f'practices = "{(sample / "practices.csv").as_posix()}"',
        f'insured_periods = "{(sample / "insured_periods.csv").as_posix()}"',
        f'claim_lines = "{(sample / claims).as_posix()}"',
        "[analysis]", "bootstrap_replicates = 99", "seed = 3", "years = [2012, 2016]",
        "base_year = 2012", "savings_year = 2015", "ggz_base_year = 2013",
        "ggz_follow_year = 2016", engine]) + "\n"
    path = folder / f"kbz_{hashlib.sha1(text.encode()).hexdigest()[:8]}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _tables(report: Path) -> dict[str, bytes]:
    return {name: (report / "tables" / name).read_bytes() for name in PANEL_TABLES}


@pytest.fixture(scope="module")
def single_file_report(sample, tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("engine_single")
    return run_report(_config(work, sample), work / "out", progress=False)


def test_claim_lines_never_reach_pandas_and_parts_equal_one_file(
        sample, tmp_path, monkeypatch, single_file_report):
    """The claims tables are checked and aggregated in the engine (reading them through
    the pandas reader fails the run), and a folder of Parquet parts gives the same
    report as the single file."""
    import json

    import kbz_eval.io as io

    real = io.read_table

    def guarded(path, table, **kwargs):
        assert table not in ("claim_lines", "insured_periods"), f"{table} read by pandas"
        return real(path, table, **kwargs)

    monkeypatch.setattr(io, "read_table", guarded)
    out = run_report(_config(tmp_path, sample, claims="claim_parts"), tmp_path / "parts",
                     progress=False)
    assert _tables(out) == _tables(single_file_report)
    quality = pd.read_csv(out / "data_quality.csv")
    row = quality[(quality["table"] == "claim_lines") & (quality["file"].str.contains("3 files"))]
    n_lines = pq.read_metadata(sample / "claim_lines.parquet").num_rows  # every part read
    assert len(row) == 1 and int(row["rows_read"].iloc[0]) == n_lines > 100_000
    manifest = json.loads((out / "manifest.json").read_text())
    parts = manifest["inputs"]["claim_lines"]["files"]
    assert [p["file"] for p in parts] == [f"part-{i}.parquet" for i in range(3)]
    assert all(len(p["sha256"]) == 64 for p in parts)


def test_the_cli_takes_a_glob_and_a_backend(sample, tmp_path, capsys, single_file_report):
    from kbz_eval.cli import main

    config = str(_config(tmp_path, sample, claims="claim_parts/part-*.parquet"))
    code = main(["report", "--config", config, "--out", str(tmp_path / "cli"),
                 "--backend", "duckdb"])
    assert code == 0, capsys.readouterr().err
    assert _tables(tmp_path / "cli") == _tables(single_file_report)
    with pytest.raises(SystemExit) as info:
        main(["report", "--config", config, "--out", str(tmp_path / "cli2"),
              "--backend", "polars"])
    assert info.value.code == 2 and not (tmp_path / "cli2").exists()


def test_engine_settings_are_read_and_checked(sample, tmp_path):
    cfg = load_config(_config(tmp_path, sample, engine='[engine]\nbackend = "duckdb"\n'
                              'memory_limit = "2GB"\nthreads = 1\ntemp_directory = "spill"'))
    assert cfg.engine.backend == "duckdb" and cfg.engine.memory_limit == "2GB"
    assert cfg.engine.threads == 1 and cfg.engine.temp_directory == (tmp_path / "spill")
    assert load_config(cfg.path, backend="spark").engine.backend == "pyspark"
    assert cfg.engine.spark_master == "local[*]"
    for master in ("local[2]", "local", "spark://spark-master:7077"):
        path = _config(tmp_path, sample, engine=f'[engine]\nspark_master = "{master}"')
        assert load_config(path).engine.spark_master == master
    for bad, match in [('backend = "polars"', "backend"), ("threads = 0", "threads"),
                       ('memory_limit = "lots"', "memory_limit"), ("workers = 2", "unknown"),
                       ('spark_master = "local[0]"', "spark_master"),
                       ('spark_master = "my laptop"', "spark_master")]:
        path = _config(tmp_path, sample, engine=f"[engine]\n{bad}")
        with pytest.raises(SpecificationError, match=match):
            load_config(path)


def test_engine_settings_apply_and_the_scratch_folder_is_removed(sample, tmp_path,
                                                                 single_file_report):
    spill = tmp_path / "spill"
    path = _config(tmp_path, sample, engine=f'[engine]\nmemory_limit = "1GB"\nthreads = 1\n'
                   f'temp_directory = "{spill.as_posix()}"')
    out = run_report(path, tmp_path / "limited", progress=False)
    assert _tables(out) == _tables(single_file_report)
    assert spill.is_dir() and not any(spill.iterdir()), "person-level scratch files left"
    assert not list(out.rglob("*.parquet")), "the panel must never enter the report"


def test_engine_problems_are_listed_with_the_other_inputs(sample, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(sample, broken)
    lines = pq.read_table(broken / "claim_lines.parquet").to_pandas()
    lines.loc[[5, 9], "care_type"] = "dentist"
    lines.to_parquet(broken / "claim_lines.parquet", index=False)
    text = (broken / "practices.csv").read_text(encoding="utf-8").replace(",kbz,", ",kbzz,", 1)
    (broken / "practices.csv").write_text(text, encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        run_report(_config(tmp_path, broken), tmp_path / "out", progress=False)
    message = str(info.value)
    assert "claim_lines" in message and "care_type" in message
    assert "practices" in message and "group" in message
    assert not (tmp_path / "out").exists()


def _java() -> bool:
    import os

    home = os.environ.get("JAVA_HOME")
    return bool((home and Path(home, "bin", "java").exists()) or shutil.which("java"))


@pytest.mark.spark
@pytest.mark.skipif(not _java(), reason="no Java runtime for PySpark")
def test_the_same_report_runs_on_spark(sample, tmp_path, single_file_report):
    """The report on a local Spark session with two executor threads (``spark_master =
    "local[2]"``: tasks of every stage run in parallel) writes the same panel-based
    tables as on DuckDB, from the folder of Parquet parts."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:  # a session of another test file: start our own
        active.stop()
    out = run_report(_config(tmp_path, sample, claims="claim_parts",
                             engine='[engine]\nbackend = "spark"\n'
                                    'spark_master = "local[2]"'),
                     tmp_path / "spark", progress=False)
    session = SparkSession.getActiveSession()
    assert session is not None and session.sparkContext.master == "local[2]"
    assert session.sparkContext.defaultParallelism == 2
    assert _tables(out) == _tables(single_file_report)
    quality = pd.read_csv(out / "data_quality.csv")
    assert (quality["table"] == "claim_lines").any()


def test_report_builds_only_the_panel_columns_it_reads():
    """The report asks the build for the columns its analyses read: the claims columns
    always, the insured-period columns the input has (age band or birth year)."""
    from kbz_eval.report.engine_inputs import REPORT_PANEL_COLUMNS, report_columns

    with_birth = ["person_id", "year", "practice_id", "insured_days", "sex", "birth_year",
                  "minima"]
    got = report_columns(with_birth)
    assert got == [c for c in REPORT_PANEL_COLUMNS if c != "age_band"]
    with_band = [c for c in with_birth if c != "birth_year"] + ["age_band", "region"]
    got = report_columns(with_band)
    assert "age_band" in got and "birth_year" not in got and "region" not in got
    assert {"poli_dbc_cost", "ggz_cost", "ggz_count", "total_cost"} <= set(got)


def test_each_selection_is_made_once_the_practice_pages_trends_included(
        sample, tmp_path, monkeypatch):
    """The claims analyses of one selection run together and the pages' trends, which
    select every insured person of every year, run after the analyses of that selection
    and reuse it: no selection of the panel is made twice in a report, and the report
    (pages included) is byte for byte the one made with nothing shared."""
    import contextlib

    from kbz_eval.estimators import claims_common as cc
    from kbz_eval.report.practice_pages import PAGES_SELECTION

    made = []
    real = cc._select

    def spy(panel, practices, prac, population, keep_years, year):
        made.append((population, keep_years))
        return real(panel, practices, prac, population, keep_years, year)

    monkeypatch.setattr(cc, "_select", spy)
    config = _config(tmp_path, sample)
    out = run_report(config, tmp_path / "shared", progress=False)
    assert len(made) == len(set(made)), made
    assert made[-1][0] == PAGES_SELECTION and len(made[-1][1]) > 1, made  # every year

    @contextlib.contextmanager
    def nothing_shared():
        yield cc.SharedPreparation()  # not registered: every analysis selects alone

    monkeypatch.setattr(cc, "shared_preparation", nothing_shared)
    made.clear()
    alone = run_report(config, tmp_path / "alone", progress=False)
    assert len(made) > len(set(made))  # the same selections, made again and again
    files = sorted(p.relative_to(alone) for p in alone.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert any(f.parts[0] == "practices" for f in files)
    for f in files:
        if f.name != "manifest.json":  # it records the output folder's own files
            assert (out / f).read_bytes() == (alone / f).read_bytes(), f


def test_modules_needed_after_the_build_are_imported_meanwhile(tmp_path, monkeypatch):
    """The modules the analyses need after the build are imported in a thread while the
    panel is read back; each is loaded once, and one that cannot be imported is left to
    its first use (no error from the thread)."""
    import builtins
    import sys

    from kbz_eval.report.engine_inputs import NEEDED_AFTER_BUILD, import_meanwhile

    # the module records each time its body runs, slowly, so both imports overlap
    (tmp_path / "kbz_probe_module.py").write_text(
        "import builtins, time\n"
        "builtins._kbz_probe_loads.append(1)\n"
        "time.sleep(0.3)\n")
    monkeypatch.setattr(builtins, "_kbz_probe_loads", [], raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "kbz_probe_module", raising=False)
    thread = import_meanwhile(["kbz_probe_module", "kbz_no_such_module_anywhere"])
    import kbz_probe_module  # noqa: F401  (here too, while the thread may be loading it)

    thread.join(timeout=30)
    assert not thread.is_alive()
    assert builtins._kbz_probe_loads == [1]
    assert "kbz_no_such_module_anywhere" not in sys.modules
    assert "kbz_eval.estimators.claims_common" in NEEDED_AFTER_BUILD


def test_the_large_panel_path_gives_the_same_report(sample, tmp_path, monkeypatch,
                                                    single_file_report):
    """A panel counted as large (memory given back between the claims analyses, the
    heap reused within each, the collector walking only new objects) gives the report
    byte for byte, and leaves the collector as it found it."""
    import gc

    from kbz_eval.report import pipeline

    monkeypatch.setattr(pipeline, "LARGE_PANEL", 1)
    out = run_report(_config(tmp_path, sample), tmp_path / "large", progress=False)
    assert gc.get_freeze_count() == 0
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(single_file_report)
                           for p in single_file_report.rglob("*") if p.is_file())
    for f in files:
        if f.name != "manifest.json":
            assert (out / f).read_bytes() == (single_file_report / f).read_bytes(), f
