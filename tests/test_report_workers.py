"""The report's worker processes: which analyses they take, what happens when one is
lost, and the thread settings they start with. (That a report built with workers is
byte-identical to one built in one process is `test_report.py::
test_same_inputs_give_byte_identical_files`.)"""

from __future__ import annotations

import os
import pickle
import warnings
from concurrent.futures import Future

import pandas as pd
import pytest
from conftest import sample_config

from kbz_eval.io import read_table
from kbz_eval.report import pipeline
from kbz_eval.report.analyses import ANALYSES
from kbz_eval.report.config import load_config
from kbz_eval.report.figures import FigureSaver, worker_pool


class _Recorder:
    """Stands in for a pool: records what is submitted, runs nothing."""

    def __init__(self) -> None:
        self.submitted: list[tuple[str, dict[str, pd.DataFrame]]] = []

    def submit(self, fn, key, tables, cfg, work):
        self.submitted.append((key, tables))
        return Future()


def test_the_claims_analyses_never_leave_the_report_process(shared_sample, tmp_path):
    tables = {name: pd.DataFrame({"x": [1]}) for spec in ANALYSES for name in spec.reads}
    cfg = load_config(sample_config(tmp_path, shared_sample))
    pool = _Recorder()
    sent = pipeline._submit_analyses(pool, list(ANALYSES), tables, cfg, tmp_path)
    assert set(sent) == {key for key, _ in pool.submitted}
    claims = {s.key for s in ANALYSES if "person_years" in s.needs}
    assert claims and not claims & set(sent)
    assert {"cvg_trajectory", "workforce_change", "referrals_avoided"} <= set(sent)
    for key, given in pool.submitted:  # each worker gets only the tables it reads
        spec = next(s for s in ANALYSES if s.key == key)
        assert set(given) == set(spec.reads)
        assert not {"person_years", "claim_lines", "insured_periods"} & set(given)
    assert pipeline._submit_analyses(None, list(ANALYSES), tables, cfg, tmp_path) == {}


def test_a_worker_is_given_every_table_its_analysis_reads(shared_sample, tmp_path):
    """Each analysis a worker takes gives, on the tables sent with it, the same result
    as on every input of the report (an optional table left behind, such as the
    practices' groups for the workforce survey, would change it)."""
    cfg = load_config(sample_config(tmp_path, shared_sample))
    names = {n for s in ANALYSES for n in s.reads} - pipeline._STAYS_HERE
    tables = {n: read_table(path, n).data for n, path in cfg.inputs.items() if n in names}
    assert {"practices", "workforce", "cvg", "consults"} <= set(tables)
    pool = _Recorder()
    pipeline._submit_analyses(pool, list(ANALYSES), tables, cfg, tmp_path)
    assert len(pool.submitted) >= 7
    for key, given in pool.submitted:
        spec = next(s for s in ANALYSES if s.key == key)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            alone, full = spec.run(given, cfg), spec.run(tables, cfg)
        pd.testing.assert_frame_equal(alone.tidy(), full.tidy(), obj=key)
    workforce = dict(pool.submitted)["workforce_change"]
    assert "practices" in workforce


def test_an_analysis_a_worker_lost_is_run_here(shared_sample, tmp_path):
    cfg = load_config(sample_config(tmp_path, shared_sample))
    spec = next(s for s in ANALYSES if s.key == "referrals_avoided")
    tables = {"consults": read_table(shared_sample / "consults.csv", "consults").data}
    for folder in ("here", "lost"):
        (tmp_path / folder / "figures").mkdir(parents=True)
        (tmp_path / folder / "tables").mkdir()
    here = pipeline._run_analysis(spec, tables, cfg, tmp_path / "here", FigureSaver(None))
    lost: Future = Future()
    lost.set_exception(RuntimeError("worker died"))
    with pytest.warns(RuntimeWarning, match="'referrals_avoided' failed in a worker "
                      r"process \(RuntimeError: worker died\)"):
        again = pipeline._collect_analysis(lost, spec, tables, cfg, tmp_path / "lost",
                                           FigureSaver(None))
    for field in ("title", "key", "paragraphs", "method", "warnings", "table_files"):
        assert getattr(again[1], field) == getattr(here[1], field), field
    assert len(again[1].tables) == len(here[1].tables) == 1
    pd.testing.assert_frame_equal(again[1].tables[0], here[1].tables[0])
    assert again[2].keys() == here[2].keys()
    for name in here[2]:
        pd.testing.assert_frame_equal(again[2][name], here[2][name])
    for sub in ("figures", "tables"):
        files = sorted(p.name for p in (tmp_path / "here" / sub).iterdir())
        assert files == sorted(p.name for p in (tmp_path / "lost" / sub).iterdir())
        for name in files:
            assert (tmp_path / "here" / sub / name).read_bytes() == \
                (tmp_path / "lost" / sub / name).read_bytes()


def test_a_suppressed_result_survives_pickling(shared_sample, tmp_path):
    """What a worker sends back: the suppressed copy serves the same plot data."""
    cfg = load_config(sample_config(tmp_path, shared_sample))
    spec = next(s for s in ANALYSES if s.key == "referrals_avoided")
    tables = {"consults": read_table(shared_sample / "consults.csv", "consults").data}
    drawn, _, _, _ = pipeline._suppressed_result(spec.run(tables, cfg), cfg)
    back = pickle.loads(pickle.dumps(drawn))
    pd.testing.assert_frame_equal(back.plot_data(), drawn.plot_data())
    pd.testing.assert_frame_equal(back.tidy(), drawn.tidy())


@pytest.mark.parametrize("preset", [None, "3"])
def test_workers_start_with_one_numeric_thread_unless_the_user_set_one(monkeypatch, preset):
    if preset is None:
        monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", preset)
    before = dict(os.environ)
    pool = worker_pool(2)
    try:
        seen = {pool.submit(os.getenv, "OPENBLAS_NUM_THREADS").result() for _ in range(4)}
    finally:
        pool.shutdown()
    assert seen == {preset or "1"}
    assert dict(os.environ) == before  # the report's own process is left as it was
