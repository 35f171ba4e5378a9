"""`kbz-eval report` as a product: complete, reproducible, disclosure-safe, robust."""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import sample_config

from kbz_eval.errors import DataValidationError
from kbz_eval.report import run_report

REPO = Path(__file__).resolve().parents[1]
TEXT_SUFFIXES = {".csv", ".html", ".svg", ".json"}


def _config(folder: Path, sample: Path, *, language: str = "en", replicates: int = 199,
            threshold: int = 10, workers: int | None = None) -> Path:
    """kbz.toml on ``sample``; its open-data folder (``../shared/data``) is not beside
    the temporary folder, so the open-data section is skipped."""
    return sample_config(folder, sample, language=language, replicates=replicates,
                         threshold=threshold, workers=workers)


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def sample(shared_sample) -> Path:
    return shared_sample


@pytest.fixture(scope="module")
def report(shared_report_en_plain) -> Path:
    """The sample report of ``_config(folder, sample)`` (the configuration of the
    session's shared report), built once for the run."""
    return shared_report_en_plain.folder


def test_the_shared_report_has_the_configuration_of_this_file(shared_report_en_plain,
                                                               tmp_path):
    mine = _config(tmp_path, shared_report_en_plain.sample)
    assert mine.read_text(encoding="utf-8") == shared_report_en_plain.config.read_text(
        encoding="utf-8")


def test_report_has_every_part(report):
    names = {p.relative_to(report).as_posix() for p in report.rglob("*") if p.is_file()}
    assert {"report.html", "report.xlsx", "manifest.json", "data_quality.csv"} <= names
    manifest = json.loads((report / "manifest.json").read_text(encoding="utf-8"))
    for key in manifest["analyses"]:
        for suffix in (".png", ".svg", ".csv"):
            assert f"figures/{key}{suffix}" in names, (key, suffix)
        assert f"tables/{key}__tidy.csv" in names
    assert len(manifest["analyses"]) >= 10
    assert manifest["synthetic_inputs"] is True


def test_manifest_records_inputs_config_versions_and_seeds(report, sample):
    manifest = json.loads((report / "manifest.json").read_text(encoding="utf-8"))
    practices = manifest["inputs"]["practices"]
    assert practices["sha256"] == hashlib.sha256(
        (sample / "practices.csv").read_bytes()).hexdigest()
    assert manifest["config"]["analysis"]["bootstrap_replicates"] == 199
    assert manifest["seeds"]["seed"] == manifest["config"]["analysis"]["seed"]
    assert manifest["packages"]["pandas"] == pd.__version__
    assert practices["file"] == "practices.csv"


def test_workbook_has_a_sheet_per_table_and_an_about_sheet(report):
    import openpyxl

    wb = openpyxl.load_workbook(report / "report.xlsx", read_only=True)
    assert wb.sheetnames[:2] == ["Contents", "About"]
    assert "Data quality" in wb.sheetnames
    about = {r[0]: r[1] for r in wb["About"].iter_rows(min_row=2, values_only=True)}
    assert {"Sources", "Period", "Suppression rule", "Synthetic data",
            "kbz_eval version"} <= set(about)
    assert len(wb.sheetnames) > 20


def test_synthetic_warning_and_overview_in_html(report):
    page = (report / "report.html").read_text(encoding="utf-8")
    assert "Synthetic data." in page
    assert page.count("class='aim'") == 4
    assert "not computed" not in page, "an aim's headline is missing"
    assert "€356" in page  # the savings headline on the calibrated sample
    assert "<script" not in page and "http" not in page.split("<body>")[1]
    # the test config sits in a temporary folder: ../shared/data is not beside it
    assert "open data section skipped" in page


def test_same_inputs_give_byte_identical_files(report, sample, tmp_path):
    """Also in one process: figures saved by worker processes (the default on two or
    more cores) are the files the report's own process writes."""
    again = run_report(_config(tmp_path, sample, workers=1), tmp_path / "again",
                       progress=False)
    first, second = _hashes(report), _hashes(again)
    assert first.pop("manifest.json") and second.pop("manifest.json")
    assert first == second
    manifests = [json.loads((f / "manifest.json").read_text(encoding="utf-8"))
                 for f in (report, again)]
    assert manifests[1]["config"]["report"].pop("workers") == 1
    assert manifests[0] == manifests[1]


def test_heavy_claims_start_the_workers_after_the_build_with_the_same_files(
        report, sample, tmp_path, monkeypatch):
    """Claim-line files of ``HEAVY_CLAIMS_BYTES`` or more hold the workers' jobs (survey
    analyses, open data) until the panel is built; the files are the same."""
    from kbz_eval.report import pipeline
    from kbz_eval.report.config import load_config

    config = _config(tmp_path, sample)
    assert not pipeline.heavy_claims(load_config(config))  # the sample is light
    monkeypatch.setattr(pipeline, "HEAVY_CLAIMS_BYTES", 1)
    assert pipeline.heavy_claims(load_config(config))
    heavy = run_report(config, tmp_path / "heavy", progress=False)
    first, second = _hashes(report), _hashes(heavy)
    assert first.pop("manifest.json") and second.pop("manifest.json")
    assert first == second


def _all_text(folder: Path) -> str:
    chunks = []
    for p in sorted(folder.rglob("*")):
        if p.suffix in TEXT_SUFFIXES:
            chunks.append(p.read_text(encoding="utf-8"))
        elif p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as z:
                chunks += [z.read(n).decode("utf-8") for n in z.namelist()
                           if n.endswith(".xml")]
    return "\n".join(chunks)


def test_no_person_id_reaches_any_output(report, sample):
    ids: set[str] = set()
    for name, col in [("insured_periods", "person_id"), ("cvg", "person_id"),
                      ("workforce", "respondent_id")]:
        ids |= set(pd.read_csv(sample / f"{name}.csv", comment="#")[col].astype(str))
    ids |= set(pd.read_parquet(sample / "claim_lines.parquet", columns=["person_id"])
               ["person_id"].astype(str))
    assert len(ids) > 30_000
    tokens = set(re.findall(r"[A-Za-z0-9_]+", _all_text(report)))
    leaked = sorted(ids & tokens)
    assert not leaked, f"person ids in the report: {leaked[:5]}"


def _declared_counts(report: Path) -> dict[Path, list[str]]:
    """Every published CSV with the count columns the manifest says it declares."""
    record = json.loads((report / "manifest.json").read_text())["disclosure"]["tables"]
    out = {}
    for path in sorted((report / "tables").glob("*.csv")) + sorted(
            (report / "figures").glob("*.csv")):
        rel = path.relative_to(report).as_posix()
        assert rel in record, f"{rel} has no disclosure declaration"
        entry = record[rel]
        out[path] = [] if entry["public"] else entry["counts"] + entry["numerators"]
    return out


def test_no_published_cell_rests_on_fewer_than_threshold_persons(report):
    checked = 0
    for path, counts in _declared_counts(report).items():
        frame = pd.read_csv(path)
        for col in counts:
            values = pd.to_numeric(frame[col], errors="coerce").dropna()
            assert (values >= 10).all(), (path.name, col, values[values < 10].tolist())
            checked += len(values)
    assert checked > 100


def test_small_cells_read_too_few_observations_in_dutch(sample, tmp_path):
    # a threshold of 60 hides some per-practice and per-specialism cells
    # (no interval is read here: 99 replicates do)
    out = run_report(_config(tmp_path, sample, language="nl", threshold=60,
                             replicates=99), tmp_path / "nl", progress=False)
    text = _all_text(out)
    assert "onvoldoende waarnemingen" in text
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Synthetische gegevens." in page and "<html lang='nl'>" in page
    assert re.search(r"€ \d{3}", page), "Dutch money format € 356"
    # the overview reads the suppressed results: the CVG panel (50 and 20 patients)
    # is withheld, not printed with its small counts
    assert "berust op te weinig personen" in page
    assert "patiënten)" not in page.split("<body>")[1].split("class='aim'")[1]
    for path, counts in _declared_counts(out).items():
        frame = pd.read_csv(path)
        for col in counts:
            values = pd.to_numeric(frame[col], errors="coerce").dropna()
            assert (values >= 60).all(), (path.name, col)


def test_failed_run_leaves_the_previous_report_intact(report, sample, tmp_path):
    bad_sample = tmp_path / "bad"
    bad_sample.mkdir()
    for p in sample.iterdir():
        (bad_sample / p.name).write_bytes(p.read_bytes())
    text = (bad_sample / "cvg.csv").read_text(encoding="utf-8").splitlines()
    header = text[1].split(",")
    row = text[2].split(",")
    row[header.index("cvg_patient")] = "11"
    text[2] = ",".join(row)
    (bad_sample / "cvg.csv").write_text("\n".join(text) + "\n", encoding="utf-8")

    import shutil

    target = tmp_path / "previous"
    shutil.copytree(report, target)
    before = _hashes(target)
    with pytest.raises(DataValidationError, match="cvg_patient"):
        run_report(_config(tmp_path, bad_sample), target, progress=False)
    assert _hashes(target) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_cli_report_exits_non_zero_with_a_message(tmp_path, capsys):
    from kbz_eval.cli import main

    code = main(["report", "--config", str(tmp_path / "missing.toml"), "--out",
                 str(tmp_path / "out")])
    assert code == 1
    assert "not found" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_figures_are_print_resolution(report):
    from PIL import Image

    with Image.open(report / "figures" / "savings_minima.png") as im:
        assert im.size[0] >= 1200
        assert "Software" not in im.info
    svg = (report / "figures" / "savings_minima.svg").read_text(encoding="utf-8")
    assert "<dc:date>" not in svg


def test_xlsx_zip_is_deterministic(report):
    with zipfile.ZipFile(io.BytesIO((report / "report.xlsx").read_bytes())) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 31, 0, 0, 0)}


def test_figures_are_drawn_from_suppressed_data(tmp_path):
    """Individual CVG trajectories (one person each) never reach a published figure."""
    from kbz_eval.estimators.cvg import cvg_agreement, cvg_trajectory
    from kbz_eval.report.config import load_config
    from kbz_eval.report.figures import new_figure
    from kbz_eval.report.pipeline import _suppressed_result
    from kbz_eval.synth import load_sample

    (tmp_path / "c.csv").write_text("x\n1\n", encoding="utf-8")
    (tmp_path / "k.toml").write_text('[inputs]\ncvg = "c.csv"\n', encoding="utf-8")
    cfg = load_config(tmp_path / "k.toml")
    cvg = load_sample()["cvg"]
    for result in (cvg_trajectory(cvg), cvg_agreement(cvg)):
        full = result.plot_data()
        assert (full["n"] < 10).any(), "the test needs small cells to hide"
        drawn, _, published, _ = _suppressed_result(result, cfg)
        data = drawn.plot_data()
        small = pd.to_numeric(full["n"], errors="coerce") < 10
        # rows of individual values are left out of what is drawn and published
        assert not data.index.isin(full.index[small]).any()
        assert not published.index.isin(full.index[small]).any()
        assert (pd.to_numeric(published["n"], errors="coerce") >= 10).all()
        fig, ax = new_figure()
        drawn.plot(ax=ax)
        if result.plotter.endswith("plot_cvg_trajectory"):
            drawn_lines = [ln for ln in ax.get_lines() if ln.get_gid() == "individual"]
            assert all(np.isnan(ln.get_ydata().astype(float)).all() for ln in drawn_lines)


def test_overview_headlines_are_practice_level_with_the_comparison_named(report):
    page = (report / "report.html").read_text(encoding="utf-8")
    aims = page.split("<body>")[1]
    # efficiency: practice-level interval, its practices counted, the comparison named
    assert "at practice level: 6 KBZ against 6 control practices" in aims
    assert "against the cost trend of the control practices" in aims
    # professionals: the KBZ − control difference leads, not the KBZ-only change
    assert "KBZ practices minus control practices" in aims
    # experienced health has no comparison group, and says so
    assert "There is no comparison group" in aims


def test_every_tested_table_marks_its_primary_and_holm_adjusts_the_rest(report):
    tidy = pd.read_csv(report / "tables" / "savings_minima__tidy.csv")
    primary = tidy[tidy["role"] == "primary"]
    assert primary["term"].tolist() == ["saving_per_person"]
    secondary = tidy[(tidy["role"] == "secondary") & tidy["p_value"].notna()]
    from kbz_eval.stats.multiplicity import holm

    p = pd.to_numeric(secondary["p_value"], errors="coerce").to_numpy()
    np.testing.assert_allclose(pd.to_numeric(secondary["p_adjusted"]).to_numpy(), holm(p))
    for key, term in [("workforce_change", "job_satisfaction:difference_wave_3:kbz-control"),
                      ("risk_adjustment", "oe_kbz_vs_control_2016"),
                      ("dbc_index", "did_rate_ratio")]:
        t = pd.read_csv(report / "tables" / f"{key}__tidy.csv")
        assert t.loc[t["role"] == "primary", "term"].tolist() == [term], key
        assert (t.loc[t["term"].str.endswith("_persons_only"), "role"]
                == "persons only").all(), key


@pytest.mark.parametrize(("entry", "match"), [
    ('aim1 = "cvg_path:change_3_vs_1"', r"names no analysis"),
    ('aim1 = "cvg_trajectory:change_9_vs_1"', r"reports no such term"),
])
def test_a_primary_outcome_that_does_not_exist_is_refused_and_nothing_written(
        sample, tmp_path, entry, match):
    from kbz_eval.errors import SpecificationError

    path = _config(tmp_path, sample)
    text = path.read_text(encoding="utf-8").replace("[primary]", f"[primary]\n{entry}")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecificationError, match=match):
        run_report(path, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_section_headlines_pass_the_suppression(sample, tmp_path):
    """The English section headlines are written from the suppressed results: with a
    threshold of 60 the CVG headline (measurements of 50 and 20 patients) is withheld."""
    import kbz_eval as kbz

    out = run_report(_config(tmp_path, sample, threshold=60, replicates=99),
                     tmp_path / "en60", progress=False)
    page = (out / "report.html").read_text(encoding="utf-8")
    cvg = kbz.read(sample / "cvg.csv", table="cvg")
    raw = kbz.cvg_trajectory(cvg).headline()
    assert html.escape(raw, quote=True) not in page and raw not in page
    assert "Headline withheld: it rests on cells of fewer than 60 persons" in page
    assert not re.search(r"\bnan\b|<NA>", page.split("<body>")[1])


def test_figure_data_hide_what_the_tables_hide(report):
    """The indicator spread: the table suppresses a group-year of too few practices, so
    its figure's data do not show that group-year's min, median or max either."""
    label = "too few observations"
    spread = pd.read_csv(report / "tables" / "indicator_spread__spread.csv", dtype=str)
    figure = pd.read_csv(report / "figures" / "indicator_spread.csv", dtype=str)
    hidden = spread[spread["median"] == label][["group", "year"]]
    assert not hidden.empty, "the sample has a group-year of fewer than 10 practices"
    rows = figure.merge(hidden, on=["group", "year"])
    assert not rows.empty and (rows["value"] == label).all()


def test_every_table_of_the_sample_report_is_declared_and_none_withheld(report):
    page = (report / "report.html").read_text(encoding="utf-8")
    assert "has no disclosure declaration" not in page
    record = json.loads((report / "manifest.json").read_text())["disclosure"]
    assert record["threshold"] == 10 and "cell suppression" in record["method"]
    files = {p.relative_to(report).as_posix() for p in report.rglob("*.csv")} - {
        "data_quality.csv"}
    assert files == set(record["tables"])
