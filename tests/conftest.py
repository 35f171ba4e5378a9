"""Shared fixtures: repository paths and the real public data folder."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# The JVM of the tests' local Spark sessions (one per test process, launched by the first
# session, kept by the later ones): the tests run many small queries, each planned and
# compiled once, so the JVM's start and warm-up dominate. The client compiler alone
# (C1) and the serial collector halve that on a small machine; they change no result.
# Only the tests' JVM: a long run of a user's report profits from the optimising
# compiler (C2). An SPARK_SUBMIT_OPTS of the user's own is left as it is.
os.environ.setdefault("SPARK_SUBMIT_OPTS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")


def shared_data_dir() -> Path | None:
    """The real public data: ``$KBZ_EVAL_DATA`` or ``../shared/data`` beside the repo."""
    env = os.environ.get("KBZ_EVAL_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "data")
    for c in candidates:
        if c.is_dir():
            return c
    return None


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory) -> None:
    """Tests never write the user's cache: parsed open data go to a session folder."""
    if "KBZ_EVAL_CACHE" not in os.environ:
        os.environ["KBZ_EVAL_CACHE"] = str(tmp_path_factory.mktemp("kbz_cache"))
    # the report's date: fixed, so runs either side of midnight give the same bytes
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1796256000")  # 2026-12-03


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    found = shared_data_dir()
    if found is None:
        pytest.skip("real public data not found: set KBZ_EVAL_DATA or place ../shared/data")
    return found


# ----------------------------------------------------------------- shared sample reports
#
# Several test files only READ the sample report of the same configuration. It is built
# once per test run and shared by the pytest-xdist workers: the first worker to need a
# report builds it in a folder beside the workers' own temporary folders, under a file
# lock; the others wait for the lock and read the finished folder. A build that failed
# leaves no "done" mark, so the next user builds it again (and fails the same way).

#: The shared sample reports: key -> options of :func:`sample_config`.
SHARED_REPORTS: dict[str, dict] = {
    # kbz.toml, English, the open data when they are here (test_workbook, test_report_browser)
    "en": {"language": "en", "open_data": True},
    # kbz.toml, Dutch, the open data when they are here (test_workbook, test_messages)
    "nl": {"language": "nl", "open_data": True},
    # kbz.toml, English, no open data beside the config (test_report, test_report_rollout)
    "en_plain": {"language": "en", "open_data": False},
}


def sample_config(folder: Path, sample: Path, *, language: str = "en",
                  replicates: int = 199, threshold: int = 10, workers: int | None = None,
                  open_data: bool = False, name: str | None = None) -> Path:
    """kbz.toml on the sample in ``sample``, written to ``folder``.

    ``open_data``: point the report at the real public data when they are here
    (:func:`shared_data_dir`); otherwise the config keeps ``../shared/data``, which is
    not beside a temporary folder, and the open-data section is skipped.
    """
    text = (REPO / "kbz.toml").read_text(encoding="utf-8")
    text = text.replace('"data/sample/', f'"{sample.as_posix()}/')
    text = re.sub(r'language = "en"', f'language = "{language}"', text)
    text = re.sub(r"bootstrap_replicates = \d+", f"bootstrap_replicates = {replicates}", text)
    text = re.sub(r"suppression_threshold = \d+", f"suppression_threshold = {threshold}", text)
    if workers is not None:
        text = text.replace("[report]\n", f"[report]\nworkers = {workers}\n", 1)
    shared = shared_data_dir() if open_data else None
    if shared is not None:
        text = re.sub(r'open_data_folder = "[^"]*"',
                      f'open_data_folder = "{shared.resolve().as_posix()}"', text)
    path = folder / (name or f"kbz_{language}_{threshold}.toml")
    path.write_text(text, encoding="utf-8")
    return path


@dataclass(frozen=True)
class SharedReport:
    """A sample report built once per run: read it, never write into it."""

    folder: Path  #: the report folder
    sample: Path  #: the sample it was built from
    config: Path  #: its kbz.toml
    record: Path  #: what the run passed on its way (see :func:`_build_recorded`)

    def recorded(self) -> dict:
        """``tables`` and ``about`` as given to the workbook writer, and ``texts``: every
        text the pipeline localised, before localising."""
        with self.record.open("rb") as fh:
            return pickle.load(fh)


def _shared_root(tmp_path_factory) -> Path:
    """One folder for the whole run: beside the xdist workers' temporary folders, or the
    run's own temporary folder without xdist (never shared between runs)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    root = base / "kbz_shared"
    root.mkdir(exist_ok=True)
    return root


@contextlib.contextmanager
def _locked(path: Path):
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _once(root: Path, key: str, build) -> Path:
    """``root/key`` built by ``build(folder)`` once for the run, under a file lock."""
    folder = root / key
    with _locked(root / f"{key}.lock"):
        if not (root / f"{key}.done").exists():
            if folder.exists():  # left by a build that failed
                shutil.rmtree(folder)
            folder.mkdir()
            build(folder)
            (root / f"{key}.done").touch()
    return folder


def _build_recorded(config: Path, out: Path, record: Path) -> Path:
    """Run the report, recording what it hands the workbook writer and the localiser
    (the recording passes every call on unchanged)."""
    import kbz_eval.report.pipeline as pipeline
    from kbz_eval.report import run_report

    seen: dict = {"texts": []}
    write_workbook, localise = pipeline.write_workbook, pipeline.localise

    def capture(path, tables, about, **kwargs):
        seen.update(tables=dict(tables), about=list(about))
        return write_workbook(path, tables, about=about, **kwargs)

    def recording(text, language):
        seen["texts"].append(text)
        return localise(text, language)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "write_workbook", capture)
        mp.setattr(pipeline, "localise", recording)
        folder = run_report(config, out, progress=False)
    with record.open("wb") as fh:
        pickle.dump(seen, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return folder


@pytest.fixture(scope="session")
def shared_sample(tmp_path_factory) -> Path:
    """The synthetic sample, written once for the run (read it, never change it)."""
    from kbz_eval.synth import write_sample

    return _once(_shared_root(tmp_path_factory), "sample", write_sample)


def _shared_report(tmp_path_factory, sample: Path, key: str) -> SharedReport:
    folder = _shared_root(tmp_path_factory) / f"report_{key}"
    options = SHARED_REPORTS[key]
    # the name sample_config gives it (the manifest records the config's file name)
    name = f"kbz_{options['language']}_10.toml"

    def build(work: Path) -> None:
        config = sample_config(work, sample, **options, name=name)
        _build_recorded(config, work / "out", work / "record.pkl")

    _once(folder.parent, folder.name, build)
    return SharedReport(folder=folder / "out", sample=sample, config=folder / name,
                        record=folder / "record.pkl")


@pytest.fixture(scope="session")
def shared_report_en(tmp_path_factory, shared_sample) -> SharedReport:
    """kbz.toml in English, 199 replicates, with the open data when they are here."""
    return _shared_report(tmp_path_factory, shared_sample, "en")


@pytest.fixture(scope="session")
def shared_report_nl(tmp_path_factory, shared_sample) -> SharedReport:
    """kbz.toml in Dutch, 199 replicates, with the open data when they are here."""
    return _shared_report(tmp_path_factory, shared_sample, "nl")


@pytest.fixture(scope="session")
def shared_report_en_plain(tmp_path_factory, shared_sample) -> SharedReport:
    """kbz.toml in English, 199 replicates, threshold 10, the open-data section skipped."""
    return _shared_report(tmp_path_factory, shared_sample, "en_plain")
