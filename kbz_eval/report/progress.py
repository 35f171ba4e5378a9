"""Progress messages for long report steps: shown in a terminal and in Jupyter, quiet
otherwise (CI, cron, pipes)."""

from __future__ import annotations

import sys
import time


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


class Progress:
    """Step counter that prints ``[3/14] savings_minima … 1.2 s`` lines when watched."""

    def __init__(self, total: int, *, enabled: bool | None = None) -> None:
        self.total = total
        self.done = 0
        self.enabled = interactive() if enabled is None else enabled
        self._t0 = time.perf_counter()

    def step(self, label: str) -> None:
        """Announce the next step."""
        self.done += 1
        if self.enabled:
            elapsed = time.perf_counter() - self._t0
            print(f"[{self.done}/{self.total}] {label} ({elapsed:.1f} s)", file=sys.stderr,
                  flush=True)
