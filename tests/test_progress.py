"""Progress lines of the report: step durations, the running total, throttled row counts.

A fake clock drives every test: nothing sleeps and no wall-clock time is asserted.
"""

from __future__ import annotations

import io

import pytest

from kbz_eval.report import progress as progress_module
from kbz_eval.report.progress import Progress, format_rows, format_seconds


class FakeClock:
    """A clock that moves only when told."""

    def __init__(self, start: float = 100.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _lines(capsys) -> list[str]:
    return capsys.readouterr().err.splitlines()


def test_plain_step_calls_print_each_step_with_its_duration_and_the_total(capsys, clock):
    p = Progress(3, enabled=True, clock=clock)
    p.step("reading claim_lines")
    clock.advance(1.5)
    p.step("building the claims panel")
    clock.advance(41.2)
    p.step("writing report.html")
    clock.advance(0.3)
    records = p.finish()
    assert _lines(capsys) == [
        "[1/3] reading claim_lines …",
        "[1/3] reading claim_lines … 1.5 s (total 1.5 s)",
        "[2/3] building the claims panel …",
        "[2/3] building the claims panel … 41.2 s (total 42.7 s)",
        "[3/3] writing report.html …",
        "[3/3] writing report.html … 0.3 s (total 43.0 s)",
        "done: 3 steps in 43.0 s",
    ]
    assert [(r.index, r.label, round(r.seconds, 6)) for r in records] == [
        (1, "reading claim_lines", 1.5), (2, "building the claims panel", 41.2),
        (3, "writing report.html", 0.3)]
    assert p.done == 3 and p.current is None


def test_output_goes_to_stderr_only(capsys, clock):
    p = Progress(1, enabled=True, clock=clock)
    p.step("one")
    p.finish()
    out = capsys.readouterr()
    assert out.out == "" and "[1/1] one …" in out.err


def test_row_updates_are_throttled_to_one_line_per_interval(capsys, clock):
    p = Progress(2, enabled=True, clock=clock)
    with p.step("reading claim_lines") as s:
        for _ in range(40):  # 40 batches of 1,000,000 rows, 0.5 s each
            clock.advance(0.5)
            s.add_rows(1_000_000)
    lines = _lines(capsys)
    assert lines[0] == "[1/2] reading claim_lines …"
    updates = lines[1:-1]
    # 20 s of work at most one line per 2 s: ten updates, the first after 2 s
    assert updates[:2] == ["  reading claim_lines: 4,000,000 rows, 2 s",
                           "  reading claim_lines: 8,000,000 rows, 4 s"]
    assert len(updates) == 10
    assert lines[-1] == "[1/2] reading claim_lines … 40,000,000 rows, 20.0 s (total 20.0 s)"
    assert p.records[0].rows == 40_000_000


def test_quick_steps_print_no_row_updates(capsys, clock):
    p = Progress(1, enabled=True, clock=clock)
    with p.step("reading practices") as s:
        for n in (10, 20, 30):
            clock.advance(0.1)
            s.rows(n)
    assert _lines(capsys) == ["[1/1] reading practices …",
                              "[1/1] reading practices … 30 rows, 0.3 s (total 0.3 s)"]


def test_running_count_with_a_total_shows_the_share(capsys, clock):
    p = Progress(1, enabled=True, clock=clock, interval=5)
    s = p.step("reading claim_lines")
    clock.advance(31)
    p.rows(12_000_000, total=40_000_000)  # on the running step
    clock.advance(1)
    s.rows(13_000_000)  # throttled: within 5 s of the last line
    clock.advance(9.2)
    s.end()
    assert _lines(capsys) == [
        "[1/1] reading claim_lines …",
        "  reading claim_lines: 12,000,000 of 40,000,000 rows (30 %), 31 s",
        "[1/1] reading claim_lines … 13,000,000 of 40,000,000 rows (32 %), 41.2 s "
        "(total 41.2 s)",
    ]


def test_a_with_block_ends_its_step_and_a_failure_is_marked(capsys, clock):
    p = Progress(2, enabled=True, clock=clock)
    with pytest.raises(RuntimeError), p.step("building the claims panel"):
        clock.advance(3.25)
        raise RuntimeError("boom")
    assert _lines(capsys)[-1] == ("[1/2] building the claims panel … stopped after 3.2 s "
                                  "(total 3.2 s)")
    assert p.records[0].failed and p.current is None


def test_a_step_ends_once(capsys, clock):
    p = Progress(2, enabled=True, clock=clock)
    with p.step("a") as a:
        clock.advance(1)
        p.step("b")  # ends "a"
        clock.advance(2)
    # leaving the block of "a" does not end "b"
    assert p.current is not None and p.current.label == "b"
    a.rows(5)  # ignored: "a" has ended
    assert a.end() is p.records[0]
    p.finish()
    p.finish()
    lines = _lines(capsys)
    assert lines.count("[1/2] a … 1.0 s (total 1.0 s)") == 1
    assert lines.count("[2/2] b … 2.0 s (total 3.0 s)") == 1
    assert lines.count("done: 2 steps in 3.0 s") == 1
    assert p.records[0].rows is None


def test_progress_as_a_context_manager_prints_the_total(capsys, clock):
    with Progress(1, enabled=True, clock=clock) as p:
        p.step("x")
        clock.advance(75)
    assert _lines(capsys)[-2:] == ["[1/1] x … 1 min 15 s (total 1 min 15 s)",
                                   "done: 1 step in 1 min 15 s"]


def test_disabled_progress_prints_nothing_but_records_durations(capsys, clock):
    p = Progress(2, enabled=False, clock=clock)
    with p.step("reading claim_lines") as s:
        clock.advance(10)
        s.rows(5_000_000)
    p.step("b")
    p.rows(3)
    p.finish()
    assert capsys.readouterr().err == ""
    assert [(r.label, r.seconds, r.rows) for r in p.records] == [
        ("reading claim_lines", 10.0, 5_000_000), ("b", 0.0, 3)]


def test_enabled_none_follows_whether_someone_watches(monkeypatch):
    monkeypatch.setattr(progress_module, "interactive", lambda: False)
    assert Progress(1).enabled is False
    monkeypatch.setattr(progress_module, "interactive", lambda: True)
    assert Progress(1).enabled is True
    assert Progress(1, enabled=False).enabled is False


def test_not_interactive_when_stderr_is_captured():
    assert progress_module.interactive() is False


def test_rows_without_a_running_step_are_ignored(capsys, clock):
    p = Progress(1, enabled=True, clock=clock)
    p.rows(10)
    p.add_rows(10)
    assert capsys.readouterr().err == ""


def test_a_given_stream_and_a_closed_one(clock):
    buf = io.StringIO()
    p = Progress(1, enabled=True, clock=clock, stream=buf)
    p.step("x")
    assert buf.getvalue() == "[1/1] x …\n"
    buf.close()
    p.finish()  # a closed stream never breaks the report
    assert p.records[0].label == "x"


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0.0 s"), (41.23, "41.2 s"), (59.94, "59.9 s"), (59.96, "1 min 00 s"),
    (125, "2 min 05 s"), (3599.4, "59 min 59 s"), (3725, "1 h 02 min"), (-1, "0.0 s"),
])
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text


def test_format_rows():
    assert format_rows(12_000_000) == "12,000,000 rows"
    assert format_rows(1, 4) == "1 of 4 rows (25 %)"
    assert format_rows(0, 0) == "0 of 0 rows"
