"""The report's roll-out sections: staggered DiD over every KBZ start cohort and the
Goodman-Bacon decomposition of the naive TWFE estimate, on the report's practice-year
cells and under its disclosure control."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kbz_eval.errors import StatisticalWarning
from kbz_eval.estimators.bacon import bacon_decomposition
from kbz_eval.estimators.staggered import staggered_did
from kbz_eval.report import run_report
from kbz_eval.synth import load_sample
from kbz_eval.tables import insured_years

REPO = Path(__file__).resolve().parents[1]


def _config(folder: Path, sample: Path, *, threshold: int = 10) -> Path:
    text = (REPO / "kbz.toml").read_text(encoding="utf-8")
    text = text.replace('"data/sample/', f'"{sample.as_posix()}/')
    text = re.sub(r"bootstrap_replicates = \d+", "bootstrap_replicates = 199", text)
    text = re.sub(r"suppression_threshold = \d+", f"suppression_threshold = {threshold}",
                  text)
    # the roll-out sections need no open data (a folder without the files skips them)
    empty = folder / "no_open_data"
    empty.mkdir(exist_ok=True)
    text = re.sub(r'open_data_folder = "[^"]*"', f'open_data_folder = "{empty.as_posix()}"',
                  text)
    path = folder / f"kbz_{threshold}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def sample(shared_sample) -> Path:
    return shared_sample


@pytest.fixture(scope="module")
def report(shared_report_en_plain) -> Path:
    """The English sample report (kbz.toml, 199 replicates, threshold 10, no open data),
    built once for the run."""
    return shared_report_en_plain.folder


def _cells_by_hand() -> pd.DataFrame:
    """Minima's outpatient DBC cost per insured year per practice and year, KBZ
    practices by start year, controls 0 — computed here without the report's code."""
    s = load_sample()
    py, pr = s["person_years"], s["practices"]
    py = py[py["minima"].astype(bool)]
    exposure = insured_years(py["insured_days"].to_numpy(), py["year"].to_numpy())
    frame = pd.DataFrame({"practice_id": py["practice_id"].to_numpy(),
                          "year": py["year"].to_numpy(),
                          "cost": py["poli_dbc_cost"].to_numpy(float),
                          "exposure": exposure})
    cells = frame.groupby(["practice_id", "year"], as_index=False).sum()
    cells["y"] = cells["cost"] / cells["exposure"]
    start = pr.set_index("practice_id")["kbz_start_year"].astype("Float64").fillna(0)
    cells["start"] = cells["practice_id"].map(start).astype(int)
    return cells


def test_rollout_sections_are_in_the_report(report):
    manifest = json.loads((report / "manifest.json").read_text(encoding="utf-8"))
    for key in ("rollout", "twfe_decomposition"):
        assert key in manifest["analyses"]
        assert (report / "figures" / f"{key}.png").is_file()
        assert (report / "tables" / f"{key}__tidy.csv").is_file()
    html = (report / "report.html").read_text(encoding="utf-8")
    assert "Roll-out: effect by year since the KBZ start" in html
    assert "Pre-trend test:" in html


def test_rollout_estimates_equal_the_library_on_hand_made_cells(report):
    cells = _cells_by_hand()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        direct = staggered_did(cells, outcome="y", unit="practice_id", time="year",
                               group="start", control="never", bootstrap=False)
        bacon = bacon_decomposition(cells, outcome="y", unit="practice_id", time="year",
                                    group="start")
    dynamic = pd.read_csv(report / "tables" / "rollout__dynamic.csv")
    mine = direct.tables["dynamic"]
    np.testing.assert_allclose(dynamic["att"], mine["att"], rtol=1e-8)
    np.testing.assert_allclose(dynamic["se"], mine["se"], rtol=1e-8)
    assert set(dynamic["event_time"]) == {-2, -1, 0, 1, 2}  # cohorts 2014 and 2015
    tidy = pd.read_csv(report / "tables" / "twfe_decomposition__tidy.csv")
    twfe = tidy.set_index("term").loc["twfe", "estimate"]
    assert twfe == pytest.approx(bacon.settings["twfe"], rel=1e-8)
    pre = pd.read_csv(report / "tables" / "rollout__pretrend.csv")
    assert pre.loc[0, "term"] == "pretrend_sup_t"
    # e = -2 rests on one practice (the 2015 cohort): left out of the sup-t test
    assert pre.loc[0, "df"] == 1


def test_rollout_person_counts_are_the_treated_practices_persons(report):
    cells = _cells_by_hand()
    s = load_sample()["person_years"]
    s = s[s["minima"].astype(bool)]
    persons = s.merge(cells[["practice_id", "start"]].drop_duplicates(), on="practice_id")
    per = persons[persons["start"] > 0].groupby(["start", "year"]).size()
    gt = pd.read_csv(report / "tables" / "rollout__att_gt.csv")
    for row in gt.itertuples():
        assert row.n_persons == per[(row.group, row.time)]
    dynamic = pd.read_csv(report / "tables" / "rollout__dynamic.csv").set_index("event_time")
    # e = 0: the 2014 cohort in 2014 and the 2015 cohort in 2015, the fewer of the two
    assert dynamic.loc[0, "n_persons"] == min(per[(2014, 2014)], per[(2015, 2015)])


def test_a_rollout_cell_under_the_threshold_is_withheld_everywhere(sample, report,
                                                                     tmp_path):
    """With the threshold just above the persons behind the smallest event-time
    estimate, that estimate is withheld in the table, the figure data and every text
    of the report, and the estimates on more persons stay."""
    first = pd.read_csv(report / "tables" / "rollout__dynamic.csv",
                        dtype=str).set_index("event_time")
    persons = first["n_persons"].astype(int)
    smallest = persons.idxmin()
    threshold = int(persons.min()) + 1
    kept = persons.index[persons >= threshold]
    assert len(kept) >= 2
    out = run_report(_config(tmp_path, sample, threshold=threshold), tmp_path / "second",
                     progress=False)
    dynamic = pd.read_csv(out / "tables" / "rollout__dynamic.csv",
                          dtype=str).set_index("event_time")
    hidden = first.loc[smallest, "att"]
    assert dynamic.loc[smallest, "att"] != hidden
    for e in kept:
        assert dynamic.loc[e, "att"] == first.loc[e, "att"]
    for path in out.rglob("*"):
        if path.suffix in (".csv", ".html", ".json", ".svg"):
            assert hidden not in path.read_text(encoding="utf-8"), path
