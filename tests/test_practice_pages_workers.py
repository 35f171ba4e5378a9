"""The practice pages' trend charts encoded in worker processes: the same bytes as in
one process, and an image a worker could not encode is still written."""

from __future__ import annotations

import hashlib
import warnings
from concurrent.futures import Executor, Future
from pathlib import Path

import pandas as pd
import pytest
from test_practice_pages import _config  # tests/ is on sys.path

from kbz_eval.report import practice_pages as pp
from kbz_eval.report.config import load_config
from kbz_eval.report.figures import worker_pool
from kbz_eval.synth import load_sample, write_sample


class _FailingWorkers(Executor):
    """An executor whose every job fails, as when a worker process dies."""

    def __init__(self) -> None:
        self.jobs = 0

    def submit(self, fn, /, *args, **kwargs) -> Future:
        self.jobs += 1
        future: Future = Future()
        future.set_exception(RuntimeError("worker died"))
        return future


def _hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def setting(tmp_path_factory):
    sample = tmp_path_factory.mktemp("sample") / "sample"
    write_sample(sample)
    path = _config(tmp_path_factory.mktemp("cfg"), sample)
    s = load_sample()
    tables: dict[str, pd.DataFrame] = {
        k: s[k] for k in ("person_years", "practices", "practice_indicators")}
    return tables, load_config(path)


def _write(tables, cfg, folder: Path, pool) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pp.write_practice_pages(tables, cfg, folder, synthetic=True, pool=pool)


def test_pages_from_workers_are_byte_identical_to_one_process(setting, tmp_path):
    tables, cfg = setting
    alone = _write(tables, cfg, tmp_path / "alone", None)
    pool = worker_pool(2)
    try:
        pooled = _write(tables, cfg, tmp_path / "pooled", pool)
    finally:
        pool.shutdown()
    assert alone == pooled
    a, b = _hashes(tmp_path / "alone"), _hashes(tmp_path / "pooled")
    assert len(a) == 13 and a == b
    for page in (tmp_path / "pooled" / pp.FOLDER).glob("*.html"):
        assert "kbz-eval-pending-image" not in page.read_text(encoding="utf-8")


def test_an_image_a_worker_failed_is_encoded_here(setting, tmp_path):
    tables, cfg = setting
    alone = _write(tables, cfg, tmp_path / "alone", None)
    failing = _FailingWorkers()
    _write(tables, cfg, tmp_path / "failed", failing)
    assert failing.jobs == 12  # every page's trend chart went to the "workers"
    assert _hashes(tmp_path / "alone") == _hashes(tmp_path / "failed")
    assert alone["pages"]
