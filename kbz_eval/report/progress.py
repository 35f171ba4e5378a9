"""Progress messages for long report steps: shown in a terminal and in Jupyter, quiet
otherwise (CI, cron, pipes).

Every step prints a line when it starts and one with its duration and the running total
when it ends (the next step, :meth:`Progress.finish` or leaving a ``with`` block ends
it)::

    [3/12] building the claims panel …
    [3/12] building the claims panel … 41.2 s (total 1 min 35 s)

A long step can report the rows it has processed; updates are throttled to one line per
``interval`` seconds (2 s by default)::

    with progress.step("reading claim_lines") as s:
        for batch in batches:
            s.add_rows(len(batch))          # or s.rows(rows_so_far, total=n)

prints ``  reading claim_lines: 12,000,000 rows, 31 s`` while it runs and ends with
``[1/12] reading claim_lines … 40,000,000 rows, 41.2 s (total 41.2 s)``.

Messages go to standard error and never into the report files.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TextIO

#: Seconds between two row updates of a step, at most.
INTERVAL = 2.0


def interactive() -> bool:
    """Whether a person is watching: a terminal on stderr, or a Jupyter kernel."""
    if "ipykernel" in sys.modules:
        try:
            from IPython import get_ipython

            shell = get_ipython()
            if shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell":
                return True
        except ImportError:  # pragma: no cover
            pass
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def format_seconds(seconds: float) -> str:
    """A duration for people: ``"41.2 s"``, ``"2 min 05 s"``, ``"1 h 02 min"``."""
    seconds = max(float(seconds), 0.0)
    if seconds < 59.95:
        return f"{seconds:.1f} s"
    whole = int(round(seconds))
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def format_rows(done: int, total: int | None = None) -> str:
    """``"12,000,000 rows"`` or ``"12,000,000 of 40,000,000 rows (30 %)"``."""
    if total is None:
        return f"{done:,} rows"
    share = f" ({100 * done / total:.0f} %)" if total > 0 else ""
    return f"{done:,} of {total:,} rows{share}"


@dataclass
class StepRecord:
    """What one finished step took.

    Attributes
    ----------
    index
        Position of the step (1 = first).
    label
        What the step did.
    seconds
        Its duration.
    rows, rows_total
        Rows reported by the step (``None`` when it reported none) and the expected
        total, when given.
    failed
        Whether the step ended with an exception (inside its ``with`` block).
    """

    index: int
    label: str
    seconds: float
    rows: int | None = None
    rows_total: int | None = None
    failed: bool = False


class Step:
    """One running step of a :class:`Progress`; returned by :meth:`Progress.step`.

    Use it as a context manager to end the step when the block ends, and call
    :meth:`rows` or :meth:`add_rows` from a long loop. Once the step has ended (also
    when the next step started), further row reports are ignored.
    """

    def __init__(self, progress: Progress, index: int, label: str, started: float) -> None:
        self.progress = progress
        self.index = index
        self.label = label
        self.started = started
        self.rows_done: int | None = None
        self.rows_total: int | None = None
        self.record: StepRecord | None = None
        self._last_report = started

    @property
    def ended(self) -> bool:
        """Whether the step has ended."""
        return self.record is not None

    def rows(self, done: int, total: int | None = None) -> None:
        """Report the rows processed so far (a running count).

        Parameters
        ----------
        done
            Rows processed since the step started.
        total
            Rows expected in all, when known (kept from earlier calls when omitted).
        """
        self.progress._report_rows(self, int(done), total, add=False)

    def add_rows(self, n: int, total: int | None = None) -> None:
        """Add ``n`` rows to the running count (for loops over batches)."""
        self.progress._report_rows(self, int(n), total, add=True)

    def end(self) -> StepRecord | None:
        """End the step and print its duration (nothing happens when it has ended)."""
        return self.progress._end(self, failed=False)

    def __enter__(self) -> Step:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.progress._end(self, failed=exc_type is not None)


class Progress:
    """Step counter that prints ``[3/14] savings_minima … 1.2 s`` lines when watched.

    Parameters
    ----------
    total
        The number of steps announced (shown as ``[k/total]``).
    enabled
        Print messages; ``None`` (default): only when a person is watching (a terminal
        on stderr or a Jupyter kernel, see :func:`interactive`).
    stream
        Where messages go; default the current ``sys.stderr``.
    clock
        Monotonic clock in seconds (default :func:`time.perf_counter`); tests pass a
        fake one.
    interval
        Seconds between two row updates of a step, at least (default 2).

    Notes
    -----
    Steps run one after another: :meth:`step` ends the running step. Durations are
    recorded in :attr:`records` whether or not messages are printed.

    Examples
    --------
    >>> p = Progress(2, enabled=False)
    >>> _ = p.step("reading claim_lines")
    >>> with p.step("building the claims panel") as s:
    ...     s.rows(1_000_000)
    >>> [r.label for r in p.finish()]
    ['reading claim_lines', 'building the claims panel']
    """

    def __init__(self, total: int, *, enabled: bool | None = None,
                 stream: TextIO | None = None,
                 clock: Callable[[], float] = time.perf_counter,
                 interval: float = INTERVAL) -> None:
        self.total = total
        self.done = 0
        self.enabled = interactive() if enabled is None else enabled
        self.stream = stream
        self.clock = clock
        self.interval = float(interval)
        self.records: list[StepRecord] = []
        self.current: Step | None = None
        self.finished = False
        self._t0 = clock()
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ public
    @property
    def elapsed(self) -> float:
        """Seconds since the progress started."""
        return self.clock() - self._t0

    def step(self, label: str) -> Step:
        """End the running step, if any, and start the next one.

        Parameters
        ----------
        label
            What the step does, e.g. ``"building the claims panel"``.

        Returns
        -------
        Step
            The running step: report rows on it; use it in a ``with`` block to end it
            when the block ends. Ignoring it (``progress.step(label)``) is fine: the step
            then ends when the next one starts or at :meth:`finish`.
        """
        with self._lock:
            if self.current is not None:
                self._end(self.current, failed=False)
            self.done += 1
            self.finished = False
            step = Step(self, self.done, label, self.clock())
            self.current = step
            self._print(f"{self._prefix(step)} {label} …")
            return step

    def rows(self, done: int, total: int | None = None) -> None:
        """Report the rows the running step has processed so far (see :meth:`Step.rows`).

        Ignored when no step is running.
        """
        step = self.current
        if step is not None:
            step.rows(done, total)

    def add_rows(self, n: int, total: int | None = None) -> None:
        """Add ``n`` rows to the running step's count (see :meth:`Step.add_rows`)."""
        step = self.current
        if step is not None:
            step.add_rows(n, total)

    def finish(self) -> list[StepRecord]:
        """End the running step and print the total time (once).

        Returns
        -------
        list of StepRecord
            Every finished step, in order.
        """
        with self._lock:
            if self.current is not None:
                self._end(self.current, failed=False)
            if not self.finished:
                self.finished = True
                n = len(self.records)
                self._print(f"done: {n} step{'s' if n != 1 else ''} in "
                            f"{format_seconds(self.elapsed)}")
            return list(self.records)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.finish()
        elif self.current is not None:
            self._end(self.current, failed=True)

    # ------------------------------------------------------------------ internals
    def _prefix(self, step: Step) -> str:
        return f"[{step.index}/{self.total}]"

    def _print(self, line: str) -> None:
        if not self.enabled:
            return
        stream = self.stream if self.stream is not None else sys.stderr
        try:
            stream.write(line + "\n")
            stream.flush()
        except (OSError, ValueError):  # closed or broken stream: progress is optional
            pass

    def _report_rows(self, step: Step, n: int, total: int | None, *, add: bool) -> None:
        with self._lock:
            if step.ended:
                return
            step.rows_done = (step.rows_done or 0) + n if add else n
            if total is not None:
                step.rows_total = int(total)
            now = self.clock()
            if now - step._last_report >= self.interval:
                step._last_report = now
                running = now - step.started
                self._print(f"  {step.label}: "
                            f"{format_rows(step.rows_done, step.rows_total)}, "
                            + (f"{running:.0f} s" if running < 59.5 else format_seconds(running)))

    def _end(self, step: Step, *, failed: bool) -> StepRecord | None:
        with self._lock:
            if step.ended:
                return step.record
            now = self.clock()
            record = StepRecord(step.index, step.label, now - step.started, step.rows_done,
                                step.rows_total, failed)
            step.record = record
            self.records.append(record)
            if self.current is step:
                self.current = None
            rows = ("" if step.rows_done is None
                    else f"{format_rows(step.rows_done, step.rows_total)}, ")
            took = format_seconds(record.seconds)
            status = f"stopped after {took}" if failed else took
            self._print(f"{self._prefix(step)} {step.label} … {rows}{status} "
                        f"(total {format_seconds(now - self._t0)})")
            return record


__all__ = ["INTERVAL", "Progress", "Step", "StepRecord", "format_rows", "format_seconds",
           "interactive"]
