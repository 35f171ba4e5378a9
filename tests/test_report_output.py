"""`kbz-eval report --out DIR`: only a report kbz_eval wrote is ever replaced, in one step.

Every test works in its own ``tmp_path``. Most replace the expensive part of the run
(``pipeline._build``) by a small stand-in that writes a report-shaped folder, so that the
folder handling is tested in milliseconds; the tests marked "real pipeline" run the
report on a surveys-only configuration (a few seconds).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kbz_eval.cli import main
from kbz_eval.errors import DataValidationError, IdentifierError
from kbz_eval.report import output, pipeline, run_report
from kbz_eval.report.manifest import REPORT_MARKER, build_manifest, write_manifest
from kbz_eval.report.output import OutputFolderError, ReportBusyError

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent


# ---------------------------------------------------------------------------
# helpers


def small_build(cfg, work: Path, progress) -> None:
    """Stand-in for ``pipeline._build``: a report whose files depend on the title."""
    title = cfg.title
    (work / "figures").mkdir()
    (work / "tables").mkdir()
    (work / "report.html").write_text(f"<html>{title}</html>\n", encoding="utf-8")
    (work / "figures" / "common.png").write_bytes(b"\x89PNG " + title.encode())
    (work / "tables" / f"{title}.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    files = sorted(p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file())
    write_manifest(work / "manifest.json",
                   build_manifest(inputs=cfg.inputs, config=cfg.raw, seeds={}, files=files))


def _project(root: Path, title: str = "first") -> Path:
    """A project folder with one input and its configuration; returns the config."""
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "cvg.csv").write_text("not read by the stand-in build\n", encoding="utf-8")
    return _config(root, title)


def _config(root: Path, title: str) -> Path:
    path = root / "kbz.toml"
    path.write_text(f'[report]\ntitle = "{title}"\n[inputs]\ncvg = "data/cvg.csv"\n',
                    encoding="utf-8")
    return path


def _tree(folder: Path) -> dict[str, str]:
    """Every entry below ``folder``: files by content hash, folders and links marked."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_symlink():
            out[rel] = f"-> {os.readlink(p)}"
        elif p.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _hidden(folder: Path) -> list[str]:
    """Leftovers beside a report: staging folders, moved-aside reports, lock files."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setattr(pipeline, "_build", small_build)


@pytest.fixture
def no_build(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the report was built although --out must be refused")

    monkeypatch.setattr(pipeline, "_build", refuse)


# ---------------------------------------------------------------------------
# 1. only a kbz report is replaced


@pytest.mark.parametrize("kind", ["user folder", "repository", "file", "notes in a report"])
def test_refuses_an_out_the_report_did_not_write(tmp_path, capsys, fake, kind):
    config = _project(tmp_path / "project")
    target = tmp_path / "target"
    if kind == "user folder":
        target.mkdir()
        (target / "thesis.docx").write_bytes(b"years of work")
        (target / "sub").mkdir()
        (target / "sub" / "notes.txt").write_text("notes", encoding="utf-8")
    elif kind == "repository":
        (target / ".git" / "objects").mkdir(parents=True)
        (target / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
        (target / "README.md").write_text("# project\n", encoding="utf-8")
    elif kind == "file":
        target.write_text("a file, not a folder", encoding="utf-8")
    else:
        assert main(["report", "--config", str(config), "--out", str(target)]) == 0
        (target / "my notes.txt").write_text("keep me", encoding="utf-8")
        capsys.readouterr()
    before = _tree(tmp_path)
    assert main(["report", "--config", str(config), "--out", str(target)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ERROR: --out ") and "Traceback" not in err
    assert {"user folder": "did not write", "repository": "did not write",
            "file": "is a file", "notes in a report": "my notes.txt"}[kind] in err
    assert _tree(tmp_path) == before  # nothing written, moved or deleted


def test_refusal_is_an_output_folder_error_raised_before_any_work(tmp_path, no_build):
    config = _project(tmp_path / "project")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "x.txt").write_text("x", encoding="utf-8")
    with pytest.raises(OutputFolderError, match="did not write"):
        run_report(config, tmp_path / "mine", progress=False)
    assert issubclass(OutputFolderError, pipeline.SpecificationError)


@pytest.mark.parametrize("out", [".", "..", "../project", "data", "data/cvg.csv",
                                 "link-to-data", "kbz.toml", "../project/./data/.."])
def test_refuses_an_out_holding_the_working_directory_the_config_or_an_input(
        tmp_path, monkeypatch, capsys, no_build, out):
    project = tmp_path / "project"
    config = _project(project)
    (project / "link-to-data").symlink_to(project / "data", target_is_directory=True)
    monkeypatch.chdir(project)
    before = _tree(tmp_path)
    assert main(["report", "--config", str(config), "--out", out]) == 1
    err = capsys.readouterr().err
    assert "ERROR: --out" in err and "Traceback" not in err
    assert _tree(tmp_path) == before


def test_refuses_an_out_holding_the_config_or_an_input_from_elsewhere(
        tmp_path, monkeypatch, no_build):
    config = _project(tmp_path / "project")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for out, what in [(tmp_path / "project", "the configuration file"),
                      (tmp_path / "project" / "data", "the input for 'cvg'"),
                      (tmp_path, "the working directory")]:
        with pytest.raises(OutputFolderError, match=what):
            run_report(config, out, progress=False)


def test_refuses_an_out_inside_an_input_folder(tmp_path, no_build):
    project = tmp_path / "project"
    (project / "claims").mkdir(parents=True)
    (project / "claims" / "part-0.parquet").write_bytes(b"PAR1")
    (project / "periods.csv").write_text("x\n", encoding="utf-8")
    config = project / "kbz.toml"
    config.write_text('[inputs]\nclaim_lines = "claims"\ninsured_periods = "periods.csv"\n',
                      encoding="utf-8")
    with pytest.raises(OutputFolderError, match="inside the input folder"):
        run_report(config, project / "claims" / "report", progress=False)
    assert not (project / "claims" / "report").exists()


def test_an_empty_folder_and_an_earlier_unmarked_report_are_replaced(tmp_path, fake):
    config = _project(tmp_path / "project")
    empty = tmp_path / "empty"
    empty.mkdir()
    run_report(config, empty, progress=False)
    assert (empty / "report.html").read_text(encoding="utf-8") == "<html>first</html>\n"

    # a report of an earlier version: manifest.json with files, inputs and packages
    earlier = tmp_path / "earlier"
    (earlier / "figures").mkdir(parents=True)
    (earlier / "report.html").write_text("old", encoding="utf-8")
    (earlier / "figures" / "gone.png").write_bytes(b"old")
    (earlier / "manifest.json").write_text(json.dumps({
        "files": ["figures/gone.png", "report.html"], "inputs": {},
        "packages": {"kbz_eval": "0.1.0"}}), encoding="utf-8")
    run_report(config, earlier, progress=False)
    manifest = json.loads((earlier / "manifest.json").read_text(encoding="utf-8"))
    assert manifest[REPORT_MARKER] is True
    assert not (earlier / "figures" / "gone.png").exists()
    assert _hidden(tmp_path) == []


# ---------------------------------------------------------------------------
# 2. replacement in one step


def test_a_report_replaces_the_previous_one_and_keeps_the_folder_layout(tmp_path, fake):
    config = _project(tmp_path / "project", "first")
    out = tmp_path / "reports" / "kbz"
    assert run_report(config, out, progress=False) == out
    assert (out / "tables" / "first.csv").is_file()
    _config(tmp_path / "project", "second")
    run_report(config, out, progress=False)
    assert (out / "report.html").read_text(encoding="utf-8") == "<html>second</html>\n"
    assert not (out / "tables" / "first.csv").exists()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest[REPORT_MARKER] is True
    assert manifest["files"] == ["figures/common.png", "report.html", "tables/second.csv"]
    assert _hidden(out.parent) == []  # no staging folder, old report or lock left


def test_the_exchange_swaps_two_folders_in_one_step(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a", encoding="utf-8")
    (b / "x").write_text("b", encoding="utf-8")
    if not output._exchange(a, b):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")
    assert (a / "x").read_text(encoding="utf-8") == "b"
    assert (b / "x").read_text(encoding="utf-8") == "a"


def test_without_the_exchange_two_renames_replace_the_report(tmp_path, fake, monkeypatch):
    monkeypatch.setattr(output, "_renameat2", lambda: None)
    config = _project(tmp_path / "project", "first")
    out = tmp_path / "out"
    run_report(config, out, progress=False)
    _config(tmp_path / "project", "second")
    run_report(config, out, progress=False)
    assert (out / "report.html").read_text(encoding="utf-8") == "<html>second</html>\n"
    assert _hidden(tmp_path) == []


def test_a_failed_rename_puts_the_previous_report_back(tmp_path, fake, monkeypatch):
    config = _project(tmp_path / "project", "first")
    out = tmp_path / "out"
    run_report(config, out, progress=False)
    before = _tree(out)
    monkeypatch.setattr(output, "_renameat2", lambda: None)
    real_rename = os.rename

    def rename(src, dst):
        if Path(dst) == out and Path(src).name.startswith(".out.tmp-"):
            raise PermissionError(errno.EACCES, "injected", str(src))
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    _config(tmp_path / "project", "second")
    with pytest.raises(PermissionError, match="injected"):
        run_report(config, out, progress=False)
    assert _tree(out) == before
    assert _hidden(tmp_path) == []


def test_a_run_killed_between_the_two_renames_is_recovered_by_the_next(tmp_path, monkeypatch):
    """The fallback moved the report aside (``.out.old-<pid>-*``) and was killed: the next
    run puts it back before building, and deletes dead runs' staging folders only."""
    config = _project(tmp_path / "project", "first")
    out = tmp_path / "out"
    monkeypatch.setattr(pipeline, "_build", small_build)
    run_report(config, out, progress=False)
    dead = _dead_pid()
    out.rename(tmp_path / f".out.old-{dead}-0a1b2c3d")
    (tmp_path / f".out.tmp-{dead}-0a1b2c3e" / "figures").mkdir(parents=True)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        alive = tmp_path / f".out.tmp-{sleeper.pid}-0a1b2c3f"
        alive.mkdir()
        mine = tmp_path / ".out.tmp-my-own-folder"
        mine.mkdir()

        def fail(cfg, work, progress):
            raise DataValidationError("cvg.csv", "cvg", [])

        monkeypatch.setattr(pipeline, "_build", fail)
        with pytest.raises(DataValidationError):
            run_report(config, out, progress=False)
        assert (out / "report.html").read_text(encoding="utf-8") == "<html>first</html>\n"
        assert _hidden(tmp_path) == sorted([alive.name, mine.name])
    finally:
        sleeper.kill()
        sleeper.wait()


# ---------------------------------------------------------------------------
# 3. a mount point (EBUSY) or another file system (EXDEV)


def _as_mount_point(monkeypatch, out: Path, *, detected: bool) -> None:
    """Make ``out`` behave like a mount point: renaming it fails with EBUSY."""
    real_rename, real_ismount = os.rename, os.path.ismount

    def rename(src, dst):
        if out in (Path(src), Path(dst)):
            raise OSError(errno.EBUSY, "Device or resource busy", str(src))
        return real_rename(src, dst)

    def exchange(a, b):
        raise OSError(errno.EBUSY, "Device or resource busy", str(a))

    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(output, "_exchange", exchange)
    if detected:
        monkeypatch.setattr(os.path, "ismount",
                            lambda p: Path(p) == out or real_ismount(p))


@pytest.mark.parametrize("detected", [True, False], ids=["ismount", "EBUSY at the swap"])
def test_a_mount_point_is_filled_file_by_file(tmp_path, fake, monkeypatch, detected):
    config = _project(tmp_path / "project", "first")
    out = tmp_path / "mnt"
    out.mkdir()
    (out / "lost+found").mkdir()
    _as_mount_point(monkeypatch, out, detected=detected)
    if not detected:  # an undetected mount point holds no lost+found
        (out / "lost+found").rmdir()
    run_report(config, out, progress=False)
    assert (out / "tables" / "first.csv").is_file()
    _config(tmp_path / "project", "second")
    run_report(config, out, progress=False)
    assert (out / "report.html").read_text(encoding="utf-8") == "<html>second</html>\n"
    assert not (out / "tables" / "first.csv").exists()  # the previous report's file
    assert (out / "tables" / "second.csv").is_file()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["files"] == ["figures/common.png", "report.html", "tables/second.csv"]
    assert (out / "lost+found").is_dir() is detected
    assert _hidden(out) == [] and _hidden(tmp_path) == []


def test_a_mount_point_holding_other_files_is_refused(tmp_path, fake, monkeypatch):
    config = _project(tmp_path / "project")
    out = tmp_path / "mnt"
    out.mkdir()
    (out / "backup.tar").write_bytes(b"data")
    _as_mount_point(monkeypatch, out, detected=True)
    with pytest.raises(OutputFolderError, match="backup.tar"):
        run_report(config, out, progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["backup.tar"]


def test_a_run_killed_while_filling_a_mount_point_is_replaced_by_the_next(
        tmp_path, fake, monkeypatch):
    config = _project(tmp_path / "project", "first")
    out = tmp_path / "mnt"
    out.mkdir()
    _as_mount_point(monkeypatch, out, detected=True)
    run_report(config, out, progress=False)
    real_replace = os.replace

    def replace(src, dst):
        if Path(dst).name == "common.png":
            raise KeyboardInterrupt  # killed half-way through the moves
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    _config(tmp_path / "project", "second")
    with pytest.raises(KeyboardInterrupt):
        run_report(config, out, progress=False)
    monkeypatch.setattr(os, "replace", real_replace)
    # a mix of the two reports, but every file is owned by the manifest
    assert output.report_manifest(out) is not None
    run_report(config, out, progress=False)
    assert (out / "report.html").read_text(encoding="utf-8") == "<html>second</html>\n"
    assert not (out / "tables" / "first.csv").exists()
    assert _hidden(out) == []


# ---------------------------------------------------------------------------
# 4. one run at a time


def test_a_second_run_to_the_same_folder_is_refused_while_the_first_holds_it(
        tmp_path, fake):
    config = _project(tmp_path / "project")
    out = tmp_path / "out"
    lock = output._Lock(tmp_path / ".out.lock", str(out))
    lock.acquire()
    try:
        busy = rf"another kbz-eval report is writing .*out \(pid {os.getpid()}\)"
        with pytest.raises(ReportBusyError, match=busy):
            run_report(config, out, progress=False)
    finally:
        lock.release()
    assert not out.exists()
    run_report(config, out, progress=False)
    assert _hidden(tmp_path) == []


# ---------------------------------------------------------------------------
# 5. interruptions: Ctrl-C, SIGTERM, SIGKILL


SLOW_RUN = """
import sys, time
from pathlib import Path

sys.path[:0] = [{tests!r}, {repo!r}]
import test_report_output as t
from kbz_eval.report import pipeline
from kbz_eval.cli import main

def slow_build(cfg, work, progress):
    t.small_build(cfg, work, progress)
    Path({ready!r}).write_text("ready")
    time.sleep(120)

pipeline._build = slow_build
sys.exit(main(["report", "--config", {config!r}, "--out", {out!r}]))
"""


def _start_slow_run(tmp_path: Path, config: Path, out: Path) -> tuple[subprocess.Popen, Path]:
    ready = tmp_path / "ready"
    script = SLOW_RUN.format(tests=str(TESTS), repo=str(REPO), ready=str(ready),
                             config=str(config), out=str(out))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "MPLBACKEND": "Agg"})
    deadline = time.monotonic() + 60
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the slow run did not start: {proc.communicate()}")
        time.sleep(0.05)
    return proc, ready


def _previous_report(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    config = _project(tmp_path / "project", "first")
    out = tmp_path / "out"
    run_report(config, out, progress=False)
    _config(tmp_path / "project", "second")
    return config, out, _tree(out)


def test_sigterm_removes_the_staging_folder_and_keeps_the_previous_report(
        tmp_path, fake, capsys):
    config, out, before = _previous_report(tmp_path)
    proc, _ = _start_slow_run(tmp_path, config, out)
    try:
        staging = [n for n in _hidden(tmp_path) if n.startswith(f".out.tmp-{proc.pid}-")]
        assert len(staging) == 1
        # meanwhile a second run to the same folder is refused, naming the first
        assert main(["report", "--config", str(config), "--out", str(out)]) == 1
        err = capsys.readouterr().err
        assert f"another kbz-eval report is writing {out} (pid {proc.pid})" in err
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143, stderr
    assert "terminated" in stderr and "Traceback" not in stderr
    assert _tree(out) == before
    assert _hidden(tmp_path) == []


def test_sigkill_leftovers_are_cleaned_by_the_next_run(tmp_path, fake):
    config, out, before = _previous_report(tmp_path)
    proc, _ = _start_slow_run(tmp_path, config, out)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    left = _hidden(tmp_path)
    assert ".out.lock" in left
    assert any(n.startswith(f".out.tmp-{proc.pid}-") for n in left)
    assert _tree(out) == before
    run_report(config, out, progress=False)
    assert (out / "report.html").read_text(encoding="utf-8") == "<html>second</html>\n"
    assert _hidden(tmp_path) == []


def test_ctrl_c_exits_130_with_a_message_and_leaves_no_trace(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(pipeline, "_build", small_build)
    config, out, before = _previous_report(tmp_path)

    def interrupted(cfg, work, progress):
        small_build(cfg, work, progress)
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "_build", interrupted)
    handler = signal.getsignal(signal.SIGTERM)
    assert main(["report", "--config", str(config), "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err
    assert _tree(out) == before
    assert _hidden(tmp_path) == []
    assert signal.getsignal(signal.SIGTERM) is handler  # the SIGTERM handler is restored


def test_signals_during_the_swap_are_delivered_after_it(tmp_path, fake, monkeypatch):
    config, out, _ = _previous_report(tmp_path)
    real_exchange = output._exchange

    def exchange(a, b):
        os.kill(os.getpid(), signal.SIGINT)  # arrives in the middle of the swap
        return real_exchange(a, b)

    monkeypatch.setattr(output, "_exchange", exchange)
    with pytest.raises(KeyboardInterrupt):
        run_report(config, out, progress=False)
    # the swap ran to its end: one complete report, nothing left over
    assert (out / "report.html").read_text(encoding="utf-8") == "<html>second</html>\n"
    assert _hidden(tmp_path) == []


# ---------------------------------------------------------------------------
# 6. the real pipeline: byte-identical output, all inputs' problems at once


@pytest.fixture(scope="module")
def surveys(tmp_path_factory) -> Path:
    """The sample's survey extracts (small inputs: a report takes a few seconds)."""
    from kbz_eval.synth import load_sample

    folder = tmp_path_factory.mktemp("surveys")
    sample = load_sample()
    for table in ("practices", "cvg", "workforce", "consults"):
        sample[table].to_csv(folder / f"{table}.csv", index=False)
    return folder


def _surveys_config(root: Path, surveys: Path, tables=("cvg",)) -> Path:
    """A configuration in ``root`` reading copies of ``tables`` from ``root/data``."""
    data = root / "data"
    data.mkdir(exist_ok=True)
    for t in tables:
        (data / f"{t}.csv").write_bytes((surveys / f"{t}.csv").read_bytes())
    lines = [f'{t} = "data/{t}.csv"' for t in tables]
    path = root / "kbz.toml"
    path.write_text("[inputs]\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_real_pipeline_replaces_byte_identically_and_records_no_absolute_path(
        tmp_path, surveys):
    config = _surveys_config(tmp_path, surveys)
    out = tmp_path / "out"
    run_report(config, out, progress=False)
    first = _tree(out)
    run_report(config, out, progress=False)  # replaces the previous report
    run_report(config, tmp_path / "again", progress=False)
    assert _tree(out) == first == _tree(tmp_path / "again")
    text = (out / "manifest.json").read_text(encoding="utf-8")
    assert json.loads(text)[REPORT_MARKER] is True
    assert str(tmp_path) not in text
    assert _hidden(tmp_path) == []


def _break(folder: Path, table: str, column: str, value: str) -> None:
    lines = (folder / f"{table}.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index(column)] = value
    lines[1] = ",".join(row)
    (folder / f"{table}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_every_broken_input_is_named_in_one_error(tmp_path, surveys):
    config = _surveys_config(tmp_path, surveys, ("practices", "cvg", "workforce", "consults"))
    _break(tmp_path / "data", "cvg", "cvg_patient", "11")
    _break(tmp_path / "data", "workforce", "wave", "99")
    with pytest.raises(DataValidationError) as caught:
        run_report(config, tmp_path / "out", progress=False)
    message = str(caught.value)
    assert "2 inputs cannot be used" in message
    assert "[cvg] cvg.csv" in message and "cvg_patient" in message
    assert "[workforce] workforce.csv" in message and "wave" in message
    assert {e.table for e in caught.value.problems} == {"cvg", "workforce"}
    assert len(caught.value.violations) == 2
    assert not (tmp_path / "out").exists() and _hidden(tmp_path) == []


def test_an_identifier_and_a_contract_problem_are_reported_together(tmp_path, surveys,
                                                                   capsys):
    config = _surveys_config(tmp_path, surveys, ("cvg", "consults"))
    _break(tmp_path / "data", "cvg", "cvg_patient", "0")
    path = tmp_path / "data" / "consults.csv"
    consults = path.read_text(encoding="utf-8").splitlines()
    consults = [consults[0] + ",email"] + [
        f"{line},person{i}@example.org" for i, line in enumerate(consults[1:])]
    path.write_text("\n".join(consults) + "\n", encoding="utf-8")
    with pytest.raises(IdentifierError) as caught:
        run_report(config, tmp_path / "out", progress=False)
    message = str(caught.value)
    assert "[consults] consults.csv" in message and "[cvg] cvg.csv" in message
    assert main(["report", "--config", str(config), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("INVALID:") and "consults.csv" in err and "cvg.csv" in err
    assert not (tmp_path / "out").exists()


def test_inputs_hashed_in_a_thread_are_those_hashed_in_place(tmp_path):
    """The manifest's input records made beside the analyses (a thread) equal those
    made in place: each file's SHA-256 of its bytes, a folder's files each listed."""
    from kbz_eval.report.manifest import hash_inputs_meanwhile, input_records

    single = tmp_path / "practices.csv"
    single.write_bytes(b"practice_id,group\nP1,kbz\n")
    folder = tmp_path / "claim_lines"
    folder.mkdir()
    for i in range(3):
        (folder / f"part-{i}.csv").write_bytes(os.urandom(3_000_000 + i))
    inputs = {"practices": single, "claim_lines": folder}
    records = hash_inputs_meanwhile(inputs).result(timeout=60)
    assert records == input_records(inputs)
    assert records["practices"] == {
        "file": "practices.csv", "sha256": hashlib.sha256(single.read_bytes()).hexdigest()}
    assert [f["sha256"] for f in records["claim_lines"]["files"]] == [
        hashlib.sha256((folder / f"part-{i}.csv").read_bytes()).hexdigest() for i in range(3)]
    manifest = build_manifest(inputs=inputs, config={}, seeds={}, files=[], records=records)
    assert manifest == build_manifest(inputs=inputs, config={}, seeds={}, files=[])
