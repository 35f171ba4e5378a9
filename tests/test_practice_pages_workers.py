"""The practice pages built in worker processes: the same bytes as in one process,
whatever the number of workers, and pages a worker could not build are still written."""

from __future__ import annotations

import dataclasses
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


@pytest.fixture(scope="module")
def alone(setting, tmp_path_factory):
    """The pages written in one process: what every other way must give."""
    tables, cfg = setting
    folder = tmp_path_factory.mktemp("alone")
    record = _write(tables, cfg, folder, None)
    hashes = _hashes(folder)
    assert len(hashes) == 13 and record["pages"]
    return record, hashes


def test_pages_from_workers_are_byte_identical_to_one_process(setting, alone, tmp_path):
    tables, cfg = setting
    pool = worker_pool(3)
    try:  # three runs of four practices
        pooled = _write(tables, dataclasses.replace(cfg, workers=3), tmp_path, pool)
    finally:
        pool.shutdown()
    assert pooled == alone[0]
    assert _hashes(tmp_path) == alone[1]


def test_pages_a_worker_failed_are_built_here(setting, alone, tmp_path):
    tables, cfg = setting
    failing = _FailingWorkers()
    failed = _write(tables, dataclasses.replace(cfg, workers=2), tmp_path, failing)
    assert failing.jobs == 2  # both runs of pages went to the "workers"
    assert failed == alone[0]
    assert _hashes(tmp_path) == alone[1]


def test_a_partial_failure_mixes_worker_and_local_pages(setting, alone, tmp_path):
    """One run of pages from a real worker, the other built here: still the same."""
    tables, cfg = setting
    pool = worker_pool(2)

    class _SecondFails(Executor):
        jobs = 0

        def submit(self, fn, /, *args, **kwargs) -> Future:
            self.jobs += 1
            if self.jobs == 2:
                future: Future = Future()
                future.set_exception(RuntimeError("worker died"))
                return future
            return pool.submit(fn, *args, **kwargs)

    try:
        mixed = _write(tables, dataclasses.replace(cfg, workers=2), tmp_path,
                       _SecondFails())
    finally:
        pool.shutdown()
    assert mixed == alone[0]
    assert _hashes(tmp_path) == alone[1]
