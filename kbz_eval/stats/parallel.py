"""Array work on the second core: an ordered map over threads, in bounded memory.

NumPy, SciPy and Arrow let go of the interpreter's lock inside their array work, so
independent blocks of one computation (the person jackknife's blocks, the slices of a
person matrix) can run in two threads while a report's claims analyses would otherwise
use one core. Results come back in the order of the items, whichever thread finished
first, so what is built from them never depends on the threads' timing.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

#: Threads for the array work of one analysis: two where the machine has two cores.
ARRAY_THREADS = min(2, os.cpu_count() or 1)


def ordered_map(fn: Callable[[Any], T], items: Sequence[Any], *, threads: int,
                name: str, ahead: int | None = None) -> Iterator[T]:
    """``map(fn, items)`` over ``threads`` threads, in the order of ``items``.

    At most ``ahead`` items (default ``2 × threads``) are started and not yet taken, so
    results wait in memory only that many at a time. With one thread (or one item) it
    is a plain ``map`` in this thread. ``name``: the threads' name prefix.
    """
    if threads <= 1 or len(items) <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(threads, thread_name_prefix=name) as pool:
        pending: deque[Any] = deque()
        most = max(ahead if ahead is not None else 2 * threads, 1)
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= most:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
